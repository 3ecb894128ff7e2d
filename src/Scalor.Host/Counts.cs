namespace Scalor.Host;

/// <summary>A count with its noun, as the commands' lines say it: "1 frame", "2 frames". A person reads these lines;
/// a program reads <c>metrics.json</c> and the logs' JSON, so the words may follow the number.</summary>
public static class Counts
{
    public static string Of(long n, string noun, string? plural = null) =>
        n.ToString(System.Globalization.CultureInfo.InvariantCulture) + " " + (n == 1 ? noun : plural ?? noun + "s");
}
