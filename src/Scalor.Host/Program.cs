using Scalor.Cli;

namespace Scalor.Host;

public static class Program
{
    public static int Main(string[] args)
    {
        Scalor.Model.Native.tuneAllocator();
        Scalor.Model.Native.quietLog();
        var outcome = Parse.parse(args);
        switch (outcome)
        {
            case Parse.Outcome.Help help:
                Console.Out.WriteLine(help.Item);
                return 0;
            case var v when v.IsVersion:
                Console.Out.WriteLine(VersionLine());
                return 0;
            case Parse.Outcome.UsageError usage:
                Console.Error.WriteLine($"scalor-host: {usage.Item} (see 'scalor-host --help')");
                return 2;
        }
        var command = ((Parse.Outcome.Run)outcome).Item;
        // The output folder this run would create, removed again if the command fails before writing into it.
        var created = (command switch
        {
            Parse.Command.Data d => d.Item.Out,
            Parse.Command.Train t => t.Item.Out,
            Parse.Command.Track t => t.Item.Out,
            Parse.Command.Generate g => g.Item.Out,
            _ => null,
        }) is { } outDir ? Paths.FirstMissing(outDir) : null;
        try
        {
            return command switch
            {
                Parse.Command.Data d => DataCommand.Run(d.Item),
                Parse.Command.Train t => TrainCommand.Run(t.Item),
                Parse.Command.Track t => TrackCommand.Run(t.Item),
                Parse.Command.Generate g => GenerateCommand.Run(g.Item),
                Parse.Command.Eval e => EvalCommand.Run(e.Item),
                Parse.Command.Bench b => BenchCommand.Run(b.Item),
                Parse.Command.Export x => ExportCommand.Run(x.Item),
                Parse.Command.Average a => AverageCommand.Run(a.Item),
                _ => throw new UserError("unknown command"),
            };
        }
        catch (Exception e) when (Describe(e) is { } line)
        {
            Paths.RemoveIfEmpty(created);
            Console.Error.WriteLine($"scalor-host: error: {line}");
            return e is UserError u ? u.ExitCode : 1;
        }
        catch (Exception e)
        {
            // Anything else is a bug: one line for the user, the whole trace in a file for the report.
            Paths.RemoveIfEmpty(created);
            Console.Error.WriteLine($"scalor-host: internal error: {e.GetType().Name}: {e.Message.Split('\n')[0].Trim()} (details: {CrashReport(args, e)})");
            return InternalErrorExitCode;
        }
    }

    /// <summary><c>scalor-host --version</c>: this build's version (with the commit it was built from) and those of
    /// the libraries that do the numerical work, the first things a bug report needs.</summary>
    public static string VersionLine()
    {
        static string Of(System.Reflection.Assembly a)
        {
            var v = a.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
                ?? a.GetName().Version?.ToString() ?? "unknown";
            // "0.1.0+<40-hex commit>" → "0.1.0+<12-hex commit>".
            var plus = v.IndexOf('+');
            return plus >= 0 && v.Length > plus + 13 ? v[..(plus + 13)] : v;
        }
        return $"scalor-host {Of(typeof(Program).Assembly)} (Scalor.Model {Of(typeof(Scalor.Model.Track).Assembly)}, " +
               $"TorchSharp {Of(typeof(TorchSharp.torch).Assembly)}, ONNX Runtime {Of(typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly)})";
    }

    /// <summary>Exit code of an internal error (a bug), <c>EX_SOFTWARE</c> of sysexits.h.</summary>
    public const int InternalErrorExitCode = 70;

    /// <summary>Writes the command line and the exception with its stack trace; returns the file's path.</summary>
    static string CrashReport(string[] args, Exception e)
    {
        var path = Path.Combine(Path.GetTempPath(), $"scalor-host-crash-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}.txt");
        try { File.WriteAllText(path, $"scalor-host {string.Join(' ', args)}\n{DateTime.UtcNow:O}\n\n{e}\n"); }
        catch (IOException) { return "could not be written"; }
        catch (UnauthorizedAccessException) { return "could not be written"; }
        return path;
    }

    /// <summary>One line for errors a user can act on; null for anything else (a bug: an internal error).</summary>
    static string? Describe(Exception e) => e switch
    {
        UserError u => u.Message,
        Scalor.Worlds.Idx.IdxFormatError f => f.Data0,
        Scalor.Worlds.World.WorldConfigError w => w.Data0,
        Scalor.IO.Safetensors.SafetensorsError s => s.Data0,
        Scalor.Worlds.Dataset.DatasetError d => d.Data0,
        Scalor.Model.Train.CheckpointError c => c.Data0,
        Scalor.Metrics.Evaluate.EvalError ev => ev.Data0,
        Scalor.Metrics.MotFiles.MotFormatError mf => mf.Data0,
        UnauthorizedAccessException or IOException or InvalidDataException => e.Message,
        AggregateException { InnerExceptions.Count: > 0 } a => Describe(a.InnerExceptions[0]),
        _ => null,
    };
}
