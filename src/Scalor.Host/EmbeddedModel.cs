using System.Reflection;

namespace Scalor.Host;

/// <summary>The default model shipped inside scalor-host: SCALOR trained on moving dSprites LD (see README,
/// "Trained models"), so tracking needs no download.</summary>
public static class EmbeddedModel
{
    public const string ResourceName = "scalor-default-model";

    public static Scalor.Model.Scalor.Nets Load() => WithFile(Checkpoints.LoadModel);

    /// <summary>Runs <paramref name="use"/> on the embedded checkpoint written to a temporary file.</summary>
    public static T WithFile<T>(Func<string, T> use)
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new UserError("this build carries no embedded model; pass --model");
        var tmp = Path.Combine(Path.GetTempPath(), $"scalor-default-{Environment.ProcessId}-{Guid.NewGuid():N}.safetensors");
        try
        {
            using (var f = File.Create(tmp)) s.CopyTo(f);
            return use(tmp);
        }
        finally { File.Delete(tmp); }
    }
}
