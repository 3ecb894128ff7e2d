using Scalor.Cli;
using Scalor.Model;
using Scalor.Runtime;

namespace Scalor.Host;

/// <summary><c>scalor-host export</c>: writes the per-frame tracking step as ONNX and checks that ONNX Runtime
/// loads it.</summary>
public static class ExportCommand
{
    public static int Run(Parse.ExportCommand cmd)
    {
        if (Directory.Exists(cmd.Out))
            throw new UserError($"--out {cmd.Out} is a folder; give the model's file name, e.g. {Path.Combine(cmd.Out, "model.onnx")}");
        var nets = cmd.Model is null ? EmbeddedModel.Load() : Checkpoints.LoadModel(cmd.Model);
        var dir = Path.GetDirectoryName(Path.GetFullPath(cmd.Out))!;
        Paths.EnsureWritableDirectory(dir);
        var model = Export.save(nets, new Export.Options(cmd.Capacity, cmd.Render, cmd.Dense, cmd.DuplicateShare), cmd.Out);
        using var check = OnnxTracker.Load(cmd.Out, Provider.Cpu, 1);
        Console.WriteLine($"export: {cmd.Out}: opset {OnnxGraph.opset}, {model.Graph.Node.Count} nodes, {model.Graph.Initializer.Count} initializers, " +
                          $"{new FileInfo(cmd.Out).Length / 1e6:F1} MB, capacity {check.Capacity}, {check.ImageSize}×{check.ImageSize} frames" +
                          (cmd.Render ? ", with rendering" : "") + (cmd.Dense ? ", dense (constant work per frame)" : "") +
                          (!Discovery.testsDuplicates(cmd.DuplicateShare) ? ", official rejection" : cmd.DuplicateShare == Discovery.defaultDuplicateShare ? "" : $", duplicate share {cmd.DuplicateShare}") + "; loaded by ONNX Runtime");
        return 0;
    }

    /// <summary>Exports <paramref name="nets"/> to a temporary file and loads it with the chosen provider.</summary>
    public static OnnxTracker Temporary(Scalor.Model.Scalor.Nets nets, int capacity, string provider, int threads, Action<string> log, bool dense = false, double duplicateShare = Discovery.defaultDuplicateShare)
    {
        var path = Path.Combine(Path.GetTempPath(), $"scalor-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        try
        {
            Export.save(nets, new Export.Options(capacity, false, dense, duplicateShare), path);
            var p = provider switch { "cpu" => Provider.Cpu, "cuda" => Provider.Cuda, "directml" => Provider.DirectML, _ => Provider.Auto };
            return OnnxTracker.Load(path, p, threads, log);
        }
        finally { File.Delete(path); }
    }
}
