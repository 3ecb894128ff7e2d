using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Scalor.Host;

/// JSON has no NaN or infinity, and System.Text.Json throws on them, which lost a whole `track` run's
/// metrics.json (and ended it with an internal error) when a model gave a NaN reconstruction. A metric or
/// latent that is not a number is written as null instead, and read back as NaN.
public sealed class FiniteOrNull<T> : JsonConverter<T> where T : struct, IFloatingPointIeee754<T>
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? T.NaN
        // Each width read as itself: a float parsed through a double could round twice.
        : typeof(T) == typeof(float) ? T.CreateTruncating(reader.GetSingle()) : T.CreateTruncating(reader.GetDouble());

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        if (!T.IsFinite(value)) writer.WriteNullValue();
        else if (typeof(T) == typeof(float)) writer.WriteNumberValue(float.CreateTruncating(value));
        else writer.WriteNumberValue(double.CreateTruncating(value));
    }
}

public static class FiniteOrNull
{
    /// `options` with the converter for doubles and for floats (latents are floats) added.
    public static JsonSerializerOptions With(JsonSerializerOptions options)
    {
        options.Converters.Add(new FiniteOrNull<double>());
        options.Converters.Add(new FiniteOrNull<float>());
        return options;
    }
}
