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
      New: bool
      /// Pixels of the frame the model renders for it (`Rendering.Visible`): its own Σ α·z_pres inside the frame,
      /// before occlusion by other objects.
      Visible: float32
      /// (left, top, width, height) in pixels of what it draws (`Rendering.MaskBox`); empty when it has no
      /// mask pixel.
      MaskBox: float32[] }

/// Image box of a z_where in pixels of a width×height frame: (left, top, width, height). The glimpse spans
/// [t ± s] in normalised coordinates, i.e. s·width pixels.
let box (where: float32[]) (width: int) (height: int) =
    let sx, sy, tx, ty = float where.[0], float where.[1], float where.[2], float where.[3]
    let cx, cy = (tx + 1.0) / 2.0 * float width, (ty + 1.0) / 2.0 * float height
    let w, h = sx * float width, sy * float height
    (cx - w / 2.0, cy - h / 2.0, w, h)

/// The box an object is reported with, in pixels of a width×height frame: its mask box (`Rendering.MaskBox`:
/// left, top, width, height) when `mask` is asked for and the box has a positive width, else its glimpse (`box`).
let reportedBox (mask: bool) (maskBox: float32[]) (where: float32[]) (width: int) (height: int) =
    if mask && maskBox.Length = 4 && maskBox.[2] > 0f then float maskBox.[0], float maskBox.[1], float maskBox.[2], float maskBox.[3]
    else box where width height

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
/// (`Discovery.rejectAmong`; `{ o with DuplicateShare = Discovery.noDuplicateTest }` is the official test alone).
let options (c: ScalorConfig) (sampling: Scalor.Sampling) (discover: bool) : Scalor.StepOptions =
    { Tau = c.TauEnd; PresPrior = c.PresPriorEnd; Training = false; Detach = true; Sampling = sampling; Discover = discover; FixedAlpha = None
      SkipZeroCells = false; DuplicateShare = Discovery.defaultDuplicateShare; SparseFloor = None }

/// Deterministic tracking (means) with the given duplicate share (`Discovery.noDuplicateTest`: the official
/// rejection alone).
let deterministic (c: ScalorConfig) (duplicateShare: float) =
    { options c Scalor.Means true with DuplicateShare = duplicateShare }

/// The presence at or below which `tracking` skips a discovery cell: a skipped cell's α·z_pres is at most this,
/// a quarter of a grey level in an 8-bit picture (the default model's reconstructions moved by at most 1.4e-4).
let sparseFloor = 1e-3

/// `deterministic` for tracking: the same object list (boxes, ids, latents) with the work for cells that cannot
/// be kept skipped (`StepOptions.SparseFloor`); no KL or importance terms. What `track` and `bench track` run.
let tracking (c: ScalorConfig) (duplicateShare: float) =
    { deterministic c duplicateShare with SparseFloor = Some sparseFloor }

/// Advances by one frame `x` [B; 3; H; W] in [0, 1]. Returns the new state and the frame's products.
let step (nets: Scalor.Nets) (opts: Scalor.StepOptions) (state: State) (x: Tensor) =
    use _ = torch.no_grad()
    let enc, lstm = encodeFrame nets.Encoder x state.Lstm
    let f, bg = Scalor.frame nets opts state.Frame x enc state.Objects state.Background
    { Lstm = lstm |> Array.map (fun (h, c) -> h.detach(), c.detach()); Objects = f.Objects; Background = Some bg; Frame = state.Frame + 1 }, f

/// Moves a state's tensors out of `scope`, so a caller can release each frame's temporaries and keep the state.
let keep (scope: DisposeScope) (state: State) =
    scope.MoveToOuter(Scalor.tensorsOf state.Objects |> Array.map (fun t -> t :> System.IDisposable)) |> ignore
    for (h, c) in state.Lstm do scope.MoveToOuter(h, c) |> ignore
    match state.Background with
    | Some(z, h) -> scope.MoveToOuter(z, h) |> ignore
    | None -> ()
    state

/// Every tensor a state holds, each once.
let tensorsOf (state: State) =
    let o = state.Objects
    [| o.Ids; o.What; o.Where; o.WhereBias; o.Depth; o.Pres; o.TrackH; o.PriorH; o.PriorC; o.Cum; o.Mask
       for (h, c) in state.Lstm do
           h
           c
       match state.Background with
       | Some(z, h) ->
           z
           h
       | None -> () |]
    |> Array.filter (fun t -> not (obj.ReferenceEquals(t, null)))
    |> fun ts -> System.Collections.Generic.HashSet<Tensor>(ts, HashIdentity.Reference)

/// Frees the tensors of `old` that `next` does not hold, once a frame's step has replaced it. Tracking runs in
/// NativeSafe blocks, where the collector is held off, so a state left behind would otherwise keep its native
/// memory until the block ends and the finalizers run.
let release (old: State) (next: State) =
    let kept = tensorsOf next
    for t in tensorsOf old do
        if not (kept.Contains t) then t.Dispose()

/// What the frame's reconstruction draws for each object, inside the frame: the object list holds this
/// frame's latents, so this is the alpha the reconstruction used.
type Rendering =
    { /// [B; N]: Σ over the frame's pixels of the object's pasted α·z_pres, in pixels (0 for empty slots).
      Visible: Tensor
      /// [B; N; 4]: (left, top, width, height) in pixels of the pixels where α·z_pres exceeds the config's
      /// `ProposalAlphaThreshold` (0.3):
      /// the box of what the model draws, where the z_where glimpse (`box`) is the window it draws in.
      /// All 0 where no pixel does.
      MaskBox: Tensor }

/// Mask boxes of windows `drawn` [B; N; L; L] of α·z_pres whose pixel (u, v) is frame pixel (x0 + u, y0 + v),
/// `x0`, `y0` [B; N] (int64) → [B; N; 4] (left, top, width, height): the first and last column (row) holding a
/// pixel above `alpha`, by a min (max) over the offsets with the empty ones pushed out of range.
let maskBoxes (alpha: float) (drawn: Tensor) (x0: Tensor) (y0: Tensor) =
    let l = drawn.shape.[3]
    let m = drawn.gt(torch.tensor(float32 alpha)).to_type(torch.float32)
    use u = torch.arange(l, dtype = torch.float32).view(1L, 1L, -1L)
    let far = float32 (4L * l)
    let span (any: Tensor) =
        let first = (u + (1.0f - any) * far).amin([| 2L |])
        let last = (u - (1.0f - any) * far).amax([| 2L |])
        let has = any.amax([| 2L |])
        first * has, (last - first + 1.0f).clamp_min(0.0) * has
    let left, width = span (m.amax([| 2L |]))
    let top, height = span (m.amax([| 3L |]))
    let x0f, y0f = x0.to_type(torch.float32), y0.to_type(torch.float32)
    torch.stack([| (left + x0f) * width.sign(); (top + y0f) * height.sign(); width; height |], 2L)

/// Visible pixels and mask boxes of windows `win` [B; N; L; L] of α·z_pres whose origins are `x0`, `y0` [B; N].
let private renderedIn (c: ScalorConfig) (win: Tensor) (x0: Tensor) (y0: Tensor) =
    let b, n, l = win.shape.[0], win.shape.[1], win.shape.[3]
    // Only pixels inside the frame count: gather the windows over an all-ones image.
    let idx = Spatial.windowIndices x0 y0 c.ImageSize c.ImageSize (int l)
    let inside = Spatial.gatherWindows (torch.ones(b, 1L, int64 c.ImageSize, int64 c.ImageSize)) idx n (int l)
    let drawn = (win.view(b, n, 1L, l, l) * inside).view(b, n, l, l)
    // An object's pixels are those the official code counts as its mask in the rejection test (alpha above
    // `ProposalAlphaThreshold`, 0.3); on validation worlds 0.3 and 0.2 gave the best IoU MOTA, 0.5 and 0.1 less.
    { Visible = drawn.sum([| 2L; 3L |]); MaskBox = maskBoxes c.ProposalAlphaThreshold drawn x0 y0 }

let private noRendering (b: int64) = { Visible = torch.zeros(b, 0L); MaskBox = torch.zeros(b, 0L, 4L) }

/// Decodes the objects' glimpses again (any object list: generated, loaded, tracked).
let rendering (nets: Scalor.Nets) (o: Scalor.Objects) =
    use _ = torch.no_grad()
    let b, n = o.Mask.shape.[0], o.Slots
    if n = 0L then noRendering b
    else
        let c = nets.Config
        let _, alpha = Networks.glimpseDecode nets.GlimpseDec (o.What.reshape(b * n, -1L))
        let az = alpha * (o.Pres.reshape(b * n, 1L, 1L, 1L) * o.Mask.reshape(b * n, 1L, 1L, 1L))
        let l = Spatial.windowSize c.ImageSize c.SizeAnchor c.SizeVar c.RatioAnchor c.RatioVar
        let win, x0, y0 = Spatial.pasteWindows az (o.Where.reshape(b * n, 4L)) c.ImageSize c.ImageSize l
        renderedIn c (win.view(b, n, int64 l, int64 l)) (x0.view(b, n)) (y0.view(b, n))

/// `rendering` of a step's objects read from the frame's own maps, which drew them (`Frame.MapOf`), instead of
/// decoding them again: the decoder pass was about 3 of 24 ms a frame of `track` on LD validation worlds.
let renderingOf (c: ScalorConfig) (f: Scalor.Frame) =
    use _ = torch.no_grad()
    let o = f.Objects
    let b, n = o.Mask.shape.[0], o.Slots
    if n = 0L then noRendering b
    else
        let m = f.Maps
        let l = int64 m.Size
        // Channel 3 of the maps is paste(α·z_pres) [B; K; L·L]; each object's own window, zero for empty slots.
        let a = m.Windows.narrow(2L, 3L, 1L).reshape(b, int64 m.Count, l * l)
        let win = a.gather(1L, f.MapOf.unsqueeze(2L).expand(b, n, l * l)).view(b, n, l, l) * o.Mask.view(b, n, 1L, 1L)
        renderedIn c win (m.X0.gather(1L, f.MapOf)) (m.Y0.gather(1L, f.MapOf))

/// Objects whose rendering covers less of the frame than this share of an anchor-sized square are not
/// reported (`reported`). Chosen on validation worlds (seed 3000001) over 0 to 0.5 of the LD model's anchor area:
/// objects that left the view keep their presence but render almost nothing (median 1.2 px on held-out LD,
/// against 63 px for matched objects), and the ground truth lists an object only while half of it is in view.
let defaultMinVisibleShare = 0.2

/// The reporting floor in pixels: `share` of the square of the anchor size (the configured object size).
let minVisiblePixels (c: ScalorConfig) (share: float) =
    let side = c.SizeAnchor * float c.ImageSize
    float32 (share * side * side)

/// The objects a tracker reports: those rendered with at least `minVisible` pixels inside the frame. The state
/// keeps the others (an object that comes back keeps its id); only the output leaves them out.
let reported (minVisible: float32) (objects: TrackedObject[]) = objects |> Array.filter (fun o -> o.Visible >= minVisible)

/// The objects of image `b` in an object list, those with presence above `minPresence` (0.5: G-SWM's rule).
/// `r`: the list's `rendering`.
let objectsOf (o: Scalor.Objects) (r: Rendering) (b: int64) (minPresence: float32) (previousIds: Set<int64>) =
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
        let vis = r.Visible.[b].cpu().data<float32>().ToArray()
        let boxes = r.MaskBox.[b].contiguous().cpu().data<float32>().ToArray()
        let dw = int o.What.shape.[2]
        [| for i in 0 .. int n - 1 do
             if mask.[i] > 0.5f && pres.[i] > minPresence then
                 yield { Id = ids.[i]; Where = where.[4 * i .. 4 * i + 3]; Presence = pres.[i]; Depth = depth.[i]
                         What = what.[dw * i .. dw * (i + 1) - 1]; New = not (previousIds.Contains ids.[i]); Visible = vis.[i]
                         MaskBox = (if boxes.[4 * i + 2] > 0f then boxes.[4 * i .. 4 * i + 3] else [||]) } |]
