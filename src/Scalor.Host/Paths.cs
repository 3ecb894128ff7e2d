namespace Scalor.Host;

public static class Paths
{
    /// <summary>Where fetched data lives: $SCALOR_CACHE, else $XDG_CACHE_HOME/scalor, else ~/.cache/scalor.</summary>
    public static string Cache()
    {
        var explicitDir = Environment.GetEnvironmentVariable("SCALOR_CACHE");
        if (!string.IsNullOrEmpty(explicitDir)) return explicitDir;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "scalor");
    }

    /// <summary>The outermost folder of <paramref name="dir"/>'s path that does not exist yet, which creating it would
    /// create; null when it exists.</summary>
    public static string? FirstMissing(string dir)
    {
        string? missing = null;
        for (var d = Path.GetFullPath(dir); d is not null && !Directory.Exists(d) && !File.Exists(d); d = Path.GetDirectoryName(d)) missing = d;
        return missing;
    }

    /// <summary>Deletes <paramref name="dir"/> when it holds no file, however deep (a command that failed before it
    /// wrote anything leaves no empty output folder behind); anything else is left as it is.</summary>
    public static void RemoveIfEmpty(string? dir)
    {
        try
        {
            if (dir is not null && Directory.Exists(dir) && !Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Any())
                Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Creates an output folder, or fails with one line naming it.</summary>
    public static string EnsureWritableDirectory(string dir)
    {
        try
        {
            Directory.CreateDirectory(dir);
            var probe = Path.Combine(dir, $".scalor-write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return Path.GetFullPath(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"cannot write to '{dir}': {e.Message}");
        }
    }
}
