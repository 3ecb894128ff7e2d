using System.Runtime.InteropServices;

namespace Scalor.Host;

/// <summary>Ctrl+C or SIGTERM asks a long command to stop after the frame in hand and keep what it has done, as
/// <c>train</c> keeps a checkpoint: an hour into a video, the results so far are the user's work. A second Ctrl+C
/// or SIGTERM quits at once (one within <see cref="SameSignalMs"/> of the first is that one delivered twice). The frames a command reads pass through <see cref="Until{T}"/>, so the work ends as if the input
/// had ended there.</summary>
public sealed class Interrupt : IDisposable
{
    readonly string command;
    readonly PosixSignalRegistration term;
    string? by;
    long passed;
    /// <summary>When the first signal came (<see cref="Environment.TickCount64"/>).</summary>
    long firstAt;

    /// <summary>A signal within this many milliseconds of the first is the same request delivered twice (a wrapper
    /// such as <c>timeout</c> forwards the SIGTERM its process group also got), not a second one.</summary>
    public const int SameSignalMs = 1000;

    public Interrupt(string command)
    {
        this.command = command;
        Console.CancelKeyPress += OnCancel;
        // A background job started by a shell ignores SIGINT; kill, systemd and a stopping container send SIGTERM.
        term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => ctx.Cancel = Signalled("SIGTERM"));
    }

    /// <summary>What asked to stop ("Ctrl+C", "SIGTERM"); null while none has.</summary>
    public string? By => Volatile.Read(ref by);

    public bool Requested => By is not null;

    /// <summary>The shell's convention for a command ended by the signal: 128 + its number.</summary>
    public int ExitCode => By == "SIGTERM" ? 143 : 130;

    /// <summary>Asks to stop, as a signal does: for an application that runs a command and wants it to end early.</summary>
    public void Request(string by)
    {
        if (Interlocked.CompareExchange(ref this.by, by, null) is null)
            FrameProgress.Say($"{command}: {by}: stopping after this frame and keeping what is done (a second Ctrl+C or SIGTERM quits at once)");
    }

    /// <summary>Asks to stop once this many items have passed through <see cref="Until{T}"/>, every call counted
    /// (each pass over a sequence reads its frames through it): a stop at a known frame, as the tests need.</summary>
    public long? StopAfter { get; init; }

    /// <summary><paramref name="items"/> until a stop is asked for: the item in hand when it comes is the last.</summary>
    public IEnumerable<T> Until<T>(IEnumerable<T> items)
    {
        foreach (var x in items)
        {
            if (Requested) yield break;
            if (Interlocked.Increment(ref passed) >= StopAfter) Request($"a limit of {StopAfter} frames");
            yield return x;
        }
    }

    void OnCancel(object? sender, ConsoleCancelEventArgs e) => e.Cancel = Signalled("Ctrl+C");

    /// <summary>Whether a signal is taken as a request to stop (the process goes on to keep its work): the first is,
    /// and a repeat of it within <see cref="SameSignalMs"/>; a later one ends the process at once.</summary>
    bool Signalled(string signal)
    {
        if (!Requested)
        {
            Interlocked.CompareExchange(ref firstAt, Environment.TickCount64, 0);
            Request(signal);
            return true;
        }
        return Environment.TickCount64 - Interlocked.Read(ref firstAt) < SameSignalMs;
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancel;
        term.Dispose();
    }
}
