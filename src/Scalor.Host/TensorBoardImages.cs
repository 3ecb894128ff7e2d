using Google.Protobuf;

namespace Scalor.Host;

/// <summary>Image summaries in a TensorBoard event file of their own beside TorchSharp's scalar file (TensorBoard
/// reads every <c>*tfevents*</c> file of a folder). TorchSharp's <c>add_img</c> needs SkiaSharp's native library,
/// which has no Linux build here, so the few messages are written directly: TFRecord framing (length, masked
/// CRC-32C of the length, data, masked CRC-32C of the data) around <c>Event</c> protos of TensorBoard's
/// <c>event.proto</c>/<c>summary.proto</c>, images as PNG.</summary>
public sealed class TensorBoardImages : IDisposable
{
    readonly FileStream file;

    public TensorBoardImages(string dir)
    {
        Directory.CreateDirectory(dir);
        var name = $"events.out.tfevents.{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.{Environment.MachineName}.images";
        file = new FileStream(System.IO.Path.Combine(dir, name), FileMode.Append, FileAccess.Write, FileShare.Read);
        // Event { wall_time = 1; file_version = 3 }
        Write(Message(o => { o.WriteTag(1, WireFormat.WireType.Fixed64); o.WriteDouble(Now()); o.WriteTag(3, WireFormat.WireType.LengthDelimited); o.WriteString("brain.Event:2"); }));
    }

    public string FileName => file.Name;

    static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    static byte[] Message(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        var o = new CodedOutputStream(ms);
        write(o);
        o.Flush();
        return ms.ToArray();
    }

    /// <summary>Adds a PNG image under <paramref name="tag"/> at <paramref name="step"/>.</summary>
    public void AddImage(string tag, Rgb image, long step)
    {
        // Image { height = 1; width = 2; colorspace = 3; encoded_image_string = 4 }
        var img = Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.Varint); o.WriteInt32(image.Height);
            o.WriteTag(2, WireFormat.WireType.Varint); o.WriteInt32(image.Width);
            o.WriteTag(3, WireFormat.WireType.Varint); o.WriteInt32(3);
            o.WriteTag(4, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(image.ToPng()));
        });
        // Summary.Value { tag = 1; image = 4 }
        var value = Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(tag);
            o.WriteTag(4, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(img));
        });
        // Summary { value = 1 }
        var summary = Message(o => { o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(value)); });
        // Event { wall_time = 1; step = 2; summary = 5 }
        Write(Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.Fixed64); o.WriteDouble(Now());
            o.WriteTag(2, WireFormat.WireType.Varint); o.WriteInt64(step);
            o.WriteTag(5, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(summary));
        }));
    }

    void Write(byte[] data)
    {
        var len = BitConverter.GetBytes((ulong)data.Length);
        if (!BitConverter.IsLittleEndian) Array.Reverse(len);
        file.Write(len);
        file.Write(BitConverter.GetBytes(MaskedCrc(len)));
        file.Write(data);
        file.Write(BitConverter.GetBytes(MaskedCrc(data)));
        file.Flush();
    }

    static readonly uint[] Table = Enumerable.Range(0, 256).Select(i =>
    {
        var c = (uint)i;
        for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>CRC-32C (Castagnoli), as TFRecord uses.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    public static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        var c = Crc32C(data);
        return ((c >> 15) | (c << 17)) + 0xa282ead8u;
    }

    public void Dispose() => file.Dispose();
}
