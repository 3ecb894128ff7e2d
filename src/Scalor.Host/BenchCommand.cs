using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Scalor.Cli;
using Scalor.Worlds;

namespace Scalor.Host;

/// <summary><c>scalor-host bench</c>: speed figures as medians of several timed runs after a warm-up.
/// Targets live here, never in tests (the machines are shared and noisy).</summary>
public static class BenchCommand
{
    public static int Run(Parse.BenchCommand cmd) => cmd.Target switch
    {
        "data" => Data(cmd),
        "assign" => Assign(cmd),
        _ => throw new UserError($"bench {cmd.Target} is not available in this build"),
    };

    public static double Median(IEnumerable<double> xs)
    {
        var a = xs.OrderBy(x => x).ToArray();
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }

    /// <summary>Generated 64×64 frames per second (moving dSprites LD, T = 10), sequences in parallel.</summary>
    static int Data(Parse.BenchCommand cmd)
    {
        var world = World.create(World.defaultConfig, null);
        const int sequences = 2000;
        var opts = new ParallelOptions { MaxDegreeOfParallelism = cmd.Threads };
        double Once(int run)
        {
            var sw = Stopwatch.StartNew();
            long frames = 0;
            Parallel.For(0, sequences, opts, i =>
            {
                var s = World.sequence(world, World.sequenceSeed((ulong)run, i));
                Interlocked.Add(ref frames, s.Length);
            });
            return frames / sw.Elapsed.TotalSeconds;
        }
        Once(1000);
        var rates = Enumerable.Range(0, cmd.Runs).Select(Once).ToArray();
        var median = Median(rates);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench data: {median:F0} frames/s (median of {cmd.Runs}; runs {string.Join(", ", rates.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)))}; {cmd.Threads} threads; dSprites LD, 64×64, T=10)"));
        WriteJson(cmd.JsonFile, new { target = "data", frames_per_s = median, runs = rates, threads = cmd.Threads });
        return 0;
    }

    static int Assign(Parse.BenchCommand cmd) => EvalCommand.BenchAssign(cmd);

    public static void WriteJson(string? path, object value)
    {
        if (path is null) return;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Paths.EnsureWritableDirectory(dir);
        File.WriteAllText(path, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
