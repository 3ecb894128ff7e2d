using Microsoft.FSharp.Collections;
using System.Reactive.Linq;
using Scalor.Cli;
using Scalor.Metrics;
using Scalor.Model;
using Scalor.Runtime;

namespace Scalor.Host;

/// <summary><c>track</c> in tiles: each frame read once and cut into its tiles, every tile tracked with its own
/// state, and the tiles' tracks joined into one set of ids for the whole frame (<see cref="Stitch"/>).</summary>
public static partial class TrackCommand
{
    /// <summary>The tiles' results (<c>tilesDir/SEQ@S_S_X_Y.txt</c>, in the input's frames and pixels) joined into one
    /// results file per input sequence (<c>results/SEQ.txt</c>) by <see cref="Stitch.join"/> (<paramref name="live"/>:
    /// <see cref="Stitch.joinLive"/>, as a live stream joins them): each sequence's
    /// name, its tiles (in the order joined) and what joining them gave.</summary>
    internal static List<(string Sequence, List<Source> Tiles, Stitch.Joined Joined)> Join(IEnumerable<Source> tiles, string tilesDir, string results, Action<string> say, bool live = false)
    {
        var joined = new List<(string, List<Source>, Stitch.Joined)>();
        foreach (var sequence in tiles.GroupBy(SequenceOf))
        {
            var parts = sequence.Select(s =>
            {
                var file = Scalor.IO.Crop.sequenceFile(tilesDir, s.Name, ".txt");
                return new Stitch.Tile(WindowOf(s), MotFiles.parse(file, false, File.Exists(file) ? File.ReadAllLines(file) : []));
            }).ToList();
            var join = (live ? Stitch.joinLive(Stitch.defaults, ListModule.OfSeq(parts)) : Stitch.join(Stitch.defaults, ListModule.OfSeq(parts)));
            Scalor.IO.Files.writeText(Scalor.IO.Crop.sequenceFile(results, sequence.Key, ".txt"), MotText(join.Rows));
            say(JoinedLine(sequence.Key, join, parts.Count, live));
            joined.Add((sequence.Key, sequence.ToList(), join));
        }
        return joined;
    }

    /// <summary>One input sequence's frames, each read once and cut into its tiles (<see cref="Inputs.OpenTiled"/>),
    /// tracked as a live stream is (<see cref="TiledTracker"/>): each tile's results, <c>tilesDir/SEQ@S_S_X_Y.txt</c>,
    /// and, given <paramref name="results"/>, the joined ones as the stream reports them, <c>results/SEQ.txt</c>, both
    /// in the input's frames and pixels; each tile's latents and pictures as <see cref="TrackTilesTorch"/> writes them,
    /// the drawn frames rendered. The number of frames tracked, and the stream's join of them (<see cref="Stitch.whole"/>; empty when
    /// <paramref name="tiler"/> does not join).</summary>
    /// <param name="tiles">The tiles' sources, in the windows' order (names, windows; their frames are not read).</param>
    /// <param name="seen">Given each tile's name and pictured frames, when pictures are drawn.</param>
    static (int Frames, Stitch.Joined Joined, double MseSum) TrackTilesAtOnce(TiledTracker tiler, int size, TiledSource whole, IReadOnlyList<Source> tiles, string outDir, Parse.TrackCommand cmd,
        string tilesDir, string? results, Action frameDone, Action<string, List<ModelView>>? seen, SlotUse? slots = null, Action? dropped = null)
    {
        var joins = new List<Stitch.Joined>();
        using var trackings = new Trackings([.. tiles.Select(src => new SequenceTracking(size, tiler.Tracker.Capacity, src, outDir, cmd, null, PicturedOf(tiles.Count), slots))]);
        // The frames' count, not their index (every frame-step-th frame of the input): the first ones are drawn.
        var stepped = 0;
        var tracked = whole.TiledFrames(cmd.FrameStep).ToObservable()
            .Process(f => tiler.Step(f, trackings.All[0].Draws(stepped++) || cmd.Mse), Paced(cmd), dropped is null ? null : _ => dropped());
        var n = (results is null ? tracked : tracked.RecordMot(results))
            .Do(f =>
            {
                // The tiles' frames carry the input's frame index, every frame-step-th.
                for (var i = 0; i < f.Tiles!.Count; i++) trackings.All[i].Add(f.Tiles[i], f.Frame.Index / cmd.FrameStep);
                // Read on the worker right after its step, before the next; none when the tiles are joined after.
                if (tiler.LastJoined is { } joined) joins.Add(joined);
                frameDone();
            })
            .Count()
            .Wait();
        var mse = 0.0;
        for (var i = 0; i < tiles.Count; i++)
        {
            var (m, frames) = FinishTile(trackings.All[i], tiles[i], outDir, cmd, tilesDir, seen);
            mse += m * frames;
        }
        return (n, Stitch.whole(joins), mse);
    }

    /// <summary>A tile's tracking finished: its results written (<c>tilesDir/SEQ@S_S_X_Y.txt</c>, in the input's frames
    /// and pixels, as tracking its window alone writes them), its pictures saved (and given to <paramref name="seen"/>),
    /// its latents written; its mean MSE and frame count.</summary>
    static (double Mse, int Frames) FinishTile(SequenceTracking tracking, Source src, string outDir, Parse.TrackCommand cmd, string tilesDir,
        Action<string, List<ModelView>>? seen)
    {
        var (mot, mse, n, latents) = tracking.Finish(seen: seen is null ? null : views => seen(src.Name, views));
        Scalor.IO.Files.writeText(Scalor.IO.Crop.sequenceFile(tilesDir, src.Name, ".txt"), ToInput(mot, cmd.FrameStep, src));
        WriteLatents(outDir, src, latents, cmd.FrameStep);
        return (mse, n);
    }

    /// <summary>Frames a tile's pictures draw: all tiles' are held until the sequence ends, so fewer with many tiles
    /// (300 over the tiles, at most 50, at least <see cref="ShownFrames"/>).</summary>
    static int PicturedOf(int tiles) => Math.Max(ShownFrames, Math.Min(50, 300 / tiles));

    /// <summary>The tiles' trackings of a sequence, disposed together.</summary>
    sealed class Trackings(List<SequenceTracking> all) : IDisposable
    {
        public List<SequenceTracking> All { get; } = all;
        public void Dispose() { foreach (var t in All) t.Dispose(); }
    }

    /// <summary>One input sequence's frames, each read once and cut into its tiles (<see cref="Inputs.OpenTiled"/>),
    /// every tile stepped in turn with a tracker of its own (<see cref="SequenceTracking"/>): each tile's results
    /// (<c>tilesDir/SEQ@S_S_X_Y.txt</c>), latents and pictures as tracking the tile alone writes them, but that the
    /// tiles' pictures, all held until the sequence ends, draw fewer frames when there are many tiles
    /// (<see cref="PicturedOf"/>). The frames tracked and the sum of the tiles' MSE over their frames.</summary>
    /// <param name="tiles">The tiles' sources, in the windows' order (names, windows; their frames are not read).</param>
    /// <param name="seen">Given each tile's name and pictured frames, when pictures are drawn.</param>
    static (int Frames, double MseSum) TrackTilesTorch(Scalor.Model.Scalor.Nets nets, double share, TiledSource whole, IReadOnlyList<Source> tiles, string outDir,
        Parse.TrackCommand cmd, string tilesDir, Action frameDone, Action<string, List<ModelView>>? seen, SlotUse? slots = null)
    {
        var k = tiles.Count;
        using var all = new Trackings([.. tiles.Select(src => new SequenceTracking(nets, share, src, outDir, cmd, frameDone, PicturedOf(k), slots))]);
        var trackings = all.All;
        // Blocks of FramesPerBlock tile steps, as one tile's frames are tracked in blocks (TrackOne).
        NativeSafe.Chunks(whole.Frames.SelectMany(f => f.Select((rgb, i) => (Tile: i, Rgb: rgb))), FramesPerBlock, chunk =>
        {
            foreach (var (i, rgb) in chunk) trackings[i].Step(rgb);
        });
        var (frames, mse) = (0, 0.0);
        for (var i = 0; i < k; i++)
        {
            var (m, n) = FinishTile(trackings[i], tiles[i], outDir, cmd, tilesDir, seen);
            (frames, mse) = (n, mse + m * n);
        }
        return (frames, mse);
    }

    /// <summary>What joining a sequence's tiles gave, as <c>track</c> says it.</summary>
    static string JoinedLine(string sequence, Stitch.Joined joined, int tiles, bool live) =>
        $"track: {sequence}: {Counts.Of(joined.Ids.Count, "track")} of {tiles} tiles joined{(live ? " live" : "")} into {joined.Rows.Select(r => r.Id).Distinct().Count()}";

    /// <summary>The input sequence a tile belongs to: its name before the window (<c>SEQ@S:S:X:Y</c>).</summary>
    static string SequenceOf(Source tile) => tile.Name[..tile.Name.LastIndexOf('@')];

    /// <summary>Says, once for each set of them (frames of one size share them), where a sequence's tiles meet without sharing a pixel
    /// (<see cref="Scalor.IO.Crop.seams"/>): an object crossing there gets a new id, and an overlap would keep it.</summary>
    internal static void SaySeams(IEnumerable<Source> tiles, Scalor.IO.Crop.Crop crop, Action<string> say)
    {
        var said = new HashSet<string>();
        foreach (var sequence in tiles.GroupBy(SequenceOf))
        {
            var (xs, ys) = Scalor.IO.Crop.seams(ListModule.OfSeq(sequence.Select(WindowOf))).ToValueTuple();
            if (xs.IsEmpty && ys.IsEmpty) continue;
            var at = string.Join(" and ", new[] { xs.IsEmpty ? null : $"x {string.Join(", ", xs)}", ys.IsEmpty ? null : $"y {string.Join(", ", ys)}" }.OfType<string>());
            var side = ((Scalor.IO.Crop.Crop.Tiles)crop).side;
            var line = $"track: the tiles of {Scalor.IO.Crop.describe(crop)} meet without sharing a pixel at {at}: an object that crosses there gets a new id (tiles:{side}:O shares at least O pixels; give about an object's size)";
            if (said.Add(line)) say(line);
        }
    }


    /// <summary>Every frame of a tiled sequence read, each tile's in a list of its own (in the windows' order, or those
    /// of the tiles <paramref name="only"/> lists, in its order), in NativeSafe blocks (reading image folders resizes
    /// with TorchSharp).</summary>
    internal static List<List<byte[]>> FramesByTile(TiledSource whole, IReadOnlyList<int>? only = null)
    {
        only ??= [.. Enumerable.Range(0, whole.Windows.Count)];
        var byTile = only.Select(_ => new List<byte[]>(Math.Max(whole.Length, 0))).ToList();
        NativeSafe.Chunks(whole.Frames, FramesPerBlock, chunk =>
        {
            foreach (var frame in chunk)
                for (var i = 0; i < byTile.Count; i++) byTile[i].Add(frame[only[i]]);
        });
        return byTile;
    }

    /// <summary>The tiles of a sequence, <paramref name="tiles"/> of <paramref name="tileBytes"/> each, in groups
    /// held at once within <paramref name="heldBytes"/> (at least one tile a group): for <c>--backfill</c>, which
    /// holds a tile's frames for its backward pass, the sequence is read once a group. Each tile had been decoded on
    /// its own once they did not all fit, 108 decodes of vtest.avi in tiles:64 where 2 now hold them all. A length
    /// not known (a stream's, 0 or less) holds every tile in one.</summary>
    public static List<List<int>> TileGroups(int tiles, long tileBytes, long heldBytes)
    {
        var per = tileBytes <= 0 ? tiles : (int)Math.Clamp(heldBytes / tileBytes, 1, Math.Max(1, tiles));
        var groups = (tiles + per - 1) / Math.Max(1, per);
        // As even as the reads allow: 108 tiles, 50 at most a group, are held 36 at a time, not 50, 50 and 8.
        var (least, larger) = groups == 0 ? (0, 0) : (tiles / groups, tiles % groups);
        int First(int g) => g * least + Math.Min(g, larger);
        return [.. Enumerable.Range(0, groups).Select(g => Enumerable.Range(First(g), First(g + 1) - First(g)).ToList())];
    }

    /// <summary>With <c>--backfill</c>, the tiles' frames of one sequence held at once (512 MB: about 43,000 tile
    /// frames of 64×64); a longer sequence is read once for each group of tiles that fits (<see cref="TileGroups"/>).</summary>
    public const long HeldTileBytes = 512L << 20;
}
