/// Inference as a stream: one frame at a time, the ConvLSTM, object list and background prior state carried
/// from frame to frame, so a video of any length keeps its ids. Deterministic (means) by default.
module Scalor.Model.Track

open TorchSharp
open Scalor.Model.Config
open Scalor.Model.Store

/// Everything carried between frames.
type State =
    { Lstm: (Tensor * Tensor)[]
      Objects: Scalor.Objects
      Background: (Tensor * Tensor) option
      Frame: int }

let initial (nets: Scalor.Nets) (b: int64) =
    { Lstm = [||]; Objects = Scalor.emptyObjects nets.Config b; Background = None; Frame = 0 }

/// One tracked object: its id and latents.
type TrackedObject =
    { Id: int64
      /// (sx, sy, tx, ty): box half-extents and centre in normalised [−1, 1] image coordinates.
      Where: float32[]
      Presence: float32
      Depth: float32
      What: float32[]
      /// Discovered in this frame (not propagated).
      New: bool }

/// Image box of a z_where in pixels of a width×height frame: (left, top, width, height). The glimpse spans
/// [t ± s] in normalised coordinates, i.e. s·width pixels.
let box (where: float32[]) (width: int) (height: int) =
    let sx, sy, tx, ty = float where.[0], float where.[1], float where.[2], float where.[3]
    let cx, cy = (tx + 1.0) / 2.0 * float width, (ty + 1.0) / 2.0 * float height
    let w, h = sx * float width, sy * float height
    (cx - w / 2.0, cy - h / 2.0, w, h)

let private encodeFrame (e: Networks.Encoder) (x: Tensor) (lstm: (Tensor * Tensor)[]) =
    let feats = Networks.imgEncode e.Image x
    if e.Lstm.Length = 0 then feats, lstm
    else
        let mutable input = feats
        let next =
            e.Lstm
            |> Array.mapi (fun i cell ->
                let h, c = if lstm.Length = 0 then cell.H0.expand(input.shape), cell.C0.expand(input.shape) else lstm.[i]
                let h', c' = Networks.convLstmStep cell input h c
                input <- h'
                h', c')
        input, next

/// Inference options: the final temperature and prior, no cap, discoveries tested against each other too
/// (`Discovery.rejectAmong`; `{ o with RejectAmongDiscoveries = false }` is the official test alone).
let options (c: ScalorConfig) (sampling: Scalor.Sampling) (discover: bool) : Scalor.StepOptions =
    { Tau = c.TauEnd; PresPrior = c.PresPriorEnd; Training = false; Detach = true; Sampling = sampling; Discover = discover; FixedAlpha = None
      SkipZeroCells = false; RejectAmongDiscoveries = true }

/// Deterministic tracking (means), with or without the rejection among discoveries.
let deterministic (c: ScalorConfig) (rejectAmong: bool) =
    { options c Scalor.Means true with RejectAmongDiscoveries = rejectAmong }

/// Advances by one frame `x` [B; 3; H; W] in [0, 1]. Returns the new state and the frame's products.
let step (nets: Scalor.Nets) (opts: Scalor.StepOptions) (state: State) (x: Tensor) =
    use _ = torch.no_grad()
    let enc, lstm = encodeFrame nets.Encoder x state.Lstm
    let f, bg = Scalor.frame nets opts state.Frame x enc state.Objects state.Background
    { Lstm = lstm |> Array.map (fun (h, c) -> h.detach(), c.detach()); Objects = f.Objects; Background = Some bg; Frame = state.Frame + 1 }, f

/// Moves a state's tensors out of `scope`, so a caller can release each frame's temporaries and keep the state.
let keep (scope: DisposeScope) (state: State) =
    let o = state.Objects
    scope.MoveToOuter(o.Ids, o.What, o.Where, o.WhereBias, o.Depth, o.Pres, o.TrackH, o.PriorH, o.PriorC, o.Cum, o.Mask) |> ignore
    for (h, c) in state.Lstm do scope.MoveToOuter(h, c) |> ignore
    match state.Background with
    | Some(z, h) -> scope.MoveToOuter(z, h) |> ignore
    | None -> ()
    state

/// The objects of image `b` in an object list, those with presence above `minPresence` (0.5: G-SWM's rule).
let objectsOf (o: Scalor.Objects) (b: int64) (minPresence: float32) (previousIds: Set<int64>) =
    let n = o.Slots
    if n = 0L then [||]
    else
        // Values are read on the CPU, wherever the model runs.
        let ids = o.Ids.[b].cpu().data<int64>().ToArray()
        let mask = o.Mask.[b].cpu().data<float32>().ToArray()
        let pres = o.Pres.[b].reshape(-1L).cpu().data<float32>().ToArray()
        let where = o.Where.[b].contiguous().cpu().data<float32>().ToArray()
        let depth = o.Depth.[b].reshape(-1L).cpu().data<float32>().ToArray()
        let what = o.What.[b].contiguous().cpu().data<float32>().ToArray()
        let dw = int o.What.shape.[2]
        [| for i in 0 .. int n - 1 do
             if mask.[i] > 0.5f && pres.[i] > minPresence then
                 yield { Id = ids.[i]; Where = where.[4 * i .. 4 * i + 3]; Presence = pres.[i]; Depth = depth.[i]
                         What = what.[dw * i .. dw * (i + 1) - 1]; New = not (previousIds.Contains ids.[i]) } |]
