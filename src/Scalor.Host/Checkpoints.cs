using System.Globalization;
using Scalor.Model;
using Microsoft.FSharp.Core;
using TorchSharp;

namespace Scalor.Host;

/// <summary>Checkpoint files of a run folder: <c>ckpt-000200.safetensors</c>, written atomically, the last K
/// kept. Every failure to read one is a one-line <see cref="UserError"/>.</summary>
public static class Checkpoints
{
    public static string PathFor(string dir, int step) => Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"ckpt-{step:D7}.safetensors"));

    /// <summary>A run folder's checkpoints, oldest first (their names hold the step, zero-padded); none when the folder is
    /// missing. A checkpoint being written has another name (<c>*.tmp</c>), as has one set aside (<c>*.damaged</c>).</summary>
    public static List<string> InOrder(string dir) =>
        Directory.Exists(dir) ? [.. Directory.GetFiles(dir, "ckpt-*.safetensors").OrderBy(f => f, StringComparer.Ordinal)] : [];

    public static string? Latest(string dir) => InOrder(dir).LastOrDefault();

    /// <summary>Writes step <paramref name="step"/>'s checkpoint, with the metadata <paramref name="records"/> (the
    /// shares a resumed run carries, <see cref="Train.carriedRecords"/>), into <paramref name="dir"/>, keeps the
    /// newest <paramref name="keep"/>, and writes the weights beside the folder as <c>model.safetensors</c>.</summary>
    public static void Save(string dir, Scalor.Model.Scalor.Nets nets, Train.RmsProp opt, torch.Generator gen, int step, int keep,
        Microsoft.FSharp.Collections.FSharpList<Tuple<string, string>> records)
    {
        Train.save(PathFor(dir, step), nets, opt, gen, step, records);
        foreach (var old in InOrder(dir).SkipLast(keep))
            File.Delete(old);
        // The newest weights also as a plain safetensors file for other tools.
        var model = Path.Combine(Path.GetDirectoryName(dir)!, "model.safetensors");
        Train.save(model, nets, null, null, step, records);
    }

    /// <summary>Reads checkpoint <paramref name="path"/>, or the embedded model when it is null.</summary>
    public static (Train.Checkpoint Header, Microsoft.FSharp.Collections.FSharpList<Scalor.IO.Safetensors.Entry> Entries) Read(string? path) =>
        path is null
            ? Checked(null, () => Train.parse(EmbeddedModel.Name, EmbeddedModel.Bytes()).ToValueTuple())
            : Checked(path, () => Train.read(path).ToValueTuple());

    /// <summary>A checkpoint's step, config and metadata, without reading its tensors (the embedded model's when
    /// <paramref name="path"/> is null).</summary>
    public static Train.Checkpoint ReadHeader(string? path) =>
        path is null ? Checked(null, () => Train.parseHeader(EmbeddedModel.Name, EmbeddedModel.Bytes())) : Checked(path, () => Train.readHeader(path));

    /// <summary>Reads checkpoint <paramref name="path"/> (null: the embedded model) with <paramref name="read"/>: a
    /// missing file or a <see cref="Train.CheckpointError"/> is a one-line <see cref="UserError"/>.</summary>
    static T Checked<T>(string? path, Func<T> read)
    {
        if (path is not null && !File.Exists(path)) throw new UserError($"checkpoint '{path}' not found");
        try { return read(); }
        catch (Train.CheckpointError) when (path is not null && IsOnnx(path))
        {
            throw new UserError($"{path} is an ONNX model (scalor-host export), not a checkpoint: 'track --model {path}' runs it; this command needs the checkpoint it was exported from");
        }
        catch (Train.CheckpointError c) { throw new UserError(c.Data0); }
    }

    /// <summary>Whether the file at <paramref name="path"/> is an ONNX model (<c>scalor-host export</c>) rather than a
    /// checkpoint, by its first bytes, whatever its name: a safetensors file opens with its header's length (8 bytes)
    /// and then the header's '{'; an ONNX model (a protobuf ModelProto, fields in number order) with its IR version,
    /// field 1 as a varint (0x08).</summary>
    public static bool IsOnnx(string path)
    {
        if (!File.Exists(path)) return false;
        Span<byte> head = stackalloc byte[9];
        using var f = File.OpenRead(path);
        var n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return n >= 2 && head[0] == 0x08 && !(n == head.Length && head[8] == (byte)'{');
    }

    public static void Restore(string path, Scalor.Model.Scalor.Nets nets, Train.RmsProp? opt, torch.Generator? gen,
        Microsoft.FSharp.Collections.FSharpList<Scalor.IO.Safetensors.Entry> entries)
    {
        try
        {
            Train.restore(path, nets,
                opt is null ? null : Microsoft.FSharp.Core.FSharpOption<Train.RmsProp>.Some(opt),
                gen is null ? null : Microsoft.FSharp.Core.FSharpOption<torch.Generator>.Some(gen), entries);
        }
        catch (Train.CheckpointError c) { throw new UserError(c.Data0); }
    }

    /// <summary>Loads a model as trained (the embedded model when <paramref name="path"/> is null): its config
    /// unchanged, so the official test at the share training used, whatever explained share the checkpoint records
    /// (the likelihood estimates of <c>eval --data</c>).</summary>
    public static Scalor.Model.Scalor.Nets LoadModel(string? path) => LoadModel(path, null, null, asTrained: true).Nets;

    /// <summary>Loads a model for inference — <paramref name="path"/>, or the embedded model when null — with
    /// the duplicate share to track it with: <paramref name="asked"/> (the command line's; null when neither
    /// --rejection nor --duplicate-share was given), else the share the checkpoint records, else the default;
    /// and its config's <c>RejectionThreshold</c> the explained share (<see cref="Train.explainedShareFor"/>):
    /// <paramref name="askedExplained"/>, else the checkpoint's record (not with --rejection official), else the
    /// config's.</summary>
    public static (Scalor.Model.Scalor.Nets Nets, double DuplicateShare) LoadForInference(string? path, FSharpOption<double>? asked,
        FSharpOption<double>? askedExplained = null) =>
        LoadModel(path, asked, askedExplained);

    static (Scalor.Model.Scalor.Nets Nets, double DuplicateShare) LoadModel(string? path, FSharpOption<double>? asked, FSharpOption<double>? askedExplained,
        bool asTrained = false)
    {
        var name = path ?? EmbeddedModel.Name;
        var (h, e) = Read(path);
        CheckImageSize(h.Config);
        try
        {
            // Building the model and copying the weights in are thousands of libtorch calls: one NativeSafe block.
            return NativeSafe.Run(() =>
            {
                if (!asTrained) return Train.forInference(name, h, e, asked, askedExplained).ToValueTuple();
                Train.carriedRecords(name, h); // a bad record is an error here too
                var n = Scalor.Model.Scalor.create(h.Config, 0);
                Train.restore(name, n, null, null, e);
                return (n, Train.duplicateShareFor(asked, name, h));
            });
        }
        catch (Train.CheckpointError c) { throw new UserError(c.Data0); }
    }

    /// <summary>"weights averaged over steps A–B (N checkpoints)" when the checkpoint at <paramref name="path"/> is
    /// such a mean (<see cref="Train.average"/>), or the embedded model when it is null (the default is such a mean too,
    /// README "Trained models"); null for any other.</summary>
    public static string? DescribeAveraging(string? path)
    {
        var header = ReadHeader(path);
        var steps = Train.averagedSteps(header)?.Value;
        if (steps is not { Length: > 0 }) return null;
        var only = header.Extra.TryFind(Train.averagedOnlyKey)?.Value is { } o ? $"; {o.Replace(",", ", ")} only" : "";
        return header.Extra.ContainsKey(Train.averagedFromKey)
            ? $"weights averaged over {steps.Length} checkpoints of different runs (steps {string.Join(", ", steps)}{only})"
            : $"weights averaged over steps {steps[0]}–{steps[^1]} ({steps.Length} checkpoints{only})";
    }

    public static string DescribeShare(double share) =>
        Discovery.testsDuplicates(share) ? string.Create(CultureInfo.InvariantCulture, $"duplicate share {share}") : "official rejection";

    public static string DescribeExplainedShare(double share) => string.Create(CultureInfo.InvariantCulture, $"explained share {share}");

    /// <summary>Copies checkpoint <paramref name="source"/> to <paramref name="target"/> recording the duplicate
    /// and explained shares given (null keeps what it records; <c>export --out X.safetensors</c>).</summary>
    public static void RecordRejection(string source, string target, FSharpOption<double>? share, FSharpOption<double>? explained, bool weightsOnly = false)
    {
        var (header, entries) = Read(source);
        Train.recordRejection(header, weightsOnly ? Train.weightsOnly(entries) : entries, target, share, explained);
    }

    /// <summary>Writes a checkpoint as read (or averaged), atomically, with the shares its metadata records.</summary>
    public static void Write(Train.Checkpoint header, Microsoft.FSharp.Collections.FSharpList<Scalor.IO.Safetensors.Entry> entries, string target) =>
        Train.recordRejection(header, entries, target, null, null);

    public static void CheckImageSize(Config.ScalorConfig c)
    {
        if (c.ImageSize != 64 && c.ImageSize != 128) throw new UserError($"image size {c.ImageSize} is not supported (64 or 128)");
        if (c.GlimpseSize != 32 && c.GlimpseSize != 64) throw new UserError($"glimpse size {c.GlimpseSize} is not supported (32 or 64)");
        if (c.GridSize != 8) throw new UserError($"grid size {c.GridSize} is not supported (8)");
    }
}
