using Scalor.Metrics;
using Scalor.Model;
using Scalor.Runtime;
using TorchSharp;

namespace Scalor.Host;

/// <summary><c>track</c>'s pictures: each frame's input with boxes, reconstruction, per-object reconstructions,
/// background, segmentation and trajectories, as the paper's figures 3 and 7; PNG strips and a GIF per sequence.</summary>
public static partial class TrackCommand
{
    /// <summary>Draws the rows <c>--backfill</c> added on the frames' input pictures, boxes coloured by id as the
    /// others, and puts them at the start of their trajectories (they come before the track's first online frame).</summary>
    static void DrawAdded(MotFiles.Row[] added, List<FramePictures> rows, Dictionary<long, List<(double X, double Y)>> tracks, double sx, double sy)
    {
        const int k = 3;
        foreach (var group in added.GroupBy(r => (long)r.Id))
        {
            var path = group.OrderBy(r => r.Frame).Select(r => (r.Box.Left + r.Box.Width / 2, r.Box.Top + r.Box.Height / 2)).ToList();
            if (tracks.TryGetValue(group.Key, out var rest)) rest.InsertRange(0, path);
            else tracks[group.Key] = path;
            foreach (var r in group.Where(r => r.Frame <= rows.Count))
                rows[r.Frame - 1].Input.Rectangle(r.Box.Left / sx * k, r.Box.Top / sy * k, r.Box.Width / sx * k, r.Box.Height / sy * k, Rgb.IdColour(r.Id));
        }
    }

    /// <summary>Frames in the PNG strip (the GIF shows up to 50).</summary>
    const int ShownFrames = 10;
    /// <summary>Objects with a row of their own reconstructions in the PNG strip.</summary>
    const int ObjectRows = 4;

    /// <summary>One frame's pictures, each enlarged 3×: input with boxes coloured by id (white circle: discovered
    /// here), reconstruction, background, segmentation by id colour, and each reported object's own
    /// reconstruction with its box (<see cref="Object"/>; none unless asked for). Held as what they are drawn from, at
    /// the model's size (<paramref name="Seen"/>; <paramref name="Objects"/>, each object's render and box in its
    /// pixels), and enlarged when asked: a sequence's frames are held until its pictures are saved, and with tiles
    /// every tile's at once (the enlarged pictures of 108 tiles of a busy video held 5 GB).</summary>
    internal sealed record FramePictures(Rgb Input, IReadOnlyDictionary<long, (Rgb Render, (double Left, double Top, double Width, double Height) Box)> Objects, ModelView Seen)
    {
        const int K = 3;
        public Rgb Recon => Seen.Recon.Scale(K);
        public Rgb Background => Seen.Background.Scale(K);
        public Rgb Segmentation => Coloured(Seen.Segments, Seen.Frame.Width, id => Rgb.IdColour((int)id)).Scale(K);

        /// <summary>The object's own reconstruction with its box, or null where it has none in this frame.</summary>
        public Rgb? Object(long id)
        {
            if (!Objects.TryGetValue(id, out var o)) return null;
            var big = o.Render.Scale(K);
            var (l, top, w, h) = o.Box;
            big.Rectangle(l * K, top * K, w * K, h * K, Rgb.IdColour((int)id));
            return big;
        }
    }

    /// <summary>One frame as the model saw it, size×size: the frame (nothing drawn on it), its reconstruction and
    /// background, and the track id that each pixel of the segmentation shows (row-major, 0: no object there).</summary>
    internal sealed record ModelView(Rgb Frame, Rgb Recon, Rgb Background, long[] Segments);

    /// <summary>An object's reported box in pixels: its mask box when asked for and it has one, else its glimpse.</summary>
    internal static (double Left, double Top, double Width, double Height) BoxOf(Track.TrackedObject o, int size, bool mask) =>
        Track.reportedBox(mask, o.MaskBox, o.Where, size, size).ToValueTuple();

    internal static FramePictures Picture(Scalor.Model.Scalor.Frame f, Track.TrackedObject[] objects, torch.Tensor prevIds, torch.Tensor x, int size, bool perObject = false, bool maskBoxes = true, Func<long, long>? reportedId = null)
    {
        var frame = ToImage(x[0]);
        var input = InputPicture(frame, objects.Select(o => (o.Id, BoxOf(o, size, maskBoxes), o.New)));
        var recon = ToImage(f.Recon[0]);
        var bg = ToImage(f.Background[0]);
        // Image 0's full-resolution maps [K; 5; H; W] and each slot's id, shared by both pictures that need them.
        var full = Render.fullMaps(f.Maps, size, size)[0];
        var slotIds = SlotIds(prevIds, full.shape[0], reportedId);
        var own = new Dictionary<long, (Rgb, (double, double, double, double))>();
        if (perObject)
        {
            var renders = ObjectRenders(full, slotIds, objects.Select(o => o.Id).ToHashSet());
            foreach (var o in objects)
                if (renders.TryGetValue(o.Id, out var img)) own[o.Id] = (img, BoxOf(o, size, maskBoxes));
        }
        return new FramePictures(input, own, new ModelView(frame, recon, bg, Segments(full, slotIds, f.AlphaFg)));
    }

    /// <summary>One frame's pictures from ONNX Runtime's rendering of it (<see cref="OnnxTracker.Step(Frame, TrackerState, bool)"/>
    /// of a model exported with <c>--render</c>): what <see cref="Picture(Scalor.Model.Scalor.Frame, Track.TrackedObject[], torch.Tensor, torch.Tensor, int, bool, bool)"/>
    /// draws from TorchSharp's, the reported boxes being the tracker's (<see cref="OnnxTracker.MaskBoxes"/>).</summary>
    internal static FramePictures Picture(TrackedFrame f, int size, bool perObject = false)
    {
        var frame = new Rgb(size, size);
        f.Frame.Rgb.CopyTo(frame.Pixels, 0);
        var input = InputPicture(frame, f.Objects.Select(o => (o.Id, ((double)o.Left, (double)o.Top, (double)o.Width, (double)o.Height), o.New)));
        var own = new Dictionary<long, (Rgb, (double, double, double, double))>();
        if (perObject)
            foreach (var o in f.Objects)
                if (o.Render is { } render) own[o.Id] = (ImageOf(render, size), (o.Left, o.Top, o.Width, o.Height));
        return new FramePictures(input, own, new ModelView(frame, ImageOf(f.Reconstruction!, size), ImageOf(f.Background!, size), f.Segments ?? new long[size * size]));
    }

    /// <summary>The input picture, enlarged 3×: each reported box in its id's colour, a white circle where the object
    /// was discovered (either runtime's objects, boxes in the model's pixels).</summary>
    static Rgb InputPicture(Rgb frame, IEnumerable<(long Id, (double Left, double Top, double Width, double Height) Box, bool New)> objects)
    {
        const int k = 3;
        var input = frame.Scale(k);
        foreach (var (id, (l, top, w, h), discovered) in objects)
        {
            input.Rectangle(l * k, top * k, w * k, h * k, Rgb.IdColour((int)id));
            if (discovered) input.Circle((l + w / 2) * k, (top + h / 2) * k, 4, (255, 255, 255));
        }
        return input;
    }

    /// <summary>A picture of an image [3; size; size] in [0, 1], rounded to bytes as <see cref="ToImage"/> rounds a tensor.</summary>
    static Rgb ImageOf(float[] chw, int size)
    {
        var img = new Rgb(size, size);
        var plane = size * size;
        for (var c = 0; c < 3; c++)
            for (var i = 0; i < plane; i++)
                img.Pixels[3 * i + c] = (byte)(Math.Clamp(chw[c * plane + i], 0f, 1f) * 255f + 0.5f);
        return img;
    }

    /// <summary>The track id each of a frame's <paramref name="slots"/> map slots stands for: the maps hold the
    /// previous frame's slots (ids <paramref name="prevIds"/> [B; N], 0 for an empty slot) then the discovery
    /// cells, which take the ids <c>Scalor.nextObjects</c> gives them (the largest previous id + cell index + 1).
    /// Given <paramref name="reportedId"/>, each under the id its track is reported with (a track that took a retired
    /// track's id, <see cref="Scalor.Model.Tracker.FrameView.ReportedId"/>).</summary>
    static long[] SlotIds(torch.Tensor prevIds, long slots, Func<long, long>? reportedId = null)
    {
        var prev = prevIds.numel() == 0 ? [] : prevIds[0].cpu().data<long>().ToArray();
        var largest = prev.Length == 0 ? 0 : prev.Max();
        var ids = Enumerable.Range(0, (int)slots).Select(s => s < prev.Length ? prev[s] : largest + (s - prev.Length) + 1);
        return [.. reportedId is null ? ids : ids.Select(reportedId)];
    }

    /// <summary>Per-object reconstructions of image 0 (paper Fig. 3c): each wanted id's own rendering
    /// α·z_pres·o on black, whole even where another object covers it in the composite.</summary>
    public static Dictionary<long, Rgb> ObjectRenders(Render.ObjectMaps m, torch.Tensor prevIds, IReadOnlySet<long> ids, int size)
    {
        using var scope = torch.NewDisposeScope();
        var full = Render.fullMaps(m, size, size)[0];
        return ObjectRenders(full, SlotIds(prevIds, full.shape[0]), ids);
    }

    static Dictionary<long, Rgb> ObjectRenders(torch.Tensor full, long[] slotIds, IReadOnlySet<long> ids)
    {
        var renders = new Dictionary<long, Rgb>();
        for (var slot = 0; slot < slotIds.Length; slot++)
            if (slotIds[slot] > 0 && ids.Contains(slotIds[slot])) renders[slotIds[slot]] = ToImage(full[slot].narrow(0, 0, 3));
        return renders;
    }

    /// <summary>Segmentation of image 0: each pixel where α_fg ≥ 0.1 takes the id colour of the object with the
    /// largest importance there; discovery cells are coloured as the new ids they would get (<see cref="SlotIds"/>).</summary>
    internal static Rgb Segmentation(Render.ObjectMaps m, torch.Tensor alphaFg, torch.Tensor prevIds, int size) =>
        Coloured(SegmentIds(m, alphaFg, prevIds, size), size, id => Rgb.IdColour((int)id));

    /// <summary>The id each pixel of image 0 shows (row-major; 0 where α_fg &lt; 0.1), as <see cref="Segmentation"/>
    /// colours them: what the ONNX graph's <c>segment</c> output gives; given <paramref name="reportedId"/>, under the ids
    /// the tracks are reported with, as the runtime's <c>TrackedFrame.Segments</c>.</summary>
    public static long[] SegmentIds(Render.ObjectMaps m, torch.Tensor alphaFg, torch.Tensor prevIds, int size, Func<long, long>? reportedId = null)
    {
        var full = Render.fullMaps(m, size, size)[0];
        return Segments(full, SlotIds(prevIds, full.shape[0], reportedId), alphaFg);
    }

    /// <summary>The id each pixel of image 0 shows (row-major; 0 where α_fg &lt; 0.1): the slot with the largest
    /// importance there.</summary>
    static long[] Segments(torch.Tensor full, long[] slotIds, torch.Tensor alphaFg)
    {
        var (_, arg) = full.narrow(1, 4, 1).squeeze(1).max(0);
        var alpha = alphaFg[0, 0].cpu().data<float>().ToArray();
        var argv = arg.cpu().data<long>().ToArray();
        return [.. alpha.Select((a, i) => a < 0.1f ? 0 : slotIds[argv[i]])];
    }

    /// <summary>A segmentation's picture: each pixel that shows an object in its colour, the others black.</summary>
    internal static Rgb Coloured(long[] segments, int width, Func<long, (byte, byte, byte)> colour)
    {
        var seg = new Rgb(width, segments.Length / width);
        for (var i = 0; i < segments.Length; i++)
            if (segments[i] != 0) seg.Set(i % width, i / width, colour(segments[i]));
        return seg;
    }

    static void SavePictures(string dir, string name, List<FramePictures> rows, Dictionary<long, List<(double X, double Y)>> tracks, int size, double sx, double sy)
    {
        Directory.CreateDirectory(dir);
        var shown = rows.Take(ShownFrames).ToList();
        const int k = 3;
        var traj = new Rgb(size * k, size * k);
        foreach (var (id, path) in tracks)
        {
            for (var i = 1; i < path.Count; i++)
                traj.Line(path[i - 1].X / sx * k, path[i - 1].Y / sy * k, path[i].X / sx * k, path[i].Y / sy * k, Rgb.IdColour((int)id));
            traj.Circle(path[^1].X / sx * k, path[^1].Y / sy * k, 2, Rgb.IdColour((int)id));
        }
        var strips = new List<Rgb> { Rgb.Strip(shown.Select(r => r.Input).ToList()), Rgb.Strip(shown.Select(r => r.Recon).ToList()) };
        // As the paper's Fig. 3c, a subset: the objects reported in most of the shown frames.
        var blank = new Rgb(size * k, size * k);
        foreach (var id in PerObjectRows(shown.Select(r => r.Objects.Keys), ObjectRows))
            strips.Add(Rgb.Strip(shown.Select(r => r.Object(id) ?? blank).ToList()));
        strips.AddRange([Rgb.Strip(shown.Select(r => r.Background).ToList()), Rgb.Strip(shown.Select(r => r.Segmentation).ToList()), traj]);
        Rgb.Stack(strips).SavePng(Scalor.IO.Crop.sequenceFile(dir, name, ".png"));
        Gif.Write(Scalor.IO.Crop.sequenceFile(dir, name, ".gif"), rows.Select(r => Rgb.Strip([r.Input, r.Recon, r.Segmentation])).ToList(), 30);
    }

    /// <summary>The ids given a row of their own reconstructions: the <paramref name="count"/> reported in the
    /// most frames, ties to the older (smaller) id.</summary>
    public static long[] PerObjectRows(IEnumerable<IEnumerable<long>> idsPerFrame, int count) =>
        idsPerFrame.SelectMany(ids => ids).GroupBy(id => id)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Take(count).Select(g => g.Key).ToArray();
}
