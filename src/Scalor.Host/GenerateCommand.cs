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
    public static int Run(Parse.GenerateCommand cmd)
    {
        var outDir = Paths.EnsureWritableDirectory(cmd.Out);
        var nets = cmd.Model is null ? EmbeddedModel.Load() : Checkpoints.LoadModel(cmd.Model);
        var size = nets.Config.ImageSize;
        var total = cmd.Observe + cmd.Steps;
        torch.Tensor? seq = null;
        World.Sequence? truth = null;
        if (!cmd.FromScratch)
        {
            if (cmd.Input is null)
            {
                truth = World.sequence(World.create(WithLength(total), null), World.sequenceSeed(cmd.Seed, 0));
                seq = Train.batchOf([truth]);
            }
            else
            {
                var src = Inputs.Open(cmd.Input, size, out _).First();
                var frames = src.Frames.Take(cmd.Observe).ToList();
                if (frames.Count < cmd.Observe) throw new UserError($"{cmd.Input}: {frames.Count} frames, fewer than --observe {cmd.Observe}");
                var bytes = frames.SelectMany(f => f).ToArray();
                using var raw = torch.tensor(bytes, dtype: torch.uint8);
                seq = raw.reshape(1, frames.Count, size, size, 3).permute(0, 1, 4, 2, 3).to_type(torch.float32).div(255f).contiguous();
            }
        }
        var inv = CultureInfo.InvariantCulture;
        var errors = new double[cmd.Steps];
        var baseline = new double[cmd.Steps];
        var counted = new int[cmd.Steps];
        for (var s = 0; s < cmd.Samples; s++)
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
                var (o, i) = Generate.conditional(nets, gen, seq!, cmd.Observe, cmd.Steps, cmd.Discovery);
                (observed, imagined) = ([.. o], [.. i]);
            }
            var all = observed.Concat(imagined).ToList();
            SavePictures(outDir, s, all, observed.Count, size);
            File.WriteAllText(Path.Combine(outDir, $"latents-{s + 1}.json"), JsonSerializer.Serialize(all.Select((f, t) => new
            {
                frame = t + 1, imagined = t >= observed.Count,
                objects = Objects(f).Select(o => new { id = o.Id, scale_x = o.Where[0], scale_y = o.Where[1], position_x = o.Where[2], position_y = o.Where[3], depth = o.Depth, presence = o.Presence }),
            })));
            if (truth is not null) PositionErrors(truth, observed, imagined, size, errors, baseline, counted);
        }
        Console.WriteLine($"generate: {cmd.Samples} sample(s) of {(cmd.FromScratch ? "" : $"{cmd.Observe} observed + ")}{cmd.Steps} imagined frames in {outDir}");
        if (truth is not null && counted.Any(c => c > 0))
        {
            for (var t = 0; t < cmd.Steps; t++)
                if (counted[t] > 0)
                    Console.WriteLine(string.Create(inv, $"generate: step {t + 1}: mean distance to the true position {errors[t] / counted[t]:F2} px (constant-position baseline {baseline[t] / counted[t]:F2} px, {counted[t]} objects)"));
            BenchCommand.WriteJson(Path.Combine(outDir, "positions.json"), new
            {
                mean_distance_px = Enumerable.Range(0, cmd.Steps).Select(t => counted[t] > 0 ? errors[t] / counted[t] : double.NaN),
                constant_baseline_px = Enumerable.Range(0, cmd.Steps).Select(t => counted[t] > 0 ? baseline[t] / counted[t] : double.NaN),
                objects = counted,
            });
        }
        return 0;
    }

    static World.WorldConfig WithLength(int length) => World.withLength(length, World.defaultConfig);

    static Track.TrackedObject[] Objects(Generate.Frame f) =>
        Track.objectsOf(f.Objects, 0, 0.5f, Microsoft.FSharp.Collections.SetModule.Empty<long>());

    /// <summary>Model ids are matched to true objects at the last observed frame (optimal assignment on centre
    /// distance); each imagined step then compares the object's imagined centre with the true one, and with
    /// its last observed position (the constant baseline).</summary>
    static void PositionErrors(World.Sequence truth, List<Generate.Frame> observed, List<Generate.Frame> imagined, int size, double[] err, double[] bas, int[] n)
    {
        var last = observed.Count - 1;
        var objs = Objects(observed[last]);
        var gt = truth.Truth.Where(b => b.Frame == last).ToArray();
        if (objs.Length == 0 || gt.Length == 0) return;
        var cost = new double[objs.Length, gt.Length];
        for (var i = 0; i < objs.Length; i++)
            for (var j = 0; j < gt.Length; j++)
            {
                var (cx, cy) = Centre(objs[i], size);
                cost[i, j] = Math.Sqrt(Math.Pow(cx - gt[j].CenterX, 2) + Math.Pow(cy - gt[j].CenterY, 2));
            }
        var pairs = Scalor.Metrics.Assignment.minimise(cost).Where(p => cost[p.Item1, p.Item2] <= 2 * gt[p.Item2].Size).ToArray();
        for (var t = 0; t < imagined.Count; t++)
        {
            var now = Objects(imagined[t]).ToDictionary(o => o.Id);
            foreach (var (i, j) in pairs)
            {
                var trueNow = truth.Truth.FirstOrDefault(b => b.Frame == last + 1 + t && b.Object == gt[j].Object);
                if (trueNow.Size == 0 || !now.TryGetValue(objs[i].Id, out var o)) continue;
                var (cx, cy) = Centre(o, size);
                err[t] += Math.Sqrt(Math.Pow(cx - trueNow.CenterX, 2) + Math.Pow(cy - trueNow.CenterY, 2));
                bas[t] += Math.Sqrt(Math.Pow(gt[j].CenterX - trueNow.CenterX, 2) + Math.Pow(gt[j].CenterY - trueNow.CenterY, 2));
                n[t]++;
            }
        }
    }

    static (double X, double Y) Centre(Track.TrackedObject o, int size) => ((o.Where[2] + 1) / 2 * size, (o.Where[3] + 1) / 2 * size);

    static void SavePictures(string dir, int sample, List<Generate.Frame> frames, int observed, int size)
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
        for (var t = 0; t < frames.Count; t++)
        {
            var f = frames[t];
            var r = Img(f.Recon[0]);
            if (t >= observed) for (var x = 0; x < r.Width; x++) for (var y = 0; y < 3; y++) r.Set(x, y, (230, 30, 30));
            foreach (var o in Objects(f))
            {
                var (l, top, w, h) = Track.box(o.Where, size, size);
                r.Rectangle(l * k, top * k, w * k, h * k, Rgb.IdColour((int)o.Id));
                traj.Set((int)((l + w / 2) * k), (int)((top + h / 2) * k), Rgb.IdColour((int)o.Id));
            }
            recon.Add(r);
            bgs.Add(Img(f.Background[0]));
            var maps = Render.fullMaps(f.Maps, size, size)[0].narrow(1, 4, 1).squeeze(1);
            var (_, arg) = maps.max(0);
            var argv = arg.data<long>().ToArray();
            var alpha = f.AlphaFg[0, 0].data<float>().ToArray();
            var seg = new Rgb(size, size);
            for (var i = 0; i < size * size; i++) if (alpha[i] >= 0.1f) seg.Set(i % size, i / size, Rgb.IdColour((int)argv[i] + 1));
            segs.Add(seg.Scale(k));
        }
        Rgb.Stack([Rgb.Strip(recon), Rgb.Strip(bgs), Rgb.Strip(segs), traj]).SavePng(Path.Combine(dir, $"sample-{sample + 1}.png"));
        Gif.Write(Path.Combine(dir, $"sample-{sample + 1}.gif"), recon.Zip(segs, (a, b) => Rgb.Strip([a, b])).ToList(), 40);
    }
}
