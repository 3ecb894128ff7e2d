using System.Buffers.Binary;
using System.IO.Compression;

namespace Scalor.Host;

/// <summary>PNG files of 8-bit RGB pictures (colour type 2, no interlacing): the signature, IHDR, one IDAT and
/// IEND, each chunk with its CRC-32. The rows are deflated by the runtime's zlib (<see cref="ZLibStream"/>), each
/// with PNG's Up filter (the difference to the row above, which suits pictures of flat colour and repeated
/// strips). StbImageWriteSharp, which wrote them before, deflates in managed code: a 1938×1744 picture of
/// <c>track</c> took 279 ms and 171 kB there, 16 ms and 85 kB here (<c>bench png</c>), and writing PNGs was most of the time
/// <c>track</c> spends on pictures.</summary>
public static class Png
{
    static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    static readonly uint[] CrcTable = BuildCrcTable();

    static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    /// <summary>The CRC-32 of PNG chunks (ISO 3309, as zlib's crc32): 0xCBF43926 for the ASCII bytes "123456789".</summary>
    public static uint Crc32(ReadOnlySpan<byte> bytes) => ~Crc(0xFFFFFFFFu, bytes);

    /// <summary><see cref="Crc32"/> continued from <paramref name="crc"/> (start with 0xFFFFFFFF, and invert at the end).</summary>
    static uint Crc(uint crc, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    static void Chunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, ~Crc(Crc(0xFFFFFFFFu, type), data));
        output.Write(word);
    }

    /// <summary>Writes <paramref name="rgb"/> (row-major, 3 bytes a pixel) as a PNG file to <paramref name="output"/>.</summary>
    public static void Write(Stream output, byte[] rgb, int width, int height)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"a PNG needs at least one pixel, not {width}×{height}");
        var stride = width * 3;
        if (rgb.Length != stride * height) throw new ArgumentException($"{rgb.Length} bytes for a {width}×{height} RGB picture ({stride * height})");
        output.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)height);
        // Bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlacing.
        header[8] = 8; header[9] = 2; header[10] = 0; header[11] = 0; header[12] = 0;
        Chunk(output, "IHDR"u8, header);
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Optimal, leaveOpen: true))
        {
            var line = new byte[stride + 1];
            line[0] = 2; // Up: each byte less the one above it (the first row's "above" is zero).
            for (var y = 0; y < height; y++)
            {
                var row = rgb.AsSpan(y * stride, stride);
                if (y == 0) row.CopyTo(line.AsSpan(1));
                else
                {
                    var above = rgb.AsSpan((y - 1) * stride, stride);
                    for (var x = 0; x < stride; x++) line[x + 1] = (byte)(row[x] - above[x]);
                }
                z.Write(line);
            }
        }
        Chunk(output, "IDAT"u8, idat.GetBuffer().AsSpan(0, (int)idat.Length));
        Chunk(output, "IEND"u8, []);
    }
}
