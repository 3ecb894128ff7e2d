using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Scalor.Cli;
using Scalor.Worlds;

namespace Scalor.Host;

/// <summary><c>scalor-host bench</c>: speed figures as medians of several timed runs after a warm-up.
/// Targets live here, never in tests (the machines are shared and noisy).</summary>
public static class BenchCommand
{
    public static int Run(Parse.BenchCommand cmd) => cmd.Target switch
    {
        "data" => Data(cmd),
        "assign" => Assign(cmd),
        "train" => TrainBench(cmd),
        "track" => TrackBench(cmd),
        "png" => PngBench(cmd),
        _ => throw new UserError($"bench {cmd.Target} is not available in this build"),
    };

    /// <summary>Milliseconds per 64×64 frame at batch 1 for the TorchSharp step with its reported objects (what
    /// <c>track</c> runs) and the exported ONNX step (CPU,
    /// capacity 128; also dense, and exported with the rendering: frames rendered, and not), with 4, 16, 32, 64 and 100 objects in the scene: median over the timed frames of a sequence
    /// after two warm-up frames.</summary>
    static int TrackBench(Parse.BenchCommand cmd)
    {
        TorchSharp.torch.set_num_threads(cmd.Threads);
        // The share the checkpoint records (else the default), so a model is measured as `track` runs it.
        var (nets, share) = Checkpoints.LoadForInference(cmd.Model, null);
        const int capacity = 128;
        using var onnx = ExportCommand.InMemory(nets, capacity, "cpu", cmd.Threads, Console.Error.WriteLine, duplicateShare: share);
        using var dense = ExportCommand.InMemory(nets, capacity, "cpu", cmd.Threads, _ => { }, dense: true, duplicateShare: share);
        // With the rendering (`export --render`, `track --runtime onnx` with pictures): frames rendered, and not.
        using var rendering = ExportCommand.InMemory(nets, capacity, "cpu", cmd.Threads, _ => { }, duplicateShare: share, render: true);
        var counts = new[] { 4, 16, 32, 64, 100 };
        var warm = 2;
        var length = warm + Math.Max(3, cmd.Runs) * 2;
        var torchMs = new List<double>();
        var onnxMs = new List<double>();
        var denseMs = new List<double>();
        var renderedMs = new List<double>();
        var unrenderedMs = new List<double>();
        var tracked = new List<double>();
        var inv = CultureInfo.InvariantCulture;
        // One untimed pass first: the first frames of a process pay for library and kernel initialisation.
        foreach (var (n, timed) in counts.Take(1).Select(c => (c, false)).Concat(counts.Select(c => (c, true))))
        {
            var world = World.create(World.withObjectCount(n, length, World.defaultConfig), null);
            var seq = World.sequence(world, World.sequenceSeed(4242, n));
            var x = Scalor.Model.Train.batchOf([seq]);
            var opts = Scalor.Model.Track.tracking(nets.Config, share);
            var state = Scalor.Model.Track.initial(nets, 1);
            var times = new List<double>();
            var counted = new List<double>();
            for (var t = 0; t < length; t++)
            {
                using var scope = TorchSharp.torch.NewDisposeScope();
                var frame = x.select(1, t);
                var sw = Stopwatch.StartNew();
                var (next, f) = Scalor.Model.Track.step(nets, opts, state, frame);
                // The objects as `track` reports them (boxes, visible pixels), as the ONNX step returns them.
                Scalor.Model.Track.objectsOf(f.Objects, Scalor.Model.Track.renderingOf(nets.Config, f), 0, 0.5f, Microsoft.FSharp.Collections.SetModule.Empty<long>());
                var ms = sw.Elapsed.TotalMilliseconds;
                state = Scalor.Model.Track.keep(scope, next);
                if (t >= warm) { times.Add(ms); counted.Add(state.Objects.Mask.sum().item<float>()); }
            }
            List<double> Time(Scalor.Runtime.OnnxTracker tracker, bool render = true)
            {
                var st = tracker.NewState();
                var bytes = seq.ViewSize * seq.ViewSize * 3;
                var otimes = new List<double>();
                for (var t = 0; t < length; t++)
                {
                    var fr = new Scalor.Runtime.Frame("bench", t, seq.ViewSize, seq.ViewSize, seq.Frames[(t * bytes)..((t + 1) * bytes)]);
                    var sw = Stopwatch.StartNew();
                    tracker.Step(fr, st, render);
                    if (t >= warm) otimes.Add(sw.Elapsed.TotalMilliseconds);
                }
                return otimes;
            }
            var onnxTimes = Time(onnx);
            var denseTimes = Time(dense);
            var renderedTimes = Time(rendering);
            var unrenderedTimes = Time(rendering, render: false);
            if (!timed) continue;
            torchMs.Add(Median(times));
            onnxMs.Add(Median(onnxTimes));
            denseMs.Add(Median(denseTimes));
            renderedMs.Add(Median(renderedTimes));
            unrenderedMs.Add(Median(unrenderedTimes));
            tracked.Add(counted.Average());
            Console.WriteLine(string.Create(inv, $"bench track: {n,3} objects in the scene ({tracked[^1]:F1} tracked): TorchSharp {torchMs[^1]:F1} ms/frame, ONNX Runtime {onnxMs[^1]:F1} ms/frame, dense {denseMs[^1]:F1} ms/frame, rendered {renderedMs[^1]:F1} ms/frame (a rendering model's frames not rendered {unrenderedMs[^1]:F1}) (median of {times.Count})"));
        }
        var idx64 = Array.IndexOf(counts, 64);
        Console.WriteLine(string.Create(inv,
            $"bench track: time(64)/time(4): TorchSharp {torchMs[idx64] / torchMs[0]:F2}, ONNX {onnxMs[idx64] / onnxMs[0]:F2}, ONNX dense {denseMs[idx64] / denseMs[0]:F2} (batch 1, {Counts.Of(cmd.Threads, "thread")}, ONNX capacity {capacity}, {onnx.ProviderName}, {Checkpoints.DescribeShare(share)})"));
        WriteJson(cmd.JsonFile, new { target = "track", objects = counts, torchsharp_ms = torchMs, onnx_ms = onnxMs, onnx_dense_ms = denseMs, onnx_rendered_ms = renderedMs, onnx_unrendered_ms = unrenderedMs, tracked_objects = tracked, capacity, threads = cmd.Threads, provider = onnx.ProviderName, duplicate_share = Scalor.Model.Train.formatDuplicateShare(share) });
        return 0;
    }

    public static double Median(IEnumerable<double> xs)
    {
        var a = xs.OrderBy(x => x).ToArray();
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }

    /// <summary>Generated 64×64 frames per second (moving dSprites LD, T = 10), sequences in parallel.</summary>
    static int Data(Parse.BenchCommand cmd)
    {
        var world = World.create(World.defaultConfig, null);
        const int sequences = 2000;
        var opts = new ParallelOptions { MaxDegreeOfParallelism = cmd.Threads };
        double Once(int run)
        {
            var sw = Stopwatch.StartNew();
            long frames = 0;
            Parallel.For(0, sequences, opts, i =>
            {
                var s = World.sequence(world, World.sequenceSeed((ulong)run, i));
                Interlocked.Add(ref frames, s.Length);
            });
            return frames / sw.Elapsed.TotalSeconds;
        }
        Once(1000);
        var rates = Enumerable.Range(0, cmd.Runs).Select(Once).ToArray();
        var median = Median(rates);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench data: {median:F0} frames/s (median of {cmd.Runs}; runs {string.Join(", ", rates.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)))}; {Counts.Of(cmd.Threads, "thread")}; dSprites LD, 64×64, T=10)"));
        WriteJson(cmd.JsonFile, new { target = "data", frames_per_s = median, runs = rates, threads = cmd.Threads });
        return 0;
    }

    static int Assign(Parse.BenchCommand cmd) => EvalCommand.BenchAssign(cmd);

    /// <summary>Milliseconds to write <c>track</c>'s PNG strip of the main job's first sequence (held-out LD, the
    /// embedded model; 1938×1744) with <see cref="Png.Write"/>, and its size: median of the timed runs after one
    /// warm-up. The strip is drawn once by <c>track</c> in a temporary folder.</summary>
    static int PngBench(Parse.BenchCommand cmd)
    {
        var dir = Directory.CreateTempSubdirectory("scalor-bench-png").FullName;
        try
        {
            var run = Parse.parse(["track", "--sequences", "1", "--threads", cmd.Threads.ToString(CultureInfo.InvariantCulture), "--out", dir]);
            if (run is not Parse.Outcome.Run { Item: Parse.Command.Track track } || TrackCommand.Run(track.Item) != 0)
                throw new InvalidOperationException("bench png: track did not draw the strip");
            var png = StbImageSharp.ImageResult.FromMemory(File.ReadAllBytes(Path.Combine(dir, "pictures", "seq-0001.png")), StbImageSharp.ColorComponents.RedGreenBlue);
            var ms = new List<double>();
            long bytes = 0;
            for (var i = 0; i <= cmd.Runs; i++)
            {
                using var output = new MemoryStream();
                var sw = Stopwatch.StartNew();
                Png.Write(output, png.Data, png.Width, png.Height);
                if (i > 0) ms.Add(sw.Elapsed.TotalMilliseconds);
                bytes = output.Length;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bench png: {png.Width}×{png.Height} strip of track's pictures: {Median(ms):F1} ms, {bytes:N0} bytes (median of {ms.Count})"));
            WriteJson(cmd.JsonFile, new { target = "png", width = png.Width, height = png.Height, ms, median_ms = Median(ms), bytes });
            return 0;
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Training frames per second: one optimisation step (forward over T = 10, backward, RMSprop) on
    /// a batch of moving dSprites LD, default toy config at the official 64-px branch's sizes (glimpse 32,
    /// 8×8 grid, z_what 64, up to 45 tracked objects: a fresh model discovers up to the cap, the worst case).
    /// Median of the timed runs after one warm-up; peak resident memory of the process.</summary>
    static int TrainBench(Parse.BenchCommand cmd)
    {
        TorchSharp.torch.set_num_threads(cmd.Threads);
        var cfg = cmd.Config;
        var nets = Scalor.Model.Scalor.create(cfg, 1);
        var opt = Scalor.Model.Train.rmsProp(nets, cfg.LearningRate);
        var gen = new TorchSharp.torch.Generator(7);
        var world = World.create(World.defaultConfig, null);
        var rates = new List<double>();
        var objects = new List<double>();
        for (var run = 0; run <= cmd.Runs; run++)
        {
            var seqs = Enumerable.Range(0, cfg.BatchSize).Select(i => World.sequence(world, World.sequenceSeed(3, run * cfg.BatchSize + i))).ToArray();
            using var batch = Scalor.Model.Train.batchOf(seqs);
            var sw = Stopwatch.StartNew();
            // Step 0 of the schedules every time: the same (worst-case) object load in every run.
            var outcome = Scalor.Model.Train.step(nets, opt, gen, 0, batch);
            var s = sw.Elapsed.TotalSeconds;
            var terms = outcome switch { Scalor.Model.Train.Outcome.Stepped st => st.Item1, Scalor.Model.Train.Outcome.Skipped k => k.Item1, _ => throw new InvalidOperationException() };
            if (run == 0) { Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench train: warm-up {s:F1} s")); continue; }
            rates.Add(cfg.BatchSize * cfg.SeqLength / s);
            objects.Add(terms.Objects);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench train: run {run}: {s:F1} s, {rates[^1]:F2} frames/s, {terms.Objects:F1} objects tracked on average"));
            nets = Scalor.Model.Scalor.create(cfg, 1);
            opt = Scalor.Model.Train.rmsProp(nets, cfg.LearningRate);
        }
        var peak = System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
        var median = Median(rates);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench train: {median:F2} frames/s (median of {rates.Count}; batch {cfg.BatchSize}, T={cfg.SeqLength}, 64×64, glimpse {cfg.GlimpseSize}, {cfg.GridSize}×{cfg.GridSize} grid, {Counts.Of(cmd.Threads, "thread")}), peak RSS {peak:F0} MB"));
        WriteJson(cmd.JsonFile, new { target = "train", frames_per_s = median, peak_rss_mb = peak, runs = rates, objects_tracked = objects, batch = cfg.BatchSize, threads = cmd.Threads, recompute_decoder = cfg.RecomputeDecoder, micro_batch = cfg.MicroBatch });
        return 0;
    }

    static readonly JsonSerializerOptions Indented = FiniteOrNull.With(new JsonSerializerOptions { WriteIndented = true });

    public static void WriteJson(string? path, object value)
    {
        if (path is null) return;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Paths.EnsureWritableDirectory(dir);
        Scalor.IO.Files.writeText(path, JsonSerializer.Serialize(value, Indented) + "\n");
    }
}
