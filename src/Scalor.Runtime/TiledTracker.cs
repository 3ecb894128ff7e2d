using Scalor.Metrics;
using Scalor.Model;
using Window = Scalor.IO.Crop.Window;

namespace Scalor.Runtime;

/// <summary>Tracks frames larger than the model's, as they arrive, in tiles (<c>tiles:S[:O]</c>, or any crop's
/// windows): each frame is cut into the tiles' windows, each tile is resized to the model's square and stepped with
/// a state of its own on one loaded model, and the tiles' tracks are joined into one set of ids for the whole frame
/// before the next frame comes (<see cref="Stitch.Live"/>). What <c>scalor-host track --crop tiles:S</c> does over
/// files, for a live stream, with each frame decoded once. Joining live cannot take back an id it has reported: a
/// track that meets another only after both have ids takes the older one from then on (README, "Runtime").
/// Not thread-safe: one stream per tiled tracker.</summary>
public sealed class TiledTracker
{
    readonly OnnxTracker tracker;

    /// <summary>The model every tile is stepped with.</summary>
    public OnnxTracker Tracker => tracker;
    readonly Scalor.IO.Crop.Crop? crop;
    readonly Stitch.Options options;
    readonly int forget;
    readonly bool join;
    (string Sequence, int Width, int Height, Window[] Windows)? current;
    Window[] windows = [];
    TrackerState[] states = [];
    Stitch.Live? live;
    HashSet<long> previous = new();

    /// <param name="tracker">The model, loaded once; each tile gets a state of its own (<see cref="OnnxTracker.NewState"/>).</param>
    /// <param name="crop">How whole frames are cut: <c>tiles:S[:O]</c> (<see cref="Scalor.IO.Crop"/>); none for frames
    /// that come cut (<see cref="TiledFrame"/>).</param>
    /// <param name="options">When two tiles' tracks are one object (<see cref="Stitch.defaults"/> unless given).</param>
    /// <param name="forget">Frames after which an object no tile reports any more is forgotten (<see cref="Stitch.Live"/>).</param>
    /// <param name="join">False: the tiles are tracked but not joined; each result holds no objects of its own, only
    /// <see cref="TrackedFrame.Tiles"/>, and <see cref="LastJoined"/> stays null (an application that joins the tiles'
    /// tracks after the stream ends, with <see cref="Stitch.join"/>, as <c>track --crop tiles:S</c> without
    /// <c>--live</c> does).</param>
    public TiledTracker(OnnxTracker tracker, Scalor.IO.Crop.Crop? crop = null, Stitch.Options? options = null, int forget = 10000, bool join = true)
    {
        this.tracker = tracker;
        this.crop = crop;
        this.options = options ?? Stitch.defaults;
        this.forget = forget;
        this.join = join;
    }

    /// <summary>The windows of the frames seen last, in the order the tiles are stepped and joined; empty before the first.</summary>
    public IReadOnlyList<Window> Windows => windows;

    /// <summary>The last frame's join (<see cref="Stitch.Live.Step"/>): its rows, and the joined id of each tile track
    /// it reports, keyed by (the tile's index in <see cref="Windows"/>, the tile's id). <see cref="Stitch.whole"/> makes
    /// a stream's frames one join, for its pictures, say. Null before the first frame.</summary>
    public Stitch.Joined? LastJoined { get; private set; }

    /// <summary>Forgets every tile's objects and the joined ids (a new sequence starts). A frame of another sequence
    /// name, size or windows does this itself.</summary>
    public void Reset() => current = null;

    /// <summary>Tracks one whole frame (its own size, at least a tile's window): cut into the crop's windows, each
    /// resized to the model's square (<see cref="Inputs.Resize(byte[], int, int, int)"/>, as image folders are). Throws
    /// <see cref="ArgumentException"/> for a frame the crop cannot cut or whose bytes are not its size's, or when
    /// this tracker was given no crop.</summary>
    public TrackedFrame Step(Frame frame)
    {
        if (crop is null) throw new ArgumentException("whole frames need a crop to cut them into tiles (tiles:S)", nameof(frame));
        if (frame.Rgb.Length != frame.Width * frame.Height * 3)
            throw new ArgumentException($"frame {frame.Sequence}/{frame.Index} has {frame.Rgb.Length} bytes, not {frame.Width * frame.Height * 3}");
        var cut = Scalor.IO.Crop.windows(frame.Width, frame.Height, crop);
        if (cut.IsError) throw new ArgumentException($"frame {frame.Sequence}/{frame.Index}: {cut.ErrorValue}");
        Window[] ws = [.. cut.ResultValue];
        var size = tracker.ImageSize;
        return Step(new TiledFrame(frame.Sequence, frame.Index, frame.Width, frame.Height, ws,
            [.. ws.Select(w => Inputs.Resize(Scalor.IO.Crop.cut(w, frame.Width, frame.Rgb), w.Width, w.Height, size))]), frame, tracker.Renders);
    }

    /// <summary>Tracks one frame that comes cut into its tiles (<see cref="FrameSources.Tiled"/>: a video's tiles
    /// scaled by ffmpeg as a model trained on the video saw them). The result's frame has the whole frame's name,
    /// index and size, and no pixels. Throws <see cref="ArgumentException"/> for tiles not of the model's size.</summary>
    public TrackedFrame Step(TiledFrame frame) => Step(frame, tracker.Renders);

    /// <summary>As <see cref="Step(TiledFrame)"/>, each tile rendered only when <paramref name="render"/> says so and the
    /// model renders (<see cref="OnnxTracker.Step(Frame, TrackerState, bool)"/>): each tile's result in
    /// <see cref="TrackedFrame.Tiles"/> then holds its rendering.</summary>
    public TrackedFrame Step(TiledFrame frame, bool render) => Step(frame, new Frame(frame.Sequence, frame.Index, frame.Width, frame.Height, []), render);

    /// <summary>The box of a tile's object (<paramref name="o"/>, in pixels of the tile at the model's
    /// <paramref name="size"/>) in the whole frame's pixels: scaled to its window <paramref name="w"/> and moved to its
    /// corner.</summary>
    public static (double Left, double Top, double Width, double Height) InWholeFrame(TrackedObject o, Window w, int size)
    {
        double sx = w.Width / (double)size, sy = w.Height / (double)size;
        return (w.Left + o.Left * sx, w.Top + o.Top * sy, o.Width * sx, o.Height * sy);
    }

    TrackedFrame Step(TiledFrame frame, Frame whole, bool render)
    {
        if (frame.Tiles.Count != frame.Windows.Count)
            throw new ArgumentException($"frame {frame.Sequence}/{frame.Index} has {frame.Tiles.Count} tiles for {frame.Windows.Count} windows");
        if (current is not { } c || c.Sequence != frame.Sequence || c.Width != frame.Width || c.Height != frame.Height || !c.Windows.SequenceEqual(frame.Windows))
        {
            windows = [.. frame.Windows];
            states = [.. windows.Select(_ => tracker.NewState())];
            live = new Stitch.Live(options, Microsoft.FSharp.Collections.ListModule.OfArray(windows), forget);
            previous = new();
            current = (frame.Sequence, frame.Width, frame.Height, windows);
        }
        var size = tracker.ImageSize;
        var tiles = new TrackedFrame[windows.Length];
        var rows = new List<Tuple<int, MotFiles.Row>>();
        // The tiles' objects by (tile, id), with their boxes in the whole frame.
        var seen = new Dictionary<(int Tile, int Id), TrackedObject>();
        for (var i = 0; i < windows.Length; i++)
        {
            var w = windows[i];
            var name = $"{frame.Sequence}@{Scalor.IO.Crop.describe(Scalor.IO.Crop.Crop.NewWindow(w))}";
            tiles[i] = tracker.Step(new Frame(name, frame.Index, size, size, frame.Tiles[i]), states[i], render);
            if (!join) continue;
            foreach (var o in tiles[i].Objects)
            {
                var (l, t, bw, bh) = InWholeFrame(o, w, size);
                var moved = o with { Left = (float)l, Top = (float)t, Width = (float)bw, Height = (float)bh, Tile = w };
                seen[(i, (int)o.Id)] = moved;
                rows.Add(Tuple.Create(i, new MotFiles.Row(frame.Index + 1, (int)o.Id,
                    new Geometry.Box(moved.Left, moved.Top, moved.Width, moved.Height), o.Presence, 1, 1.0)));
            }
        }
        if (!join) return new TrackedFrame(whole, [], null, Tiles: tiles);
        var joined = live!.Step(frame.Index + 1, rows);
        LastJoined = joined;
        // Each joined row is the box of one of its tracks: that track's object, under the joined id. The tracks by
        // joined id, once a frame (searching every track for each row took 270 ms a frame with 108 tiles).
        var tracksOf = new Dictionary<int, List<TrackedObject>>();
        foreach (var kv in joined.Ids)
        {
            if (!tracksOf.TryGetValue(kv.Value, out var list)) tracksOf[kv.Value] = list = [];
            list.Add(seen[(kv.Key.Item1, kv.Key.Item2)]);
        }
        var objects = joined.Rows.Select(r =>
        {
            var o = tracksOf[r.Id].First(o => o.Left == r.Box.Left && o.Top == r.Box.Top && o.Width == r.Box.Width && o.Height == r.Box.Height);
            return o with { Id = r.Id, New = !previous.Contains(r.Id) };
        }).ToList();
        previous = [.. objects.Select(o => o.Id)];
        return new TrackedFrame(whole, objects, null, Tiles: tiles);
    }
}

/// <summary>A frame cut into tiles: the whole frame's name, index and size, its windows, and each window's pixels at
/// the model's size (RGB bytes, in the windows' order).</summary>
public sealed record TiledFrame(string Sequence, int Index, int Width, int Height, IReadOnlyList<Window> Windows, IReadOnlyList<byte[]> Tiles);
