using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Scalor.Runtime;

/// <summary>Which ONNX Runtime execution provider to run on.</summary>
public enum Provider
{
    /// <summary>DirectML on Windows, CUDA where present, CPU otherwise.</summary>
    Auto,
    Cpu,
    Cuda,
    DirectML,
}

/// <summary>One tracked object: its id, box in the frame's pixels, and latents.</summary>
/// <param name="Id">Track id; kept while the object is propagated, and passed on by a track retired for converging on
/// another's object to the track that finds the object it had left (<see cref="OnnxTracker.Converged"/>).</param>
/// <param name="Left">Box left edge in pixels of the frame the tracker saw (the mask box, or the glimpse:
/// <see cref="OnnxTracker.MaskBoxes"/>).</param>
/// <param name="Top">Box top edge in pixels.</param>
/// <param name="Width">Box width in pixels.</param>
/// <param name="Height">Box height in pixels.</param>
/// <param name="Presence">z_pres in [0, 1].</param>
/// <param name="Depth">z_depth: the smaller, the more it is in front (its weight in the mix is sigmoid(−depth)).</param>
/// <param name="Where">(sx, sy, tx, ty): half-extents and centre in normalised [−1, 1] coordinates.</param>
/// <param name="New">Discovered in this frame rather than propagated.</param>
/// <param name="Visible">Pixels of the frame the model renders for it: its own Σ α·z_pres inside the frame.</param>
/// <param name="Tile">Tracked in tiles (<see cref="TiledTracker"/>): the window of the whole frame whose model saw it,
/// in whose square <paramref name="Where"/> and <paramref name="Visible"/> are; its box is in the whole frame's pixels.</param>
/// <param name="What">z_what, its appearance code (the mean the model carries).</param>
/// <param name="Render">Its own rendering α·z_pres·o on black [3; H; W] in the model's square, whole even where another
/// object covers it, when the frame was rendered (<see cref="OnnxTracker.Step(Frame, TrackerState, bool)"/>).</param>
public sealed record TrackedObject(long Id, float Left, float Top, float Width, float Height, float Presence, float Depth, float[] Where, bool New, float Visible,
    Scalor.IO.Crop.Window? Tile = null, float[]? What = null, float[]? Render = null);

/// <summary>A frame's tracking result, in stream order.</summary>
/// <param name="Frame">The frame as it came in.</param>
/// <param name="Objects">The objects reported for it (above the presence and visibility floors).</param>
/// <param name="Reconstruction">The model's rendering of the frame [3; H; W] in [0, 1], when the model was exported with it.</param>
/// <param name="AlphaFg">The foreground alpha [1; H; W], when rendered.</param>
/// <param name="Background">The background [3; H; W], when rendered.</param>
/// <param name="Tiles">Tracked in tiles (<see cref="TiledTracker"/>): each tile's own result, its frame the tile at the
/// model's size, its objects under the tile's ids; <paramref name="Objects"/> are then the joined ones.</param>
/// <param name="Segments">The segmentation [H; W], row-major, when rendered: the id of the object each pixel shows (the
/// one of the largest importance α·z_pres·sigmoid(−depth) there), 0 where the foreground alpha is below 0.1. A
/// discovery the frame did not keep shows the id it would have had, and a track that took a retired track's id shows
/// that id, as its object reports it.</param>
/// <param name="Live">The slots holding an object after this frame, reported or not, for a frame one tracker stepped
/// (null for a joined frame: its <paramref name="Tiles"/> have theirs). At <see cref="OnnxTracker.Capacity"/> every slot
/// is taken, and the next frame's discoveries beyond the slots its objects free are not tracked.</param>
public sealed record TrackedFrame(Frame Frame, IReadOnlyList<TrackedObject> Objects, float[]? Reconstruction, float[]? AlphaFg = null, float[]? Background = null,
    IReadOnlyList<TrackedFrame>? Tiles = null, long[]? Segments = null, int? Live = null);

/// <summary>What one stream has tracked so far with an <see cref="OnnxTracker"/>: the recurrent and object state
/// and the ids of the objects it holds. A tracker keeps one for <see cref="OnnxTracker.Step(Frame)"/>; several
/// (<see cref="OnnxTracker.NewState"/>) let one loaded model follow several streams in turn, the tiles of a frame
/// (<see cref="TiledTracker"/>), say.</summary>
public sealed class TrackerState
{
    internal readonly Dictionary<string, (float[] Data, long[] Shape)> Floats;
    internal readonly long[] Ids;
    internal HashSet<long> PreviousIds = new();
    /// <summary>The pairs of tracks whose boxes coincided in the last frame, with how many frames in a row, the last
    /// frame's tracks' motion, the retired tracks whose ids may still pass on, and the ids handed on
    /// (<see cref="OnnxTracker.Converged"/>).</summary>
    internal Scalor.Model.Converged.State Converging = Scalor.Model.Converged.empty;
    internal readonly OnnxTracker Owner;

    internal TrackerState(OnnxTracker owner, IEnumerable<(string Name, long[] Shape)> floats, int capacity)
    {
        Owner = owner;
        Floats = floats.ToDictionary(f => f.Name, f => (new float[f.Shape.Aggregate(1L, (a, b) => a * b)], f.Shape));
        Ids = new long[capacity];
    }

    /// <summary>Forgets every object and the recurrent state (a new sequence starts).</summary>
    public void Reset()
    {
        foreach (var (data, _) in Floats.Values) Array.Clear(data);
        Array.Clear(Ids);
        PreviousIds = new();
        Converging = Scalor.Model.Converged.empty;
    }
}

/// <summary>Runs a model exported by <c>scalor-host export</c>: one ONNX Runtime session, the recurrent and
/// object state carried from frame to frame (so ids persist), deterministic. Not thread-safe: one stream
/// per tracker, or one thread stepping several states in turn.</summary>
public sealed class OnnxTracker : IDisposable
{
    readonly InferenceSession session;
    /// <summary>The graph without the rendering's outputs and work, for the frames not rendered; the session itself
    /// for a model that does not render. Opened at the first frame not rendered: a run that renders every frame
    /// (<c>track --mse</c>) never holds it.</summary>
    readonly Lazy<InferenceSession> trackingSession;
    readonly RunOptions runOptions = new();
    readonly (string Name, long[] Shape)[] floatInputs;
    readonly TrackerState state;
    readonly string[] inputNames;
    readonly string[] outputNames;
    /// <summary>The outputs of a step that is not rendered (<see cref="trackingSession"/>'s).</summary>
    readonly string[] trackingOutputNames;

    /// <summary>Slots in the exported object state.</summary>
    public int Capacity { get; }
    /// <summary>Side of the square frames the model takes.</summary>
    public int ImageSize { get; }
    /// <summary>The execution provider in use, e.g. <c>CPUExecutionProvider</c>.</summary>
    public string ProviderName { get; }
    /// <summary>Whether the model outputs the reconstruction.</summary>
    public bool Renders { get; }
    /// <summary>Objects with presence above this are reported (0.5, as <c>scalor-host track</c>).</summary>
    public float MinPresence { get; set; } = 0.5f;
    /// <summary>Objects rendered with fewer pixels inside the frame are not reported (they stay tracked). The model's
    /// default, <c>scalor-host track</c>'s (a share of the anchor area, stored at export); 0 reports all.</summary>
    public float MinVisible { get; set; }
    /// <summary>Report each object's mask box, the box of the pixels where its α·z_pres exceeds 0.3 (default,
    /// as <c>scalor-host track</c>); false, or a model exported before the graph had it: the z_where glimpse, the
    /// window the object is drawn in. An object with no such pixel gets its glimpse either way.</summary>
    public bool MaskBoxes { get; set; } = true;
    /// <summary>Of two tracks whose glimpse boxes coincide for several frames in a row (copies of one object, which the
    /// model would carry on for good), the one that came onto the object from elsewhere is retired: its slot is emptied before the frame is reported
    /// (<see cref="Scalor.Model.Converged.step"/>; the default <see cref="Scalor.Model.Converged.defaults"/>, as
    /// <c>scalor-host track</c>), and its id passes to a track that finds the object it had left
    /// (<see cref="Scalor.Model.Converged.Rule.HandOver"/>). Null: never, as the official code.</summary>
    public Scalor.Model.Converged.Rule? Converged { get; set; } = Scalor.Model.Converged.defaults;
    /// <summary>The rejection baked into the model at export: a discovery is rejected when one stronger discovery
    /// of its frame covers this share of its mask; null for the official rejection alone (or a model exported
    /// before the share was recorded).</summary>
    public double? DuplicateShare { get; }
    /// <summary>The official test's share baked in at export (<c>--explained-share</c>): a discovery is rejected when
    /// propagated objects explain this share of its mask; null for a model exported before it was recorded.</summary>
    public double? ExplainedShare { get; }

    /// <summary>How the model saw footage in training (<c>train --data --frame-step</c>): feed it every
    /// <c>FrameStep</c>-th frame (<see cref="FrameSources.FromPath"/>); 1 for a model of generated worlds.</summary>
    public int FrameStep { get; } = 1;
    /// <summary>The windows of its footage the model was trained on (<c>train --crop</c>); empty for whole frames.
    /// A window to track through is one of them (<c>W:H:X:Y</c> or <c>centre</c>; a tile's window for
    /// <c>tiles:S</c>).</summary>
    public IReadOnlyList<Scalor.IO.Crop.Crop> Crops { get; } = [];

    OnnxTracker(InferenceSession session, Func<InferenceSession>? tracking, string provider)
    {
        this.session = session;
        trackingSession = new(tracking ?? (() => session));
        ProviderName = provider;
        var meta = session.ModelMetadata.CustomMetadataMap;
        int Meta(string key) => meta.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture)
            : throw new InvalidDataException($"not a Scalor tracking model: metadata '{key}' is missing");
        Capacity = Meta("scalor.capacity");
        ImageSize = Meta("scalor.image_size");
        Renders = meta.TryGetValue("scalor.render", out var r) && r == "true";
        MinVisible = meta.TryGetValue("scalor.min_visible_px", out var mv) ? float.Parse(mv, CultureInfo.InvariantCulture) : 0f;
        DuplicateShare = meta.TryGetValue(Scalor.Model.Train.duplicateShareKey, out var ds)
            && double.TryParse(ds, NumberStyles.Float, CultureInfo.InvariantCulture, out var share) ? share : null;
        ExplainedShare = meta.TryGetValue(Scalor.Model.Train.explainedShareKey, out var es)
            && double.TryParse(es, NumberStyles.Float, CultureInfo.InvariantCulture, out var explained) ? explained : null;
        if (meta.TryGetValue(Scalor.Model.Train.frameStepKey, out var fs))
            FrameStep = int.TryParse(fs, NumberStyles.None, CultureInfo.InvariantCulture, out var step) && step >= 1 ? step
                : throw new InvalidDataException($"bad metadata {Scalor.Model.Train.frameStepKey} '{fs}' (a whole number, at least 1)");
        if (meta.TryGetValue(Scalor.Model.Train.cropKey, out var cs))
            Crops = Scalor.IO.Crop.parseAll(cs) is { IsOk: true } crops ? [.. crops.ResultValue]
                : throw new InvalidDataException($"bad metadata {Scalor.Model.Train.cropKey} '{cs}' (windows as --crop takes them)");
        inputNames = session.InputMetadata.Keys.ToArray();
        floatInputs = [.. inputNames.Where(n => session.InputMetadata[n].ElementDataType == TensorElementType.Float)
            .Select(n => (n, session.InputMetadata[n].Dimensions.Select(d => (long)d).ToArray()))];
        state = NewState();
        outputNames = session.OutputMetadata.Keys.ToArray();
        trackingOutputNames = Renders ? [.. outputNames.Where(n => !Scalor.Model.Export.renderOutputs.Contains(n))] : outputNames;
        foreach (var name in inputNames)
            if (name != "image" && !outputNames.Contains("next_" + name))
                throw new InvalidDataException($"not a Scalor tracking model: state '{name}' has no 'next_{name}' output");
    }

    /// <summary>Loads an exported model. <paramref name="log"/> hears which provider is used and why.</summary>
    public static OnnxTracker Load(string path, Provider provider = Provider.Auto, int threads = 0, Action<string>? log = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model '{path}' not found", path);
        return Load(File.ReadAllBytes(path), path, provider, threads, log);
    }

    /// <summary>Loads an exported model held in memory (<paramref name="model"/>: the ONNX file's bytes; an
    /// application that exports and tracks at once needs no temporary file). <paramref name="name"/> names it in
    /// errors.</summary>
    public static OnnxTracker Load(byte[] model, string name, Provider provider = Provider.Auto, int threads = 0, Action<string>? log = null)
    {
        log ??= _ => { };
        var available = OrtEnv.Instance().GetAvailableProviders();
        var wanted = provider switch
        {
            Provider.Auto when OperatingSystem.IsWindows() && available.Contains("DmlExecutionProvider") => Provider.DirectML,
            Provider.Auto when available.Contains("CUDAExecutionProvider") => Provider.Cuda,
            Provider.Auto => Provider.Cpu,
            _ => provider,
        };
        SessionOptions Options(Provider p)
        {
            var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            if (threads > 0) options.IntraOpNumThreads = threads;
            try
            {
                switch (p)
                {
                    case Provider.DirectML:
                        // DirectML wants sequential execution and no memory pattern (its documented constraints).
                        options.EnableMemoryPattern = false;
                        options.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
                        options.AppendExecutionProvider_DML(0);
                        break;
                    case Provider.Cuda:
                        options.AppendExecutionProvider_CUDA(0);
                        break;
                }
                return options;
            }
            catch
            {
                options.Dispose();
                throw;
            }
        }
        SessionOptions first;
        try { first = Options(wanted); }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            log($"runtime: {wanted} is not available in this ONNX Runtime build ({e.Message.Split('\n')[0]}); falling back to CPU");
            wanted = Provider.Cpu;
            first = Options(wanted);
        }
        var providerName = wanted switch { Provider.DirectML => "DmlExecutionProvider", Provider.Cuda => "CUDAExecutionProvider", _ => "CPUExecutionProvider" };
        InferenceSession Open(byte[] bytes, SessionOptions options)
        {
            try { return new InferenceSession(bytes, options); }
            catch (OnnxRuntimeException e) { throw new InvalidDataException($"{name}: not a loadable ONNX model ({e.Message.Split('\n')[0]})", e); }
            finally { options.Dispose(); }
        }
        var session = Open(model, first);
        // A rendering model also gets a session of its graph without the rendering (ONNX Runtime runs every node
        // of a session, whatever the outputs asked for), for the frames not rendered, opened when the first comes.
        Func<InferenceSession>? tracking = session.ModelMetadata.CustomMetadataMap.TryGetValue("scalor.render", out var r) && r == "true"
            ? () => Open(Scalor.Model.OnnxGraph.bytesWithoutOutputs(Scalor.Model.Export.renderOutputs, model), Options(wanted))
            : null;
        log($"runtime: {providerName} (ONNX Runtime; available: {string.Join(", ", available)})");
        try { return new OnnxTracker(session, tracking, providerName); }
        catch
        {
            // Not a Scalor tracking model: its session goes with it.
            session.Dispose();
            throw;
        }
    }

    /// <summary>A fresh state for another stream of this model, nothing tracked yet.</summary>
    public TrackerState NewState() => new(this, floatInputs, Capacity);

    /// <summary>Forgets every object and the recurrent state (a new sequence starts).</summary>
    public void Reset() => state.Reset();

    /// <summary>Tracks one frame. Throws <see cref="ArgumentException"/> for a frame of the wrong size.</summary>
    public TrackedFrame Step(Frame frame) => Step(frame, state);

    /// <summary>Tracks one frame of the stream whose state is <paramref name="state"/> (one of this tracker's
    /// <see cref="NewState"/>), and carries that state on; rendered when the model renders.</summary>
    public TrackedFrame Step(Frame frame, TrackerState state) => Step(frame, state, Renders);

    /// <summary>As <see cref="Step(Frame, TrackerState)"/>, rendered only when <paramref name="render"/> says so and
    /// the model renders (<see cref="Renders"/>): the reconstruction, foreground alpha, background, segmentation and
    /// each object's own rendering. The rendering decodes every discovery cell, several times a tracking step's work
    /// on a CPU, so an application that draws only some frames asks for those; the tracking is the same either way.</summary>
    public TrackedFrame Step(Frame frame, TrackerState state, bool render)
    {
        if (state.Owner != this) throw new ArgumentException("a state of another tracker", nameof(state));
        var floatState = state.Floats;
        var ids = state.Ids;
        if (frame.Width != ImageSize || frame.Height != ImageSize)
            throw new ArgumentException($"frame {frame.Sequence}/{frame.Index} is {frame.Width}×{frame.Height}; the model takes {ImageSize}×{ImageSize}");
        if (frame.Rgb.Length != frame.Width * frame.Height * 3)
            throw new ArgumentException($"frame {frame.Sequence}/{frame.Index} has {frame.Rgb.Length} bytes, not {frame.Width * frame.Height * 3}");
        var image = floatState["image"].Data;
        var plane = ImageSize * ImageSize;
        for (var i = 0; i < plane; i++)
        {
            image[i] = frame.Rgb[3 * i] / 255f;
            image[plane + i] = frame.Rgb[3 * i + 1] / 255f;
            image[2 * plane + i] = frame.Rgb[3 * i + 2] / 255f;
        }
        var inputs = new OrtValue[inputNames.Length];
        try
        {
            for (var i = 0; i < inputNames.Length; i++)
            {
                var n = inputNames[i];
                inputs[i] = n == "ids"
                    ? OrtValue.CreateTensorValueFromMemory(ids, [1, Capacity])
                    : OrtValue.CreateTensorValueFromMemory(floatState[n].Data, floatState[n].Shape);
            }
            var rendered = render && Renders;
            var fetched = rendered ? outputNames : trackingOutputNames;
            using var outputs = (rendered ? session : trackingSession.Value).Run(runOptions, inputNames, inputs, fetched);
            var byName = new Dictionary<string, OrtValue>();
            for (var i = 0; i < fetched.Length; i++) byName[fetched[i]] = outputs[i];
            foreach (var n in inputNames)
            {
                if (n == "image") continue;
                if (n == "ids") byName["next_ids"].GetTensorDataAsSpan<long>().CopyTo(ids);
                else byName["next_" + n].GetTensorDataAsSpan<float>().CopyTo(floatState[n].Data);
            }
            float[]? Rendered(string n) => rendered ? byName[n].GetTensorDataAsSpan<float>().ToArray() : null;
            var visible = byName.TryGetValue("visible", out var v) ? v.GetTensorDataAsSpan<float>().ToArray() : null;
            var maskBoxes = MaskBoxes && byName.TryGetValue("mask_box", out var mb) ? mb.GetTensorDataAsSpan<float>().ToArray() : null;
            // Models exported before the segmentation and the objects' renderings were outputs have neither.
            var segments = rendered && byName.TryGetValue("segment", out var sg) ? sg.GetTensorDataAsSpan<long>().ToArray() : null;
            var renders = rendered && byName.TryGetValue("object_render", out var orv) ? (Ids: byName["object_ids"].GetTensorDataAsSpan<long>().ToArray(), Maps: orv) : default;
            if (Converged is { } rule) Retire(state, rule);
            var (objects, trackIds, live) = Objects(state, visible, maskBoxes);
            if (renders.Ids is { } rowIds)
            {
                var maps = renders.Maps!.GetTensorDataAsSpan<float>();
                for (var i = 0; i < objects.Count; i++)
                    if (Array.IndexOf(rowIds, trackIds[i]) is var row and >= 0)
                        objects[i] = objects[i] with { Render = maps.Slice(row * 3 * plane, 3 * plane).ToArray() };
            }
            // The segmentation under the ids the tracks are reported with (a track that took a retired track's id).
            if (segments is not null && !state.Converging.Ids.IsEmpty)
                for (var i = 0; i < segments.Length; i++)
                    if (segments[i] != 0) segments[i] = Scalor.Model.Converged.reportedId(state.Converging, segments[i]);
            return new TrackedFrame(frame, objects, Rendered("recon"), Rendered("alpha_fg"), Rendered("background"), Segments: segments, Live: live);
        }
        finally
        {
            foreach (var v in inputs) v?.Dispose();
        }
    }

    /// <summary>Empties the slots of the tracks <paramref name="rule"/> retires this frame (mask and presence 0, which
    /// the next step's propagation drops), as <see cref="Scalor.Model.Tracker.Tracker"/> does: the candidates are the
    /// live slots with presence above <see cref="MinPresence"/>.</summary>
    void Retire(TrackerState state, Scalor.Model.Converged.Rule rule)
    {
        var (mask, pres, where, ids) = (state.Floats["mask"].Data, state.Floats["pres"].Data, state.Floats["where"].Data, state.Ids);
        var live = new List<Tuple<long, float[]>>();
        for (var i = 0; i < Capacity; i++)
            if (mask[i] > 0.5f && pres[i] > MinPresence) live.Add(Tuple.Create(ids[i], where.AsSpan(4 * i, 4).ToArray()));
        var (converging, retired) = Scalor.Model.Converged.step(rule, state.Converging, [.. live]).ToValueTuple();
        state.Converging = converging;
        if (retired.IsEmpty) return;
        for (var i = 0; i < Capacity; i++)
            if (mask[i] > 0.5f && retired.Contains(ids[i])) (mask[i], pres[i]) = (0f, 0f);
    }

    /// <summary>The reported objects; <paramref name="visible"/> [Capacity], each slot's rendered pixels (absent in
    /// models exported before it existed: then nothing is left out for it); <paramref name="maskBoxes"/>
    /// [Capacity; 4], each slot's mask box (null: glimpse boxes). The objects carry the ids they are reported with
    /// (<see cref="Scalor.Model.Converged.reportedId"/>); also each one's track id, and the slots in use.</summary>
    (List<TrackedObject> Objects, List<long> TrackIds, int Live) Objects(TrackerState state, float[]? visible, float[]? maskBoxes)
    {
        var (floatState, ids) = (state.Floats, state.Ids);
        var mask = floatState["mask"].Data;
        var pres = floatState["pres"].Data;
        var where = floatState["where"].Data;
        var depth = floatState["depth"].Data;
        var what = floatState["what"].Data;
        var whatDim = what.Length / Capacity;
        var list = new List<TrackedObject>();
        var trackIds = new List<long>();
        var seen = new HashSet<long>();
        for (var i = 0; i < Capacity; i++)
        {
            if (mask[i] <= 0.5f) continue;
            seen.Add(ids[i]);
            if (pres[i] <= MinPresence) continue;
            var vis = visible?[i] ?? float.PositiveInfinity;
            if (vis < MinVisible) continue;
            var w = where.AsSpan(4 * i, 4).ToArray();
            var (left, top, width, height) = Scalor.Model.Track.reportedBox(maskBoxes is not null,
                maskBoxes is null ? [] : maskBoxes.AsSpan(4 * i, 4).ToArray(), w, ImageSize, ImageSize).ToValueTuple();
            trackIds.Add(ids[i]);
            list.Add(new TrackedObject(Scalor.Model.Converged.reportedId(state.Converging, ids[i]), (float)left, (float)top, (float)width, (float)height, pres[i], depth[i], w, !state.PreviousIds.Contains(ids[i]), vis,
                What: what.AsSpan(whatDim * i, whatDim).ToArray()));
        }
        state.PreviousIds = seen;
        return (list, trackIds, seen.Count);
    }

    public void Dispose()
    {
        runOptions.Dispose();
        if (trackingSession.IsValueCreated && trackingSession.Value != session) trackingSession.Value.Dispose();
        session.Dispose();
    }
}
