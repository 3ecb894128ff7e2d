namespace Scalor.Host;

/// <summary>A problem the user can fix (bad input, missing file, unwritable folder): printed as one line,
/// exit code 1, no stack trace.</summary>
public sealed class UserError(string message) : Exception(message);
