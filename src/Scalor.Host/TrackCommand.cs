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
using TorchSharp;

namespace Scalor.Host;

/// <summary><c>scalor-host track</c>: runs a trained model over sequences frame by frame (state carried, so
/// ids persist over any length) and writes MOTChallenge results, optional latents, pictures, and — when
/// ground truth exists — the evaluation.</summary>
public static partial class TrackCommand
{

    /// <param name="interrupt">Stops the run early, keeping what is done (default: Ctrl+C and SIGTERM do).</param>
    /// <param name="heldTileBytes">With <c>--backfill</c> on tiles, the most bytes of tile frames held at once
    /// (<see cref="HeldTileBytes"/>; tests give less, to track a sequence's tiles in several groups).</param>
    public static int Run(Parse.TrackCommand cmd, Interrupt? interrupt = null, long heldTileBytes = HeldTileBytes)
    {
        torch.set_num_threads(cmd.Threads);
        // A missing input is said before the model loads.
        if (cmd.Input is { } input && !Inputs.Exists(input)) throw new UserError(Inputs.NotFound(input));
        var outDir = Paths.EnsureWritableDirectory(cmd.Out);
        // Stopped (Ctrl+C, SIGTERM), the sequence in hand ends at the frame in hand and is written as far as it went
        // (with --backfill it is left out: its passes need all of it); the sequences after it are not tracked. A
        // terminal's Ctrl+C reaches ffmpeg too, which ends its frames: what it says of that is not said.
        using var listening = interrupt is null ? new Interrupt("track") : null;
        interrupt ??= listening!;
        Action<string> decoderSaid = m => { if (!interrupt.Requested) FrameProgress.Say($"track: {m}"); };
        // An exported model (scalor-host export) runs on ONNX Runtime as it is: no checkpoint, no TorchSharp model.
        using var exported = cmd.Model is not null && Checkpoints.IsOnnx(cmd.Model) ? LoadExported(ref cmd) : null;
        Scalor.Model.Scalor.Nets? nets = null;
        var share = 0.0;
        if (exported is null)
        {
            (nets, share) = Checkpoints.LoadForInference(cmd.Model, cmd.DuplicateShare, cmd.ExplainedShare);
            if (cmd.Capacity is { } capacity) nets = Scalor.Model.Scalor.withCapacity(capacity.Value, nets);
            if (Recorded(cmd.Model, nets, share, cmd.DuplicateShare, cmd.ExplainedShare) is { } recorded) Console.WriteLine($"track: {recorded}");
        }
        // Footage is tracked as the model saw it in training, unless the command line says otherwise; a generated
        // world is the model's own square, every frame.
        var (step, window) = cmd.Input is null ? (1, null)
            : exported is null ? FootageView.One("track", cmd.Model, cmd.FrameStep, cmd.Crop, Console.WriteLine, tiles: true)
            : FootageView.One("track", (exported.FrameStep, ListModule.OfSeq(exported.Crops)), "model", cmd.FrameStep, cmd.Crop, Console.WriteLine, tiles: true);
        cmd = cmd.WithView(step, window);
        // Tiles are tracked each as a sequence of its own, then joined into one set of ids per input sequence.
        var tiled = cmd.Crop is { Value.IsTiles: true };
        var windowed = cmd.Crop is not null && !tiled;
        if (cmd.Live && !tiled) throw new UserError("--live joins tiles: give --crop tiles:S[:O] (this model records no tiles)");
        var size = exported?.ImageSize ?? nets!.Config.ImageSize;
        string? gtDir = null;
        List<Source> sources;
        if (cmd.Input is null)
        {
            // A generated world with seeds never used in training, its truth written beside the results.
            var world = DataCommand.HeldOutWorld(cmd.World, size, cmd.MnistDir);
            gtDir = Path.Combine(outDir, "gt");
            var seqs = Enumerable.Range(0, cmd.Sequences).Select(i => World.sequence(world, World.sequenceSeed(cmd.Seed, i))).ToArray();
            DataCommand.WriteDataset(gtDir, seqs, cmd.World, writeImages: false);
            sources = seqs.Select((s, i) => new Source(DataCommand.SequenceName(i), size, size, FramesOf(s), s.Length)).ToList();
        }
        else
        {
            sources = Inputs.Open(cmd.Input, size, out gtDir, cmd.FrameStep, cmd.Crop?.Value, decoderSaid);
            if (cmd.Backfill && Inputs.IsStream(cmd.Input))
                Console.WriteLine("track: --backfill holds a stream's frames until it ends and tracks them then; a live stream does not end, and Ctrl-C leaves it out");
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
        // Pictures on ONNX Runtime need the rendering outputs; only the frames drawn run them (OnnxTracker.Step).
        using var inMemory = exported is null && cmd.Runtime == "onnx"
            ? ExportCommand.InMemory(nets!, nets!.Config.Capacity, cmd.Provider, cmd.Threads, Console.Error.WriteLine, duplicateShare: share, render: cmd.Pictures || cmd.Mse) : null;
        var onnx = exported ?? inMemory;
        if (onnx is not null)
        {
            onnx.MinPresence = cmd.MinPresence;
            onnx.MaskBoxes = cmd.MaskBoxes;
            onnx.Converged = cmd.Converged?.Value;
            // An exported file stores the floor at the default share of the anchor's area (Track.minVisiblePixels),
            // so another share scales it; a model exported here has its config at hand.
            onnx.MinVisible = nets is null
                ? (float)(onnx.MinVisible * cmd.MinVisibleShare / Track.defaultMinVisibleShare)
                : Track.minVisiblePixels(nets.Config, cmd.MinVisibleShare);
        }
        var passes = cmd.Backfill ? 2 : 1;
        // Each tile's pictured frames, for the whole frame's pictures once the tiles are joined.
        var seenByTile = tiled && cmd.Pictures ? new Dictionary<string, List<ModelView>>() : null;
        // With --live on ONNX Runtime, each sequence's tiles and the join its stream reported, for its pictures and latents.
        var streamJoins = new Dictionary<string, (List<Source> Tiles, Stitch.Joined Joined)>();
        var slots = new SlotUse();
        if (cmd.Realtime && onnx is null) throw new UserError("--realtime drops frames on ONNX Runtime: add --runtime onnx");
        if (cmd.Realtime && !Inputs.IsStream(cmd.Input!))
            Console.WriteLine("track: --realtime on a file: its frames come as fast as they decode, so most wait too long and are dropped");
        // With --realtime, each sequence's frames dropped to keep up.
        var dropped = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        Action Dropping(string name) => () => dropped.AddOrUpdate(name, 1, (_, k) => k + 1);
        string DroppedOf(string name) => dropped.TryGetValue(name, out var k) ? $"; {Counts.Of(k, "frame")} dropped to keep up" : "";
        OneSequence one = onnx is null ? (s, o, d, c, v) => TrackOne(nets!, share, s, o, cmd, d, c, v, slots) : (s, o, d, c, v) => TrackOneOnnx(onnx, s, o, cmd, d, c, v, slots, Dropping(s.Name));
        var held = JoinedPictures.FramesHeld(sources.Count);
        // Tiles: each input frame read once and cut into its tiles, which are stepped in turn, each as it would be
        // alone (a video decoded once, not once per tile). On ONNX Runtime they are joined as they come with --live
        // (TiledTracker), else over the files below. With --backfill each tile is tracked on its own, forwards then
        // backwards, from its frames held in memory: read once for as many tiles of a sequence as fit in
        // heldTileBytes (TileGroups), the sequence read again for the next such group.
        var once = tiled;
        var streamed = once && !cmd.Backfill && onnx is not null;
        var kept = new HashSet<string>();
        var notTracked = new List<string>();
        // The sequence in hand when the run stopped, and what became of it.
        (string Sequence, string Line)? cut = null;
        // A sequence tracked while a stop was asked for ended early, unless it had no more frames (a stream's length is unknown).
        void CutIfShort(string name, int n, int length)
        {
            if (interrupt.Requested && (length <= 0 || n < length)) cut ??= (name, $"{name} cut after {Counts.Of(n, "frame")} (its results hold them)");
        }
        FrameProgress.Run("track", passes * sources.Sum(s => (long)Math.Max(0, s.Length)), (tick, say) =>
        {
            void TrackSource(Source src)
            {
                if (interrupt.Requested)
                {
                    notTracked.Add(tiled ? SequenceOf(src) : src.Name);
                    return;
                }
                int n;
                double mse = double.NaN;
                int added;
                Action PassTick(string pass) => tick(pass.Length == 0 ? src.Name : $"{src.Name}, {pass}", src.Length);
                (var mot, mse, n, added) = TrackSequence(one, src with { Frames = interrupt.Until(src.Frames) }, outDir, cmd, PassTick,
                    seenByTile is null ? null : seen => seenByTile[src.Name] = seen[..Math.Min(seen.Count, held)], interrupt);
                if (interrupt.Requested && cmd.Backfill)
                {
                    // What the forward pass drew or wrote before the stop goes with its results.
                    foreach (var (folder, ext) in new[] { ("pictures", ".png"), ("pictures", ".gif"), ("latents", ".json") })
                        if (Scalor.IO.Crop.sequenceFile(Path.Combine(outDir, folder), src.Name, ext) is var drawn && File.Exists(drawn)) File.Delete(drawn);
                    var sequence = tiled ? SequenceOf(src) : src.Name;
                    cut = (sequence, $"{sequence} left out (--backfill needs the whole sequence)");
                    return;
                }
                CutIfShort(src.Name, n, src.Length);
                kept.Add(src.Name);
                Scalor.IO.Files.writeText(Scalor.IO.Crop.sequenceFile(sourceResults, src.Name, ".txt"), ToInput(mot, cmd.FrameStep, src));
                mseSum += mse * n;
                mseFrames += n;
                frames += n;
                say($"track: {src.Name}: {Counts.Of(n, "frame")}{(cmd.Backfill ? $"; backfill added {Counts.Of(added, "box", "boxes")}" : "")}{DroppedOf(src.Name)}");
            }

            if (once)
            {
                var names = sources.ToDictionary(src => src.Name);
                foreach (var opened in Inputs.OpenTiled(cmd.Input!, size, cmd.Crop!.Value, out _, cmd.FrameStep, decoderSaid))
                {
                    if (interrupt.Requested)
                    {
                        notTracked.Add(opened.Name);
                        continue;
                    }
                    var whole = opened with { Frames = interrupt.Until(opened.Frames) };
                    var count = whole.Windows.Count;
                    List<Source> tiles = [.. whole.Windows.Select(w => names[$"{whole.Name}@{Scalor.IO.Crop.describe(Scalor.IO.Crop.Crop.NewWindow(w))}"])];
                    if (cmd.Backfill)
                    {
                        foreach (var group in TileGroups(count, (long)size * size * 3 * whole.Length, heldTileBytes))
                        {
                            var byTile = FramesByTile(whole, group);
                            for (var g = 0; g < group.Count; g++) TrackSource(tiles[group[g]] with { Frames = byTile[g] });
                        }
                        continue;
                    }
                    var frameDone = tick(whole.Name, whole.Length * count);
                    int n;
                    Action<string, List<ModelView>>? seen = seenByTile is null ? null : (name, views) => seenByTile[name] = views[..Math.Min(views.Count, held)];
                    if (onnx is not null)
                    {
                        (n, var joined, var mse) = TrackTilesAtOnce(new TiledTracker(onnx, join: cmd.Live), size, whole, tiles, outDir, cmd, sourceResults, cmd.Live ? results : null,
                            () => { for (var i = 0; i < count; i++) frameDone(); }, seen, slots, Dropping(whole.Name));
                        mseSum += mse;
                        mseFrames += n * count;
                        if (cmd.Live)
                        {
                            streamJoins[whole.Name] = (tiles, joined);
                            say(JoinedLine(whole.Name, joined, count, live: true));
                        }
                    }
                    else
                    {
                        (n, var mse) = TrackTilesTorch(nets!, share, whole, tiles, outDir, cmd, sourceResults, frameDone, seen, slots);
                        mseSum += mse;
                        mseFrames += n * count;
                    }
                    frames += n * count;
                    kept.UnionWith(tiles.Select(t => t.Name));
                    CutIfShort(whole.Name, n, whole.Length);
                    say($"track: {whole.Name}: {Counts.Of(n, "frame")}, {count} tiles each{DroppedOf(whole.Name)}");
                }
                return;
            }
            foreach (var src in sources) TrackSource(src);
        });
        // Only sequences whose every tile was written are joined.
        if (tiled) sources = [.. sources.GroupBy(SequenceOf).Where(g => g.All(s => kept.Contains(s.Name))).SelectMany(g => g)];
        if (tiled)
            // Joined live as the frames came, the results, pictures and latents are the stream's.
            foreach (var (sequence, tiles, joined) in streamed && cmd.Live
                         ? [.. streamJoins.Select(kv => (kv.Key, kv.Value.Tiles, kv.Value.Joined))]
                         : Join(sources, sourceResults, results, Console.WriteLine, cmd.Live))
            {
                if (seenByTile is not null)
                    JoinedPictures.Save(Path.Combine(outDir, "pictures"), sequence,
                        [.. tiles.Select(s => (WindowOf(s), seenByTile.GetValueOrDefault(s.Name, [])))], joined, size, cmd.FrameStep);
                if (cmd.Latents) JoinLatents(Path.Combine(outDir, "latents"), sequence, tiles, joined);
            }
        var inv = CultureInfo.InvariantCulture;
        if (slots.Line(exported is not null) is { } slotLine) Console.WriteLine(slotLine);
        Console.WriteLine(frames == 0 ? string.Create(inv, $"track: 0 frames in {sw.Elapsed.TotalSeconds:F1} s; results in {results}")
            : string.Create(inv, $"track: {Counts.Of(frames, "frame")} in {sw.Elapsed.TotalSeconds:F1} s ({1000 * sw.Elapsed.TotalSeconds / frames:F1} ms/frame){(onnx is null ? "" : $" on ONNX Runtime ({onnx.ProviderName})")}{(onnx is null || cmd.Mse ? $"; reconstruction MSE {mseSum / Math.Max(1, mseFrames):F5}" : "")}; results in {results}"));
        if (interrupt.Requested)
        {
            var untracked = notTracked.Distinct().Count(n => n != cut?.Sequence);
            var what = new[] { cut?.Line, untracked > 0 ? $"{Counts.Of(untracked, "sequence")} not tracked" : null }.OfType<string>().ToList();
            Console.WriteLine($"track: stopped by {interrupt.By}: {(what.Count > 0 ? string.Join("; ", what) : "every sequence was tracked")}; not evaluated");
            return interrupt.ExitCode;
        }
        if (gtDir is not null && Directory.Exists(gtDir))
        {
            var evaluated = Evaluate.evaluateFolders(gtDir, results, false, null, 0.0);
            var summary = Evaluate.summarise(evaluated);
            var json = EvalCommand.Keys(summary);
            // How far the scores would move on other sequences of the same world: eval's intervals, at the resamples
            // and seed given (eval's defaults unless said), where there are sequences enough (eval says when there are not).
            var intervalLine = cmd.Resamples > 0 ? EvalCommand.IntervalLine([.. evaluated], cmd.Resamples, cmd.BootstrapSeed, cmd.IntervalMethod, json) : null;
            if (onnx is null || cmd.Mse) json["mse"] = mseSum / Math.Max(1, mseFrames);
            json["capacity"] = slots.Capacity;
            json["slots_full_frames"] = slots.FullFrames;
            json["backfill"] = cmd.Backfill;
            BenchCommand.WriteJson(Path.Combine(outDir, "metrics.json"), json);
            Console.WriteLine(string.Create(inv,
                $"track: MOTA {100 * summary.Clear.Mota:F1}%  precision {100 * summary.Clear.Precision:F1}%  recall {100 * summary.Clear.Recall:F1}%  IDF1 {100 * summary.Identity.Idf1:F1}%  HOTA {100 * summary.Hota.Hota:F1}%  count-MAE {summary.CountMae:F3}  (metrics.json)"));
            Console.WriteLine($"track: {EvalCommand.ErrorLine(summary)}");
            if (EvalCommand.RecallByFrameLine(summary) is { } recallLine) Console.WriteLine($"track: {recallLine}");
            if (intervalLine is not null) Console.WriteLine($"track: {intervalLine}");
        }
        return 0;
    }

    /// <summary>The exported model <c>--model</c> names, loaded on the provider asked for (what it records said), and
    /// <paramref name="cmd"/> without pictures when it cannot draw them (said too). TorchSharp, or what the export
    /// built into its graph (the capacity and the rejection), cannot be asked for: a one-line error.</summary>
    static OnnxTracker LoadExported(ref Parse.TrackCommand cmd)
    {
        var path = cmd.Model;
        if (cmd.Runtime == "torchsharp")
            throw new UserError($"--runtime torchsharp: {path} is an exported model, which runs on ONNX Runtime; track the checkpoint it was exported from to run TorchSharp");
        var baked = new List<string>();
        if (cmd.Capacity is not null) baked.Add("--capacity");
        if (cmd.DuplicateShare is not null) baked.Add("--duplicate-share (or --rejection)");
        if (cmd.ExplainedShare is not null) baked.Add("--explained-share");
        if (baked.Count > 0)
            throw new UserError($"{string.Join(", ", baked)}: {path} is an exported model, whose graph has its capacity and rejection built in; export its checkpoint again with them (scalor-host export), or track the checkpoint");
        OnnxTracker onnx;
        try { onnx = OnnxTracker.Load(path, ExportCommand.ProviderOf(cmd.Provider), cmd.Threads, Console.Error.WriteLine); }
        catch (InvalidDataException e) { throw new UserError($"{path}: {e.Message.Replace(path + ": ", "")}"); }
        var records = new List<string> { $"capacity {onnx.Capacity}" };
        records.Add(onnx.DuplicateShare is { } d ? Checkpoints.DescribeShare(d) : "official rejection");
        if (onnx.ExplainedShare is { } explained) records.Add(Checkpoints.DescribeExplainedShare(explained));
        Console.WriteLine($"track: {path}: an exported model on ONNX Runtime ({onnx.ProviderName}), {string.Join(", ", records)}, as the model records");
        if (cmd.Mse && !onnx.Renders)
            throw new UserError($"--mse: {path} was exported without --render, so it cannot draw the reconstruction; export its checkpoint again with --render");
        if (cmd.Pictures && !onnx.Renders)
        {
            Console.WriteLine($"track: {path} was exported without --render, so it draws no pictures (a model exported with --render draws them)");
            cmd = cmd.WithoutPictures();
        }
        return onnx;
    }

    /// <summary>What the checkpoint at <paramref name="model"/> (null: the embedded one) records and tracking uses
    /// because the command line did not say otherwise: weight averaging, a duplicate or explained share it records
    /// (even one equal to the default: a share chosen on validation worlds is worth naming), an explained share its
    /// config trained with that is not the default; null when nothing.</summary>
    public static string? Recorded(string? model, Scalor.Model.Scalor.Nets nets, double share, FSharpOption<double>? askedShare, FSharpOption<double>? askedExplained)
    {
        var recorded = new List<string>();
        var header = Checkpoints.ReadHeader(model);
        var name = model ?? EmbeddedModel.Name;
        if (Checkpoints.DescribeAveraging(model) is { } averaging) recorded.Add(averaging);
        if (askedShare is null && Train.recordedDuplicateShare(name, header) is not null) recorded.Add(Checkpoints.DescribeShare(share));
        // --rejection official tests at the config's share, whatever the checkpoint records.
        var official = askedShare is not null && !Discovery.testsDuplicates(askedShare.Value);
        var explainedRecorded = !official && Train.recordedExplainedShare(name, header) is not null;
        if (askedExplained is null && (explainedRecorded || nets.Config.RejectionThreshold != Config.toy64.RejectionThreshold))
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
            Scalor.IO.Files.writeLines(Path.Combine(to, "gt", "gt.txt"), kept);
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

    /// <summary>What <see cref="TrackOne"/> does, on ONNX Runtime: the frames tracked on a worker as they are read
    /// (<see cref="TrackingStream.Process"/>), those drawn rendered (the model exported with <c>--render</c>); no MSE.</summary>
    internal static (string Mot, double Mse, int Frames, List<LatentFrame>? Latents) TrackOneOnnx(OnnxTracker onnx, Source src, string? outDir, Parse.TrackCommand cmd,
        Action? frameDone = null, Func<string, (string Mot, MotFiles.Row[] Added)>? complete = null, Action<List<ModelView>>? seen = null, SlotUse? slots = null,
        Action? dropped = null)
    {
        var size = onnx.ImageSize;
        using var one = new SequenceTracking(size, onnx.Capacity, src, outDir, cmd, frameDone, slots: slots);
        var state = onnx.NewState();
        // A frame's index is its place among the sequence's frames read (every frame-step-th), kept when others are dropped.
        src.Frames.Select((rgb, t) => new Frame(src.Name, t, size, size, rgb)).ToObservable()
            .Process(f => onnx.Step(f, state, one.Draws(f.Index) || cmd.Mse), Paced(cmd), dropped is null ? null : _ => dropped())
            .Do(f => one.Add(f, f.Frame.Index))
            .Count()
            .Wait();
        return one.Finish(complete, seen);
    }

    /// <summary>How ONNX Runtime's stream takes the frames: each waits its turn, or with <c>--realtime</c> the newest
    /// waits alone and an older one is dropped, so that tracking keeps up with a live stream.</summary>
    internal static StreamOptions Paced(Parse.TrackCommand cmd) => cmd.Realtime ? new(1, Overflow.DropOldest) : new(8, Overflow.Block);

    /// <summary>One sequence tracked by one runtime (<see cref="TrackOne"/>, <see cref="TrackOneOnnx"/>), with their parameters.</summary>
    internal delegate (string Mot, double Mse, int Frames, List<LatentFrame>? Latents) OneSequence(Source src, string? outDir,
        Action? frameDone, Func<string, (string Mot, MotFiles.Row[] Added)>? complete, Action<List<ModelView>>? seen);

    /// <summary>Tracks one sequence as <see cref="TrackOne"/> does; with <c>--backfill</c> it also tracks the
    /// sequence played backwards (fresh state, nothing recorded) and extends the forward pass's late-starting tracks
    /// with that pass (<see cref="Backfill.extend"/>): the results text, the forward pass's MSE, the frame count and
    /// the boxes added. The pictures are the forward pass's with the added boxes drawn in; the latents are the
    /// forward pass's with each added row's backward object under the forward id (<see cref="AddBackfilled"/>).
    /// The frames are decoded once and held for both passes.</summary>
    /// <param name="pass">Gives each pass's per-frame progress callback ("": the forward pass; "backward pass").</param>
    /// <param name="seen">Given the forward pass's pictured frames as the model saw them, when it draws pictures.</param>
    internal static (string Mot, double Mse, int Frames, int Added) TrackSequence(Scalor.Model.Scalor.Nets nets, double share, Source src, string? outDir, Parse.TrackCommand cmd,
        Func<string, Action>? pass = null, Action<List<ModelView>>? seen = null) =>
        TrackSequence((s, o, d, c, v) => TrackOne(nets, share, s, o, cmd, d, c, v), src, outDir, cmd, pass, seen);

    /// <summary>As above, each pass tracked by <paramref name="one"/> (either runtime).</summary>
    /// <param name="interrupt">Ends each pass over the held frames when a stop is asked for (the caller's frames end by its own).</param>
    internal static (string Mot, double Mse, int Frames, int Added) TrackSequence(OneSequence one, Source src, string? outDir, Parse.TrackCommand cmd,
        Func<string, Action>? pass = null, Action<List<ModelView>>? seen = null, Interrupt? interrupt = null)
    {
        if (!cmd.Backfill)
        {
            var (m, e, n, l) = one(src, outDir, pass?.Invoke(""), null, seen);
            WriteLatents(outDir, src, l, cmd.FrameStep);
            return (m, e, n, 0);
        }
        var frames = src.Frames.ToList();
        IEnumerable<byte[]> Held(List<byte[]> held) => interrupt is null ? held : interrupt.Until(held);
        // The backward pass first, so that the forward pass's pictures can draw what it adds.
        var (back, _, _, backLatents) = one(src with { Frames = Held(Enumerable.Reverse(frames).ToList()) }, null, pass?.Invoke("backward pass"), null, null);
        // Stopped, the forward pass would be thrown away with the sequence (the caller leaves it out).
        if (interrupt?.Requested == true) return ("", double.NaN, 0, 0);
        Backfill.Added[] sources = [];
        var (mot, mse, count, latents) = one(src with { Frames = Held(frames) }, outDir, pass?.Invoke(""), online =>
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

    static readonly JsonSerializerOptions LatentsJson = FiniteOrNull.With(new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    });

    /// <param name="step">The input's frames between two tracked ones: the file names the input's frame numbers, and
    /// boxes in the input's pixels (a crop's window moved to its corner), as <see cref="ToInput"/> puts the results.</param>
    static void WriteLatents(string? outDir, Source src, List<LatentFrame>? latents, int step)
    {
        if (latents is null || outDir is null) return;
        using var file = new LatentsFile(Scalor.IO.Crop.sequenceFile(Path.Combine(outDir, "latents"), src.Name, ".json"), step, src.Left, src.Top);
        foreach (var f in latents) file.Add(f);
        file.Complete();
    }

    /// <summary>A latents file written a frame at a time, as the frames are tracked: held whole, an hour of a busy
    /// video's latents would not fit in memory (vtest.avi's 795 frames are 72 MB of JSON, and held they raised the
    /// peak from 0.38 to 0.72 GB). The same JSON array as serializing the list at once; written whole or not at all
    /// (<see cref="Scalor.IO.Files.Whole"/>), so a run that fails leaves no half file.</summary>
    internal sealed class LatentsFile : IDisposable
    {
        readonly Scalor.IO.Files.Whole file;
        readonly Utf8JsonWriter json;
        readonly int step, left, top;

        /// <param name="step">As <see cref="WriteLatents"/>'s: frames are named by the input's numbers, and boxes moved
        /// by <paramref name="left"/> and <paramref name="top"/> (a window's corner) into its pixels.</param>
        public LatentsFile(string path, int step = 1, int left = 0, int top = 0)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            (this.step, this.left, this.top) = (step, left, top);
            file = new Scalor.IO.Files.Whole(path, 1 << 16);
            json = new Utf8JsonWriter(file.Stream);
            json.WriteStartArray();
        }

        public void Add(LatentFrame f)
        {
            if (step > 1) f = f with { Frame = (f.Frame - 1) * step + 1 };
            if (left != 0 || top != 0)
                f = f with { Objects = [.. f.Objects.Select(o => o with { Box = TrackingStream.MotBox([o.Box[0] + left, o.Box[1] + top, o.Box[2], o.Box[3]]) })] };
            JsonSerializer.Serialize(json, f, LatentsJson);
            if (json.BytesPending > 1 << 16) json.Flush();
        }

        public void Complete()
        {
            json.WriteEndArray();
            // Flushed into the file and let go of it (a second Dispose does nothing), before the file is closed.
            json.Dispose();
            file.Complete(durable: false);
        }

        /// <summary>Before <see cref="Complete"/>: the half-written file is removed.</summary>
        public void Dispose()
        {
            json.Dispose();
            ((IDisposable)file).Dispose();
        }
    }

    /// <summary>The tiles' latents (<c>latentsDir/SEQ@S_S_X_Y.json</c>) joined as their results were: for each
    /// joined row, the object of the tile whose box it kept (a track that <paramref name="joined"/> gives the row's id,
    /// in the row's frame, with the nearest box), under the joined id, with its tile named; discovered where its
    /// joined track begins. Written as <c>latentsDir/SEQ.json</c>, frames as the tiles list them.</summary>
    internal static void JoinLatents(string latentsDir, string sequence, List<Source> tiles, Stitch.Joined joined)
    {
        var rows = joined.Rows.ToLookup(r => r.Frame);
        var first = Stitch.beginnings(joined);
        var tileNames = tiles.Select(s => Scalor.IO.Crop.describe(Scalor.IO.Crop.Crop.NewWindow(WindowOf(s)))).ToArray();
        // Read a frame at a time from every tile's file at once (each lists every tracked frame, in order), and written
        // so: held whole, the tiles' latents of a long video would not fit in memory (LatentsFile).
        var streams = tiles.Select(s => File.OpenRead(Scalor.IO.Crop.sequenceFile(latentsDir, s.Name, ".json"))).ToList();
        var readers = streams.Select(f => JsonSerializer.DeserializeAsyncEnumerable<LatentFrame>(f, LatentsJson).ToBlockingEnumerable().GetEnumerator()).ToList();
        try
        {
            using var file = new LatentsFile(Scalor.IO.Crop.sequenceFile(latentsDir, sequence, ".json"));
            while (readers[0].MoveNext())
            {
                var frame = readers[0].Current!.Frame;
                var here = new LatentFrame?[tiles.Count];
                here[0] = readers[0].Current;
                for (var ti = 1; ti < tiles.Count; ti++)
                    here[ti] = readers[ti].MoveNext() && readers[ti].Current!.Frame == frame ? readers[ti].Current
                        : throw new InvalidDataException($"{sequence}: the tiles' latents list other frames (tile {ti} at frame {frame})");
                file.Add(JoinedFrame(frame, here));
            }
            file.Complete();
        }
        finally
        {
            foreach (var r in readers) r.Dispose();
            foreach (var f in streams) f.Dispose();
        }

        // A frame's tile objects by the joined id each had then, in tile order, once a frame: searching every tile's
        // objects for each row took nine tenths of a run with 192 tiles (vtest.avi, tiles:64:16; README, "Tracking").
        Dictionary<int, List<(int Tile, LatentObject O)>> ByJoinedId(int frame, LatentFrame?[] here)
        {
            var byId = new Dictionary<int, List<(int, LatentObject)>>();
            for (var ti = 0; ti < tiles.Count; ti++)
                foreach (var o in here[ti]!.Objects)
                    if (joined.IdAt(frame, Tuple.Create(ti, (int)o.Id)) is { } id)
                    {
                        if (!byId.TryGetValue(id.Value, out var list)) byId[id.Value] = list = [];
                        list.Add((ti, o));
                    }
            return byId;
        }

        LatentFrame JoinedFrame(int frame, LatentFrame?[] here)
        {
            var candidates = ByJoinedId(frame, here);
            // The tile object whose box is the row's (the nearest; the first tile's on a tie).
            LatentObject Origin(MotFiles.Row r) =>
                (from c in candidates[r.Id]
                 orderby Math.Abs(c.O.Box[0] - r.Box.Left) + Math.Abs(c.O.Box[1] - r.Box.Top) + Math.Abs(c.O.Box[2] - r.Box.Width) + Math.Abs(c.O.Box[3] - r.Box.Height)
                 select c.O with { Id = r.Id, Discovered = first[r.Id] == r.Frame, Tile = tileNames[c.Tile] }).First();
            return new LatentFrame(frame, [.. rows[frame].Select(Origin)]);
        }
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
        Action? frameDone = null, Func<string, (string Mot, MotFiles.Row[] Added)>? complete = null, Action<List<ModelView>>? seen = null, SlotUse? slots = null)
    {
        using var one = new SequenceTracking(nets, share, src, outDir, cmd, frameDone, slots: slots);
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
    /// the frames come, the pictures saved at <see cref="Finish"/>. Steps run in the caller's NativeSafe blocks.
    /// Or the same from ONNX Runtime's tracked frames (<see cref="Add"/>), rendered where drawn (<see cref="Draws"/>).</summary>
    internal sealed class SequenceTracking : IDisposable
    {
        readonly int size;
        readonly Tracker.Tracker? tracker;
        readonly Source src;
        readonly string? outDir;
        readonly Parse.TrackCommand cmd;
        readonly Action? frameDone;
        readonly int pictured;
        readonly StringBuilder mot = new();
        readonly List<LatentFrame>? latents;
        /// <summary>Where the latents go as they come, when nothing needs them held (no backward pass to merge).</summary>
        readonly LatentsFile? latentsFile;
        readonly bool? backfilled;
        readonly List<FramePictures> rows = new();
        readonly Dictionary<long, List<(double X, double Y)>> tracks = new();
        readonly double sx, sy;
        /// <summary>The slots of the tracker behind the frames (either runtime's).</summary>
        readonly int capacity;
        readonly SlotUse? slots;
        double mseSum;
        int t;
        /// <summary>Frames after which every slot was taken, and the first of them (from 0).</summary>
        int full, firstFull = -1;
        /// <summary>The index (from 0, among the sequence's frames read) of the frame being recorded: the count of frames
        /// tracked, unless frames were dropped to keep up (<c>--realtime</c>).</summary>
        int at;

        /// <param name="pictured">Frames drawn in the pictures (the GIF; the PNG shows the first <see cref="ShownFrames"/>).</param>
        /// <param name="slots">Hears, at <see cref="Finish"/>, after how many frames every object slot was taken (a sequence whose results are written, not a backward pass).</param>
        public SequenceTracking(Scalor.Model.Scalor.Nets nets, double share, Source src, string? outDir, Parse.TrackCommand cmd, Action? frameDone, int pictured = 50, SlotUse? slots = null)
            : this(nets.Config.ImageSize, nets.Config.Capacity, src, outDir, cmd, frameDone, pictured, slots) =>
            tracker = new Tracker.Tracker(nets, share, cmd.MinPresence, cmd.MinVisibleShare, cmd.Converged);

        /// <summary>Fed ONNX Runtime's tracked frames of the sequence (<see cref="Add"/>), <paramref name="size"/> the
        /// model's square, <paramref name="capacity"/> its slots; no MSE.</summary>
        public SequenceTracking(int size, int capacity, Source src, string? outDir, Parse.TrackCommand cmd, Action? frameDone, int pictured = 50, SlotUse? slots = null)
        {
            this.size = size;
            (this.capacity, this.slots) = (capacity, outDir is null ? null : slots);
            (this.src, this.outDir, this.cmd, this.frameDone, this.pictured) = (src, outDir, cmd, frameDone, pictured);
            if (cmd.Latents && !cmd.Backfill && outDir is not null)
                latentsFile = new LatentsFile(Scalor.IO.Crop.sequenceFile(Path.Combine(outDir, "latents"), src.Name, ".json"), cmd.FrameStep, src.Left, src.Top);
            else if (cmd.Latents) latents = [];
            backfilled = cmd.Backfill ? false : null;
            (sx, sy) = ((double)src.Width / size, (double)src.Height / size);
        }

        /// <summary>Whether the sequence's frame <paramref name="index"/> (from 0) is drawn: ONNX Runtime renders it.</summary>
        public bool Draws(int index) => cmd.Pictures && outDir is not null && index < pictured;

        /// <summary>Tracks the sequence's next frame (RGB bytes at the model's size).</summary>
        public void Step(byte[] rgb)
        {
            at = t;
            tracker!.Step(rgb, Seen);
            Taken(tracker.Live);
            t++;
            frameDone?.Invoke();
        }

        /// <summary>Takes the sequence's next frame as ONNX Runtime tracked it (rendered where <see cref="Draws"/>), the
        /// <paramref name="index"/>-th of its frames read (from 0; past the count when frames were dropped).</summary>
        public void Add(TrackedFrame f, int index)
        {
            at = index;
            // TorchSharp's MSE (Seen): the mean square over the [3; H; W] rendering in [0, 1] of the input's bytes / 255.
            if (cmd.Mse && f.Reconstruction is { } recon) mseSum += SquaredError(recon, f.Frame.Rgb) / recon.Length;
            Record([.. f.Objects.Select(o => new Reported(o.Id, (o.Left, o.Top, o.Width, o.Height), o.Presence, o.Where, o.Depth, o.Visible, o.New, o.What ?? []))]);
            if (Draws(t) && f.Reconstruction is not null) rows.Add(Picture(f, size, perObject: t < ShownFrames));
            Taken(f.Live ?? 0);
            t++;
            frameDone?.Invoke();
        }

        /// <summary>The summed squared difference of a [3; H; W] rendering and an H×W×3 RGB frame scaled to [0, 1].</summary>
        static double SquaredError(float[] recon, byte[] rgb)
        {
            var plane = recon.Length / 3;
            var sum = 0.0;
            for (var c = 0; c < 3; c++)
                for (var p = 0; p < plane; p++)
                {
                    var d = recon[c * plane + p] - rgb[3 * p + c] / 255f;
                    sum += d * d;
                }
            return sum;
        }

        void Taken(int live)
        {
            if (live < capacity) return;
            full++;
            if (firstFull < 0) firstFull = at;
        }

        /// <summary>A reported object as either runtime gives it: its box in the model's pixels, and its latents.</summary>
        readonly record struct Reported(long Id, (double Left, double Top, double Width, double Height) Box, float Presence, float[] Where, float Depth,
            float Visible, bool New, float[] What);

        // What the host makes of each frame while its tensors live: the MSE, result rows, latents and pictures.
        void Seen(Tracker.FrameView view)
        {
            var (x, frame, objects) = (view.Input, view.Frame, view.Reported);
            mseSum += (frame.Recon - x).pow(2).mean().item<float>();
            Record([.. objects.Select(o => new Reported(o.Id, BoxOf(o, size, cmd.MaskBoxes), o.Presence, o.Where, o.Depth, o.Visible, o.New, o.What))]);
            if (Draws(t)) rows.Add(Picture(frame, objects, view.IdsBefore, x, size, perObject: t < ShownFrames, maskBoxes: cmd.MaskBoxes, reportedId: view.ReportedId));
        }

        // Each reported box once, in the input's pixels to the results file's two decimals: the results and the
        // latents carry the same numbers.
        void Record(Reported[] objects)
        {
            var reported = new double[objects.Length][];
            for (var i = 0; i < objects.Length; i++)
            {
                var o = objects[i];
                var (l, top, w, h) = o.Box;
                reported[i] = TrackingStream.MotBox([l * sx, top * sy, w * sx, h * sy]);
                mot.Append(TrackingStream.MotLine(at + 1, o.Id, reported[i], o.Presence)).Append('\n');
                if (!tracks.TryGetValue(o.Id, out var path)) tracks[o.Id] = path = [];
                path.Add(((l + w / 2) * sx, (top + h / 2) * sy));
            }
            if (latents is null && latentsFile is null) return;
            var frame = new LatentFrame(at + 1, [.. objects.Select((o, i) => new LatentObject(o.Id, o.Where[0], o.Where[1], o.Where[2], o.Where[3],
                reported[i], o.Depth, o.Presence, o.Visible, o.New, o.What, backfilled))]);
            latents?.Add(frame);
            latentsFile?.Add(frame);
        }

        /// <summary>The sequence tracked: its results text, mean MSE, frame count and latents; the pictures saved.</summary>
        /// <param name="complete">As <see cref="TrackOne"/>'s.</param>
        /// <param name="seen">As <see cref="TrackOne"/>'s.</param>
        public (string Mot, double Mse, int Frames, List<LatentFrame>? Latents) Finish(Func<string, (string Mot, MotFiles.Row[] Added)>? complete = null, Action<List<ModelView>>? seen = null)
        {
            slots?.Add(src.Name, capacity, full, t, 1 + firstFull * cmd.FrameStep);
            latentsFile?.Complete();
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

        public void Dispose()
        {
            ((IDisposable?)tracker)?.Dispose();
            latentsFile?.Dispose();
        }
    }

}
