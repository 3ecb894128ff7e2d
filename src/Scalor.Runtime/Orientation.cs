using System.Buffers.Binary;

namespace Scalor.Runtime;

/// <summary>A JPEG's EXIF orientation, which cameras and phones write instead of turning the pixels: a photo taken
/// with the phone held upright is stored on its side with orientation 6, and every viewer shows it upright. Frames
/// are read as the viewer shows them, so that boxes land on what the user sees.</summary>
public static class Orientation
{
    /// <summary>The EXIF orientation (1–8) of a JPEG's bytes; 1, as stored, when it has none or is not a JPEG. Read from
    /// the first APP1 segment that holds EXIF, tag 0x0112 of its first image directory.</summary>
    public static int Of(ReadOnlySpan<byte> jpeg)
    {
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return 1;
        var at = 2;
        while (at + 4 <= jpeg.Length && jpeg[at] == 0xFF)
        {
            var marker = jpeg[at + 1];
            // The entropy-coded image starts at SOS; the metadata comes before it.
            if (marker == 0xDA || marker == 0xD9) return 1;
            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(at + 2)..]);
            if (length < 2 || at + 2 + length > jpeg.Length) return 1;
            var segment = jpeg.Slice(at + 4, length - 2);
            if (marker == 0xE1 && segment.StartsWith("Exif\0\0"u8)) return FromTiff(segment[6..]);
            at += 2 + length;
        }
        return 1;
    }

    /// <summary>The orientation tag of a TIFF block's first directory (EXIF's layout), 1 when absent or malformed.</summary>
    static int FromTiff(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8) return 1;
        bool little;
        if (tiff[0] == (byte)'I' && tiff[1] == (byte)'I') little = true;
        else if (tiff[0] == (byte)'M' && tiff[1] == (byte)'M') little = false;
        else return 1;
        if (U16(tiff, 2, little) != 42) return 1;
        var ifd = U32(tiff, 4, little);
        if (ifd > tiff.Length - 2) return 1;
        var count = U16(tiff, (int)ifd, little);
        for (var k = 0; k < count; k++)
        {
            var entry = (int)ifd + 2 + 12 * k;
            if (entry + 12 > tiff.Length) return 1;
            // Tag 0x0112, type SHORT, one value: held in the first two bytes of the value field.
            if (U16(tiff, entry, little) == 0x0112 && U16(tiff, entry + 2, little) == 3)
                return U16(tiff, entry + 8, little) is var o && o is >= 1 and <= 8 ? o : 1;
        }
        return 1;
    }

    static ushort U16(ReadOnlySpan<byte> b, int i, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(b[i..]) : BinaryPrimitives.ReadUInt16BigEndian(b[i..]);

    static uint U32(ReadOnlySpan<byte> b, int i, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(b[i..]) : BinaryPrimitives.ReadUInt32BigEndian(b[i..]);

    /// <summary>RGB pixels (<paramref name="width"/>×<paramref name="height"/>, row-major, 3 bytes each) turned as
    /// <paramref name="orientation"/> says a viewer shows them: 2 mirrors, 3 turns a half, 4 flips, 5 transposes,
    /// 6 turns a quarter clockwise, 7 transposes the other way, 8 turns a quarter anticlockwise; 5–8 swap the width and
    /// height. Orientation 1 (or any other value) returns the pixels as they are.</summary>
    public static (byte[] Rgb, int Width, int Height) Upright(byte[] rgb, int width, int height, int orientation)
    {
        if (orientation is < 2 or > 8) return (rgb, width, height);
        var (w, h) = orientation >= 5 ? (height, width) : (width, height);
        var output = new byte[rgb.Length];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                // Where each shown pixel (x, y) lies in the stored image.
                var (sx, sy) = orientation switch
                {
                    2 => (width - 1 - x, y),
                    3 => (width - 1 - x, height - 1 - y),
                    4 => (x, height - 1 - y),
                    5 => (y, x),
                    6 => (y, height - 1 - x),
                    7 => (width - 1 - y, height - 1 - x),
                    _ => (width - 1 - y, x),
                };
                var from = 3 * (sy * width + sx);
                var to = 3 * (y * w + x);
                output[to] = rgb[from];
                output[to + 1] = rgb[from + 1];
                output[to + 2] = rgb[from + 2];
            }
        return (output, w, h);
    }
}
