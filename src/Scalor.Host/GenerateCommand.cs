using System.Globalization;
using System.Text.Json;
using Scalor.Cli;
using Scalor.Model;
using Scalor.Runtime;
using Scalor.Worlds;
using TorchSharp;

namespace Scalor.Host;

/// <summary><c>scalor-host generate</c>: conditional generation (observe K frames, imagine N with the learned
/// priors; discovery off unless asked) or generation from scratch. Writes, per sample, a picture strip
/// (reconstructed then imagined frames, a red bar where imagination starts; background; segmentation;
/// trajectories), a GIF and the latents as JSON. On a generated input it also reports how far imagined objects
/// are from the true ones per step, against a constant-position baseline.</summary>
public static class GenerateCommand
{
    static readonly JsonSerializerOptions LatentsJson = FiniteOrNull.With(new());

    public static int Run(Parse.GenerateCommand cmd)
    {
        torch.set_num_threads(cmd.Threads);
        var outDir = Paths.EnsureWritableDirectory(cmd.Out);
        var (nets, share) = Checkpoints.LoadForInference(cmd.Model, cmd.DuplicateShare, cmd.ExplainedShare);
        // Footage is observed as the model saw it in training, unless the command line says otherwise.
        var (step, window) = cmd.Input is null ? (1, null) : FootageView.One("generate", cmd.Model, cmd.FrameStep, cmd.Crop, Console.WriteLine);
        cmd = cmd.WithView(step, window);
        var size = nets.Config.ImageSize;
        var total = cmd.Observe + cmd.Steps;
        torch.Tensor? seq = null;
        World.Sequence? truth = null;
        if (!cmd.FromScratch)
        {
            if (cmd.Input is null)
            {
                // The world the command line names (moving dSprites LD by default), from seeds never used in training.
                var world = DataCommand.HeldOutWorld(World.withLength(total, cmd.World), size, cmd.MnistDir);
                truth = World.sequence(world, World.sequenceSeed(cmd.Seed, 0));
                seq = Train.batchOf([truth]);
            }
            else
            {
                var src = Inputs.Open(cmd.Input, size, out _, cmd.FrameStep, cmd.Crop?.Value, m => Console.WriteLine($"generate: {m}")).First();
                var frames = src.Frames.Take(cmd.Observe).ToList();
                if (frames.Count < cmd.Observe)
                    throw new UserError($"{cmd.Input}: {Counts.Of(frames.Count, "frame")}{(cmd.FrameStep > 1 ? $" {cmd.FrameStep} apart" : "")}, fewer than --observe {cmd.Observe}");
                var bytes = frames.SelectMany(f => f).ToArray();
                using var raw = torch.tensor(bytes, dtype: torch.uint8);
                seq = raw.reshape(1, frames.Count, size, size, 3).permute(0, 1, 4, 2, 3).to_type(torch.float32).div(255f).contiguous();
            }
        }
        var inv = CultureInfo.InvariantCulture;
        var pos = new Positions(cmd.Steps);
        for (var s = 0; s < cmd.Samples; s++)
        {
            // One block per sample (NativeSafe): no collection, so no finalizer, while libtorch runs.
            NativeSafe.Run(() =>
            {
                using var gen = new torch.Generator(Rng.derive(cmd.Seed, (ulong)s + 1));
                List<Generate.Frame> observed, imagined;
                if (cmd.FromScratch)
                {
                    observed = [];
                    imagined = [.. Generate.fromScratch(nets, gen, 1, cmd.Steps, 0.2, cmd.Discovery)];
                }
                else
                {
                    var (o, i) = Generate.conditional(nets, gen, cmd.MostLikely, share, seq!, cmd.Observe, cmd.Steps, cmd.Discovery);
                    (observed, imagined) = ([.. o], [.. i]);
                }
                var all = observed.Concat(imagined).ToList();
                SavePictures(nets, outDir, s, all, observed.Count, size, cmd.MaskBoxes);
                Scalor.IO.Files.writeText(Path.Combine(outDir, $"latents-{s + 1}.json"), JsonSerializer.Serialize(all.Select((f, t) => new
                {
                    frame = t + 1, imagined = t >= observed.Count,
                    objects = Objects(nets, f).Select(o =>
                    {
                        var (l, top, w, h) = TrackCommand.BoxOf(o, size, cmd.MaskBoxes);
                        return new { id = o.Id, scale_x = o.Where[0], scale_y = o.Where[1], position_x = o.Where[2], position_y = o.Where[3], box = TrackingStream.MotBox([l, top, w, h]), depth = o.Depth, presence = o.Presence, visible_px = o.Visible };
                    }),
                }), LatentsJson));
                if (truth is not null) PositionErrors(nets, truth, observed, imagined, size, pos);
            });
        }
        Console.WriteLine($"generate: {Counts.Of(cmd.Samples, "sample")} of {(cmd.FromScratch ? "" : $"{cmd.Observe} observed + ")}{cmd.Steps} imagined frames in {outDir}");
        if (truth is not null && pos.Counted.Any(c => c > 0))
        {
            double Mean(double[] sum, int t) => pos.Counted[t] > 0 ? sum[t] / pos.Counted[t] : double.NaN;
            Console.WriteLine(string.Create(inv, $"generate: last observed frame: inferred positions {pos.Observed / pos.ObservedCount:F2} px from the true ones ({Counts.Of(pos.ObservedCount, "object")})"));
            for (var t = 0; t < cmd.Steps; t++)
                if (pos.Counted[t] > 0)
                    Console.WriteLine(string.Create(inv, $"generate: step {t + 1}: mean distance to the true position {Mean(pos.Imagined, t):F2} px (constant-position baseline {Mean(pos.TrueHeld, t):F2} px, {Counts.Of(pos.Counted[t], "object")}; the model's last inferred position held: {Mean(pos.ModelHeld, t):F2} px)"));
            var steps = Enumerable.Range(0, cmd.Steps);
            BenchCommand.WriteJson(Path.Combine(outDir, "positions.json"), new
            {
                most_likely = cmd.MostLikely,
                observed_distance_px = pos.Observed / pos.ObservedCount,
                mean_distance_px = steps.Select(t => Mean(pos.Imagined, t)),
                constant_baseline_px = steps.Select(t => Mean(pos.TrueHeld, t)),
                model_held_baseline_px = steps.Select(t => Mean(pos.ModelHeld, t)),
                objects = pos.Counted,
            });
        }
        return 0;
    }

    static Track.TrackedObject[] Objects(Scalor.Model.Scalor.Nets nets, Generate.Frame f)
    {
        // The objects are plain values; the rendering they are read from is freed here. A sample runs in a block without
        // collections (NativeSafe), where each frame's renderings (three a frame: pictures, latents, positions) had lived
        // to the sample's end, with the pictures' temporaries: about 40 MB a frame, 7.8 GB for `--steps 200`.
        using var scope = torch.NewDisposeScope();
        return Track.objectsOf(f.Objects, Track.rendering(nets, f.Objects), 0, 0.5f, Microsoft.FSharp.Collections.SetModule.Empty<long>());
    }

    /// <summary>Sums of centre distances (px) per imagined step: the imagined object to the true one; the true
    /// position at the last observed frame held still (the constant-position baseline); the model's own last
    /// inferred position held still (separates the motion the prior predicts from the tracker's offset).</summary>
    sealed class Positions(int steps)
    {
        public double[] Imagined { get; } = new double[steps];
        public double[] TrueHeld { get; } = new double[steps];
        public double[] ModelHeld { get; } = new double[steps];
        public int[] Counted { get; } = new int[steps];
        public double Observed { get; set; }
        public int ObservedCount { get; set; }
    }

    /// <summary>Model ids are matched to true objects at the last observed frame (optimal assignment on centre
    /// distance, pairs further apart than the object's size left out); each imagined step then compares the object's imagined centre with the true one, and with
    /// the held baselines.</summary>
    static void PositionErrors(Scalor.Model.Scalor.Nets nets, World.Sequence truth, List<Generate.Frame> observed, List<Generate.Frame> imagined, int size, Positions pos)
    {
        var last = observed.Count - 1;
        var objs = Objects(nets, observed[last]);
        var gt = truth.Truth.Where(b => b.Frame == last).ToArray();
        if (objs.Length == 0 || gt.Length == 0) return;
        static double Dist((double X, double Y) a, double x, double y) => Math.Sqrt(Math.Pow(a.X - x, 2) + Math.Pow(a.Y - y, 2));
        var cost = new double[objs.Length, gt.Length];
        for (var i = 0; i < objs.Length; i++)
            for (var j = 0; j < gt.Length; j++)
                cost[i, j] = Dist(Centre(objs[i], size), gt[j].CenterX, gt[j].CenterY);
        // Within one object size: the match the tracking metrics count (similarity 1 − d / 2·size ≥ 0.5).
        var pairs = Scalor.Metrics.Assignment.minimise(cost).Where(p => cost[p.Item1, p.Item2] <= gt[p.Item2].Size).ToArray();
        foreach (var (i, j) in pairs) { pos.Observed += cost[i, j]; pos.ObservedCount++; }
        for (var t = 0; t < imagined.Count; t++)
        {
            var now = Objects(nets, imagined[t]).ToDictionary(o => o.Id);
            foreach (var (i, j) in pairs)
            {
                var trueNow = truth.Truth.FirstOrDefault(b => b.Frame == last + 1 + t && b.Object == gt[j].Object);
                if (trueNow.Size == 0 || !now.TryGetValue(objs[i].Id, out var o)) continue;
                pos.Imagined[t] += Dist(Centre(o, size), trueNow.CenterX, trueNow.CenterY);
                pos.TrueHeld[t] += Dist((gt[j].CenterX, gt[j].CenterY), trueNow.CenterX, trueNow.CenterY);
                pos.ModelHeld[t] += Dist(Centre(objs[i], size), trueNow.CenterX, trueNow.CenterY);
                pos.Counted[t]++;
            }
        }
    }

    static (double X, double Y) Centre(Track.TrackedObject o, int size) => ((o.Where[2] + 1) / 2 * size, (o.Where[3] + 1) / 2 * size);

    static void SavePictures(Scalor.Model.Scalor.Nets nets, string dir, int sample, List<Generate.Frame> frames, int observed, int size, bool maskBoxes)
    {
        const int k = 3;
        Rgb Img(torch.Tensor chw)
        {
            var c = chw.clamp(0f, 1f).mul(255f).add(0.5f).to_type(torch.uint8).permute(1, 2, 0).contiguous();
            var img = new Rgb(size, size);
            c.data<byte>().CopyTo(img.Pixels);
            return img.Scale(k);
        }
        var recon = new List<Rgb>();
        var bgs = new List<Rgb>();
        var segs = new List<Rgb>();
        var traj = new Rgb(size * k, size * k);
        var last = new Dictionary<long, (double X, double Y)>();
        using var none = torch.zeros(1, 0, dtype: torch.int64);
        var floor = Track.minVisiblePixels(nets.Config, Track.defaultMinVisibleShare);
        for (var t = 0; t < frames.Count; t++)
        {
            // Each frame's picture tensors are freed with it (see Objects).
            using var scope = torch.NewDisposeScope();
            var f = frames[t];
            var next = new Dictionary<long, (double X, double Y)>();
            var r = Img(f.Recon[0]);
            if (t >= observed) for (var x = 0; x < r.Width; x++) for (var y = 0; y < 3; y++) r.Set(x, y, (230, 30, 30));
            // The objects, boxes and trajectories `track` would report: an imagined object's mask box is the box of
            // what the priors make it draw, and one that has left the view is not drawn (it keeps its latents).
            foreach (var o in Track.reported(floor, Objects(nets, f)))
            {
                var (l, top, w, h) = TrackCommand.BoxOf(o, size, maskBoxes);
                r.Rectangle(l * k, top * k, w * k, h * k, Rgb.IdColour((int)o.Id));
                var centre = ((l + w / 2) * k, (top + h / 2) * k);
                if (last.TryGetValue(o.Id, out var before))
                {
                    traj.Line(before.X, before.Y, centre.Item1, centre.Item2, Rgb.IdColour((int)o.Id));
                    // White ring: where this object's imagined path starts.
                    if (t == observed) traj.Circle(before.X, before.Y, 3, (255, 255, 255));
                }
                next[o.Id] = centre;
            }
            last = next;
            recon.Add(r);
            bgs.Add(Img(f.Background[0]));
            // The maps of frame t hold frame t − 1's slots, then the discovery cells.
            segs.Add(TrackCommand.Segmentation(f.Maps, f.AlphaFg, t == 0 ? none : frames[t - 1].Objects.Ids, size).Scale(k));
        }
        Rgb.Stack([Rgb.Strip(recon), Rgb.Strip(bgs), Rgb.Strip(segs), traj]).SavePng(Path.Combine(dir, $"sample-{sample + 1}.png"));
        Gif.Write(Path.Combine(dir, $"sample-{sample + 1}.gif"), recon.Select((r, t) => Rgb.Strip([r, bgs[t], segs[t]])).ToList(), 40);
    }
}
