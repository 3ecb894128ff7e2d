using Microsoft.FSharp.Collections;
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
        var dir = Path.GetDirectoryName(Path.GetFullPath(cmd.Out))!;
        if (cmd.Out.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            return RecordShare(cmd, dir);
        if (cmd.WeightsOnly) throw new UserError("--weights-only shapes a checkpoint copy (--out X.safetensors); an ONNX model holds weights only anyway");
        var (nets, share) = Checkpoints.LoadForInference(cmd.Model, cmd.DuplicateShare, cmd.ExplainedShare);
        Paths.EnsureWritableDirectory(dir);
        // How the model saw footage travels with it, read (and checked) as track reads it.
        var footage = cmd.Model is null ? [] : Train.footageRecordsOf(cmd.Model, Checkpoints.ReadHeader(cmd.Model));
        var model = Export.saveRecording(nets, new Export.Options(cmd.Capacity?.Value ?? nets.Config.Capacity, cmd.Render, cmd.Dense, share), footage, cmd.Out);
        using var check = OnnxTracker.Load(cmd.Out, Provider.Cpu, 1);
        Console.WriteLine($"export: {cmd.Out}: opset {OnnxGraph.opset}, {model.Graph.Node.Count} nodes, {model.Graph.Initializer.Count} initializers, " +
                          $"{new FileInfo(cmd.Out).Length / 1e6:F1} MB, capacity {check.Capacity}, {check.ImageSize}×{check.ImageSize} frames" +
                          (cmd.Render ? ", with rendering" : "") + (cmd.Dense ? ", dense (constant work per frame)" : "") +
                          (share == Discovery.defaultDuplicateShare ? "" : ", " + Checkpoints.DescribeShare(share)) +
                          (check.FrameStep > 1 ? $", frame step {check.FrameStep}" : "") +
                          (check.Crops.Count > 0 ? $", windows {Scalor.IO.Crop.describeAll(ListModule.OfSeq(check.Crops))}" : "") + "; loaded by ONNX Runtime");
        return 0;
    }

    /// <summary><c>export --out X.safetensors</c>: the checkpoint itself (every tensor, so it still resumes and
    /// fine-tunes; or its weights alone with --weights-only), recording the rejection asked for, so that track, eval, generate and export use it without
    /// options.</summary>
    static int RecordShare(Parse.ExportCommand cmd, string dir)
    {
        if (cmd.Model is null) throw new UserError("--out X.safetensors copies the checkpoint given with --model, recording its rejection; give --model");
        if (cmd.DuplicateShare is null && cmd.ExplainedShare is null)
            throw new UserError("--out X.safetensors records a rejection in the checkpoint; give --duplicate-share S (or --rejection official) or --explained-share S");
        if (cmd.Render || cmd.Dense || cmd.Capacity is not null) throw new UserError("--render, --dense and --capacity shape an ONNX model; a checkpoint has none of them");
        Paths.EnsureWritableDirectory(dir);
        Checkpoints.RecordRejection(cmd.Model, cmd.Out, cmd.DuplicateShare, cmd.ExplainedShare, cmd.WeightsOnly);
        var what = new List<string>();
        if (cmd.DuplicateShare is not null) what.Add(Checkpoints.DescribeShare(cmd.DuplicateShare.Value));
        if (cmd.ExplainedShare is not null) what.Add(Checkpoints.DescribeExplainedShare(cmd.ExplainedShare.Value));
        Console.WriteLine($"export: {cmd.Out}: the checkpoint {cmd.Model}" + (cmd.WeightsOnly ? " (weights only: it tracks but cannot resume)" : "") +
                          $" with {string.Join(" and ", what)} recorded");
        return 0;
    }

    /// <summary>Exports <paramref name="nets"/> and loads the model from memory with the chosen provider.</summary>
    public static OnnxTracker InMemory(Scalor.Model.Scalor.Nets nets, int capacity, string provider, int threads, Action<string> log, bool dense = false,
        double duplicateShare = Discovery.defaultDuplicateShare, bool render = false)
    {
        var model = OnnxGraph.toBytes(Export.model(nets, new Export.Options(capacity, render, dense, duplicateShare)));
        return OnnxTracker.Load(model, "the exported model", ProviderOf(provider), threads, log);
    }

    /// <summary>The provider <c>--provider</c> names ("auto", "cpu", "cuda", "directml").</summary>
    public static Provider ProviderOf(string provider) =>
        provider switch { "cpu" => Provider.Cpu, "cuda" => Provider.Cuda, "directml" => Provider.DirectML, _ => Provider.Auto };
}
