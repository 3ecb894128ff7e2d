using System.Diagnostics;
using StbImageSharp;
using TorchSharp;

namespace Scalor.Runtime;

/// <summary>A sequence to track: frames at the model's size, in order, plus the size of what they show in the input's
/// pixels for boxes: the whole frame, or a crop's window, whose top-left corner is then at
/// (<paramref name="Left"/>, <paramref name="Top"/>).</summary>
public sealed record Source(string Name, int Width, int Height, IEnumerable<byte[]> Frames, int Length, int Left = 0, int Top = 0);

/// <summary>Inputs to track: a dataset folder in the MOTChallenge layout (its ground truth is used for the
/// evaluation), a folder of images (one sequence, in name order), a video file decoded by ffmpeg, or a folder of
/// video files (each a sequence named for its file, in name order). Frames
/// are resized to the model's input size; boxes are reported in the original pixels. With a frame step k, every
/// k-th frame from the first is read (frame t of a source is then input frame t·k). With a crop, only its window
/// of each frame is resized (<see cref="Scalor.IO.Crop"/>), and tiles give a source per tile, named
/// <c>sequence@S:S:X:Y</c>; a window that does not fit is an <see cref="InvalidDataException"/>.</summary>
public static class Inputs
{
    static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp"];
    static readonly string[] VideoExtensions = [".avi", ".mp4", ".m4v", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"];

    /// <summary>The files of <paramref name="dir"/> with one of <paramref name="extensions"/> (any case), in name order.</summary>
    static List<string> FilesOf(string dir, string[] extensions) =>
        [.. Directory.GetFiles(dir).Where(f => extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).OrderBy(f => f, StringComparer.Ordinal)];

    /// <param name="warn">Hears what a video's decoder reported once its frames end (<see cref="FromDecoder"/>), once
    /// per file.</param>
    public static List<Source> Open(string path, int size, out string? gtDir, int frameStep = 1, Scalor.IO.Crop.Crop? crop = null, Action<string>? warn = null)
    {
        if (frameStep < 1) throw new ArgumentOutOfRangeException(nameof(frameStep), "a frame step is at least 1");
        gtDir = null;
        if (Directory.Exists(path))
        {
            var seqDirs = Directory.GetDirectories(path).Where(d => Directory.Exists(Path.Combine(d, "img1"))).OrderBy(d => d, StringComparer.Ordinal).ToList();
            if (seqDirs.Count > 0)
            {
                if (seqDirs.Any(d => File.Exists(Path.Combine(d, "gt", "gt.txt")))) gtDir = path;
                return seqDirs.SelectMany(d => Folder(Path.GetFileName(d), Path.Combine(d, "img1"), size, frameStep, crop)).ToList();
            }
            // A folder of videos (and no images): each video a sequence, in name order.
            var videos = FilesOf(path, VideoExtensions);
            if (FilesOf(path, ImageExtensions).Count == 0 && videos.Count > 0)
            {
                // Results and latents are named for the sequence: two videos of one name would overwrite each other's.
                if (videos.GroupBy(Path.GetFileNameWithoutExtension).FirstOrDefault(g => g.Count() > 1) is { } twins)
                    throw new InvalidDataException($"'{path}' holds videos of one name, {string.Join(" and ", twins.Select(Path.GetFileName))}: each is a sequence named for its file, so keep one");
                return [.. videos.SelectMany(v => Video(v, size, frameStep, crop, warn))];
            }
            return Folder(Path.GetFileName(Path.GetFullPath(path).TrimEnd('/')), path, size, frameStep, crop);
        }
        if (File.Exists(path)) return Video(path, size, frameStep, crop, warn);
        throw new FileNotFoundException($"input '{path}' not found", path);
    }

    /// <summary>The sequences of <paramref name="path"/> (ground truth aside) once for each window of
    /// <paramref name="crops"/>, each named <c>sequence@window</c>, so that several windows of one footage are
    /// sequences of their own (the official loader's eight windows of its station footage); the whole frames when
    /// <paramref name="crops"/> is empty. Tiles (<c>tiles:S</c>) are named by their windows, <c>sequence@S:S:X:Y</c>.</summary>
    public static List<Source> OpenWindows(string path, int size, IReadOnlyCollection<Scalor.IO.Crop.Crop> crops, int frameStep = 1, Action<string>? warn = null) =>
        crops.Count == 0
            ? Open(path, size, out _, frameStep, warn: warn)
            : [.. crops.SelectMany(c => Open(path, size, out _, frameStep, c, warn).Select(s => c.IsTiles ? s : s with { Name = $"{s.Name}@{Scalor.IO.Crop.describe(c)}" }))];

    /// <summary>One source per window of <paramref name="crop"/> (<see cref="Windows"/>).</summary>
    static List<Source> Folder(string name, string dir, int size, int frameStep, Scalor.IO.Crop.Crop? crop)
    {
        var files = FilesOf(dir, ImageExtensions).Where((_, i) => i % frameStep == 0).ToList();
        if (files.Count == 0) throw new InvalidDataException($"no images (png, jpg, bmp) or videos in '{dir}'");
        var first = Read(files[0]);
        return [.. Windows(crop, first.Width, first.Height, dir).Select(w =>
        {
            byte[] Frame(string f) => crop is null ? Resize(Read(f), size) : Resize(Cut(Read(f), w, f), w.Width, w.Height, size);
            return new Source(NameOf(name, crop, w), w.Width, w.Height, files.Select(Frame), files.Count, w.Left, w.Top);
        })];
    }

    /// <summary>The windows <paramref name="crop"/> cuts from frames of width×height: the whole frame without one,
    /// several for tiles.</summary>
    static List<Scalor.IO.Crop.Window> Windows(Scalor.IO.Crop.Crop? crop, int width, int height, string what)
    {
        if (crop is null) return [new(width, height, 0, 0)];
        var windows = Scalor.IO.Crop.windows(width, height, crop);
        return windows.IsOk ? [.. windows.ResultValue] : throw new InvalidDataException($"{what}: {windows.ErrorValue}");
    }

    /// <summary>A tile is a sequence of its own, named for its window; one window keeps the input's name.</summary>
    static string NameOf(string name, Scalor.IO.Crop.Crop? crop, Scalor.IO.Crop.Window w) =>
        crop is { IsTiles: true } ? $"{name}@{Scalor.IO.Crop.describe(Scalor.IO.Crop.Crop.NewWindow(w))}" : name;

    /// <summary>The window of one image; every image of a folder must have the first one's size.</summary>
    static byte[] Cut(ImageResult img, Scalor.IO.Crop.Window w, string file) =>
        Scalor.IO.Crop.cut(Windows(Scalor.IO.Crop.Crop.NewWindow(w), img.Width, img.Height, file)[0], img.Width, img.Data);

    static ImageResult Read(string file)
    {
        try
        {
            using var fs = File.OpenRead(file);
            return ImageResult.FromStream(fs, ColorComponents.RedGreenBlue);
        }
        catch (Exception e) when (e is not IOException) { throw new InvalidDataException($"{file}: not a readable image ({e.Message})"); }
    }

    /// <summary>Bilinear resize to size×size (the model's input), as RGB bytes.</summary>
    public static byte[] Resize(ImageResult img, int size) => Resize(img.Data, img.Width, img.Height, size);

    public static byte[] Resize(byte[] rgb, int width, int height, int size)
    {
        if (width == size && height == size) return rgb;
        using var scope = torch.NewDisposeScope();
        var t = torch.tensor(rgb, dtype: torch.uint8).reshape(1, height, width, 3).permute(0, 3, 1, 2).to_type(torch.float32);
        var r = torch.nn.functional.interpolate(t, [size, size], mode: torch.InterpolationMode.Bilinear, align_corners: false, antialias: true);
        return r.clamp(0, 255).round().to_type(torch.uint8).permute(0, 2, 3, 1).contiguous().data<byte>().ToArray();
    }

    /// <summary>One source per window of <paramref name="crop"/>, each decoded on its own when read; what the decoder
    /// reports is said once for the file, though every window decodes it.</summary>
    static List<Source> Video(string file, int size, int frameStep, Scalor.IO.Crop.Crop? crop, Action<string>? warn)
    {
        var (w, h, n) = Probe(file);
        var said = 0;
        Action<string>? once = warn is null ? null : m => { if (Interlocked.Exchange(ref said, 1) == 0) warn(m); };
        return [.. Windows(crop, w, h, file).Select(c =>
        {
            var filter = crop is null ? "" : $"crop={c.Width}:{c.Height}:{c.Left}:{c.Top},";
            return new Source(NameOf(Path.GetFileNameWithoutExtension(file), crop, c), c.Width, c.Height,
                Decode(file, size, filter, once).Where((_, i) => i % frameStep == 0), (n + frameStep - 1) / frameStep, c.Left, c.Top);
        })];
    }

    static Process Start(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        try { return Process.Start(psi) ?? throw new IOException($"could not start {exe}"); }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new IOException($"{exe} is not installed: it decodes video files (Debian: apt-get install ffmpeg, or scripts/setup.sh)");
        }
    }

    static (int W, int H, int Frames) Probe(string file)
    {
        using var p = Start("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries", "stream=width,height,nb_read_packets", "-of", "csv=p=0", file);
        var err = p.StandardError.ReadToEndAsync();
        var line = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        var parts = line.Split(',');
        if (p.ExitCode != 0 || parts.Length < 3 || !int.TryParse(parts[0], out var w) || !int.TryParse(parts[1], out var h))
            throw new InvalidDataException($"{file}: not a readable video ({err.Result.Split('\n').FirstOrDefault()?.Trim()})");
        int.TryParse(parts[2], out var n);
        return (w, h, n);
    }

    /// <param name="file">The video, decoded by ffmpeg to size×size RGB frames.</param>
    /// <param name="size">The side of the frames.</param>
    /// <param name="filter">ffmpeg filters before the scaling, each followed by a comma ("" for none).</param>
    /// <param name="warn">Hears what ffmpeg reported (<see cref="FromDecoder"/>).</param>
    static IEnumerable<byte[]> Decode(string file, int size, string filter, Action<string>? warn) =>
        FromDecoder(file, "ffmpeg", ["-v", "error", "-i", file, "-vf", $"{filter}scale={size}:{size}:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
            size * size * 3, warn);

    /// <summary>Raw frames of <paramref name="frameBytes"/> bytes each, read as they come from the standard output of a
    /// decoder (<paramref name="exe"/> with <paramref name="args"/>; ffmpeg for videos). Its standard error is read
    /// as it runs: a damaged video makes ffmpeg write a line for every damaged block, and unread, those lines filled
    /// the pipe until ffmpeg waited for a reader and the frames stopped for good (a video with 2,000 bytes changed
    /// hung <c>track</c>). Once the frames end, <paramref name="warn"/> hears what the decoder reported: how many
    /// lines, and the first. A decoder that gives no frame and fails is an <see cref="InvalidDataException"/> naming
    /// <paramref name="what"/>; one that fails after some frames leaves those, and says so.</summary>
    public static IEnumerable<byte[]> FromDecoder(string what, string exe, IReadOnlyList<string> args, int frameBytes, Action<string>? warn = null)
    {
        using var p = Start(exe, [.. args]);
        // What it reported: the first line and how many.
        var gate = new object();
        string? first = null;
        var lines = 0;
        p.ErrorDataReceived += (_, e) =>
        {
            if (string.IsNullOrWhiteSpace(e.Data)) return;
            lock (gate) { first ??= e.Data.Trim(); lines++; }
        };
        p.BeginErrorReadLine();
        var stream = p.StandardOutput.BaseStream;
        var frames = 0;
        while (true)
        {
            var buf = new byte[frameBytes];
            var read = 0;
            while (read < frameBytes)
            {
                var n = stream.Read(buf, read, frameBytes - read);
                if (n == 0) break;
                read += n;
            }
            if (read < frameBytes) break;
            frames++;
            yield return buf;
        }
        // Without a timeout, WaitForExit also waits for the last of the standard error to be read.
        p.WaitForExit();
        string? said;
        int count;
        lock (gate) (said, count) = (first, lines);
        if (p.ExitCode != 0 && frames == 0)
            throw new InvalidDataException($"{what}: not a readable video ({said ?? $"{exe} exited with code {p.ExitCode}"})");
        if (p.ExitCode != 0) warn?.Invoke($"{what}: {exe} stopped after {frames} frames (exit code {p.ExitCode}{(said is null ? "" : $": {said}")}); the frames before are used");
        else if (count > 0) warn?.Invoke($"{what}: {exe} reported {count} line{(count == 1 ? "" : "s")} of decoding errors and filled in what it could not decode (the first: {said})");
    }
}
