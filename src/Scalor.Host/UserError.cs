namespace Scalor.Host;

/// <summary>A problem the user can fix (bad input, missing file, unwritable folder): printed as one line,
/// no stack trace, exit code 1 (or <see cref="ResumableExitCode"/> when training stopped with its last
/// checkpoint intact, so a supervisor such as scripts/train-resilient.sh knows that --resume is the remedy).</summary>
public sealed class UserError(string message, int exitCode = 1) : Exception(message)
{
    /// <summary>Training stopped mid-run (a libtorch error) and <c>--resume</c> continues from an intact checkpoint.</summary>
    public const int ResumableExitCode = 3;

    public int ExitCode { get; } = exitCode;
}
