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
