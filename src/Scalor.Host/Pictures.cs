using Microsoft.FSharp.Core;

namespace Scalor.Host;

/// <summary>An RGB picture in memory: row-major bytes, 3 per pixel.</summary>
public sealed class Rgb(int width, int height)
{
    public int Width { get; } = width;
    public int Height { get; } = height;
    public byte[] Pixels { get; } = new byte[width * height * 3];

    public static Rgb FromFrame(byte[] frames, int index, int size)
    {
        var img = new Rgb(size, size);
        Buffer.BlockCopy(frames, index * size * size * 3, img.Pixels, 0, size * size * 3);
        return img;
    }

    public void Set(int x, int y, (byte R, byte G, byte B) c)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        var o = (y * Width + x) * 3;
        Pixels[o] = c.R; Pixels[o + 1] = c.G; Pixels[o + 2] = c.B;
    }

    /// <summary>Nearest-neighbour enlargement, so 64×64 frames are readable.</summary>
    public Rgb Scale(int factor)
    {
        var big = new Rgb(Width * factor, Height * factor);
        for (var y = 0; y < big.Height; y++)
            for (var x = 0; x < big.Width; x++)
                Buffer.BlockCopy(Pixels, ((y / factor) * Width + x / factor) * 3, big.Pixels, (y * big.Width + x) * 3, 3);
        return big;
    }

    /// <summary>Nearest-neighbour resampling by <paramref name="factor"/> (below 1 shrinks; a whole number is
    /// <see cref="Scale"/>): each pixel of the result shows the pixel its centre falls in.</summary>
    public Rgb Resized(double factor)
    {
        var big = new Rgb(Math.Max(1, (int)Math.Round(Width * factor)), Math.Max(1, (int)Math.Round(Height * factor)));
        for (var y = 0; y < big.Height; y++)
        {
            var sy = Math.Min(Height - 1, (int)((y + 0.5) / factor));
            for (var x = 0; x < big.Width; x++)
                Buffer.BlockCopy(Pixels, (sy * Width + Math.Min(Width - 1, (int)((x + 0.5) / factor))) * 3, big.Pixels, (y * big.Width + x) * 3, 3);
        }
        return big;
    }

    public void Rectangle(double left, double top, double width, double height, (byte, byte, byte) c)
    {
        int x0 = (int)Math.Round(left), y0 = (int)Math.Round(top);
        int x1 = (int)Math.Round(left + width) - 1, y1 = (int)Math.Round(top + height) - 1;
        for (var x = x0; x <= x1; x++) { Set(x, y0, c); Set(x, y1, c); }
        for (var y = y0; y <= y1; y++) { Set(x0, y, c); Set(x1, y, c); }
    }

    /// <summary>A segment sampled densely enough to leave no gaps (out-of-image points are clipped by Set).</summary>
    public void Line(double x0, double y0, double x1, double y1, (byte, byte, byte) c)
    {
        var steps = Math.Max(1, (int)Math.Ceiling(2 * Math.Max(Math.Abs(x1 - x0), Math.Abs(y1 - y0))));
        for (var s = 0; s <= steps; s++)
            Set((int)(x0 + (x1 - x0) * s / steps), (int)(y0 + (y1 - y0) * s / steps), c);
    }

    public void Circle(double cx, double cy, double r, (byte, byte, byte) c)
    {
        var steps = Math.Max(16, (int)(r * 8));
        for (var i = 0; i < steps; i++)
        {
            var a = 2 * Math.PI * i / steps;
            Set((int)Math.Round(cx + r * Math.Cos(a)), (int)Math.Round(cy + r * Math.Sin(a)), c);
        }
    }

    public void Paste(Rgb src, int ox, int oy)
    {
        for (var y = 0; y < src.Height; y++)
        {
            if ((uint)(y + oy) >= (uint)Height) continue;
            var w = Math.Min(src.Width, Width - ox);
            if (w <= 0) continue;
            Buffer.BlockCopy(src.Pixels, y * src.Width * 3, Pixels, ((y + oy) * Width + ox) * 3, w * 3);
        }
    }

    /// <summary>Pictures side by side with a 2-pixel grey gap.</summary>
    public static Rgb Strip(IReadOnlyList<Rgb> tiles)
    {
        const int gap = 2;
        var w = tiles.Sum(t => t.Width) + gap * (tiles.Count - 1);
        var h = tiles.Max(t => t.Height);
        var strip = new Rgb(w, h);
        Array.Fill(strip.Pixels, (byte)90);
        var x = 0;
        foreach (var t in tiles) { strip.Paste(t, x, 0); x += t.Width + gap; }
        return strip;
    }

    public static Rgb Stack(IReadOnlyList<Rgb> rows)
    {
        const int gap = 2;
        var w = rows.Max(r => r.Width);
        var strip = new Rgb(w, rows.Sum(r => r.Height) + gap * (rows.Count - 1));
        Array.Fill(strip.Pixels, (byte)90);
        var y = 0;
        foreach (var r in rows) { strip.Paste(r, 0, y); y += r.Height + gap; }
        return strip;
    }

    public byte[] ToPng()
    {
        using var ms = new MemoryStream();
        Png.Write(ms, Pixels, Width, Height);
        return ms.ToArray();
    }

    public void SavePng(string path)
    {
        Scalor.IO.Files.write(path, FuncConvert.FromAction<Stream>(fs => Png.Write(fs, Pixels, Width, Height)));
    }

    /// <summary>A distinct, bright colour per track id (golden-ratio hue steps).</summary>
    public static (byte R, byte G, byte B) IdColour(int id)
    {
        var h = (id * 0.618033988749895) % 1.0;
        const double s = 0.85, v = 1.0;
        var i = (int)(h * 6);
        var f = h * 6 - i;
        double p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
        var (r, g, b) = (i % 6) switch
        {
            0 => (v, t, p), 1 => (q, v, p), 2 => (p, v, t), 3 => (p, q, v), 4 => (t, p, v), _ => (v, p, q),
        };
        return ((byte)(r * 255), (byte)(g * 255), (byte)(b * 255));
    }
}
