using Scalor.IO;
using Scalor.Model;

namespace Scalor.Host;

/// <summary>The pictures of footage tracked in tiles (<c>track --crop tiles:S</c>), of the whole frame: each tile's
/// view of a frame (<see cref="TrackCommand.ModelView"/>) put back in its window at the model's scale, with the boxes,
/// segmentation colours and trajectories of the joined ids (<see cref="Stitch.join"/>), so that an object keeps
/// its colour as it walks from one tile into the next. The tiles' own pictures, with their own ids, lie beside.</summary>
public static class JoinedPictures
{
    /// <summary>Frames in the PNG strip (the GIF shows every pictured frame, up to 50).</summary>
    const int ShownFrames = 10;
    /// <summary>The longest side of a whole frame's picture.</summary>
    const int MaxSide = 640;
    /// <summary>The model's views of all tiles together that are held for the pictures: about 200 MB (68 kB a view of
    /// 64 pixels).</summary>
    const int HeldViews = 3000;

    /// <summary>How many of each tile's first frames are held for the pictures of <paramref name="tiles"/> tiles: up to
    /// the GIF's 50, fewer when there are many tiles (never fewer than the PNG's 10).</summary>
    public static int FramesHeld(int tiles) => Math.Clamp(HeldViews / Math.Max(1, tiles), ShownFrames, 50);

    /// <summary>Where tiles overlap, a pixel is drawn from the tile whose centre is nearest along each axis: the one that
    /// sees it farthest inside, as <see cref="Stitch.inside"/> keeps the box drawn farthest inside. Per axis, the
    /// index of the nearest of <paramref name="starts"/> (windows of <paramref name="side"/>) for each of
    /// <paramref name="length"/> canvas pixels of <paramref name="scale"/> per input pixel; tiles that cover the frame
    /// hold every pixel so chosen, since neighbours meet at least halfway between their centres.</summary>
    public static int[] NearestTile(int[] starts, int side, int length, double scale) =>
        [.. Enumerable.Range(0, length).Select(p =>
        {
            var x = (p + 0.5) / scale;
            return Enumerable.Range(0, starts.Length).MinBy(i => Math.Abs(starts[i] + side / 2.0 - x));
        })];

    /// <summary>Writes <c>NAME.png</c> (the first frames: input with the joined boxes, white circle where an id first
    /// appears; reconstruction; background; segmentation by joined id, grey where a tile's object was not reported;
    /// the joined trajectories) and <c>NAME.gif</c> (input, reconstruction and segmentation of each pictured frame).</summary>
    /// <param name="tiles">Each tile's window in the input's pixels (all S×S) and the frames it pictured, in the order
    /// the tiles were joined (tile i of <paramref name="joined"/>'s ids).</param>
    /// <param name="size">The model's frame side: a tile's view is size×size.</param>
    /// <param name="step">The input's frames between two tracked ones: pictured frame t is input frame 1 + t·step.</param>
    internal static void Save(string dir, string name, IReadOnlyList<(Crop.Window Window, List<TrackCommand.ModelView> Seen)> tiles, Stitch.Joined joined, int size, int step)
    {
        var frames = tiles.Min(t => t.Seen.Count);
        if (frames == 0) return;
        var side = tiles[0].Window.Width;
        var scale = (double)size / side;
        int width = tiles.Max(t => t.Window.Left + t.Window.Width), height = tiles.Max(t => t.Window.Top + t.Window.Height);
        int cw = (int)Math.Round(width * scale), ch = (int)Math.Round(height * scale);
        int[] lefts = [.. tiles.Select(t => t.Window.Left).Distinct().Order()], tops = [.. tiles.Select(t => t.Window.Top).Distinct().Order()];
        int[] column = NearestTile(lefts, side, cw, scale), row = NearestTile(tops, side, ch, scale);
        var tileAt = tiles.Select((t, i) => (t.Window.Left, t.Window.Top, i)).ToDictionary(t => (t.Left, t.Top), t => t.i);
        // Each canvas pixel: the tile it is drawn from and the pixel of that tile's view.
        var source = new (int Tile, int Pixel)[cw * ch];
        for (var y = 0; y < ch; y++)
            for (var x = 0; x < cw; x++)
            {
                var tile = tileAt[(lefts[column[x]], tops[row[y]])];
                var w = tiles[tile].Window;
                int tx = Math.Clamp(x - (int)Math.Round(w.Left * scale), 0, size - 1), ty = Math.Clamp(y - (int)Math.Round(w.Top * scale), 0, size - 1);
                source[y * cw + x] = (tile, ty * size + tx);
            }
        // About as tall as a tile's pictures (64 pixels at 3×): a small canvas is enlarged by a whole factor, a canvas
        // longer than MaxSide pixels (many tiles) shrunk to it, so that ten frames side by side stay a picture.
        var k = Math.Max(cw, ch) > MaxSide ? (double)MaxSide / Math.Max(cw, ch) : Math.Max(1, (int)Math.Round(3.0 * size / ch));
        var byFrame = joined.Rows.ToLookup(r => r.Frame);
        var firstFrame = Stitch.beginnings(joined);
        (byte, byte, byte) grey = (128, 128, 128);

        Rgb Compose(int t, Func<TrackCommand.ModelView, Rgb> part)
        {
            var canvas = new Rgb(cw, ch);
            for (var p = 0; p < source.Length; p++)
                Buffer.BlockCopy(part(tiles[source[p].Tile].Seen[t]).Pixels, source[p].Pixel * 3, canvas.Pixels, p * 3, 3);
            return canvas.Resized(k);
        }
        Rgb Segmentation(int t)
        {
            var canvas = new Rgb(cw, ch);
            for (var p = 0; p < source.Length; p++)
            {
                var (tile, pixel) = source[p];
                var id = tiles[tile].Seen[t].Segments[pixel];
                if (id == 0) continue;
                canvas.Set(p % cw, p / cw, joined.IdAt(1 + t * step, Tuple.Create(tile, (int)id)) is { } j ? Rgb.IdColour(j.Value) : grey);
            }
            return canvas.Resized(k);
        }
        Rgb Input(int t)
        {
            var input = Compose(t, v => v.Frame);
            foreach (var r in byFrame[1 + t * step])
            {
                var (l, top, w, h) = (r.Box.Left * scale * k, r.Box.Top * scale * k, r.Box.Width * scale * k, r.Box.Height * scale * k);
                input.Rectangle(l, top, w, h, Rgb.IdColour(r.Id));
                if (firstFrame[r.Id] == r.Frame) input.Circle(l + w / 2, top + h / 2, 4, (255, 255, 255));
            }
            return input;
        }

        var pictured = Enumerable.Range(0, frames).Select(t => (Input: Input(t), Recon: Compose(t, v => v.Recon), Segmentation: Segmentation(t))).ToList();
        var trajectories = new Rgb(pictured[0].Input.Width, pictured[0].Input.Height);
        foreach (var track in joined.Rows.GroupBy(r => r.Id))
        {
            var path = track.OrderBy(r => r.Frame).Select(r => ((r.Box.Left + r.Box.Width / 2) * scale * k, (r.Box.Top + r.Box.Height / 2) * scale * k)).ToList();
            for (var i = 1; i < path.Count; i++) trajectories.Line(path[i - 1].Item1, path[i - 1].Item2, path[i].Item1, path[i].Item2, Rgb.IdColour(track.Key));
            trajectories.Circle(path[^1].Item1, path[^1].Item2, 2, Rgb.IdColour(track.Key));
        }
        var shown = Enumerable.Range(0, Math.Min(ShownFrames, frames)).ToList();
        Directory.CreateDirectory(dir);
        Rgb.Stack([
            Rgb.Strip([.. shown.Select(t => pictured[t].Input)]),
            Rgb.Strip([.. shown.Select(t => pictured[t].Recon)]),
            Rgb.Strip([.. shown.Select(t => Compose(t, v => v.Background))]),
            Rgb.Strip([.. shown.Select(t => pictured[t].Segmentation)]),
            trajectories,
        ]).SavePng(Scalor.IO.Crop.sequenceFile(dir, name, ".png"));
        Gif.Write(Scalor.IO.Crop.sequenceFile(dir, name, ".gif"), [.. pictured.Select(p => Rgb.Strip([p.Input, p.Recon, p.Segmentation]))], 30);
    }
}
