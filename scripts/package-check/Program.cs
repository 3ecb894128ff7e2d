// An application as a .NET team would write one against the Scalor packages (scripts/check-packages.sh builds it
// outside this repository, with plain `dotnet` and NuGet): it loads a checkpoint with Scalor.Model (TorchSharp),
// exports its tracking step to ONNX in memory, and tracks generated held-out sequences with Scalor.Runtime's Rx
// stream, writing MOTChallenge files. scalor-host track --runtime onnx does the same, so the files must match.
//
// Usage: ScalorPackageCheck CHECKPOINT OUT-DIR SEQUENCES
using System.Reactive.Linq;
using Scalor.Model;
using Scalor.Runtime;
using Scalor.Worlds;

var (path, outDir, sequences) = (args[0], args[1], int.Parse(args[2]));
// The model with the rejection its checkpoint records, as `track --model` loads it.
var (nets, duplicateShare) = Train.loadForInference(path);
var onnx = OnnxGraph.toBytes(Export.model(nets, new Export.Options(64, false, false, duplicateShare)));
using var tracker = OnnxTracker.Load(onnx, path, Provider.Cpu, 2, Console.Error.WriteLine);
var frames = FrameSources.FromWorld(World.create(World.defaultConfig, null), 1000001, sequences)
    .Track(tracker, new StreamOptions(8, Overflow.Block))
    .RecordMot(outDir, tracker.ImageSize, tracker.ImageSize)
    .Count()
    .Wait();
Console.WriteLine($"package-check: {frames} frames tracked with {tracker.ProviderName}; results in {outDir}");
