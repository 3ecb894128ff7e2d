using System.Reflection;

namespace Scalor.Host;

/// <summary>The default model shipped inside scalor-host: SCALOR trained on moving dSprites LD (see README,
/// "Trained models"), so tracking needs no download. It is parsed where it lies in memory: no temporary file,
/// so a read-only or full temporary folder does not stop <c>track</c>.</summary>
public static class EmbeddedModel
{
    public const string ResourceName = "scalor-default-model";

    /// <summary>How errors and messages name it, where they would name a checkpoint file.</summary>
    public const string Name = "the embedded model";

    /// <summary>The checkpoint's bytes, as a <c>.safetensors</c> file would hold them; read from the assembly once
    /// (<c>track</c> reads the header for its "weights averaged" line and then the weights).</summary>
    public static byte[] Bytes() => bytes.Value;

    static readonly Lazy<byte[]> bytes = new(() =>
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new UserError("this build carries no embedded model; pass --model");
        var b = new byte[s.Length];
        s.ReadExactly(b);
        return b;
    });
}
