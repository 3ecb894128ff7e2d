using System.Diagnostics;
using StbImageSharp;
using TorchSharp;

namespace Scalor.Runtime;

/// <summary>A sequence to track: frames at the model's size, in order, plus the size of what they show in the input's
/// pixels for boxes: the whole frame, or a crop's window, whose top-left corner is then at
/// (<paramref name="Left"/>, <paramref name="Top"/>).</summary>
public sealed record Source(string Name, int Width, int Height, IEnumerable<byte[]> Frames, int Length, int Left = 0, int Top = 0);

/// <summary>A sequence to track in tiles (<see cref="Inputs.OpenTiled"/>): its frames of
/// <paramref name="Width"/>×<paramref name="Height"/> cut into <paramref name="Windows"/>, each frame the tiles at the
/// model's size, in the windows' order.</summary>
public sealed record TiledSource(string Name, int Width, int Height, IReadOnlyList<Scalor.IO.Crop.Window> Windows, IEnumerable<IReadOnlyList<byte[]>> Frames, int Length)
{
    /// <summary>Its frames as <see cref="TiledFrame"/>s, each under the input's frame index (frame t of a source read
    /// every <paramref name="frameStep"/>-th frame is input frame t·k).</summary>
    public IEnumerable<TiledFrame> TiledFrames(int frameStep) =>
        Frames.Select((tiles, t) => new TiledFrame(Name, t * frameStep, Width, Height, Windows, tiles));
}

/// <summary>Inputs to track: a dataset folder in the MOTChallenge layout (its ground truth is used for the
/// evaluation), a folder of images (one sequence, in name order), one image (a sequence of one frame), a video file decoded by ffmpeg, or a folder of
/// video files (each a sequence named for its file, in name order), or a stream ffmpeg reads from a URL (a camera's
/// <c>rtsp://</c>, <c>http://</c>, <c>udp://</c>; <see cref="IsStream"/>), of a length known only when it ends. Frames
/// are resized to the model's input size; boxes are reported in the original pixels. With a frame step k, every
/// k-th frame from the first is read (frame t of a source is then input frame t·k). With a crop, only its window
/// of each frame is resized (<see cref="Scalor.IO.Crop"/>), and tiles give a source per tile, named
/// <c>sequence@S:S:X:Y</c>; a window that does not fit is an <see cref="InvalidDataException"/>.</summary>
public static class Inputs
{
    static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp"];
    static readonly string[] VideoExtensions = [".avi", ".mp4", ".m4v", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"];

    /// <summary>Whether <paramref name="path"/> names a stream for ffmpeg to read (<c>scheme://…</c>, not a file): a
    /// camera's or server's, whose frames are not counted before they come (a live one has no end).</summary>
    public static bool IsStream(string path) =>
        path.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(path, UriKind.Absolute, out var u) && !u.IsFile;

    /// <summary>The sequence a video or stream is named: a file's name without its extension; a stream's last path
    /// segment so (<c>rtsp://cam:554/live/ch1</c>: ch1), or its host and port (<c>udp://127.0.0.1:5000</c>:
    /// 127.0.0.1-5000).</summary>
    public static string VideoName(string path)
    {
        if (!IsStream(path)) return Path.GetFileNameWithoutExtension(path);
        var u = new Uri(path);
        var last = u.AbsolutePath.TrimEnd('/').Split('/')[^1];
        return last.Length > 0 ? Path.GetFileNameWithoutExtension(Uri.UnescapeDataString(last)) : u.IsDefaultPort || u.Port < 0 ? u.Host : $"{u.Host}-{u.Port}";
    }

    /// <summary>The files of <paramref name="dir"/> with one of <paramref name="extensions"/> (any case), in name order
    /// (<see cref="NameOrder"/>), but hidden ones: a folder copied from a Mac holds a <c>._000001.jpg</c> of metadata
    /// beside each image, which no decoder reads.</summary>
    static List<string> FilesOf(string dir, string[] extensions) =>
        [.. Directory.GetFiles(dir).Where(f => !Path.GetFileName(f).StartsWith('.') && extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).OrderBy(f => f, NameOrder)];

    /// <summary>Name order, the order of a folder's frames: runs of digits compare as numbers, the rest character by
    /// character, so <c>frame_2.png</c> comes before <c>frame_10.png</c>. <c>ffmpeg -i video.mp4 frames/%d.png</c>
    /// names frames so, and in plain character order their frame 10 came before frame 2 and tracking saw the scene
    /// jump back and forth. Zero-padded names of one width (MOTChallenge's <c>000001.jpg</c>) keep their order; names
    /// equal but for leading zeros fall back to character order, so no two names compare equal.</summary>
    public static readonly IComparer<string> NameOrder = Comparer<string>.Create(CompareNames);

    static int CompareNames(string? a, string? b)
    {
        if (a is null || b is null) return a is null ? (b is null ? 0 : -1) : 1;
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            if (char.IsAsciiDigit(a[i]) && char.IsAsciiDigit(b[j]))
            {
                var (si, sj) = (i, j);
                while (i < a.Length && char.IsAsciiDigit(a[i])) i++;
                while (j < b.Length && char.IsAsciiDigit(b[j])) j++;
                // The runs without their leading zeros: the longer is the larger number, else the first digit that differs.
                var x = a.AsSpan(si, i - si).TrimStart('0');
                var y = b.AsSpan(sj, j - sj).TrimStart('0');
                if (x.Length != y.Length) return x.Length.CompareTo(y.Length);
                var digits = x.SequenceCompareTo(y);
                if (digits != 0) return digits;
            }
            else
            {
                if (a[i] != b[j]) return a[i].CompareTo(b[j]);
                i++;
                j++;
            }
        }
        if (i < a.Length || j < b.Length) return i < a.Length ? 1 : -1;
        return string.CompareOrdinal(a, b);
    }

    /// <summary>The sequences of <paramref name="path"/> (<see cref="Inputs"/>), each window's frames resized to
    /// size×size.</summary>
    /// <param name="path">A dataset folder, a folder of images or of videos, or a video file.</param>
    /// <param name="size">The model's frame side.</param>
    /// <param name="gtDir">The dataset's folder where it has ground truth, else null.</param>
    /// <param name="frameStep">Every k-th frame from the first.</param>
    /// <param name="crop">The window, or the tiles, to cut; the whole frame without one.</param>
    /// <param name="warn">Hears what a video's decoder reported once its frames end (<see cref="FromDecoder"/>), once
    /// per file.</param>
    public static List<Source> Open(string path, int size, out string? gtDir, int frameStep = 1, Scalor.IO.Crop.Crop? crop = null, Action<string>? warn = null) =>
        Locate(path, frameStep, out gtDir, (name, frames) => Folder(name, frames, size, crop), file => Video(file, size, frameStep, crop, warn));

    /// <summary>The sequences of <paramref name="path"/> as <see cref="Open"/> finds them, each cut into the windows of
    /// <paramref name="crop"/> (tiles) at once: each frame's tiles, every one resized to size×size exactly as
    /// <see cref="Open"/> gives that window's frames, from one reading of the frame. A video is decoded once by one
    /// ffmpeg that crops and scales every tile (its filter graph splits the decoded frame), where <see cref="Open"/>
    /// decodes it once per tile.</summary>
    public static List<TiledSource> OpenTiled(string path, int size, Scalor.IO.Crop.Crop crop, out string? gtDir, int frameStep = 1, Action<string>? warn = null) =>
        Locate<TiledSource>(path, frameStep, out gtDir, (name, frames) => [FolderTiled(name, frames, size, crop)], file => [VideoTiled(file, size, frameStep, crop, warn)]);

    /// <summary>Where the sequences of <paramref name="path"/> are: a dataset's sequence folders (<c>SEQ/img1</c>; its
    /// ground truth is <paramref name="gtDir"/>), a dataset written without its images (<c>data --no-images</c>: the
    /// frames are in its pack, <see cref="PackFrames"/>), a folder of videos, a folder of images, one image, or one video.</summary>
    static List<T> Locate<T>(string path, int frameStep, out string? gtDir, Func<string, Frames, List<T>> folder, Func<string, List<T>> video)
    {
        if (frameStep < 1) throw new ArgumentOutOfRangeException(nameof(frameStep), "a frame step is at least 1");
        gtDir = null;
        if (IsStream(path)) return video(path);
        if (Directory.Exists(path))
        {
            var seqDirs = Directory.GetDirectories(path).Where(d => Directory.Exists(Path.Combine(d, "img1"))).OrderBy(d => d, NameOrder).ToList();
            if (seqDirs.Count > 0)
            {
                if (seqDirs.Any(d => File.Exists(Path.Combine(d, "gt", "gt.txt")))) gtDir = path;
                return seqDirs.SelectMany(d => folder(Path.GetFileName(d), ImagesOf(Path.Combine(d, "img1"), frameStep))).ToList();
            }
            // Without img1 folders the pack beside the ground truth holds the frames; the folder's preview image had
            // been taken for a folder of one frame (a dataset of 50 sequences tracked as one frame, and eval refused it).
            var pack = Path.Combine(path, PackName);
            var gtSeqDirs = Directory.GetDirectories(path).Where(d => File.Exists(Path.Combine(d, "gt", "gt.txt"))).OrderBy(d => d, NameOrder).ToList();
            if (gtSeqDirs.Count > 0)
            {
                if (!File.Exists(pack))
                    throw new InvalidDataException($"'{path}' has ground truth ({Path.GetFileName(gtSeqDirs[0])}/gt/gt.txt) but no frames: neither SEQUENCE/img1 folders nor {PackName}");
                gtDir = path;
                return [.. PackFrames(pack, [.. gtSeqDirs.Select(Path.GetFileName).OfType<string>()], frameStep).SelectMany(p => folder(p.Name, p.Frames))];
            }
            // A folder of videos (and no images): each video a sequence, in name order.
            var videos = FilesOf(path, VideoExtensions);
            if (FilesOf(path, ImageExtensions).Count == 0 && videos.Count > 0)
            {
                // Results and latents are named for the sequence: two videos of one name would overwrite each other's.
                if (videos.GroupBy(Path.GetFileNameWithoutExtension).FirstOrDefault(g => g.Count() > 1) is { } twins)
                    throw new InvalidDataException($"'{path}' holds videos of one name, {string.Join(" and ", twins.Select(Path.GetFileName))}: each is a sequence named for its file, so keep one");
                return [.. videos.SelectMany(video)];
            }
            return folder(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path))), ImagesOf(path, frameStep));
        }
        // One image is a sequence of one frame, named for its file: it had gone to ffmpeg as a video, and without
        // ffmpeg a PNG was refused as "ffprobe is not installed".
        if (File.Exists(path) && IsImage(path)) return folder(Path.GetFileNameWithoutExtension(path), ImageFile(path));
        if (File.Exists(path)) return video(path);
        throw new FileNotFoundException(NotFound(path), path);
    }

    /// <summary>Whether <paramref name="path"/> names something to open: a stream's URL, a folder or a file.</summary>
    public static bool Exists(string path) => IsStream(path) || Directory.Exists(path) || File.Exists(path);

    /// <summary>The error for an input that is not there.</summary>
    public static string NotFound(string path) => $"input '{path}' not found";

    /// <summary>No resizing: frames at the input's own size (<see cref="OpenWhole"/>).</summary>
    const int Native = 0;

    /// <summary>The sequences of <paramref name="path"/> as <see cref="Open"/> finds them, each frame at the input's own
    /// size (<see cref="Source.Width"/>×<see cref="Source.Height"/>, 3 bytes a pixel), for a caller that cuts them
    /// itself (<see cref="TiledTracker"/>): a video is decoded once, whatever is cut from it. Every image of a folder
    /// must have the first one's size.</summary>
    public static List<Source> OpenWhole(string path, out string? gtDir, int frameStep = 1, Action<string>? warn = null) =>
        Open(path, Native, out gtDir, frameStep, null, warn);

    /// <summary>The sequences of <paramref name="path"/> (ground truth aside) once for each window of
    /// <paramref name="crops"/>, each named <c>sequence@window</c>, so that several windows of one footage are
    /// sequences of their own (the official loader's eight windows of its station footage); the whole frames when
    /// <paramref name="crops"/> is empty. Tiles (<c>tiles:S</c>) are named by their windows, <c>sequence@S:S:X:Y</c>.</summary>
    public static List<Source> OpenWindows(string path, int size, IReadOnlyCollection<Scalor.IO.Crop.Crop> crops, int frameStep = 1, Action<string>? warn = null) =>
        crops.Count == 0
            ? Open(path, size, out _, frameStep, warn: warn)
            : [.. crops.SelectMany(c => Open(path, size, out _, frameStep, c, warn).Select(s => c.IsTiles ? s : s with { Name = $"{s.Name}@{Scalor.IO.Crop.describe(c)}" }))];

    /// <summary>A sequence's frames before they are read: where they are (<paramref name="Where"/>, for messages), a
    /// label and a reader per frame (an image file of a folder, or a frame of a pack), and the size every frame must
    /// have (a folder's first image's; a pack's, from its header, so that no frame is read before tracking asks).</summary>
    sealed record Frames(string Where, IReadOnlyList<(string Label, Func<ImageResult> Read)> Items, int Width, int Height);

    /// <summary>One source per window of <paramref name="crop"/> (<see cref="Windows"/>).</summary>
    static List<Source> Folder(string name, Frames frames, int size, Scalor.IO.Crop.Crop? crop)
    {
        return [.. Windows(crop, frames.Width, frames.Height, frames.Where).Select(w =>
        {
            // Every image the first one's size, whatever is cut from it: the boxes go back into the first one's pixels.
            byte[] Frame((string Label, Func<ImageResult> Read) f)
            {
                var img = Same(f.Read(), frames, f.Label);
                return size == Native ? img.Data : crop is null ? Resize(img, size) : WindowOf(img, w, f.Label, size);
            }
            return new Source(NameOf(name, crop, w), w.Width, w.Height, frames.Items.Select(Frame), frames.Items.Count, w.Left, w.Top);
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

    /// <summary>An image, which must be the size of the first of its folder.</summary>
    static ImageResult Same(ImageResult img, Frames frames, string file) =>
        img.Width == frames.Width && img.Height == frames.Height ? img
            : throw new InvalidDataException($"{file} is {img.Width}×{img.Height}; the images before it are {frames.Width}×{frames.Height}");

    /// <summary>An image's RGB pixels as a viewer shows it: a JPEG turned as its EXIF orientation says (<see cref="Orientation"/>).</summary>
    static ImageResult Read(string file)
    {
        byte[] bytes = File.ReadAllBytes(file);
        ImageResult img;
        try { img = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue); }
        catch (Exception e) when (e is not IOException) { throw new InvalidDataException($"{file}: not a readable image ({e.Message})"); }
        var orientation = Orientation.Of(bytes);
        if (orientation == 1) return img;
        var (rgb, w, h) = Orientation.Upright(img.Data, img.Width, img.Height, orientation);
        return new ImageResult { Data = rgb, Width = w, Height = h, Comp = img.Comp, SourceComp = img.SourceComp };
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
            var frames = size == Native ? Decode(file, w, h, "null", once) : Decode(file, size, size, Scaled(crop is null ? null : c, size, w, h), once);
            return new Source(NameOf(VideoName(file), crop, c), c.Width, c.Height,
                frames.Where((_, i) => i % frameStep == 0), (n + frameStep - 1) / frameStep, c.Left, c.Top);
        })];
    }

    /// <summary>ffmpeg's filters that give a window of a video's frames (the whole frame for null) at size×size, with
    /// area scaling: one string for <see cref="Video"/> and <see cref="VideoTiled"/>, whose tiles are byte for byte
    /// the windows' frames. A window is cut from the frame at the first frame's size (<paramref name="width"/>×
    /// <paramref name="height"/>, as probed): a stream whose size changes midway (joined recordings) would otherwise
    /// meet the crop with frames too small for it and stop there; at the probed size the scale passes frames through.</summary>
    static string Scaled(Scalor.IO.Crop.Window? c, int size, int width, int height) =>
        $"{(c is { } w ? $"scale={width}:{height}:flags=area,crop={w.Width}:{w.Height}:{w.Left}:{w.Top}," : "")}scale={size}:{size}:flags=area";

    /// <summary>A window of an image resized to size×size: one function for <see cref="Folder"/> and
    /// <see cref="FolderTiled"/>.</summary>
    static byte[] WindowOf(ImageResult img, Scalor.IO.Crop.Window w, string file, int size) => Resize(Cut(img, w, file), w.Width, w.Height, size);

    /// <summary>Every k-th image of a folder (in name order) and the first of them, read; none is an error.</summary>
    static Frames ImagesOf(string dir, int frameStep)
    {
        var files = FilesOf(dir, ImageExtensions).Where((_, i) => i % frameStep == 0).ToList();
        if (files.Count == 0) throw new InvalidDataException($"no images (png, jpg, bmp) or videos in '{dir}'");
        var first = Read(files[0]);
        return new Frames(dir, [.. files.Select(f => (f, (Func<ImageResult>)(() => Read(f))))], first.Width, first.Height);
    }

    /// <summary>Whether <paramref name="file"/> is named as an image (png, jpg, jpeg, bmp; any case).</summary>
    static bool IsImage(string file) => ImageExtensions.Contains(Path.GetExtension(file).ToLowerInvariant());

    /// <summary>One image file as the frames of a sequence of one.</summary>
    static Frames ImageFile(string file)
    {
        var img = Read(file);
        return new Frames(file, [(file, () => img)], img.Width, img.Height);
    }

    /// <summary>The file name of a dataset's pack (<c>scalor-host data</c>), beside its sequence folders.</summary>
    public const string PackName = "dataset.safetensors";

    /// <summary>The frames of a dataset written without its images, from its pack: sequence i of the pack is the i-th of
    /// <paramref name="names"/> (its folders in name order, as <c>data</c> writes them), every k-th frame read from
    /// the file when asked for. A pack of another count of sequences than the folders is refused, as are the pack's
    /// own faults (<see cref="Scalor.Worlds.Dataset.framesOf"/>), as an <see cref="InvalidDataException"/>.</summary>
    static List<(string Name, Frames Frames)> PackFrames(string pack, IReadOnlyList<string> names, int frameStep)
    {
        Scalor.Worlds.Dataset.FramePack frames;
        try { frames = Scalor.Worlds.Dataset.framesOf(pack); }
        catch (Scalor.Worlds.Dataset.DatasetError e) { throw new InvalidDataException(e.Data0); }
        if (frames.Sequences != names.Count)
            throw new InvalidDataException($"{pack} holds {frames.Sequences} sequences and its folder {names.Count} with ground truth; write the dataset again with scalor-host data");
        ImageResult At(int s, int t)
        {
            var rgb = new byte[frames.FrameBytes];
            try { frames.ReadFrames(s, [t], rgb); }
            catch (Scalor.Worlds.Dataset.DatasetError e) { throw new InvalidDataException(e.Data0); }
            return new ImageResult { Data = rgb, Width = frames.Side, Height = frames.Side, Comp = ColorComponents.RedGreenBlue, SourceComp = ColorComponents.RedGreenBlue };
        }
        return [.. names.Select((name, s) => (name, new Frames(pack,
            [.. Enumerable.Range(0, frames.Length).Where(t => t % frameStep == 0).Select(t => ($"{pack}, {name} frame {t + 1}", (Func<ImageResult>)(() => At(s, t))))],
            frames.Side, frames.Side)))];
    }

    /// <summary>A sequence's frames, each read once and cut into the windows of <paramref name="crop"/> as
    /// <see cref="Folder"/> cuts each window.</summary>
    static TiledSource FolderTiled(string name, Frames frames, int size, Scalor.IO.Crop.Crop crop)
    {
        var windows = Windows(crop, frames.Width, frames.Height, frames.Where);
        IReadOnlyList<byte[]> Tiles((string Label, Func<ImageResult> Read) f)
        {
            var img = Same(f.Read(), frames, f.Label);
            return [.. windows.Select(w => WindowOf(img, w, f.Label, size))];
        }
        return new TiledSource(name, frames.Width, frames.Height, windows, frames.Items.Select(Tiles), frames.Items.Count);
    }

    /// <summary>A video decoded once: one ffmpeg splits each decoded frame, crops and scales every window of
    /// <paramref name="crop"/> as <see cref="Video"/> does for one, and stacks them, so each tile's pixels are those
    /// <see cref="Video"/> gives that window (checked on vtest.avi, byte for byte).</summary>
    static TiledSource VideoTiled(string file, int size, int frameStep, Scalor.IO.Crop.Crop crop, Action<string>? warn)
    {
        var (w, h, n) = Probe(file);
        var windows = Windows(crop, w, h, file);
        var k = windows.Count;
        var graph = k == 1 ? $"[0:v]{Scaled(windows[0], size, w, h)}"
            : $"[0:v]split={k}{string.Concat(Enumerable.Range(0, k).Select(i => $"[s{i}]"))};"
              + string.Concat(windows.Select((c, i) => $"[s{i}]{Scaled(c, size, w, h)}[t{i}];"))
              + $"{string.Concat(Enumerable.Range(0, k).Select(i => $"[t{i}]"))}vstack=inputs={k}";
        var plane = size * size * 3;
        var frames = FromDecoder(file, "ffmpeg", ["-v", "error", "-i", FileArg(file), "-filter_complex", graph, .. RawFrames], plane * k, warn)
            .Where((_, i) => i % frameStep == 0)
            .Select(IReadOnlyList<byte[]> (stack) => [.. Enumerable.Range(0, k).Select(i => stack[(i * plane)..((i + 1) * plane)])]);
        return new TiledSource(VideoName(file), w, h, windows, frames, (n + frameStep - 1) / frameStep);
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

    /// <summary>A video's path as ffmpeg and ffprobe take it: whole, so that a name that starts with '-' is no option
    /// (<c>-x.avi</c> was "Missing argument for option 'x.avi'") and one with a colon no protocol; a stream's URL as given.</summary>
    static string FileArg(string file) => IsStream(file) ? file : Path.GetFullPath(file);

    /// <summary>A video's frame size and count; a stream's size, and 0 frames (unknown): counting them would read it to
    /// its end, which a live stream never reaches.</summary>
    static (int W, int H, int Frames) Probe(string file) =>
        ProbeJson(file, [.. IsStream(file) ? Array.Empty<string>() : ["-count_packets"], "-show_entries", "stream=width,height,nb_read_packets:stream_side_data=rotation"]).Probed;

    /// <summary>What ffprobe reports (<paramref name="args"/>) of the first video stream of <paramref name="file"/>, as
    /// JSON, and that stream's size and count (<see cref="Probed"/>); an input without one is an
    /// <see cref="InvalidDataException"/> with the first line ffprobe said.</summary>
    static (string Json, (int W, int H, int Frames) Probed) ProbeJson(string file, string[] args)
    {
        using var p = Start("ffprobe", ["-v", "error", "-select_streams", "v:0", .. args, "-of", "json", FileArg(file)]);
        var err = p.StandardError.ReadToEndAsync();
        var json = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode == 0 && Probed(json) is { } probed) return (json, probed);
        var said = err.Result.Split('\n').FirstOrDefault()?.Trim();
        throw new InvalidDataException($"{file}: not a readable video ({(string.IsNullOrEmpty(said) ? "ffprobe finds no video stream in it" : said)})");
    }

    /// <summary>Whether <paramref name="path"/> is a live stream: one that ffmpeg reads from a URL (<see cref="IsStream"/>)
    /// and whose container gives no duration (a camera's RTSP, a broadcast over UDP), so that reading it to its end
    /// never ends. A recorded video served over HTTP has a duration and is not live; a file never is. Probes a stream
    /// with ffprobe; one that cannot be read is an <see cref="InvalidDataException"/>, as for <see cref="Open"/>.</summary>
    public static bool IsLive(string path) =>
        IsStream(path) && Duration(ProbeJson(path, ["-show_entries", "stream=width,height:format=duration"]).Json) is null;

    /// <summary>The duration in seconds that ffprobe's JSON gives its input's container (<c>format.duration</c>); null
    /// where it gives none, or "N/A": a live stream's.</summary>
    public static double? Duration(string json)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            return doc.RootElement.TryGetProperty("format", out var f) && f.TryGetProperty("duration", out var d)
                && double.TryParse(d.ValueKind == System.Text.Json.JsonValueKind.String ? d.GetString() : d.GetRawText(),
                    System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                && double.IsFinite(seconds) && seconds > 0 ? seconds : null;
        }
        catch (System.Text.Json.JsonException) { return null; }
    }

    /// <summary>A video's frames as ffmpeg decodes them, from ffprobe's JSON of its first video stream (width, height,
    /// <c>nb_read_packets</c>, the side data's rotation): their width, height and count; null without a stream. ffmpeg
    /// turns the frames of a video that says it is rotated a quarter turn (a phone held upright) as it decodes them,
    /// while ffprobe gives the stored width and height: without the swap, such a video's 96×160 frames were read as
    /// 160×96, and every window and box with them.</summary>
    public static (int Width, int Height, int Frames)? Probed(string json)
    {
        System.Text.Json.JsonDocument doc;
        try { doc = System.Text.Json.JsonDocument.Parse(json); }
        catch (System.Text.Json.JsonException) { return null; }
        using var _ = doc;
        if (!doc.RootElement.TryGetProperty("streams", out var streams) || streams.GetArrayLength() == 0) return null;
        var s = streams[0];
        if (!s.TryGetProperty("width", out var w) || !s.TryGetProperty("height", out var h)) return null;
        var n = s.TryGetProperty("nb_read_packets", out var p) && int.TryParse(p.ValueKind == System.Text.Json.JsonValueKind.String ? p.GetString() : p.GetRawText(), out var c) ? c : 0;
        var quarter = s.TryGetProperty("side_data_list", out var side) && side.EnumerateArray().Any(d =>
            d.TryGetProperty("rotation", out var r) && r.TryGetDouble(out var deg) && Math.Abs(Math.Round(deg)) % 180 == 90);
        return quarter ? (h.GetInt32(), w.GetInt32(), n) : (w.GetInt32(), h.GetInt32(), n);
    }

    /// <summary>ffmpeg's output: each decoded frame once, as RGB bytes. ffmpeg fills a raw stream to a constant frame
    /// rate unless told otherwise, so a variable-rate video (a phone's, say) came out with frames repeated to fill its
    /// gaps: a 10-frame video with one pause read as 30 frames, which tracking and training took for the scene standing
    /// still. <c>-fps_mode vfr</c> (ffmpeg 5.1 and newer) passes each frame once, as many as ffprobe counts.</summary>
    static readonly string[] RawFrames = ["-fps_mode", "vfr", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"];

    /// <param name="file">The video, decoded by ffmpeg to <paramref name="width"/>×<paramref name="height"/> RGB frames.</param>
    /// <param name="width">The frames' width.</param>
    /// <param name="height">The frames' height.</param>
    /// <param name="filters">ffmpeg's video filters that make them so ("null" for the video's own frames).</param>
    /// <param name="warn">Hears what ffmpeg reported (<see cref="FromDecoder"/>).</param>
    static IEnumerable<byte[]> Decode(string file, int width, int height, string filters, Action<string>? warn) =>
        FromDecoder(file, "ffmpeg", ["-v", "error", "-i", FileArg(file), "-vf", filters, .. RawFrames],
            width * height * 3, warn);

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
        if (p.ExitCode != 0 && frames == 0 && said is not null && said.StartsWith("Unrecognized option", StringComparison.Ordinal))
            throw new InvalidDataException($"{what}: this {exe} is too old to decode videos here ({said}); install ffmpeg 5.1 or newer");
        if (p.ExitCode != 0 && frames == 0)
            throw new InvalidDataException($"{what}: not a readable video ({said ?? $"{exe} exited with code {p.ExitCode}"})");
        if (p.ExitCode != 0) warn?.Invoke($"{what}: {exe} stopped after {frames} frame{(frames == 1 ? "" : "s")} (exit code {p.ExitCode}{(said is null ? "" : $": {said}")}); the frames before are used");
        else if (count > 0) warn?.Invoke($"{what}: {exe} reported {count} line{(count == 1 ? "" : "s")} of decoding errors and filled in what it could not decode (the first: {said})");
    }
}
