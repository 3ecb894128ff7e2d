using System.Globalization;
using System.Text.RegularExpressions;
using Scalor.Cli;
using Scalor.Model;
using Microsoft.FSharp.Core;

namespace Scalor.Host;

/// <summary><c>scalor-host average</c>: the mean weights of checkpoints of one run (stochastic weight
/// averaging, <see cref="Train.average"/>) as a checkpoint that tracks, evaluates, exports and resumes.</summary>
public static partial class AverageCommand
{
    [GeneratedRegex(@"^ckpt-(\d+)\.safetensors$")]
    private static partial Regex CheckpointName();

    public static int Run(Parse.AverageCommand cmd)
    {
        if (Directory.Exists(cmd.Out))
            throw new UserError($"--out {cmd.Out} is a folder; give the checkpoint's file name, e.g. {Path.Combine(cmd.Out, "average.safetensors")}");
        if (!cmd.Out.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw new UserError($"--out {cmd.Out}: the average is a checkpoint; give a .safetensors file name");
        bool InRange(int step) =>
            (cmd.From is null || step >= cmd.From.Value) && (cmd.To is null || step <= cmd.To.Value);

        var files = new List<string>();
        foreach (var given in cmd.Checkpoints)
        {
            if (Directory.Exists(given))
            {
                // A run folder: its checkpoints by name, filtered by the step in the name before anything is read.
                var inFolder = Checkpoints.InOrder(given)
                    .Where(f => CheckpointName().Match(Path.GetFileName(f)) is { Success: true } m &&
                                InRange(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)))
                    .ToList();
                files.AddRange(inFolder);
            }
            else if (File.Exists(given)) files.Add(given);
            else throw new UserError($"checkpoint '{given}' not found (a checkpoint file or a run folder)");
        }

        // Headers first (a few kilobytes each): the steps in range and the configs are known before any
        // weights are read, and the mean then holds one checkpoint at a time.
        var headers = new List<Tuple<string, Train.Checkpoint>>();
        // One file given twice (a folder and its file, or ./x and x) is averaged once.
        foreach (var f in files.DistinctBy(Path.GetFullPath))
        {
            var header = Checkpoints.ReadHeader(f);
            if (InRange(header.Step)) headers.Add(Tuple.Create(f, header));
        }
        if (headers.Count < 2)
            throw new UserError($"averaging needs two checkpoints or more; {headers.Count} found" +
                                (cmd.From is null && cmd.To is null ? "" : $" between steps {cmd.From?.Value.ToString(CultureInfo.InvariantCulture) ?? "any"} and {cmd.To?.Value.ToString(CultureInfo.InvariantCulture) ?? "any"}"));

        // --like names one of the files, however it was given: the same path as the list holds.
        string? like = null;
        if (cmd.Like is { } l)
        {
            like = headers.Select(h => h.Item1).FirstOrDefault(f => Path.GetFullPath(f) == Path.GetFullPath(l.Value));
            if (like is null)
                throw new UserError(File.Exists(l.Value) ? $"--like {l.Value}: not among the checkpoints averaged; give it among them" : $"--like: checkpoint '{l.Value}' not found");
        }
        Tuple<Train.Checkpoint, Microsoft.FSharp.Collections.FSharpList<Scalor.IO.Safetensors.Entry>> averaged;
        var load = FuncConvert.FromFunc((string f) => Checkpoints.Read(f).Entries);
        try { averaged = Train.average(like is null ? FSharpOption<string>.None : FSharpOption<string>.Some(like), cmd.Only, Microsoft.FSharp.Collections.ListModule.OfSeq(headers), load); }
        catch (Train.CheckpointError c) { throw new UserError(c.Data0); }
        Paths.EnsureWritableDirectory(Path.GetDirectoryName(Path.GetFullPath(cmd.Out))!);
        Checkpoints.Write(averaged.Item1, averaged.Item2, cmd.Out);

        var steps = Train.averagedSteps(averaged.Item1)?.Value ?? [];
        var which = cmd.Only.IsEmpty ? "" : $" ({string.Join(", ", cmd.Only)} only; the rest {(like ?? "the newest")}'s)";
        Console.WriteLine(like is null
            ? $"average: {cmd.Out}: the mean weights{which} of {steps.Length} checkpoints (steps {string.Join(", ", steps)}); " +
              $"step {averaged.Item1.Step}'s config, recorded shares, optimizer and sampling state"
            : $"average: {cmd.Out}: the mean weights{which} of {steps.Length} checkpoints of different runs ({string.Join(", ", headers.Select(h => h.Item1))}); " +
              $"{like}'s step, config, recorded shares, optimizer and sampling state");
        return 0;
    }
}
