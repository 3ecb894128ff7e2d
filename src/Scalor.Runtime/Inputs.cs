using System.Diagnostics;
using StbImageSharp;
using TorchSharp;

namespace Scalor.Runtime;

/// <summary>A sequence to track: frames at the model's size, in order, plus the original size for boxes.</summary>
public sealed record Source(string Name, int Width, int Height, IEnumerable<byte[]> Frames, int Length);

/// <summary>Inputs to track: a dataset folder in the MOTChallenge layout (its ground truth is used for the
/// evaluation), a folder of images (one sequence, in name order), or a video file decoded by ffmpeg. Frames
/// are resized to the model's input size; boxes are reported in the original pixels. With a frame step k, every
/// k-th frame from the first is read (frame t of a source is then input frame t·k).</summary>
public static class Inputs
{
    static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp"];

    public static List<Source> Open(string path, int size, out string? gtDir, int frameStep = 1)
    {
        if (frameStep < 1) throw new ArgumentOutOfRangeException(nameof(frameStep), "a frame step is at least 1");
        gtDir = null;
        if (Directory.Exists(path))
        {
            var seqDirs = Directory.GetDirectories(path).Where(d => Directory.Exists(Path.Combine(d, "img1"))).OrderBy(d => d, StringComparer.Ordinal).ToList();
            if (seqDirs.Count > 0)
            {
                if (seqDirs.Any(d => File.Exists(Path.Combine(d, "gt", "gt.txt")))) gtDir = path;
                return seqDirs.Select(d => Folder(Path.GetFileName(d), Path.Combine(d, "img1"), size, frameStep)).ToList();
            }
            return [Folder(Path.GetFileName(Path.GetFullPath(path).TrimEnd('/')), path, size, frameStep)];
        }
        if (File.Exists(path)) return [Video(path, size, frameStep)];
        throw new FileNotFoundException($"input '{path}' not found", path);
    }

    static Source Folder(string name, string dir, int size, int frameStep)
    {
        var files = Directory.GetFiles(dir).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).OrderBy(f => f, StringComparer.Ordinal)
            .Where((_, i) => i % frameStep == 0).ToList();
        if (files.Count == 0) throw new InvalidDataException($"no images (png, jpg, bmp) in '{dir}'");
        var first = Read(files[0]);
        return new(name, first.Width, first.Height, files.Select(f => Resize(Read(f), size)), files.Count);
    }

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

    static Source Video(string file, int size, int frameStep)
    {
        var (w, h, n) = Probe(file);
        return new(Path.GetFileNameWithoutExtension(file), w, h, Decode(file, size).Where((_, i) => i % frameStep == 0), (n + frameStep - 1) / frameStep);
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

    static IEnumerable<byte[]> Decode(string file, int size)
    {
        using var p = Start("ffmpeg", "-v", "error", "-i", file, "-vf", $"scale={size}:{size}:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "-");
        var stream = p.StandardOutput.BaseStream;
        var frame = size * size * 3;
        while (true)
        {
            var buf = new byte[frame];
            var read = 0;
            while (read < frame)
            {
                var n = stream.Read(buf, read, frame - read);
                if (n == 0) break;
                read += n;
            }
            if (read < frame) break;
            yield return buf;
        }
        p.WaitForExit();
    }
}
