using Spectre.Console;

namespace Scalor.Host;

/// <summary>Progress of frame-by-frame work that can run for minutes (a long video; with <c>--backfill</c> two
/// passes over it). On a terminal, a Spectre.Console bar over every frame of every pass, the command's own lines
/// printed above it. Where output is redirected (a log, CI), a line at every tenth of each pass over a sequence
/// of at least <see cref="LongSequence"/> frames, for a person and a program alike
/// (<c>track: NAME: DONE/TOTAL frames</c>); shorter sequences print only their summary line.</summary>
public static class FrameProgress
{
    /// <summary>Sequences shorter than this (the worlds' 10 to 100 frames) report no lines of progress.</summary>
    public const int LongSequence = 200;

    /// <summary>Runs <paramref name="work"/> with the means to report: <c>tick(label, length)</c> gives the
    /// per-frame callback of one pass over a sequence, <c>say(line)</c> prints a line.</summary>
    public static void Run(string command, long totalFrames, Action<Func<string, int, Action>, Action<string>> work)
    {
        if (AnsiConsole.Profile.Capabilities.Interactive && totalFrames > 0)
            AnsiConsole.Progress().AutoClear(true).Start(ctx =>
            {
                var task = ctx.AddTask($"{command}: frames", maxValue: totalFrames);
                work((_, _) => () => task.Increment(1), AnsiConsole.WriteLine);
            });
        else
            work((label, length) => Lines(command, label, length), Console.WriteLine);
    }

    /// <summary>Prints a line as <see cref="Run"/>'s own lines are printed: above the bar on a terminal (where it may
    /// be drawing one), as it is where output is redirected. For what is said from inside the work without its
    /// <c>say</c>, e.g. a decoder's report as a video's frames end.</summary>
    public static void Say(string line)
    {
        if (AnsiConsole.Profile.Capabilities.Interactive) AnsiConsole.WriteLine(line);
        else Console.WriteLine(line);
    }

    /// <summary>Frames between the lines of a pass whose length is not known (a stream's).</summary>
    public const int UnknownLengthStep = 1000;

    /// <summary>The redirected form: a line at each tenth of a long pass, none for a short one; for a pass of unknown
    /// length (0, a stream's), a line every <see cref="UnknownLengthStep"/> frames.</summary>
    public static Action Lines(string command, string label, int length, Action<string>? say = null)
    {
        say ??= Console.WriteLine;
        if (length <= 0)
        {
            var seen = 0;
            return () => { if (++seen % UnknownLengthStep == 0) say($"{command}: {label}: {seen} frames"); };
        }
        if (length < LongSequence) return () => { };
        var step = Math.Max(1, length / 10);
        var done = 0;
        return () =>
        {
            done++;
            if (done % step == 0 && done < length) say($"{command}: {label}: {done}/{length} frames");
        };
    }
}
