// An application as a .NET team would write one against the Scalor packages (scripts/check-packages.sh builds it
// outside this repository, with plain `dotnet` and NuGet). It loads a checkpoint with Scalor.Model and tracks
// generated held-out sequences twice, writing MOTChallenge files for each:
//   torchsharp/  with the library's Tracker, frame by frame on TorchSharp, as `scalor-host track` does;
//   onnx/        with the tracking step exported to ONNX in memory and Scalor.Runtime's Rx stream, as
//                `scalor-host track --runtime onnx` does.
// The script compares both with the host's files: they must be identical.
//
// Usage: ScalorPackageCheck CHECKPOINT OUT-DIR SEQUENCES
using System.Globalization;
using System.Reactive.Linq;
using Scalor.Model;
using Scalor.Runtime;
using Scalor.Worlds;

var (path, outDir, sequences) = (args[0], args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
// The model with the rejection its checkpoint records, as `track --model` loads it.
var (nets, duplicateShare) = Train.loadForInference(path);
var world = World.create(World.defaultConfig, null);
const ulong heldOut = 1000001;

// TorchSharp: one Tracker, reset between sequences.
Directory.CreateDirectory(Path.Combine(outDir, "torchsharp"));
using (var tracker = new Tracker.Tracker(nets, duplicateShare))
{
    for (var i = 0; i < sequences; i++)
    {
        var s = World.sequence(world, World.sequenceSeed(heldOut, i));
        var bytes = s.ViewSize * s.ViewSize * 3;
        var lines = new List<string>();
        tracker.Reset();
        for (var t = 0; t < s.Length; t++)
            foreach (var o in tracker.Step(s.Frames[(t * bytes)..((t + 1) * bytes)]))
            {
                var (left, top, width, height) = Track.reportedBox(true, o.MaskBox, o.Where, s.ViewSize, s.ViewSize).ToValueTuple();
                lines.Add(TrackingStream.MotLine(t + 1, o.Id, [left, top, width, height], o.Presence));
            }
        File.WriteAllText(Path.Combine(outDir, "torchsharp", $"seq-{i + 1:D4}.txt"), string.Concat(lines.Select(l => l + "\n")));
    }
}

// ONNX Runtime: the exported step as an Rx stream of tracked frames.
var onnx = OnnxGraph.toBytes(Export.model(nets, new Export.Options(nets.Config.Capacity, false, false, duplicateShare)));
using var runtime = OnnxTracker.Load(onnx, path, Provider.Cpu, 2, Console.Error.WriteLine);
var frames = FrameSources.FromWorld(world, heldOut, sequences)
    .Track(runtime, new StreamOptions(8, Overflow.Block))
    .RecordMot(Path.Combine(outDir, "onnx"), runtime.ImageSize, runtime.ImageSize)
    .Count()
    .Wait();
Console.WriteLine($"package-check: {sequences} sequences tracked on TorchSharp and on ONNX Runtime ({frames} frames, {runtime.ProviderName}); results in {outDir}");
