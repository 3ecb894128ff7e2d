using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Scalor.Cli;
using Scalor.Model;
using Scalor.Worlds;
using Spectre.Console;
using TorchSharp;

namespace Scalor.Host;

/// <summary><c>scalor-host train</c>: trains SCALOR on a generated world (drawn on the fly, by seed), a packed
/// dataset or footage (<see cref="TrainingData"/>). Checkpoints are atomic and the last K are kept; <c>--resume</c> continues exactly (the same
/// data and the same sampling noise as an uninterrupted run); Ctrl-C saves and exits; non-finite steps are
/// skipped and reported, and repeated ones stop the run with the last good checkpoint intact.</summary>
public static class TrainCommand
{
    const int MaxConsecutiveNonFinite = 5;

    public static int Run(Parse.TrainCommand cmd)
    {
        torch.set_num_threads(cmd.Threads);
        if (cmd.Cuda)
        {
            try { torch.InitializeDeviceType(DeviceType.CUDA); }
            catch (InvalidOperationException) { throw new UserError("--cuda: CUDA did not initialise (no GPU, or no CUDA build of libtorch next to the program)"); }
            if (!torch.cuda.is_available()) throw new UserError("--cuda: no CUDA device (or no CUDA build of libtorch) is available");
            // Every tensor the model creates lands on the GPU; initial weights are still drawn on the CPU by seed.
            torch.set_default_device(torch.CUDA);
        }
        var run = Paths.EnsureWritableDirectory(cmd.Out);
        var ckptDir = Path.Combine(run, "checkpoints");
        Directory.CreateDirectory(ckptDir);
        var cfg = cmd.Config;
        Checkpoints.CheckImageSize(cfg);
        // The data first: footage that cannot be read, or is too short, is refused before a model is built or anything
        // is written into the run folder. A resumed checkpoint may change only execution settings, never the clip shape.
        var data = TrainingData.Create(cmd);
        var trainsOn = string.Create(CultureInfo.InvariantCulture, $"{data.TrainsOn}; seed {cmd.Seed}");

        // The checkpoint to continue or start from is checked before the model is built, and the model is built once,
        // for the config it goes on with: a refusal leaves no model behind. (--init checks the header before it reads
        // the tensors; --resume reads its checkpoint whole first, to pass over one that is damaged.)
        Scalor.Model.Scalor.Nets Build(Config.ScalorConfig c) => Scalor.Model.Scalor.create(c, cmd.Seed);
        Scalor.Model.Scalor.Nets nets;
        Train.RmsProp opt;
        var gen = new torch.Generator((ulong)(cmd.Seed * 7919 + 17));
        var start = 0;
        var carried = Microsoft.FSharp.Collections.FSharpList<Tuple<string, string>>.Empty;
        if (cmd.Resume)
        {
            var (latest, header, entries) = NewestReadable(ckptDir);
            // MicroBatch and RecomputeDecoder change how a step is computed, not the model: a checkpoint written
            // with other values resumes with its own, so the run continues exactly as it would have.
            if (Train.configDifferences(Train.withExecutionOf(cfg, header.Config), header.Config) is { Length: > 0 } differences)
                throw new UserError($"--resume: {latest} was trained with other settings (this run's {string.Join("; ", differences)}); resume with the options it was trained with (--preset, --density, --batch, --set Field=value)");
            if (Train.trainingDataMismatch(latest, header, trainsOn) is { } other)
                throw new UserError($"--resume: {other.Value}; resume with the data options and --seed it started with (--init starts a new run from it on other data)");
            if (!header.Extra.ContainsKey(Train.trainingDataKey))
                Console.WriteLine($"train: {latest} does not record its training data (written before checkpoints did), so --data, --kind, --density and --seed are not checked against it");
            if (!header.Config.Equals(cfg))
                Console.WriteLine($"train: continuing with the checkpoint's MicroBatch={header.Config.MicroBatch}, RecomputeDecoder={header.Config.RecomputeDecoder}");
            cfg = header.Config;
            nets = Build(cfg);
            opt = Train.rmsProp(nets, cfg.LearningRate);
            Checkpoints.Restore(latest, nets, opt, gen, entries);
            start = header.Step;
            carried = CarriedRecords(latest, header);
            Console.WriteLine($"train: resumed from {latest} at step {start}");
            if (!carried.IsEmpty)
                Console.WriteLine($"train: the new checkpoints record what it records: {DescribeRecords(carried)}");
            TrimLog(Path.Combine(run, "log.jsonl"), start);
        }
        else if (Checkpoints.Latest(ckptDir) is { } existing)
        {
            // A new run would write its own checkpoints beside another run's, and --keep would delete theirs.
            throw new UserError($"{(cmd.Init is not null ? "--init: " : "")}{run} already holds checkpoints ({Path.GetFileName(existing)}); --resume continues them, or give another --out");
        }
        else if (cmd.Init is not null)
        {
            // Fine-tuning: the weights, the optimizer's running averages and the step (so the warm-up, the
            // presence-prior annealing and the temperature go on where they were) come from the checkpoint; the
            // world, the seed (data and sampling noise) and the anchors are this run's.
            var header = Checkpoints.ReadHeader(cmd.Init);
            var mismatch = Train.fineTuneMismatch(cfg, header.Config);
            if (mismatch.Length > 0)
                throw new UserError($"--init: {cmd.Init} was trained with other settings ({string.Join("; ", mismatch)}); only the anchors, the learning rate, the object cap and execution settings may differ");
            if (cmd.Steps <= header.Step)
                throw new UserError($"--init: {cmd.Init} is at step {header.Step}; --steps counts from 0, so give more than {header.Step}");
            nets = Build(cfg);
            opt = Train.rmsProp(nets, cfg.LearningRate);
            Checkpoints.Restore(cmd.Init, nets, opt, null, Checkpoints.Read(cmd.Init).Entries);
            start = header.Step;
            Console.WriteLine($"train: starting from {cmd.Init} (step {start}) with this run's world and anchors");
            // Shares chosen for the init's world need not suit this run's (a crowded world wants a stricter duplicate
            // test), so they are not carried; the user chooses again on validation worlds.
            if (CarriedRecords(cmd.Init, header) is { IsEmpty: false } recorded)
                Console.WriteLine($"train: {cmd.Init} records {DescribeRecords(recorded)}; this run's checkpoints do not (its world may want others): choose them on validation worlds and record them with export --out");
        }
        else
        {
            nets = Build(cfg);
            opt = Train.rmsProp(nets, cfg.LearningRate);
        }
        // The shares carried over, what this run trains on, and how it sees recorded data (so that track, generate
        // and eval see footage the same way by default: FootageView).
        var seen = cmd.DataDir is null ? Microsoft.FSharp.Collections.FSharpList<Tuple<string, string>>.Empty : Train.footageRecords(cmd.FrameStep, cmd.Crops);
        var records = Microsoft.FSharp.Collections.ListModule.OfSeq(carried.Append(Tuple.Create(Train.trainingDataKey, trainsOn)).Concat(seen));
        Scalor.IO.Files.writeText(Path.Combine(run, "config.json"), Train.configToJson(cfg) + "\n");
        if (!cmd.Only.IsEmpty)
        {
            var trained = Train.trainOnly(nets, cmd.Only);
            if (trained.Length == 0)
                throw new UserError($"--only: no parameter name starts with {string.Join(" or ", cmd.Only)}");
            Console.WriteLine($"train: only {trained.Length} parameter tensors ({string.Join(", ", cmd.Only)}); the rest are frozen");
        }

        using var log = new StreamWriter(Path.Combine(run, "log.jsonl"), append: true) { AutoFlush = true };
        if (cmd.Init is not null && !cmd.Resume)
            log.WriteLine(JsonSerializer.Serialize(new { init = Path.GetFullPath(cmd.Init), from_step = start }));
        var tb = torch.utils.tensorboard.SummaryWriter(Path.Combine(run, "tensorboard"));
        using var tbImages = new TensorBoardImages(Path.Combine(run, "tensorboard"));
        var stop = false;
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop = true; };
        Console.CancelKeyPress += onCancel;
        // SIGTERM (kill, systemd, a container stopping) ends the run as Ctrl-C does: the step in flight
        // completes and a checkpoint is written. A background job started by a shell ignores SIGINT.
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop = true; });
        var sw = Stopwatch.StartNew();
        var nonFinite = 0;
        var lastSaved = start;
        // Whether this run folder holds a checkpoint of the run (--init's is another run's).
        var saved = cmd.Resume;
        string Intact() => saved ? $"the checkpoint of step {lastSaved} is intact: --resume continues from it" : "no checkpoint of this run had been written yet";
        void Save(int step)
        {
            try { NativeSafe.Run(() => Checkpoints.Save(ckptDir, nets, opt, gen, step, cmd.Keep, records)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A full disk, most often: the checkpoint's temporary file is removed and the one before stays whole.
                var size = saved && File.Exists(Checkpoints.PathFor(ckptDir, lastSaved))
                    ? string.Create(CultureInfo.InvariantCulture, $" of {new FileInfo(Checkpoints.PathFor(ckptDir, lastSaved)).Length / 1e6:0.#} MB") : "";
                throw new UserError($"could not write the checkpoint of step {step} ({e.Message.Trim()}); {Intact()} once there is room for another checkpoint{size} (--keep N keeps fewer on the disk)");
            }
            lastSaved = step;
            saved = true;
        }
        var completed = start;
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"train: {cmd.PresetName}, {data.Describe}, batch {cfg.BatchSize}, T={cfg.SeqLength}, {Counts.Of(cmd.Threads, "thread")}, steps {start}..{cmd.Steps}, run folder {run}"));
        try
        {
            for (var step = start; step < cmd.Steps && !stop; step++)
            {
                completed = step + 1;
                using var batchCpu = data.Batch(step);
                using var batch = cmd.Cuda ? batchCpu.to(torch.CUDA) : batchCpu.alias();
                var outcome = NativeSafe.Run(() => Train.step(nets, opt, gen, step, batch));
                var (terms, norm, skipped) = outcome switch
                {
                    Train.Outcome.Stepped s => (s.Item1, s.gradNorm, (string?)null),
                    Train.Outcome.Skipped k => (k.Item1, double.NaN, k.reason),
                    _ => throw new InvalidOperationException(),
                };
                if (skipped is not null)
                {
                    nonFinite++;
                    Console.Error.WriteLine($"train: step {step + 1} skipped: {skipped} ({nonFinite} in a row)");
                    log.WriteLine(JsonSerializer.Serialize(new { step = step + 1, skipped }));
                    if (nonFinite >= MaxConsecutiveNonFinite)
                        throw new UserError($"stopped after {nonFinite} consecutive non-finite steps; {Intact()}");
                    continue;
                }
                nonFinite = 0;
                var done = step + 1;
                var c = cfg;
                var tau = Distributions.temperature(c.TauEnd, c.TauSteps, step);
                var prior = Distributions.linearAnnealing(step, 0, c.PresPriorSteps, c.PresPriorStart, c.PresPriorEnd);
                var seconds = sw.Elapsed.TotalSeconds;
                var rate = (done - start) * (double)cfg.BatchSize * cfg.SeqLength / seconds;
                if (done % cmd.LogEvery == 0 || done == cmd.Steps)
                {
                    var eta = TimeSpan.FromSeconds((cmd.Steps - done) * seconds / (done - start));
                    Console.WriteLine(string.Create(inv,
                        $"step {done,7} loss {terms.Loss,10:F1} ll {terms.LogLike,10:F1} kl_what {terms.KlWhat,7:F2} kl_where {terms.KlWhere,7:F2} kl_depth {terms.KlDepth,6:F2} kl_pres {terms.KlPres,7:F2} kl_bg {terms.KlBg,6:F2} mse {terms.Mse:F5} objects {terms.Objects,5:F2} tau {tau:F3} prior {prior:G3} | {rate:F1} frames/s, ETA {eta:hh\\:mm\\:ss}"));
                }
                log.WriteLine(JsonSerializer.Serialize(new
                {
                    step = done, time_s = Math.Round(seconds, 2), loss = terms.Loss, log_like = terms.LogLike, kl_what = terms.KlWhat,
                    kl_where = terms.KlWhere, kl_depth = terms.KlDepth, kl_pres = terms.KlPres, kl_bg = terms.KlBg,
                    mse = terms.Mse, objects = terms.Objects, grad_norm = norm, tau, pres_prior = prior, frames_per_s = rate,
                    gc_held_steps = NativeSafe.Held, gc_broken_steps = NativeSafe.Broken,
                }));
                foreach (var (tag, v) in new[] { ("loss", terms.Loss), ("log_like", terms.LogLike), ("kl/what", terms.KlWhat), ("kl/where", terms.KlWhere),
                             ("kl/depth", terms.KlDepth), ("kl/pres", terms.KlPres), ("kl/bg", terms.KlBg), ("mse", terms.Mse), ("objects", terms.Objects),
                             ("schedule/tau", tau), ("schedule/pres_prior", prior), ("grad_norm", norm) })
                    tb.add_scalar(tag, (float)v, done);
                if (done % cmd.CheckpointEvery == 0 || done == cmd.Steps) Save(done);
                if (done % cmd.CheckpointEvery == 0 || done == start + 1)
                    NativeSafe.Run(() => LogImages(tbImages, nets, batch, done));
            }
            if (stop)
            {
                if (completed != lastSaved) Save(completed);
                Console.WriteLine(saved ? $"train: interrupted; checkpoint saved at step {completed}, resume with --resume"
                    : "train: interrupted before its first step; no checkpoint written");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Scalor.Worlds.Dataset.DatasetError)
        {
            // The log, the TensorBoard events or a picture could not be written (a full disk): the checkpoints are
            // written apart from them (Save says so itself). Or a pack's frames, read as batches need them, could not
            // be read: the file gone, cut or written again since the run began.
            var what = e is Scalor.Worlds.Dataset.DatasetError d ? d.Data0 : e.Message;
            throw new UserError($"stopped at step {completed}: {what.Trim()}; {Intact()}");
        }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            // A libtorch error mid-step leaves the step's state unknown, so nothing is saved from it; the last
            // checkpoint was written atomically and is intact.
            var first = e.Message.Split('\n')[0].Trim();
            throw new UserError($"stopped at step {completed} by a libtorch error ({first}); {Intact()}", UserError.ResumableExitCode);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            (tb as IDisposable)?.Dispose();
        }
        return 0;
    }

    /// <summary>The run's newest checkpoint that reads whole, for <c>--resume</c>. Checkpoints are written to disk
    /// and then renamed, so a stopped or crashed run never leaves half of one; but a file can still be damaged after
    /// (a disk, a copy, a hand). A damaged newest checkpoint is renamed to <c>*.damaged</c>, kept for a look and out
    /// of <c>--keep</c>'s count, and the run goes on from the one before it, saying so; only when none reads is it
    /// an error. A checkpoint of another configuration or data is not damage: the caller refuses that.</summary>
    static (string Path, Train.Checkpoint Header, Microsoft.FSharp.Collections.FSharpList<Scalor.IO.Safetensors.Entry> Entries) NewestReadable(string ckptDir)
    {
        var all = Checkpoints.InOrder(ckptDir);
        if (all.Count == 0) throw new UserError($"--resume: no checkpoint in {ckptDir}");
        var passed = new List<string>();
        for (var i = all.Count - 1; ; i--)
        {
            try
            {
                var (header, entries) = Checkpoints.Read(all[i]);
                return (all[i], header, entries);
            }
            catch (UserError e) when (i > 0)
            {
                var aside = all[i] + ".damaged";
                File.Move(all[i], aside, true);
                passed.Add(Path.GetFileName(aside));
                var why = e.Message.StartsWith(all[i] + ": ", StringComparison.Ordinal) ? e.Message[(all[i].Length + 2)..] : e.Message;
                Console.WriteLine($"train: passed over {Path.GetFileName(all[i])}, which does not read ({why}); renamed it to {Path.GetFileName(aside)}, going on from {Path.GetFileName(all[i - 1])}");
            }
            catch (UserError e)
            {
                var renamed = passed.Count == 0 ? "" : $"; the newer ones are now {string.Join(", ", passed)}";
                throw new UserError($"--resume: no checkpoint in {ckptDir} reads ({e.Message}){renamed}");
            }
        }
    }

    static Microsoft.FSharp.Collections.FSharpList<Tuple<string, string>> CarriedRecords(string path, Train.Checkpoint header)
    {
        try { return Train.carriedRecords(path, header); }
        catch (Train.CheckpointError c) { throw new UserError(c.Data0); }
    }

    static string DescribeRecords(IEnumerable<Tuple<string, string>> records) =>
        string.Join(", ", records.Select(r => $"{r.Item1.Replace("scalor.", "").Replace('_', ' ')} {r.Item2}"));

    /// <summary>Drops the log lines of steps after the checkpoint a run resumes from: a crash after the last
    /// checkpoint leaves lines that the resumed run writes again, and a program reading the log should see each
    /// step once. Rewritten atomically, like the checkpoints.</summary>
    public static void TrimLog(string path, int step)
    {
        if (!File.Exists(path)) return;
        var lines = File.ReadAllLines(path);
        var kept = lines.Where(line => StepOf(line) is not { } s || s <= step).ToArray();
        if (kept.Length == lines.Length) return;
        Scalor.IO.Files.writeLines(path, kept);
        Console.WriteLine($"train: dropped {lines.Length - kept.Length} log lines after step {step} (written again as the run continues)");
    }

    static int? StepOf(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt32(out var v) ? v : null;
        }
        catch (JsonException) { return null; }
    }

    /// <summary>TensorBoard picture of the first sequence of the batch, tracked deterministically by the current
    /// model: inputs with boxes coloured by id (white circles at discoveries) over the reconstructions.</summary>
    static void LogImages(TensorBoardImages tb, Scalor.Model.Scalor.Nets nets, torch.Tensor batch, int step)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var size = nets.Config.ImageSize;
        var opts = Track.options(nets.Config, Scalor.Model.Scalor.Sampling.Means, true);
        var state = Track.initial(nets, 1);
        var previous = Microsoft.FSharp.Collections.SetModule.Empty<long>();
        var inputs = new List<Rgb>();
        var recons = new List<Rgb>();
        var seq = batch.narrow(0, 0, 1);
        for (var t = 0; t < Math.Min(6, (int)seq.shape[1]); t++)
        {
            var x = seq.select(1, t);
            var prevIds = state.Objects.Ids;
            var (next, f) = Track.step(nets, opts, state, x);
            state = next;
            var objects = Track.objectsOf(f.Objects, Track.renderingOf(nets.Config, f), 0, 0.5f, previous);
            previous = Microsoft.FSharp.Collections.SetModule.OfSeq(objects.Select(o => o.Id));
            var p = TrackCommand.Picture(f, objects, prevIds, x, size);
            inputs.Add(p.Input);
            recons.Add(p.Recon);
        }
        tb.AddImage("reconstruction", Rgb.Stack([Rgb.Strip(inputs), Rgb.Strip(recons)]), step);
    }
}
