using Microsoft.FSharp.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.FSharp.Core;
using System.Reactive.Linq;
using System.Text.Json;
using Scalor.Cli;
using Scalor.Metrics;
using Scalor.Model;
using Scalor.Runtime;
using Scalor.Worlds;
using StbImageSharp;
using TorchSharp;

namespace Scalor.Host;

/// <summary><c>scalor-host track</c>: runs a trained model over sequences frame by frame (state carried, so
/// ids persist over any length) and writes MOTChallenge results, optional latents, pictures, and — when
/// ground truth exists — the evaluation.</summary>
public static class TrackCommand
{

    public static int Run(Parse.TrackCommand cmd)
    {
        torch.set_num_threads(cmd.Threads);
        var outDir = Paths.EnsureWritableDirectory(cmd.Out);
        var (nets, share) = Checkpoints.LoadForInference(cmd.Model, cmd.DuplicateShare, cmd.ExplainedShare);
        if (Recorded(cmd.Model, nets, share, cmd.DuplicateShare, cmd.ExplainedShare) is { } recorded) Console.WriteLine($"track: {recorded}");
        // Footage is tracked as the model saw it in training, unless the command line says otherwise; a generated
        // world is the model's own square, every frame.
        var (step, window) = cmd.Input is null ? (1, null) : FootageView.One("track", cmd.Model, cmd.FrameStep, cmd.Crop, Console.WriteLine, tiles: true);
        cmd = cmd.WithView(step, window);
        // Tiles are tracked each as a sequence of its own, then joined into one set of ids per input sequence.
        var tiled = cmd.Crop is { Value.IsTiles: true };
        var windowed = cmd.Crop is not null && !tiled;
        if (cmd.Live && !tiled) throw new UserError("--live joins tiles: give --crop tiles:S[:O] (this model records no tiles)");
        var size = nets.Config.ImageSize;
        string? gtDir = null;
        List<Source> sources;
        if (cmd.Input is null)
        {
            // A generated world with seeds never used in training, its truth written beside the results.
            var world = DataCommand.CreateWorld(cmd.World, "test", cmd.MnistDir, Console.Error.WriteLine);
            if (size != cmd.World.ViewSize) throw new UserError($"the model expects {size}×{size} frames; generated worlds are {cmd.World.ViewSize}×{cmd.World.ViewSize}");
            gtDir = Path.Combine(outDir, "gt");
            var seqs = Enumerable.Range(0, cmd.Sequences).Select(i => World.sequence(world, World.sequenceSeed(cmd.Seed, i))).ToArray();
            DataCommand.WriteDataset(gtDir, seqs, cmd.World, writeImages: false);
            sources = seqs.Select((s, i) => new Source(DataCommand.SequenceName(i), size, size, FramesOf(s), s.Length)).ToList();
        }
        else
        {
            sources = Inputs.Open(cmd.Input, size, out gtDir, cmd.FrameStep, cmd.Crop?.Value, m => FrameProgress.Say($"track: {m}"));
            if (tiled) SaySeams(sources, cmd.Crop!.Value, Console.WriteLine);
            // Every k-th frame is tracked, and only the crop's window of it, so the truth of the frames between and of
            // the objects outside the window is no one's to find. Tiles cover the whole frame.
            if (gtDir is not null && (cmd.FrameStep > 1 || windowed))
            {
                var name = $"gt{(cmd.FrameStep > 1 ? $"-every-{cmd.FrameStep}" : "")}{(windowed ? "-in-crop" : "")}";
                gtDir = TruthOf(gtDir, Path.Combine(outDir, name), cmd.FrameStep, windowed ? sources.ToDictionary(s => s.Name, WindowOf) : null);
            }
        }

        var results = Path.Combine(outDir, "results");
        Directory.CreateDirectory(results);
        // Each source's own results: the tiles' go beside the joined ones.
        var sourceResults = tiled ? Path.Combine(outDir, "tiles") : results;
        Directory.CreateDirectory(sourceResults);
        var mseSum = 0.0;
        var mseFrames = 0;
        var sw = Stopwatch.StartNew();
        var frames = 0;
        using var onnx = cmd.Runtime == "onnx" ? ExportCommand.InMemory(nets, cmd.Capacity, cmd.Provider, cmd.Threads, Console.Error.WriteLine, duplicateShare: share) : null;
        if (onnx is not null)
        {
            onnx.MinPresence = cmd.MinPresence;
            onnx.MinVisible = Track.minVisiblePixels(nets.Config, cmd.MinVisibleShare);
            onnx.MaskBoxes = cmd.MaskBoxes;
        }
        var passes = cmd.Backfill ? 2 : 1;
        // Each tile's pictured frames, for the whole frame's pictures once the tiles are joined.
        var seenByTile = tiled && cmd.Pictures && onnx is null ? new Dictionary<string, List<ModelView>>() : null;
        var held = JoinedPictures.FramesHeld(sources.Count);
        // Tiles: each input frame read once and cut into its tiles, which are stepped in turn, each as it would be
        // alone (a video decoded once, not once per tile). On ONNX Runtime they are joined as they come with --live
        // (TiledTracker), else over the files below. With --backfill each tile is tracked on its own, forwards then
        // backwards, from its frames held in memory: read once for every tile of a sequence while they fit in
        // HeldTileBytes, else decoded once per tile.
        var heldBytes = tiled ? (long)size * size * 3 * sources.GroupBy(SequenceOf).Max(g => g.Sum(s => (long)Math.Max(0, s.Length))) : 0;
        var once = tiled && (!cmd.Backfill || heldBytes <= HeldTileBytes);
        var streamed = once && !cmd.Backfill && onnx is not null;
        FrameProgress.Run("track", passes * sources.Sum(s => (long)Math.Max(0, s.Length)), (tick, say) =>
        {
            void TrackSource(Source src)
            {
                int n;
                double mse = double.NaN;
                int added;
                Action PassTick(string pass) => tick(pass.Length == 0 ? src.Name : $"{src.Name}, {pass}", src.Length);
                if (onnx is null)
                {
                    (var mot, mse, n, added) = TrackSequence(nets, share, src, outDir, cmd, PassTick, seenByTile is null ? null : seen => seenByTile[src.Name] = seen[..Math.Min(seen.Count, held)]);
                    File.WriteAllText(Path.Combine(sourceResults, src.Name + ".txt"), ToInput(mot, cmd.FrameStep, src));
                }
                else
                {
                    (n, added) = TrackOnnx(onnx, src, sourceResults, cmd.Backfill, PassTick);
                    var file = Path.Combine(sourceResults, src.Name + ".txt");
                    if ((cmd.FrameStep > 1 || src.Left != 0 || src.Top != 0) && File.Exists(file)) File.WriteAllText(file, ToInput(File.ReadAllText(file), cmd.FrameStep, src));
                }
                mseSum += mse * n;
                mseFrames += n;
                frames += n;
                say($"track: {src.Name}: {n} frames{(cmd.Backfill ? $"; backfill added {added} boxes" : "")}");
            }

            if (once)
            {
                var names = sources.ToDictionary(src => src.Name);
                foreach (var whole in Inputs.OpenTiled(cmd.Input!, size, cmd.Crop!.Value, out _, cmd.FrameStep, m => FrameProgress.Say($"track: {m}")))
                {
                    var count = whole.Windows.Count;
                    List<Source> tiles = [.. whole.Windows.Select(w => names[$"{whole.Name}@{Scalor.IO.Crop.describe(Scalor.IO.Crop.Crop.NewWindow(w))}"])];
                    if (cmd.Backfill)
                    {
                        var byTile = FramesByTile(whole);
                        for (var i = 0; i < count; i++) TrackSource(tiles[i] with { Frames = byTile[i] });
                        continue;
                    }
                    var frameDone = tick(whole.Name, whole.Length * count);
                    int n;
                    if (onnx is not null)
                        n = TrackTilesAtOnce(new TiledTracker(onnx), whole, cmd.FrameStep, sourceResults, cmd.Live ? results : null, () => { for (var i = 0; i < count; i++) frameDone(); });
                    else
                    {
                        (n, var mse) = TrackTilesTorch(nets, share, whole, tiles, outDir, cmd, sourceResults, frameDone,
                            seenByTile is null ? null : (name, seen) => seenByTile[name] = seen[..Math.Min(seen.Count, held)]);
                        mseSum += mse;
                        mseFrames += n * count;
                    }
                    frames += n * count;
                    say($"track: {whole.Name}: {n} frames, {count} tiles each");
                }
                return;
            }
            foreach (var src in sources) TrackSource(src);
        });
        if (streamed && cmd.Live)
            foreach (var sequence in sources.GroupBy(SequenceOf))
            {
                var ids = sequence.Sum(t => IdsIn(Path.Combine(sourceResults, t.Name + ".txt")));
                Console.WriteLine($"track: {sequence.Key}: {ids} tracks of {sequence.Count()} tiles joined live into {IdsIn(Path.Combine(results, sequence.Key + ".txt"))}");
            }
        else if (tiled)
            foreach (var (sequence, tiles, joined) in Join(sources, sourceResults, results, Console.WriteLine, cmd.Live))
            {
                if (seenByTile is not null)
                    JoinedPictures.Save(Path.Combine(outDir, "pictures"), sequence,
                        [.. tiles.Select(s => (WindowOf(s), seenByTile.GetValueOrDefault(s.Name, [])))], joined, size, cmd.FrameStep);
                if (cmd.Latents && onnx is null) JoinLatents(Path.Combine(outDir, "latents"), sequence, tiles, joined);
            }
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"track: {frames} frames in {sw.Elapsed.TotalSeconds:F1} s ({1000 * sw.Elapsed.TotalSeconds / Math.Max(1, frames):F1} ms/frame){(onnx is null ? $"; reconstruction MSE {mseSum / Math.Max(1, mseFrames):F5}" : $" on ONNX Runtime ({onnx.ProviderName})")}; results in {results}"));
        if (gtDir is not null && Directory.Exists(gtDir))
        {
            var evaluated = Evaluate.evaluateFolders(gtDir, results, false, null, 0.0);
            var summary = Evaluate.summarise(evaluated);
            var json = EvalCommand.Keys(summary);
            if (onnx is null) json["mse"] = mseSum / Math.Max(1, mseFrames);
            json["backfill"] = cmd.Backfill;
            BenchCommand.WriteJson(Path.Combine(outDir, "metrics.json"), json);
            Console.WriteLine(string.Create(inv,
                $"track: MOTA {100 * summary.Clear.Mota:F1}%  precision {100 * summary.Clear.Precision:F1}%  recall {100 * summary.Clear.Recall:F1}%  IDF1 {100 * summary.Identity.Idf1:F1}%  HOTA {100 * summary.Hota.Hota:F1}%  count-MAE {summary.CountMae:F3}  (metrics.json)"));
            Console.WriteLine($"track: {EvalCommand.ErrorLine(summary)}");
            if (EvalCommand.RecallByFrameLine(summary) is { } recallLine) Console.WriteLine($"track: {recallLine}");
        }
        return 0;
    }

    /// <summary>The tiles' results (<c>tilesDir/SEQ@S:S:X:Y.txt</c>, in the input's frames and pixels) joined into one
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
                var file = Path.Combine(tilesDir, s.Name + ".txt");
                return new Stitch.Tile(WindowOf(s), MotFiles.parse(file, false, File.Exists(file) ? File.ReadAllLines(file) : []));
            }).ToList();
            var join = (live ? Stitch.joinLive(Stitch.defaults, ListModule.OfSeq(parts)) : Stitch.join(Stitch.defaults, ListModule.OfSeq(parts)));
            File.WriteAllText(Path.Combine(results, sequence.Key + ".txt"), MotText(join.Rows));
            say($"track: {sequence.Key}: {join.Ids.Count} tracks of {parts.Count} tiles joined{(live ? " live" : "")} into {join.Rows.Select(r => r.Id).Distinct().Count()}");
            joined.Add((sequence.Key, sequence.ToList(), join));
        }
        return joined;
    }

    /// <summary>One input sequence's frames, each read once and cut into its tiles (<see cref="Inputs.OpenTiled"/>),
    /// tracked as a live stream is (<see cref="TiledTracker"/>): each tile's results, <c>tilesDir/SEQ@S:S:X:Y.txt</c>,
    /// and, given <paramref name="results"/>, the joined ones as the stream reports them, <c>results/SEQ.txt</c>, both
    /// in the input's frames and pixels. The number of frames tracked.</summary>
    static int TrackTilesAtOnce(TiledTracker tiler, TiledSource whole, int frameStep, string tilesDir, string? results, Action frameDone)
    {
        var tileLines = new Dictionary<string, StringBuilder>();
        var tracked = whole.Frames.Select((tiles, t) => new TiledFrame(whole.Name, t * frameStep, whole.Width, whole.Height, whole.Windows, tiles)).ToObservable()
            .TrackTiles(tiler, new StreamOptions(8, Overflow.Block));
        var n = (results is null ? tracked : tracked.RecordMot(results))
            .Do(f =>
            {
                for (var i = 0; i < f.Tiles!.Count; i++)
                {
                    var (tile, w) = (f.Tiles[i], tiler.Windows[i]);
                    var lines = tileLines.TryGetValue(tile.Frame.Sequence, out var b) ? b : tileLines[tile.Frame.Sequence] = new StringBuilder();
                    double sx = w.Width / (double)tile.Frame.Width, sy = w.Height / (double)tile.Frame.Height;
                    foreach (var o in tile.Objects)
                        lines.Append(TrackingStream.MotLine(f.Frame.Index + 1, o.Id, [w.Left + o.Left * sx, w.Top + o.Top * sy, o.Width * sx, o.Height * sy], o.Presence)).Append('\n');
                }
                frameDone();
            })
            .Count()
            .Wait();
        foreach (var (name, lines) in tileLines) File.WriteAllText(Path.Combine(tilesDir, name + ".txt"), lines.ToString());
        return n;
    }

    /// <summary>One input sequence's frames, each read once and cut into its tiles (<see cref="Inputs.OpenTiled"/>),
    /// every tile stepped in turn with a tracker of its own (<see cref="SequenceTracking"/>): each tile's results
    /// (<c>tilesDir/SEQ@S:S:X:Y.txt</c>), latents and pictures as tracking the tile alone writes them, but that the
    /// tiles' pictures, all held until the sequence ends, draw fewer frames when there are many tiles (at least
    /// <see cref="ShownFrames"/>). The frames tracked and the sum of the tiles' MSE over their frames.</summary>
    /// <param name="tiles">The tiles' sources, in the windows' order (names, windows; their frames are not read).</param>
    /// <param name="seen">Given each tile's name and pictured frames, when pictures are drawn.</param>
    static (int Frames, double MseSum) TrackTilesTorch(Scalor.Model.Scalor.Nets nets, double share, TiledSource whole, IReadOnlyList<Source> tiles, string outDir,
        Parse.TrackCommand cmd, string tilesDir, Action frameDone, Action<string, List<ModelView>>? seen)
    {
        var k = tiles.Count;
        var pictured = Math.Max(ShownFrames, Math.Min(50, 300 / k));
        var trackings = tiles.Select(src => new SequenceTracking(nets, share, src, outDir, cmd, frameDone, pictured)).ToList();
        try
        {
            // Blocks of FramesPerBlock tile steps, as one tile's frames are tracked in blocks (TrackOne).
            NativeSafe.Chunks(whole.Frames.SelectMany(f => f.Select((rgb, i) => (Tile: i, Rgb: rgb))), FramesPerBlock, chunk =>
            {
                foreach (var (i, rgb) in chunk) trackings[i].Step(rgb);
            });
            var (frames, mse) = (0, 0.0);
            for (var i = 0; i < k; i++)
            {
                var src = tiles[i];
                var (mot, m, n, latents) = trackings[i].Finish(seen: seen is null ? null : views => seen(src.Name, views));
                File.WriteAllText(Path.Combine(tilesDir, src.Name + ".txt"), ToInput(mot, cmd.FrameStep, src));
                WriteLatents(outDir, src, latents, cmd.FrameStep);
                (frames, mse) = (n, mse + m * n);
            }
            return (frames, mse);
        }
        finally
        {
            foreach (var t in trackings) t.Dispose();
        }
    }

    /// <summary>How many ids a MOTChallenge file holds (0 when there is none).</summary>
    static int IdsIn(string file) =>
        File.Exists(file) ? File.ReadLines(file).Select(l => l.Split(',')[1]).Distinct().Count() : 0;

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

    /// <summary>What the checkpoint at <paramref name="model"/> (null: the embedded one) records and tracking uses
    /// because the command line did not say otherwise: weight averaging, a duplicate or explained share that is not
    /// the default; null when nothing.</summary>
    internal static string? Recorded(string? model, Scalor.Model.Scalor.Nets nets, double share, FSharpOption<double>? askedShare, FSharpOption<double>? askedExplained)
    {
        var recorded = new List<string>();
        if (Checkpoints.DescribeAveraging(model) is { } averaging) recorded.Add(averaging);
        if (askedShare is null && share != Discovery.defaultDuplicateShare) recorded.Add(Checkpoints.DescribeShare(share));
        if (askedExplained is null && nets.Config.RejectionThreshold != Config.toy64.RejectionThreshold)
            recorded.Add(Checkpoints.DescribeExplainedShare(nets.Config.RejectionThreshold));
        return recorded.Count > 0 ? $"{string.Join(", ", recorded)}, as the checkpoint records" : null;
    }

    /// <summary>Results text of every <paramref name="step"/>-th frame of <paramref name="src"/>, tracked as frames 1,
    /// 2, … in its window's pixels, put back into the input's: each row's frame number 1, 1 + step, 1 + 2·step, …, and
    /// its box moved by the window's corner (<see cref="Source.Left"/>, <see cref="Source.Top"/>).</summary>
    internal static string ToInput(string mot, int step, Source src)
    {
        if (step == 1 && src.Left == 0 && src.Top == 0) return mot;
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder(mot.Length + mot.Length / 8);
        foreach (var line in mot.Split('\n'))
        {
            if (line.Length == 0) continue;
            var c = line.Split(',');
            c[0] = ((int.Parse(c[0], inv) - 1) * step + 1).ToString(inv);
            if (src.Left != 0) c[2] = (double.Parse(c[2], inv) + src.Left).ToString("0.##", inv);
            if (src.Top != 0) c[3] = (double.Parse(c[3], inv) + src.Top).ToString("0.##", inv);
            text.AppendJoin(',', c).Append('\n');
        }
        return text.ToString();
    }

    static Scalor.IO.Crop.Window WindowOf(Source s) => new(s.Width, s.Height, s.Left, s.Top);

    /// <summary>A copy of a MOTChallenge ground-truth folder with the rows that were there to find: those of every
    /// <paramref name="step"/>-th frame from the first, and with <paramref name="windows"/> (by sequence) those whose
    /// box centre lies in the sequence's window (<see cref="Scalor.IO.Crop.holdsCentre"/>). Each sequence's
    /// <c>gt/gt.txt</c>, and its <c>seqinfo.ini</c> as it is; returns the copy.</summary>
    internal static string TruthOf(string gtDir, string copy, int step, IReadOnlyDictionary<string, Scalor.IO.Crop.Window>? windows = null)
    {
        var inv = CultureInfo.InvariantCulture;
        foreach (var seq in Directory.GetDirectories(gtDir))
        {
            var gt = Path.Combine(seq, "gt", "gt.txt");
            if (!File.Exists(gt)) continue;
            var to = Path.Combine(copy, Path.GetFileName(seq));
            Directory.CreateDirectory(Path.Combine(to, "gt"));
            Scalor.IO.Crop.Window? window = windows is not null && windows.TryGetValue(Path.GetFileName(seq), out var w) ? w : null;
            var kept = File.ReadLines(gt).Where(l =>
            {
                // A row that does not parse is kept, for the evaluator to name.
                var c = l.Split(',');
                if (c.Length < 6 || !int.TryParse(c[0], NumberStyles.Integer, inv, out var f)) return true;
                if ((f - 1) % step != 0) return false;
                if (window is null) return true;
                double[] box = new double[4];
                for (var i = 0; i < 4; i++)
                    if (!double.TryParse(c[2 + i], NumberStyles.Float, inv, out box[i])) return true;
                return Scalor.IO.Crop.holdsCentre(window, box[0], box[1], box[2], box[3]);
            });
            File.WriteAllLines(Path.Combine(to, "gt", "gt.txt"), kept);
            var info = Path.Combine(seq, "seqinfo.ini");
            if (File.Exists(info)) File.Copy(info, Path.Combine(to, "seqinfo.ini"), true);
        }
        return copy;
    }

    static IEnumerable<byte[]> FramesOf(World.Sequence s)
    {
        var bytes = s.ViewSize * s.ViewSize * 3;
        for (var t = 0; t < s.Length; t++) yield return s.Frames[(t * bytes)..((t + 1) * bytes)];
    }

    static Rgb ToImage(torch.Tensor chw)
    {
        var c = chw.clamp(0f, 1f).mul(255f).add(0.5f).to_type(torch.uint8).permute(1, 2, 0).contiguous().cpu();
        var img = new Rgb((int)chw.shape[2], (int)chw.shape[1]);
        c.data<byte>().CopyTo(img.Pixels);
        return img;
    }

    /// <summary>The same tracking on ONNX Runtime: boxes and ids (no reconstruction, so no MSE or pictures); with
    /// <paramref name="backfill"/>, a backward pass too, merged as <see cref="TrackSequence"/> does.</summary>
    /// <param name="pass">The per-frame progress callback of a pass ("": the forward pass; "backward pass").</param>
    static (int Frames, int Added) TrackOnnx(OnnxTracker onnx, Source src, string results, bool backfill, Func<string, Action> pass)
    {
        if (!backfill) return (TrackOnnxPass(onnx, src, results, pass("")), 0);
        var frames = src.Frames.ToList();
        var n = TrackOnnxPass(onnx, src with { Frames = frames }, results, pass(""));
        var tick = pass("backward pass");
        // The backward pass's lines in memory, written as the results file's are (no temporary file: "Runtime").
        onnx.Reset();
        var size = onnx.ImageSize;
        var back = new StringBuilder();
        for (var t = 0; t < frames.Count; t++)
        {
            foreach (var line in TrackingStream.MotLines(onnx.Step(new Frame(src.Name, t, size, size, frames[frames.Count - 1 - t])), src.Width, src.Height))
                back.Append(line).Append('\n');
            tick();
        }
        var file = Path.Combine(results, src.Name + ".txt");
        var (mot, added, _) = Backfilled(File.Exists(file) ? File.ReadAllText(file) : "", back.ToString(), n);
        File.WriteAllText(file, mot);
        return (n, added.Length);
    }

    static int TrackOnnxPass(OnnxTracker onnx, Source src, string results, Action frameDone)
    {
        onnx.Reset();
        var size = onnx.ImageSize;
        var frames = src.Frames.Select((rgb, t) => new Frame(src.Name, t, size, size, rgb)).ToObservable();
        var done = frames.Track(onnx, new StreamOptions(8, Overflow.Block))
            .RecordMot(results, src.Width, src.Height)
            .Do(_ => frameDone())
            .Count()
            .Wait();
        return done;
    }

    /// <summary>Tracks one sequence as <see cref="TrackOne"/> does; with <c>--backfill</c> it also tracks the
    /// sequence played backwards (fresh state, nothing recorded) and extends the forward pass's late-starting tracks
    /// with that pass (<see cref="Backfill.extend"/>): the results text, the forward pass's MSE, the frame count and
    /// the boxes added. The pictures are the forward pass's with the added boxes drawn in; the latents are the
    /// forward pass's with each added row's backward object under the forward id (<see cref="AddBackfilled"/>).
    /// The frames are decoded once and held for both passes.</summary>
    /// <param name="pass">Gives each pass's per-frame progress callback ("": the forward pass; "backward pass").</param>
    /// <param name="seen">Given the forward pass's pictured frames as the model saw them, when it draws pictures.</param>
    internal static (string Mot, double Mse, int Frames, int Added) TrackSequence(Scalor.Model.Scalor.Nets nets, double share, Source src, string? outDir, Parse.TrackCommand cmd,
        Func<string, Action>? pass = null, Action<List<ModelView>>? seen = null)
    {
        if (!cmd.Backfill)
        {
            var (m, e, n, l) = TrackOne(nets, share, src, outDir, cmd, pass?.Invoke(""), seen: seen);
            WriteLatents(outDir, src, l, cmd.FrameStep);
            return (m, e, n, 0);
        }
        var frames = src.Frames.ToList();
        // The backward pass first, so that the forward pass's pictures can draw what it adds.
        var (back, _, _, backLatents) = TrackOne(nets, share, src with { Frames = Enumerable.Reverse(frames).ToList() }, null, cmd, pass?.Invoke("backward pass"));
        Backfill.Added[] sources = [];
        var (mot, mse, count, latents) = TrackOne(nets, share, src with { Frames = frames }, outDir, cmd, pass?.Invoke(""), online =>
        {
            var merged = Backfilled(online, back, frames.Count);
            sources = merged.Sources;
            return (merged.Mot, merged.Added);
        }, seen);
        if (latents is not null && backLatents is not null) AddBackfilled(latents, backLatents, sources, frames.Count);
        WriteLatents(outDir, src, latents, cmd.FrameStep);
        return (mot, mse, count, sources.Length);
    }

    /// <summary>One reported object of a latents file (snake_case keys: <c>id</c>, <c>scale_x</c>, …,
    /// <c>visible_px</c>, <c>discovered</c>, <c>appearance</c>). <c>backfilled</c> is written with <c>--backfill</c>
    /// only: true where the row came from the backward pass. <c>tile</c> is written in the joined latents of
    /// tiles only: the window (<c>S:S:X:Y</c>) whose model saw the object, in whose square scale and position are.</summary>
    internal sealed record LatentObject(long Id, float ScaleX, float ScaleY, float PositionX, float PositionY, double[] Box,
        float Depth, float Presence, float VisiblePx, bool Discovered, float[] Appearance, bool? Backfilled, string? Tile = null);

    /// <summary>A frame of a latents file: its 1-based index and reported objects.</summary>
    internal sealed record LatentFrame(int Frame, List<LatentObject> Objects);

    static readonly JsonSerializerOptions LatentsJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <param name="step">The input's frames between two tracked ones: the file names the input's frame numbers, and
    /// boxes in the input's pixels (a crop's window moved to its corner), as <see cref="ToInput"/> puts the results.</param>
    static void WriteLatents(string? outDir, Source src, List<LatentFrame>? latents, int step)
    {
        if (latents is null || outDir is null) return;
        if (step > 1) latents = [.. latents.Select(f => f with { Frame = (f.Frame - 1) * step + 1 })];
        if (src.Left != 0 || src.Top != 0)
            latents = [.. latents.Select(f => f with { Objects = [.. f.Objects.Select(o => o with { Box = TrackingStream.MotBox([o.Box[0] + src.Left, o.Box[1] + src.Top, o.Box[2], o.Box[3]]) })] })];
        Directory.CreateDirectory(Path.Combine(outDir, "latents"));
        File.WriteAllText(Path.Combine(outDir, "latents", src.Name + ".json"), JsonSerializer.Serialize(latents, LatentsJson));
    }

    /// <summary>The tiles' latents (<c>latentsDir/SEQ@S:S:X:Y.json</c>) joined as their results were: for each
    /// joined row, the object of the tile whose box it kept (a track that <paramref name="joined"/> gives the row's id,
    /// in the row's frame, with the nearest box), under the joined id, with its tile named; discovered where its
    /// joined track begins. Written as <c>latentsDir/SEQ.json</c>, frames as the tiles list them.</summary>
    internal static void JoinLatents(string latentsDir, string sequence, List<Source> tiles, Stitch.Joined joined)
    {
        var byTile = tiles.Select(s => JsonSerializer.Deserialize<List<LatentFrame>>(File.ReadAllText(Path.Combine(latentsDir, s.Name + ".json")), LatentsJson)!
            .ToDictionary(f => f.Frame)).ToList();
        var rows = joined.Rows.ToLookup(r => r.Frame);
        var first = Stitch.beginnings(joined);
        LatentObject Origin(MotFiles.Row r) =>
            (from ti in Enumerable.Range(0, tiles.Count)
             where byTile[ti].ContainsKey(r.Frame)
             from o in byTile[ti][r.Frame].Objects
             where joined.IdAt(r.Frame, Tuple.Create(ti, (int)o.Id))?.Value == r.Id
             orderby Math.Abs(o.Box[0] - r.Box.Left) + Math.Abs(o.Box[1] - r.Box.Top) + Math.Abs(o.Box[2] - r.Box.Width) + Math.Abs(o.Box[3] - r.Box.Height)
             select o with { Id = r.Id, Discovered = first[r.Id] == r.Frame, Tile = Scalor.IO.Crop.describe(Scalor.IO.Crop.Crop.NewWindow(WindowOf(tiles[ti]))) }).First();
        var frames = byTile[0].Keys.Order().Select(f => new LatentFrame(f, [.. rows[f].Select(Origin)])).ToList();
        File.WriteAllText(Path.Combine(latentsDir, sequence + ".json"), JsonSerializer.Serialize(frames, LatentsJson));
    }

    /// <summary>Puts the backward pass's object behind each row <c>--backfill</c> added into the forward latents:
    /// the added row at frame t of forward track i came from backward track j at the backward pass's frame
    /// length + 1 − t, so that object's latents go into frame t under id i, marked backfilled and not discovered
    /// (the track existed; the circle and the flag are for the online pass's own discoveries). The results and the
    /// latents then list the same objects with the same boxes.</summary>
    internal static void AddBackfilled(List<LatentFrame> forward, List<LatentFrame> backward, IEnumerable<Backfill.Added> sources, int length)
    {
        var forwardAt = forward.ToDictionary(f => f.Frame);
        var backwardAt = backward.ToDictionary(f => f.Frame);
        foreach (var a in sources)
        {
            var origin = backwardAt[length + 1 - a.Frame].Objects.Single(o => o.Id == a.From);
            forwardAt[a.Frame].Objects.Add(origin with { Id = a.Id, Discovered = false, Backfilled = true });
        }
    }

    /// <summary>Forward results text merged with a backward pass's (its frame t of <paramref name="length"/> is frame
    /// length + 1 − t) by <see cref="Backfill.extend"/>, written by the one results formatter; and the rows added.</summary>
    internal static (string Mot, MotFiles.Row[] Added, Backfill.Added[] Sources) Backfilled(string forward, string backward, int length)
    {
        var f = MotFiles.parse("forward results", false, forward.Split('\n'));
        var b = Backfill.reverseFrames(length, MotFiles.parse("backward results", false, backward.Split('\n')));
        var (rows, sources) = Backfill.extendWithSources(Backfill.defaults, f, b).ToValueTuple();
        var online = f.Select(r => (r.Frame, r.Id)).ToHashSet();
        return (MotText(rows), [.. rows.Where(r => !online.Contains((r.Frame, r.Id)))], sources);
    }

    /// <summary>Results rows as a results file's text, by the one results formatter.</summary>
    static string MotText(IEnumerable<MotFiles.Row> rows)
    {
        var mot = new StringBuilder();
        foreach (var r in rows)
            mot.Append(TrackingStream.MotLine(r.Frame, r.Id, [r.Box.Left, r.Box.Top, r.Box.Width, r.Box.Height], r.Flag)).Append('\n');
        return mot.ToString();
    }

    /// <summary>Every frame of a tiled sequence read, each tile's in a list of its own (in the windows' order), in
    /// NativeSafe blocks (reading image folders resizes with TorchSharp).</summary>
    internal static List<List<byte[]>> FramesByTile(TiledSource whole)
    {
        var byTile = whole.Windows.Select(_ => new List<byte[]>(Math.Max(whole.Length, 0))).ToList();
        NativeSafe.Chunks(whole.Frames, FramesPerBlock, chunk =>
        {
            foreach (var frame in chunk)
                for (var i = 0; i < byTile.Count; i++) byTile[i].Add(frame[i]);
        });
        return byTile;
    }

    /// <summary>With <c>--backfill</c>, the tiles' frames of one sequence held at once when read once for all of them
    /// (512 MB: about 43,000 tile frames of 64×64); a longer sequence is decoded once per tile instead.</summary>
    const long HeldTileBytes = 512L << 20;

    /// <summary>Frames tracked in one NativeSafe block: a collection between blocks bounds the memory that only
    /// finalizers free; one every 25 frames costs nothing measurable (a 301-frame video: median of three runs 69.9
    /// ms a frame, against 69.6 in one block).</summary>
    internal const int FramesPerBlock = 25;

    /// <summary>Tracks one sequence with TorchSharp: its MOTChallenge results text, mean reconstruction MSE, frame
    /// count and, when <paramref name="cmd"/> asks for them, the latents (written by the caller); pictures go under
    /// <paramref name="outDir"/> when asked for (<c>eval --data</c> asks for neither and keeps the results in memory).</summary>
    /// <param name="frameDone">Called after each frame (progress).</param>
    /// <param name="complete">With <c>--backfill</c>: turns the online results text into the final one and the rows
    /// it adds, before the pictures are saved, so they draw the added boxes and trajectories too.</param>
    /// <param name="seen">Given the pictured frames as the model saw them (<see cref="ModelView"/>), when pictures are drawn.</param>
    internal static (string Mot, double Mse, int Frames, List<LatentFrame>? Latents) TrackOne(Scalor.Model.Scalor.Nets nets, double share, Source src, string? outDir, Parse.TrackCommand cmd,
        Action? frameDone = null, Func<string, (string Mot, MotFiles.Row[] Added)>? complete = null, Action<List<ModelView>>? seen = null)
    {
        using var one = new SequenceTracking(nets, share, src, outDir, cmd, frameDone);
        // Blocks of FramesPerBlock frames (NativeSafe), collected between: the collector is held off within a block,
        // so what only finalizers free (TorchSharp's temporary scalars and the native memory behind them) piles up
        // until the block ends. With one block for the whole sequence, the 795 frames of a pedestrian video peaked at
        // 2.49 GB and grew by about 3 MB a frame to the end; in blocks, 1.35 GB, level from about frame 600 (where
        // libtorch's oneDNN kernel cache is full).
        NativeSafe.Chunks(src.Frames, FramesPerBlock, chunk =>
        {
            foreach (var rgb in chunk) one.Step(rgb);
        });
        return one.Finish(complete, seen);
    }

    /// <summary>What <see cref="TrackOne"/> does, a frame at a time, so that the tiles of a frame read once can each
    /// be stepped in turn (<see cref="TrackTilesTorch"/>): the results, MSE, latents and pictured frames gathered as
    /// the frames come, the pictures saved at <see cref="Finish"/>. Steps run in the caller's NativeSafe blocks.</summary>
    internal sealed class SequenceTracking : IDisposable
    {
        readonly int size;
        readonly Tracker.Tracker tracker;
        readonly Source src;
        readonly string? outDir;
        readonly Parse.TrackCommand cmd;
        readonly Action? frameDone;
        readonly int pictured;
        readonly StringBuilder mot = new();
        readonly List<LatentFrame>? latents;
        readonly bool? backfilled;
        readonly List<FramePictures> rows = new();
        readonly Dictionary<long, List<(double X, double Y)>> tracks = new();
        readonly double sx, sy;
        double mseSum;
        int t;

        /// <param name="pictured">Frames drawn in the pictures (the GIF; the PNG shows the first <see cref="ShownFrames"/>).</param>
        public SequenceTracking(Scalor.Model.Scalor.Nets nets, double share, Source src, string? outDir, Parse.TrackCommand cmd, Action? frameDone, int pictured = 50)
        {
            size = nets.Config.ImageSize;
            tracker = new Tracker.Tracker(nets, share, cmd.MinPresence, cmd.MinVisibleShare);
            (this.src, this.outDir, this.cmd, this.frameDone, this.pictured) = (src, outDir, cmd, frameDone, pictured);
            latents = cmd.Latents ? new List<LatentFrame>() : null;
            backfilled = cmd.Backfill ? false : null;
            (sx, sy) = ((double)src.Width / size, (double)src.Height / size);
        }

        /// <summary>Tracks the sequence's next frame (RGB bytes at the model's size).</summary>
        public void Step(byte[] rgb)
        {
            tracker.Step(rgb, Seen);
            t++;
            frameDone?.Invoke();
        }

        // What the host makes of each frame while its tensors live: the MSE, result rows, latents and pictures.
        void Seen(Tracker.FrameView view)
        {
            var (x, frame, objects) = (view.Input, view.Frame, view.Reported);
            mseSum += (frame.Recon - x).pow(2).mean().item<float>();
            // Each reported box once, in the input's pixels to the results file's two decimals: the results and the
            // latents carry the same numbers.
            var reported = new double[objects.Length][];
            for (var i = 0; i < objects.Length; i++)
            {
                var o = objects[i];
                var (l, top, w, h) = BoxOf(o, size, cmd.MaskBoxes);
                reported[i] = TrackingStream.MotBox([l * sx, top * sy, w * sx, h * sy]);
                mot.Append(TrackingStream.MotLine(t + 1, o.Id, reported[i], o.Presence)).Append('\n');
                if (!tracks.TryGetValue(o.Id, out var path)) tracks[o.Id] = path = [];
                path.Add(((l + w / 2) * sx, (top + h / 2) * sy));
            }
            latents?.Add(new LatentFrame(t + 1, [.. objects.Select((o, i) => new LatentObject(o.Id, o.Where[0], o.Where[1], o.Where[2], o.Where[3],
                reported[i], o.Depth, o.Presence, o.Visible, o.New, o.What, backfilled))]));
            if (cmd.Pictures && outDir is not null && t < pictured) rows.Add(Picture(frame, objects, view.IdsBefore, x, size, perObject: t < ShownFrames, maskBoxes: cmd.MaskBoxes));
        }

        /// <summary>The sequence tracked: its results text, mean MSE, frame count and latents; the pictures saved.</summary>
        /// <param name="complete">As <see cref="TrackOne"/>'s.</param>
        /// <param name="seen">As <see cref="TrackOne"/>'s.</param>
        public (string Mot, double Mse, int Frames, List<LatentFrame>? Latents) Finish(Func<string, (string Mot, MotFiles.Row[] Added)>? complete = null, Action<List<ModelView>>? seen = null)
        {
            var text = mot.ToString();
            if (complete is not null)
            {
                var (final, added) = complete(text);
                text = final;
                if (cmd.Pictures) DrawAdded(added, rows, tracks, sx, sy);
            }
            if (cmd.Pictures && outDir is not null && rows.Count > 0)
            {
                SavePictures(Path.Combine(outDir, "pictures"), src.Name, rows, tracks, size, sx, sy);
                seen?.Invoke([.. rows.Select(r => r.Seen)]);
            }
            return (text, t == 0 ? 0 : mseSum / t, t, latents);
        }

        public void Dispose() => ((IDisposable)tracker).Dispose();
    }

    /// <summary>Draws the rows <c>--backfill</c> added on the frames' input pictures, boxes coloured by id as the
    /// others, and puts them at the start of their trajectories (they come before the track's first online frame).</summary>
    static void DrawAdded(MotFiles.Row[] added, List<FramePictures> rows, Dictionary<long, List<(double X, double Y)>> tracks, double sx, double sy)
    {
        const int k = 3;
        foreach (var group in added.GroupBy(r => (long)r.Id))
        {
            var path = group.OrderBy(r => r.Frame).Select(r => (r.Box.Left + r.Box.Width / 2, r.Box.Top + r.Box.Height / 2)).ToList();
            if (tracks.TryGetValue(group.Key, out var rest)) rest.InsertRange(0, path);
            else tracks[group.Key] = path;
            foreach (var r in group.Where(r => r.Frame <= rows.Count))
                rows[r.Frame - 1].Input.Rectangle(r.Box.Left / sx * k, r.Box.Top / sy * k, r.Box.Width / sx * k, r.Box.Height / sy * k, Rgb.IdColour(r.Id));
        }
    }

    /// <summary>Frames in the PNG strip (the GIF shows up to 50).</summary>
    const int ShownFrames = 10;
    /// <summary>Objects with a row of their own reconstructions in the PNG strip.</summary>
    const int ObjectRows = 4;

    /// <summary>One frame's pictures, each enlarged 3×: input with boxes coloured by id (white circle: discovered
    /// here), reconstruction, background, segmentation by id colour, and each reported object's own
    /// reconstruction with its box (<see cref="Object"/>; none unless asked for). Held as what they are drawn from, at
    /// the model's size (<paramref name="Seen"/>; <paramref name="Objects"/>, each object's render and box in its
    /// pixels), and enlarged when asked: a sequence's frames are held until its pictures are saved, and with tiles
    /// every tile's at once (the enlarged pictures of 108 tiles of a busy video held 5 GB).</summary>
    internal sealed record FramePictures(Rgb Input, IReadOnlyDictionary<long, (Rgb Render, (double Left, double Top, double Width, double Height) Box)> Objects, ModelView Seen)
    {
        const int K = 3;
        public Rgb Recon => Seen.Recon.Scale(K);
        public Rgb Background => Seen.Background.Scale(K);
        public Rgb Segmentation => Coloured(Seen.Segments, Seen.Frame.Width, id => Rgb.IdColour((int)id)).Scale(K);

        /// <summary>The object's own reconstruction with its box, or null where it has none in this frame.</summary>
        public Rgb? Object(long id)
        {
            if (!Objects.TryGetValue(id, out var o)) return null;
            var big = o.Render.Scale(K);
            var (l, top, w, h) = o.Box;
            big.Rectangle(l * K, top * K, w * K, h * K, Rgb.IdColour((int)id));
            return big;
        }
    }

    /// <summary>One frame as the model saw it, size×size: the frame (nothing drawn on it), its reconstruction and
    /// background, and the track id that each pixel of the segmentation shows (row-major, 0: no object there).</summary>
    internal sealed record ModelView(Rgb Frame, Rgb Recon, Rgb Background, long[] Segments);

    /// <summary>An object's reported box in pixels: its mask box when asked for and it has one, else its glimpse.</summary>
    internal static (double Left, double Top, double Width, double Height) BoxOf(Track.TrackedObject o, int size, bool mask) =>
        Track.reportedBox(mask, o.MaskBox, o.Where, size, size).ToValueTuple();

    internal static FramePictures Picture(Scalor.Model.Scalor.Frame f, Track.TrackedObject[] objects, torch.Tensor prevIds, torch.Tensor x, int size, bool perObject = false, bool maskBoxes = true)
    {
        const int k = 3;
        var frame = ToImage(x[0]);
        var input = frame.Scale(k);
        foreach (var o in objects)
        {
            var (l, top, w, h) = BoxOf(o, size, maskBoxes);
            input.Rectangle(l * k, top * k, w * k, h * k, Rgb.IdColour((int)o.Id));
            if (o.New) input.Circle((l + w / 2) * k, (top + h / 2) * k, 4, (255, 255, 255));
        }
        var recon = ToImage(f.Recon[0]);
        var bg = ToImage(f.Background[0]);
        // Image 0's full-resolution maps [K; 5; H; W] and each slot's id, shared by both pictures that need them.
        var full = Render.fullMaps(f.Maps, size, size)[0];
        var slotIds = SlotIds(prevIds, full.shape[0]);
        var own = new Dictionary<long, (Rgb, (double, double, double, double))>();
        if (perObject)
        {
            var renders = ObjectRenders(full, slotIds, objects.Select(o => o.Id).ToHashSet());
            foreach (var o in objects)
                if (renders.TryGetValue(o.Id, out var img)) own[o.Id] = (img, BoxOf(o, size, maskBoxes));
        }
        return new FramePictures(input, own, new ModelView(frame, recon, bg, Segments(full, slotIds, f.AlphaFg)));
    }

    /// <summary>The track id each of a frame's <paramref name="slots"/> map slots stands for: the maps hold the
    /// previous frame's slots (ids <paramref name="prevIds"/> [B; N], 0 for an empty slot) then the discovery
    /// cells, which take the ids <c>Scalor.nextObjects</c> gives them (the largest previous id + cell index + 1).</summary>
    static long[] SlotIds(torch.Tensor prevIds, long slots)
    {
        var prev = prevIds.numel() == 0 ? [] : prevIds[0].cpu().data<long>().ToArray();
        var largest = prev.Length == 0 ? 0 : prev.Max();
        return [.. Enumerable.Range(0, (int)slots).Select(s => s < prev.Length ? prev[s] : largest + (s - prev.Length) + 1)];
    }

    /// <summary>Per-object reconstructions of image 0 (paper Fig. 3c): each wanted id's own rendering
    /// α·z_pres·o on black, whole even where another object covers it in the composite.</summary>
    public static Dictionary<long, Rgb> ObjectRenders(Render.ObjectMaps m, torch.Tensor prevIds, IReadOnlySet<long> ids, int size)
    {
        using var scope = torch.NewDisposeScope();
        var full = Render.fullMaps(m, size, size)[0];
        return ObjectRenders(full, SlotIds(prevIds, full.shape[0]), ids);
    }

    static Dictionary<long, Rgb> ObjectRenders(torch.Tensor full, long[] slotIds, IReadOnlySet<long> ids)
    {
        var renders = new Dictionary<long, Rgb>();
        for (var slot = 0; slot < slotIds.Length; slot++)
            if (slotIds[slot] > 0 && ids.Contains(slotIds[slot])) renders[slotIds[slot]] = ToImage(full[slot].narrow(0, 0, 3));
        return renders;
    }

    /// <summary>Segmentation of image 0: each pixel where α_fg ≥ 0.1 takes the id colour of the object with the
    /// largest importance there; discovery cells are coloured as the new ids they would get (<see cref="SlotIds"/>).</summary>
    internal static Rgb Segmentation(Render.ObjectMaps m, torch.Tensor alphaFg, torch.Tensor prevIds, int size)
    {
        var full = Render.fullMaps(m, size, size)[0];
        return Coloured(Segments(full, SlotIds(prevIds, full.shape[0]), alphaFg), size, id => Rgb.IdColour((int)id));
    }

    /// <summary>The id each pixel of image 0 shows (row-major; 0 where α_fg &lt; 0.1): the slot with the largest
    /// importance there.</summary>
    static long[] Segments(torch.Tensor full, long[] slotIds, torch.Tensor alphaFg)
    {
        var (_, arg) = full.narrow(1, 4, 1).squeeze(1).max(0);
        var alpha = alphaFg[0, 0].cpu().data<float>().ToArray();
        var argv = arg.cpu().data<long>().ToArray();
        return [.. alpha.Select((a, i) => a < 0.1f ? 0 : slotIds[argv[i]])];
    }

    /// <summary>A segmentation's picture: each pixel that shows an object in its colour, the others black.</summary>
    internal static Rgb Coloured(long[] segments, int width, Func<long, (byte, byte, byte)> colour)
    {
        var seg = new Rgb(width, segments.Length / width);
        for (var i = 0; i < segments.Length; i++)
            if (segments[i] != 0) seg.Set(i % width, i / width, colour(segments[i]));
        return seg;
    }

    static void SavePictures(string dir, string name, List<FramePictures> rows, Dictionary<long, List<(double X, double Y)>> tracks, int size, double sx, double sy)
    {
        Directory.CreateDirectory(dir);
        var shown = rows.Take(ShownFrames).ToList();
        const int k = 3;
        var traj = new Rgb(size * k, size * k);
        foreach (var (id, path) in tracks)
        {
            for (var i = 1; i < path.Count; i++)
                traj.Line(path[i - 1].X / sx * k, path[i - 1].Y / sy * k, path[i].X / sx * k, path[i].Y / sy * k, Rgb.IdColour((int)id));
            traj.Circle(path[^1].X / sx * k, path[^1].Y / sy * k, 2, Rgb.IdColour((int)id));
        }
        var strips = new List<Rgb> { Rgb.Strip(shown.Select(r => r.Input).ToList()), Rgb.Strip(shown.Select(r => r.Recon).ToList()) };
        // As the paper's Fig. 3c, a subset: the objects reported in most of the shown frames.
        var blank = new Rgb(size * k, size * k);
        foreach (var id in PerObjectRows(shown.Select(r => r.Objects.Keys), ObjectRows))
            strips.Add(Rgb.Strip(shown.Select(r => r.Object(id) ?? blank).ToList()));
        strips.AddRange([Rgb.Strip(shown.Select(r => r.Background).ToList()), Rgb.Strip(shown.Select(r => r.Segmentation).ToList()), traj]);
        Rgb.Stack(strips).SavePng(Path.Combine(dir, name + ".png"));
        Gif.Write(Path.Combine(dir, name + ".gif"), rows.Select(r => Rgb.Strip([r.Input, r.Recon, r.Segmentation])).ToList(), 30);
    }

    /// <summary>The ids given a row of their own reconstructions: the <paramref name="count"/> reported in the
    /// most frames, ties to the older (smaller) id.</summary>
    public static long[] PerObjectRows(IEnumerable<IEnumerable<long>> idsPerFrame, int count) =>
        idsPerFrame.SelectMany(ids => ids).GroupBy(id => id)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Take(count).Select(g => g.Key).ToArray();
}
