/// Online tracking of frames with TorchSharp, one sequence at a time, as `scalor-host track` tracks: what an
/// application needs to follow objects in its own frames with a checkpoint (`Train.loadForInference`), without the
/// ONNX export. `Track` holds the pieces; this holds the state between frames and each frame's memory.
module Scalor.Model.Tracker

open System
open System.Runtime.InteropServices
open TorchSharp
open Scalor.Model.Track

/// One frame's input [1; 3; H; W] in [0, 1] from `size`·`size`·3 RGB bytes (row-major, as images decode).
let toTensor (rgb: byte[]) (size: int) =
    if rgb.Length <> size * size * 3 then
        invalidArg (nameof rgb) (sprintf "a frame of %d bytes; the model takes %d×%d RGB frames (%d bytes)" rgb.Length size size (size * size * 3))
    use raw = torch.tensor(rgb, dtype = torch.uint8)
    raw.reshape(1L, int64 size, int64 size, 3L).permute(0L, 3L, 1L, 2L).to_type(torch.float32).div(torch.tensor(255.0f)).contiguous()

/// What `Tracker.Step` lets a caller see of a frame while its tensors live (they are freed when `Step` returns).
type FrameView =
    { /// [1; 3; H; W]: the frame's input.
      Input: torch.Tensor
      /// [1; N]: the ids of the objects tracked before this frame (the slots this frame's maps start with).
      IdsBefore: torch.Tensor
      /// The step's products: reconstruction, maps, objects.
      Frame: Scalor.Frame
      /// The objects reported for this frame, under the ids they are reported with (`ReportedId`).
      Reported: TrackedObject[]
      /// The tracks that took a retired track's id (`Converged.Rule.HandOver`): track id → reported id.
      Handed: Map<int64, int64> }

    /// The id the track `id` of this frame's maps is reported under.
    member v.ReportedId(id: int64) = Converged.reportedUnder v.Handed id

/// Tracks one sequence frame by frame with `nets` (`Track.tracking` at `duplicateShare`): the objects with presence
/// above `minPresence`, reported when they draw at least `minVisibleShare` of the anchor area inside the frame
/// (`Track.minVisiblePixels`; the others stay tracked and keep their ids). Of two tracks that settle on one object,
/// one is retired by `converged` (`Converged.step`; None: never, as the official code), and its id may pass to the
/// track that finds its own object again (reported objects carry `Converged.reportedId`). Each frame runs in
/// its own dispose scope, which keeps only the state carried to the next frame; the state it replaces is freed at once, so memory
/// stays level over any length. `Reset` starts the next sequence. One thread at a time: libtorch's native memory
/// and .NET's finalizers do not mix well under load (docs/known-issues.md), so an application that tracks long
/// videos does best to collect between blocks of frames, as scalor-host does.
type Tracker(nets: Scalor.Nets, duplicateShare: float, minPresence: float32, minVisibleShare: float, converged: Converged.Rule option) =
    let opts = tracking nets.Config duplicateShare
    let minVisible = minVisiblePixels nets.Config minVisibleShare
    let size = nets.Config.ImageSize
    let mutable state = initial nets 1L
    let mutable previous = Set.empty<int64>
    let mutable converging = Converged.empty
    // Slots holding an object after the last frame: the state's width but for the slots retired in it.
    let mutable live = 0
    let mutable disposed = false

    /// Reports objects with presence above 0.5 that draw at least `Track.defaultMinVisibleShare` of the anchor area,
    /// and retires converged tracks by `Converged.defaults`.
    new(nets, duplicateShare) = new Tracker(nets, duplicateShare, 0.5f, defaultMinVisibleShare, Some Converged.defaults)

    /// The side of the square RGB frames the model takes.
    member _.ImageSize = size

    /// Frames tracked since the start or the last `Reset`.
    member _.Frames = state.Frame

    /// Object slots (`Config.Capacity`): the most objects tracked at once.
    member _.Capacity = nets.Config.Capacity

    /// The slots holding an object after the last frame, reported or not. At `Capacity` every slot is taken, and the
    /// next frame's discoveries beyond the slots its objects free are not tracked (`Scalor.compact` keeps
    /// the propagated objects first). A slot whose track was retired (`Converged`) is empty until the next frame's
    /// compaction drops it.
    member _.Live = live

    /// Tracks the next frame, `size`·`size`·3 RGB bytes; returns the objects reported. `inspect`, when given, sees
    /// the frame (`FrameView`) before its tensors are freed: the reconstruction, the maps, the input.
    member _.Step(rgb: byte[], [<Optional; DefaultParameterValue(null: Action<FrameView>)>] inspect: Action<FrameView>) : TrackedObject[] =
        if disposed then raise (ObjectDisposedException(nameof Tracker))
        use scope = torch.NewDisposeScope()
        let x = toTensor rgb size
        let before = state.Objects.Ids
        let next, frame = step nets opts state x
        let present = objectsOf frame.Objects (renderingOf nets.Config frame) 0L minPresence previous
        let present, next, retired =
            match converged with
            | None -> present, next, 0
            | Some rule ->
                let carried, retired = Converged.step rule converging (present |> Array.map (fun o -> o.Id, o.Where))
                converging <- carried
                if retired.IsEmpty then present, next, 0
                else
                    present |> Array.filter (fun o -> not (retired.Contains o.Id)), { next with Objects = Converged.retire retired next.Objects },
                    retired.Count
        // With one image compaction keeps exactly the objects kept, so every slot holds one but those emptied just now.
        live <- int next.Objects.Slots - retired
        let old = state
        state <- keep scope next
        // Every present object's id, reported or not: one that shows again is not newly discovered.
        previous <- present |> Array.map (fun o -> o.Id) |> Set.ofArray
        let objects = reported minVisible present |> Array.map (fun o -> { o with Id = Converged.reportedId converging o.Id })
        if not (isNull inspect) then inspect.Invoke { Input = x; IdsBefore = before; Frame = frame; Reported = objects; Handed = converging.Ids }
        release old state
        objects

    /// Forgets every object and the recurrent state: the next frame starts a new sequence.
    member _.Reset() =
        let old = state
        state <- initial nets 1L
        release old state
        previous <- Set.empty
        converging <- Converged.empty
        live <- 0

    interface IDisposable with
        member _.Dispose() =
            if not disposed then
                disposed <- true
                for t in tensorsOf state do t.Dispose()
