using Microsoft.FSharp.Collections;
using System.Diagnostics;
using System.Globalization;
using Microsoft.FSharp.Core;
using Scalor.Cli;
using Scalor.Metrics;
using Spectre.Console;

namespace Scalor.Host;

/// <summary><c>scalor-host eval</c>: TrackEval-exact CLEAR MOT, identity and HOTA, plus Count-MAE, per
/// sequence and combined; a table on the console and fixed JSON keys for programs.</summary>
public static class EvalCommand
{
    public static int Run(Parse.EvalCommand cmd)
    {
        if (cmd.DataDir is not null)
        {
            TorchSharp.torch.set_num_threads(cmd.Threads);
            return RunModel(cmd);
        }
        var threshold = Threshold(cmd);
        var json = Scored(() => Evaluate.evaluateFolders(cmd.GtDir, cmd.PredDir, cmd.ByIou, threshold, cmd.MinGtVisibility), cmd, cmd.GtDir);
        if (cmd.JsonFile is not null) BenchCommand.WriteJson(cmd.JsonFile, json);
        return 0;
    }

    /// <summary><c>eval --data FOOTAGE</c> where there is no ground truth to track against: the reconstruction MSE and
    /// the per-pixel NLL estimates alone, as the paper scores its natural scenes (the official test cuts its footage
    /// into clips of 10 frames, 8 apart). Each sequence is cut into blocks of SeqLength·k frames, and each block
    /// into its k clips of SeqLength frames k apart (offsets 0..k−1), so every frame of a whole block is scored once;
    /// the frames after the last whole block are not.</summary>
    static int Likelihoods(Parse.EvalCommand cmd, List<Scalor.Runtime.Source> sources, int size)
    {
        var trained = Checkpoints.LoadModel(cmd.Model);
        if (Checkpoints.DescribeAveraging(cmd.Model) is { } averaging) Console.WriteLine($"eval: {averaging}, as the checkpoint records");
        var (t, k) = (trained.Config.SeqLength, cmd.FrameStep);
        var span = t * k;
        var gen = new TorchSharp.torch.Generator(NllSeed);
        var nll = new List<Scalor.Model.Elbo.Nll>();
        var sw = Stopwatch.StartNew();
        // Scoring takes about a second a clip: the frames of whole blocks are the progress to show.
        static int ScoredFrames(Scalor.Runtime.Source s, int span) => Math.Max(0, s.Length) / span * span;
        FrameProgress.Run("eval", sources.Sum(s => (long)ScoredFrames(s, span)), (tick, say) =>
        {
            foreach (var src in sources)
            {
                var frameDone = tick(src.Name, ScoredFrames(src, span));
                // One NativeSafe block per block of footage, its reading and its scoring.
                NativeSafe.Chunks(src.Frames, span, block =>
                {
                    if (block.Count < span) return;
                    for (var offset = 0; offset < k; offset++)
                    {
                        using var scope = TorchSharp.torch.NewDisposeScope();
                        var x = TorchSharp.torch.stack(Enumerable.Range(0, t).Select(j => Scalor.Model.Tracker.toTensor(block[offset + j * k], size)).ToArray(), 1);
                        nll.Add(Scalor.Model.Elbo.nll(trained, gen, cmd.Samples, x));
                        for (var j = 0; j < t; j++) frameDone();
                    }
                });
            }
        });
        if (nll.Count == 0)
            throw new UserError($"--data: no sequence in '{cmd.DataDir}' has the {span} frames a clip of {t} frames{(k > 1 ? $" {k} apart" : "")} spans");
        var json = new Dictionary<string, object>
        {
            ["mse"] = nll.Average(n => n.Mse),
            ["nll_elbo"] = nll.Average(n => n.NegElbo),
            ["nll_iw"] = nll.Average(n => n.ImportanceWeighted),
            ["nll_samples"] = cmd.Samples,
            ["clips"] = nll.Count,
            ["clip_length"] = t,
            ["frame_step"] = k,
        };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"eval: no ground truth in {cmd.DataDir}: likelihoods only, {Counts.Of(nll.Count, "clip")} of {t} frames{(k > 1 ? $" {k} apart" : "")} in {sw.Elapsed.TotalSeconds:F1} s: MSE {json["mse"]:F5}; NLL per pixel: negative ELBO {json["nll_elbo"]:F4}, importance-weighted ({cmd.Samples} samples) {json["nll_iw"]:F4} nats"));
        BenchCommand.WriteJson(cmd.JsonFile, json);
        return 0;
    }

    /// <summary>Seed of the sampling noise of the NLL estimates: the same model and data give the same numbers.</summary>
    const ulong NllSeed = 20200101;

    /// <summary><c>eval --model M --data DIR</c>: tracks the dataset (deterministic), scores it against its ground
    /// truth, and adds the reconstruction MSE and the per-pixel NLL estimates (<see cref="Scalor.Model.Elbo.nll"/>).</summary>
    static int RunModel(Parse.EvalCommand cmd)
    {
        // The header says the frames' size; the model is loaded once, as trained for footage's likelihoods, or as
        // tracking loads it for a dataset with ground truth.
        var size = Checkpoints.ReadHeader(cmd.Model).Config.ImageSize;
        if (Scalor.Runtime.Inputs.IsLive(cmd.DataDir))
            throw new UserError($"--data: {cmd.DataDir} is a live stream, whose frames never end, and eval scores whole sequences; record a stretch of it (ffmpeg -i {cmd.DataDir} -t 600 -c copy clip.mkv) and score that, or track it as it comes: track --input {cmd.DataDir}");
        var sources = Scalor.Runtime.Inputs.Open(cmd.DataDir, size, out var gtDir, warn: m => FrameProgress.Say($"eval: {m}"));
        if (gtDir is null)
        {
            if (cmd.Baseline is not null)
                throw new UserError($"--baseline: {cmd.DataDir} has no ground truth to score the two trackers against");
            // Footage is scored as the model saw it in training, unless the command line says otherwise.
            var (step, crops) = FootageView.All("eval", cmd.Model, cmd.FrameStep, cmd.Crops, Console.WriteLine);
            cmd = cmd.WithView(step, crops);
            return Likelihoods(cmd, cmd.Crops.IsEmpty ? sources : Scalor.Runtime.Inputs.OpenWindows(cmd.DataDir, size, [.. cmd.Crops], warn: m => FrameProgress.Say($"eval: {m}")), size);
        }
        if (cmd.FrameStep == 0 && cmd.Crops.IsEmpty && cmd.Model is not null)
            FootageView.Ignored("eval", cmd.Model, $"eval --data tracks every frame of {cmd.DataDir}, whole, to score it against its ground truth; 'track --input {cmd.DataDir} --model {cmd.Model}' tracks as it records", Console.WriteLine);
        if (cmd.FrameStep > 1)
            throw new UserError($"--frame-step: {cmd.DataDir} has ground truth, and eval --data scores its whole sequences; 'track --input {cmd.DataDir} --frame-step {cmd.FrameStep}' scores every {cmd.FrameStep}th frame");
        if (!cmd.Crops.IsEmpty)
            throw new UserError($"--crop: {cmd.DataDir} has ground truth, and eval --data scores its whole frames; 'track --input {cmd.DataDir} --crop {Scalor.IO.Crop.describe(cmd.Crops.Head)}' scores a window, or tiles joined");
        var (nets, share) = Checkpoints.LoadForInference(cmd.Model, cmd.DuplicateShare, cmd.ExplainedShare);
        // What tracking takes from the checkpoint; the likelihoods alone (above) track nothing.
        if (TrackCommand.Recorded(cmd.Model, nets, share, cmd.DuplicateShare, cmd.ExplainedShare) is { } recorded) Console.WriteLine($"eval: {recorded}");
        // The tracking of `track` (deterministic, the same reporting rules), its results kept in memory: no
        // results folder, so a read-only or full temporary folder does not stop the evaluation.
        var track = new Parse.TrackCommand(cmd.Model, cmd.DataDir, null, Scalor.Worlds.World.defaultConfig, 1, 0, false, false, 0.5f,
            cmd.MinVisibleShare, cmd.Threads, null, "torchsharp", "auto", null, cmd.DuplicateShare, cmd.ExplainedShare, true, cmd.Converged, cmd.Backfill, false, false, false, 1, null, cmd.IntervalMethod, cmd.Resamples, cmd.BootstrapSeed);
        var tracked = new Dictionary<string, MotFiles.Row[]>();
        var sw = Stopwatch.StartNew();
        var frames = 0;
        foreach (var src in sources)
        {
            // Parsed from the text a results file would hold, so the scores are those of track's files, rounding included.
            var (mot, _, n, _) = TrackCommand.TrackSequence(nets, share, src, null, track);
            tracked[src.Name] = MotFiles.parse(ResultsLabel(src.Name), false, mot.Split('\n'));
            frames += n;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"eval: tracked {Counts.Of(tracked.Count, "sequence")}, {Counts.Of(frames, "frame")} in {sw.Elapsed.TotalSeconds:F1} s"));
        Tuple<string, MotFiles.Row[]> Predictions(string name) =>
            tracked.TryGetValue(name, out var rows)
                ? Tuple.Create(ResultsLabel(name), rows)
                : throw new UserError($"{cmd.DataDir}: sequence {name} has ground truth but no frames to track");
        var threshold = Threshold(cmd);
        var json = Scored(() => Evaluate.evaluateSequences(gtDir, FuncConvert.FromFunc<string, Tuple<string, MotFiles.Row[]>>(Predictions),
            cmd.ByIou, threshold, cmd.MinGtVisibility), cmd, gtDir);
        // The bounds are of the model as trained (its config's explained share), whatever tracking used.
        var trained = Checkpoints.LoadModel(cmd.Model);
        var gen = new TorchSharp.torch.Generator(NllSeed);
        var nll = new List<Scalor.Model.Elbo.Nll>();
        foreach (var src in sources)
            NativeSafe.Run(() =>
            {
                using var scope = TorchSharp.torch.NewDisposeScope();
                var x = TorchSharp.torch.stack(src.Frames.Select(f => Scalor.Model.Tracker.toTensor(f, size)).ToArray(), 1);
                nll.Add(Scalor.Model.Elbo.nll(trained, gen, cmd.Samples, x));
            });
        json["mse"] = nll.Average(n => n.Mse);
        json["nll_elbo"] = nll.Average(n => n.NegElbo);
        json["nll_iw"] = nll.Average(n => n.ImportanceWeighted);
        json["nll_samples"] = cmd.Samples;
        // The tracking metrics above are offline ones with --backfill: the file says which.
        json["backfill"] = cmd.Backfill;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"eval: {Counts.Of(nll.Count, "sequence")}: MSE {json["mse"]:F5}; NLL per pixel: negative ELBO {json["nll_elbo"]:F4}, importance-weighted ({cmd.Samples} samples) {json["nll_iw"]:F4} nats"));
        BenchCommand.WriteJson(cmd.JsonFile, json);
        return 0;
    }

    static FSharpOption<double> Threshold(Parse.EvalCommand cmd) =>
        double.IsNaN(cmd.Threshold) ? FSharpOption<double>.None : FSharpOption<double>.Some(cmd.Threshold);

    /// <summary>Runs <paramref name="evaluate"/>, prints the table, the error line, the recall by frame and the intervals
    /// (and the comparison with <c>--baseline</c>), and returns the combined JSON keys with the matching, the visibility
    /// floor, the intervals and each sequence's keys.</summary>
    static Dictionary<string, object?> Scored(Func<FSharpList<Evaluate.SequenceResult>> evaluate, Parse.EvalCommand cmd, string gtDir)
    {
        var results = Evaluated(evaluate);
        var combined = Evaluate.summarise(ListModule.OfSeq(results));
        PrintTable(results, combined);
        Console.WriteLine($"eval: {ErrorLine(combined)}");
        if (RecallByFrameLine(combined) is { } recallLine) Console.WriteLine($"eval: {recallLine}");
        var json = Keys(combined);
        json["matching"] = cmd.ByIou ? "iou" : "distance";
        json["min_gt_visibility"] = cmd.MinGtVisibility;
        if (cmd.Resamples > 0)
            Console.WriteLine($"eval: {IntervalLine(results, cmd.Resamples, cmd.BootstrapSeed, cmd.IntervalMethod, json) ?? $"no intervals: {Counts.Of(results.Length, "sequence")} (resampling sequences needs at least {Bootstrap.minSequences})"}");
        if (cmd.Baseline is not null)
        {
            // The baseline is scored as these results are: the same ground truth, matching and visibility floor.
            var baseline = Evaluated(() => Evaluate.evaluateFolders(gtDir, cmd.Baseline, cmd.ByIou, Threshold(cmd), cmd.MinGtVisibility));
            var (line, keys) = Compared(results, json, baseline, cmd);
            Console.WriteLine($"eval: {line}");
            json["baseline"] = keys;
        }
        json["sequences"] = results.ToDictionary(r => r.Name,
            r => Keys(Evaluate.summarise(ListModule.OfSeq(new[] { r }))));
        return json;
    }

    static Evaluate.SequenceResult[] Evaluated(Func<FSharpList<Evaluate.SequenceResult>> evaluate)
    {
        try
        {
            return [.. evaluate()];
        }
        catch (Evaluate.EvalError e) { throw new UserError(e.Data0); }
        catch (MotFiles.MotFormatError e) { throw new UserError(e.Data0); }
    }

    /// <summary>The level of every interval eval gives.</summary>
    public const double IntervalLevel = 0.95;

    static object?[] Pair(Bootstrap.Interval i) => [Finite(i.Low), Finite(i.High)];

    static object? Finite(double x) => double.IsNaN(x) || double.IsInfinity(x) ? null : x;

    static string Percent(double x) => double.IsNaN(x) ? "-" : (100 * x).ToString("F1", CultureInfo.InvariantCulture);

    static string Signed(double x) => double.IsNaN(x) ? "-" : (100 * x).ToString("+0.0;−0.0;0.0", CultureInfo.InvariantCulture);

    /// <summary>The 95% interval of MOTA, IDF1 and HOTA over the sequences, into <paramref name="json"/> as
    /// <c>mota_interval</c>, … and <c>interval</c> (how it was drawn), and the line that gives them; null, and nothing
    /// added, under <see cref="Bootstrap.minSequences"/> sequences.</summary>
    public static string? IntervalLine(Evaluate.SequenceResult[] results, int resamples, ulong seed, Bootstrap.Method method, Dictionary<string, object?> json)
    {
        if (results.Length < Bootstrap.minSequences) return null;
        var parts = new List<string>();
        foreach (var (name, statistic) in Bootstrap.statistics)
        {
            var i = Bootstrap.interval(method, IntervalLevel, seed, resamples, statistic, results);
            json[$"{name}_interval"] = Pair(i);
            parts.Add($"{name.ToUpperInvariant()} {Percent(i.Low)}–{Percent(i.High)}");
        }
        json["interval"] = new Dictionary<string, object> { ["level"] = IntervalLevel, ["method"] = Bootstrap.methodName(method), ["resamples"] = resamples, ["seed"] = seed, ["sequences"] = results.Length };
        return string.Create(CultureInfo.InvariantCulture, $"95% intervals over the {results.Length} sequences ({MethodWords(method)} bootstrap, {resamples:N0} resamples, seed {seed}): {string.Join(", ", parts)} (%)");
    }

    /// <summary>How the lines name an interval's method.</summary>
    static string MethodWords(Bootstrap.Method method) => method.IsBca ? "BCa" : "percentile";

    /// <summary>These results (their combined <see cref="Keys"/>: <paramref name="ours"/>) against the baseline's on the
    /// same sequences: each score's difference and, where the sequences are resampled, its paired 95% interval
    /// (<see cref="Bootstrap.difference"/>), as a line and as the JSON object <c>baseline</c>.</summary>
    public static (string Line, Dictionary<string, object?> Keys) Compared(Evaluate.SequenceResult[] results, Dictionary<string, object?> ours, Evaluate.SequenceResult[] baseline, Parse.EvalCommand cmd)
    {
        var names = results.Select(r => r.Name).ToArray();
        if (!names.SequenceEqual(baseline.Select(r => r.Name)))
            throw new UserError($"--baseline: {cmd.Baseline} was scored on other sequences than these results");
        var keys = new Dictionary<string, object?> { ["pred"] = cmd.Baseline };
        var resampled = cmd.Resamples > 0 && names.Length >= Bootstrap.minSequences;
        // The scores as eval prints them for each folder alone (one sequence's, TrackEval's way, included).
        var base_ = Keys(Evaluate.summarise(ListModule.OfSeq(baseline)));
        var parts = new List<string>();
        var scores = new List<string>();
        foreach (var (name, statistic) in Bootstrap.statistics)
        {
            var (mine, theirs) = (ours[name] as double? ?? double.NaN, base_[name] as double? ?? double.NaN);
            keys[name] = Finite(theirs);
            keys[$"{name}_difference"] = Finite(mine - theirs);
            scores.Add($"{name.ToUpperInvariant()} {Percent(theirs)}%");
            var part = $"{name.ToUpperInvariant()} {Signed(mine - theirs)}";
            if (resampled)
            {
                var i = Bootstrap.difference(cmd.IntervalMethod, IntervalLevel, cmd.BootstrapSeed, cmd.Resamples, statistic, results, baseline);
                keys[$"{name}_difference_interval"] = Pair(i);
                part += $" ({Signed(i.Low)} to {Signed(i.High)})";
            }
            parts.Add(part);
        }
        var how = resampled ? $"points, 95% intervals by a paired {MethodWords(cmd.IntervalMethod)} bootstrap over the {names.Length} sequences"
            : cmd.Resamples == 0 ? "points; no intervals: --resamples 0"
            : $"points; no intervals for {Counts.Of(names.Length, "sequence")}";
        return ($"against {cmd.Baseline} ({string.Join(", ", scores)}): {string.Join(", ", parts)} ({how})", keys);
    }

    /// <summary>How messages name the in-memory results of a sequence.</summary>
    static string ResultsLabel(string name) => $"the tracking results of {name}";

    /// <summary>The fixed JSON keys of the issue; NaN (undefined, e.g. no matches) becomes null.</summary>
    public static Dictionary<string, object?> Keys(Evaluate.Summary s)
    {
        return new()
        {
            ["mota"] = Finite(s.Clear.Mota), ["motp_dist"] = Finite(s.Clear.MotpDist), ["motp_sim"] = Finite(s.Clear.MotpSim),
            ["precision"] = Finite(s.Clear.Precision), ["recall"] = Finite(s.Clear.Recall),
            ["idsw"] = s.ClearCounts.IDSW, ["frag"] = s.ClearCounts.Frag,
            ["mt"] = s.ClearCounts.MT, ["pt"] = s.ClearCounts.PT, ["ml"] = s.ClearCounts.ML,
            ["idf1"] = Finite(s.Identity.Idf1), ["idp"] = Finite(s.Identity.Idp), ["idr"] = Finite(s.Identity.Idr),
            ["hota"] = Finite(s.Hota.Hota), ["deta"] = Finite(s.Hota.DetA), ["assa"] = Finite(s.Hota.AssA), ["loca"] = Finite(s.Hota.LocA),
            ["count_mae"] = Finite(s.CountMae), ["num_gt"] = s.NumGt, ["num_pred"] = s.NumPred,
            ["tp"] = s.ClearCounts.TP, ["fn"] = s.ClearCounts.FN, ["fp"] = s.ClearCounts.FP,
            ["fn_overlapped"] = s.Errors.MissOverlapped, ["fn_touching"] = s.Errors.MissTouching, ["fn_alone"] = s.Errors.MissAlone,
            ["fp_near_found"] = s.Errors.FalseNearFound, ["fp_partly_out"] = s.Errors.FalsePartlyOut, ["fp_elsewhere"] = s.Errors.FalseElsewhere,
            ["recall_by_frame"] = s.RecallByFrame.Select(Finite).ToArray(),
        };
    }

    /// <summary>Recall at each frame index, for sequences of at most <paramref name="maxFrames"/> frames (longer
    /// ones have it in the JSON only); null when longer.</summary>
    public static string? RecallByFrameLine(Evaluate.Summary s, int maxFrames = 30)
    {
        var r = s.RecallByFrame;
        if (r.Length == 0 || r.Length > maxFrames) return null;
        return "recall by frame: " + string.Join(" ", r.Select((x, t) =>
            string.Create(CultureInfo.InvariantCulture, $"{t + 1}:{(double.IsNaN(x) ? "-" : (100 * x).ToString("F1", CultureInfo.InvariantCulture))}")))
            + " (%)";
    }

    /// <summary>One line on why the combined errors happened (<see cref="Errors"/>).</summary>
    public static string ErrorLine(Evaluate.Summary s)
    {
        var e = s.Errors;
        return string.Create(CultureInfo.InvariantCulture,
            $"{Errors.misses(e)} missed ({e.MissOverlapped} sharing over {Errors.overlapShare * 100:F0}% of their box with another object, {e.MissTouching} touching one, {e.MissAlone} alone); "
            + $"{Counts.Of(Errors.falsePositives(e), "false positive")} ({e.FalseNearFound} near an object another track found, {e.FalsePartlyOut} partly out of view, {e.FalseElsewhere} elsewhere); "
            + $"{s.ClearCounts.IDSW} id switch{(s.ClearCounts.IDSW == 1 ? "" : "es")}");
    }

    static void PrintTable(Evaluate.SequenceResult[] results, Evaluate.Summary combined)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var h in new[] { "sequence", "MOTA", "MOTP(d)", "MOTP(s)", "IDF1", "HOTA", "DetA", "AssA", "Rcll", "Prcn", "IDSW", "Frag", "MT/PT/ML", "CountMAE", "GT", "Pred" })
            table.AddColumn(new TableColumn(h).RightAligned());
        string P(double x) => double.IsNaN(x) ? "-" : (100 * x).ToString("F1", CultureInfo.InvariantCulture);
        string N(double x) => double.IsNaN(x) ? "-" : x.ToString("F3", CultureInfo.InvariantCulture);
        void Row(string name, Evaluate.Summary s) => table.AddRow(
            Markup.Escape(name), P(s.Clear.Mota), N(s.Clear.MotpDist), N(s.Clear.MotpSim), P(s.Identity.Idf1), P(s.Hota.Hota),
            P(s.Hota.DetA), P(s.Hota.AssA), P(s.Clear.Recall), P(s.Clear.Precision),
            s.ClearCounts.IDSW.ToString(CultureInfo.InvariantCulture), s.ClearCounts.Frag.ToString(CultureInfo.InvariantCulture),
            $"{s.ClearCounts.MT}/{s.ClearCounts.PT}/{s.ClearCounts.ML}", N(s.CountMae),
            s.NumGt.ToString(CultureInfo.InvariantCulture), s.NumPred.ToString(CultureInfo.InvariantCulture));
        if (results.Length <= 50)
            foreach (var r in results) Row(r.Name, Evaluate.summarise(ListModule.OfSeq(new[] { r })));
        Row($"COMBINED ({results.Length})", combined);
        // Redirected output has no terminal width; Spectre would assume 80 and wrap every cell.
        if (Console.IsOutputRedirected || AnsiConsole.Profile.Width < 150) AnsiConsole.Profile.Width = 200;
        AnsiConsole.Write(table);
    }

    /// <summary><c>bench assign</c>: milliseconds per optimal assignment of a dense 100×100 matrix (one frame
    /// with 100 objects), and per 1,000-frame 100-object CLEAR+identity+HOTA evaluation.</summary>
    public static int BenchAssign(Parse.BenchCommand cmd)
    {
        var rng = new Random(1);
        var matrices = Enumerable.Range(0, 200).Select(_ =>
        {
            var m = new double[100, 100];
            for (var i = 0; i < 100; i++) for (var j = 0; j < 100; j++) m[i, j] = rng.NextDouble();
            return m;
        }).ToArray();
        double Solve()
        {
            var sw = Stopwatch.StartNew();
            foreach (var m in matrices) Assignment.minimise(m);
            return sw.Elapsed.TotalMilliseconds / matrices.Length;
        }
        // A long synthetic sequence: 100 objects over 1,000 frames, tracker = truth jittered, ids swapped now and then.
        var gt = new List<MotFiles.Row>();
        var pr = new List<MotFiles.Row>();
        for (var t = 1; t <= 1000; t++)
            for (var k = 0; k < 100; k++)
            {
                var (x, y) = (k % 10 * 20.0 + t % 7, k / 10 * 20.0);
                gt.Add(new MotFiles.Row(t, k + 1, new Geometry.Box(x, y, 8, 8), 1, 1, 1));
                var id = (t / 100 % 2 == 1 && k < 5) ? 1000 + k : k + 1;
                pr.Add(new MotFiles.Row(t, id, new Geometry.Box(x + rng.NextDouble(), y + rng.NextDouble(), 8, 8), 1, 1, 1));
            }
        var (gtA, prA) = (gt.ToArray(), pr.ToArray());
        double Full()
        {
            var sw = Stopwatch.StartNew();
            Evaluate.evaluateRows("bench", 1000, FSharpOption<Tuple<double, double>>.None, Evaluate.Matching.NewDistance(10), 0.0, gtA, prA, "gt", "pred");
            return sw.Elapsed.TotalMilliseconds;
        }
        Solve(); Full();
        var solve = Enumerable.Range(0, cmd.Runs).Select(_ => Solve()).ToArray();
        var full = Enumerable.Range(0, Math.Min(cmd.Runs, 3)).Select(_ => Full()).ToArray();
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"bench assign: {BenchCommand.Median(solve):F3} ms per 100×100 assignment (median of {cmd.Runs})"));
        Console.WriteLine(string.Create(inv, $"bench assign: {BenchCommand.Median(full):F0} ms to evaluate 1,000 frames × 100 objects (CLEAR, identity, HOTA; median of {full.Length})"));
        BenchCommand.WriteJson(cmd.JsonFile, new { target = "assign", ms_per_assignment_100 = BenchCommand.Median(solve), ms_eval_1000x100 = BenchCommand.Median(full) });
        return 0;
    }
}
