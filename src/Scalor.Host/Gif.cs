using Microsoft.FSharp.Core;

namespace Scalor.Host;

/// <summary>Animated GIF89a writer: a fixed 256-colour palette (6×6×6 colour cube plus 40 greys), LZW
/// compression, endless loop. Write-only and self-contained, so no image library is needed for GIFs.</summary>
public static class Gif
{
    static readonly byte[] Palette = BuildPalette();

    static byte[] BuildPalette()
    {
        var p = new byte[768];
        var i = 0;
        for (var r = 0; r < 6; r++) for (var g = 0; g < 6; g++) for (var b = 0; b < 6; b++)
        { p[i++] = (byte)(r * 51); p[i++] = (byte)(g * 51); p[i++] = (byte)(b * 51); }
        for (var k = 0; k < 40; k++) { var v = (byte)(k * 255 / 39); p[i++] = v; p[i++] = v; p[i++] = v; }
        return p;
    }

    static byte Index(byte r, byte g, byte b)
    {
        // Near-grey pixels use the finer grey ramp; others the nearest cube colour.
        if (Math.Abs(r - g) < 8 && Math.Abs(g - b) < 8) return (byte)(216 + (r + g + b) / 3 * 39 / 255);
        return (byte)((r + 25) / 51 * 36 + (g + 25) / 51 * 6 + (b + 25) / 51);
    }

    public static void Write(string path, IReadOnlyList<Rgb> frames, int delayCentiseconds)
    {
        if (frames.Count == 0) throw new ArgumentException("no frames");
        int w = frames[0].Width, h = frames[0].Height;
        Scalor.IO.Files.write(path, FuncConvert.FromAction<Stream>(fs =>
        {
            using var bw = new BinaryWriter(fs, System.Text.Encoding.UTF8, leaveOpen: true);
            bw.Write("GIF89a"u8.ToArray());
            bw.Write((ushort)w); bw.Write((ushort)h);
            bw.Write((byte)0xF7); bw.Write((byte)0); bw.Write((byte)0);
            bw.Write(Palette);
            // NETSCAPE2.0: loop forever.
            bw.Write(new byte[] { 0x21, 0xFF, 11 }); bw.Write("NETSCAPE2.0"u8.ToArray()); bw.Write(new byte[] { 3, 1, 0, 0, 0 });
            foreach (var f in frames)
            {
                bw.Write(new byte[] { 0x21, 0xF9, 4, 0 }); bw.Write((ushort)delayCentiseconds); bw.Write(new byte[] { 0, 0 });
                bw.Write((byte)0x2C); bw.Write((ushort)0); bw.Write((ushort)0); bw.Write((ushort)w); bw.Write((ushort)h); bw.Write((byte)0);
                var idx = new byte[w * h];
                for (var i = 0; i < idx.Length; i++) idx[i] = Index(f.Pixels[3 * i], f.Pixels[3 * i + 1], f.Pixels[3 * i + 2]);
                bw.Write((byte)8);
                var data = Lzw(idx, 8);
                for (var o = 0; o < data.Length; o += 255)
                {
                    var n = Math.Min(255, data.Length - o);
                    bw.Write((byte)n); bw.Write(data, o, n);
                }
                bw.Write((byte)0);
            }
            bw.Write((byte)0x3B);
        }));
    }

    /// <summary>Variable-width LZW as GIF uses it: codes packed least-significant bit first; the table resets
    /// with a clear code when it reaches 4096 entries.</summary>
    static byte[] Lzw(byte[] input, int minCodeSize)
    {
        var output = new List<byte>(input.Length / 2);
        int clear = 1 << minCodeSize, eoi = clear + 1;
        var table = new Dictionary<int, int>();
        int next = eoi + 1, size = minCodeSize + 1;
        int bitBuffer = 0, bitCount = 0;
        void Emit(int code)
        {
            bitBuffer |= code << bitCount;
            bitCount += size;
            while (bitCount >= 8) { output.Add((byte)bitBuffer); bitBuffer >>= 8; bitCount -= 8; }
        }
        Emit(clear);
        int prefix = input[0];
        for (var i = 1; i < input.Length; i++)
        {
            int k = input[i];
            var key = (prefix << 8) | k;
            if (table.TryGetValue(key, out var code)) { prefix = code; continue; }
            Emit(prefix);
            if (next == 4096)
            {
                Emit(clear);
                table.Clear();
                next = eoi + 1;
                size = minCodeSize + 1;
            }
            else
            {
                if (next >= 1 << size) size++;
                table[key] = next++;
            }
            prefix = k;
        }
        Emit(prefix);
        Emit(eoi);
        if (bitCount > 0) output.Add((byte)bitBuffer);
        return [.. output];
    }
}
