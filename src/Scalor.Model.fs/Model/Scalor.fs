/// The whole SCALOR model ([S] `scalor.py`): per frame, propagate the tracked objects, discover new ones
/// conditioned on what is tracked, composite foreground over background, score the frame, then compact the
/// object slots. Batched over the batch and over objects; the only loop is over time.
module Scalor.Model.Scalor

open TorchSharp
open Scalor.Model.Config
open Scalor.Model.Store

type Nets =
    { Config: ScalorConfig
      Store: Store
      Encoder: Networks.Encoder
      ZWhat: Networks.ZWhatEncoder
      GlimpseDec: Networks.GlimpseDecoder
      Proposal: Discovery.ProposalNet
      Propagation: Propagation.PropagationNet
      Background: Background.BackgroundNet }

/// The same networks tracking with `capacity` object slots (`Config.Capacity`); the weights are shared.
let withCapacity (capacity: int) (nets: Nets) = { nets with Config = { nets.Config with Capacity = capacity } }

/// Builds every network with PyTorch's default initialisation drawn from `seed`.
let create (c: ScalorConfig) (seed: int64) =
    let s = Store(seed)
    let encoder = Networks.encoder s c
    let zWhat = Networks.zWhatEncoder s c
    let dec = Networks.glimpseDecoder s c
    let prop = Propagation.propagationNet s c
    let proposal = Discovery.proposalNet s c
    let bg = Background.backgroundNet s c
    { Config = c; Store = s; Encoder = encoder; ZWhat = zWhat; GlimpseDec = dec; Proposal = proposal; Propagation = prop; Background = bg }

/// The object list, in N padded slots per image (N = the largest live count in the batch).
type Objects =
    { What: Tensor // [B; N; Dw]
      Where: Tensor // [B; N; 4] (sx, sy, tx, ty)
      WhereBias: Tensor // [B; N; 4]
      Depth: Tensor // [B; N; 1]
      Pres: Tensor // [B; N; 1]
      TrackH: Tensor // [B; N; 128]
      PriorH: Tensor // [B; N; 64]
      PriorC: Tensor // [B; N; 64]
      Cum: Tensor // [B; N; 1]
      /// Track ids, 0 for an empty slot. [B; N] int64
      Ids: Tensor
      /// 1 for a live slot. [B; N]
      Mask: Tensor }
    member o.Slots = o.What.shape.[1]

let emptyObjects (c: ScalorConfig) (b: int64) =
    let z (d: int) = torch.zeros(b, 0L, int64 d)
    { What = z c.ZWhatDim; Where = z 4; WhereBias = z 4; Depth = z 1; Pres = z 1; TrackH = z c.TemporalRnnHid
      PriorH = z c.PriorRnnHid; PriorC = z c.PriorRnnHid; Cum = z 1; Ids = torch.zeros(b, 0L, dtype = torch.int64); Mask = torch.zeros(b, 0L) }

/// How latents are drawn: samples from a seeded generator (training, generation), or means (deterministic
/// inference: z_pres = sigmoid(logits)).
type Sampling =
    | Sample of torch.Generator
    | Means

type StepOptions =
    { Tau: float
      PresPrior: float
      /// Apply the training cap on objects (MaxObjects); inference is capped by Capacity only.
      Training: bool
      /// Detach carried object state after this frame (truncated BPTT).
      Detach: bool
      Sampling: Sampling
      /// Discovery on (conditional generation switches it off).
      Discover: bool
      /// Some v: the background-alpha curriculum holds α_fg at v in the composite and the background input.
      FixedAlpha: float option
      /// Decode with gradients only the discovery cells that can end up present (`decodesSparsely`).
      /// Same values and gradients either way; false is the plain official order of work.
      SkipZeroCells: bool
      /// Inference only: a discovery is also rejected when one stronger discovery of the same frame covers
      /// this share of its mask (`Discovery.rejectAmong`), so one object is not discovered twice;
      /// `Discovery.noDuplicateTest` turns it off. Not in [S]; training ignores it, so the objective is the
      /// official one.
      DuplicateShare: float
      /// Inference for tracking only (`Track.tracking`): Some floor gives a glimpse, an appearance and a decoder
      /// pass only to the discovery cells whose presence exceeds the floor; the rest count as absent. Every
      /// cell that can be kept (presence above DiscoveryKeepThreshold) or can reject another is among them, so
      /// the object list is the full step's; the reconstruction lacks the skipped cells, each drawn at most at
      /// the floor's alpha. The frame's KL and importance terms are not computed (zeros). Needs `Means`.
      SparseFloor: float option }

/// One frame's terms and products.
type Frame =
    { Recon: Tensor // [B; 3; H; W]
      Foreground: Tensor
      AlphaFg: Tensor // [B; 1; H; W]
      Background: Tensor
      LogLike: Tensor // [B]
      KlWhat: Tensor // [B]
      KlWhere: Tensor
      KlDepth: Tensor
      KlPres: Tensor
      KlBg: Tensor
      /// log p(z) − log q(z) of this frame's samples [B] (z_pres binarised at 0.5, as [S] `phase_nll`): with the
      /// log-likelihood, one frame's share of an importance weight. Only the background's share while training:
      /// the objective does not use it, and the training step is the hot path.
      LogImportance: Tensor
      /// The object list after this frame's compaction.
      Objects: Objects
      /// Discovered cells accepted into the list this frame. [B; G²] (0/1)
      Accepted: Tensor
      /// Per-object maps of this frame (propagated slots, then the G² discovery cells).
      Maps: Render.ObjectMaps
      /// Each object of `Objects`: its position in `Maps` [B; N'] (int64; where `Objects.Mask` is 0, any).
      MapOf: Tensor }

let private normal (sampling: Sampling) (mean: Tensor) (std: Tensor) =
    match sampling with
    | Sample g -> Distributions.sampleNormal g mean std
    | Means -> mean

let private relaxed (sampling: Sampling) (tau: float) (logits: Tensor) =
    match sampling with
    | Sample g -> Distributions.relaxedBernoulli g logits tau
    | Means -> logits, torch.sigmoid(logits)

/// Gaussian log-likelihood summed over C·H·W: [B].
let logLikelihood (sigma: float) (recon: Tensor) (x: Tensor) =
    let d = (x - recon) / sigma
    (-0.5 * d * d - log sigma - 0.5 * log (2.0 * System.Math.PI)).sum([| 1L; 2L; 3L |])

/// Keeps the slots flagged in `keep` [B; K] (survivors first, in order), trimmed to the largest count in
/// the batch and to `capacity`. A stable argsort on (not kept, position), then gather: no per-image loop.
/// Returns the kept fields, ids and mask, and each kept slot's position among the K [B; N'] (int64).
let compact (capacity: int) (keep: Tensor) (fields: Tensor list) (ids: Tensor) =
    let b, k = keep.shape.[0], keep.shape.[1]
    let key = (1.0 - keep) * float k + torch.arange(k, dtype = torch.float32).unsqueeze(0L)
    let order = key.argsort(1L)
    let n = if k = 0L then 0L else min (int64 capacity) (keep.sum(1L).max().item<float32>() |> int64)
    let idx = order.narrow(1L, 0L, n)
    let kept = keep.gather(1L, idx)
    let take (t: Tensor) =
        let d = t.shape.[2]
        t.gather(1L, idx.unsqueeze(2L).expand(b, n, d)) * kept.unsqueeze(2L)
    fields |> List.map take, ids.gather(1L, idx) * kept.to_type(torch.int64), kept, idx

/// The object list after a frame: propagated survivors (z_pres > 0), then discoveries with z_pres above the
/// keep threshold, in raster order; new ids continue from the image's largest id. `propagated`: the nine
/// per-slot fields (rows in (b, n) order) and their z_pres; `discovered`: (z_what [B·G²; Dw], z_where
/// [B·G²; 4], z_depth, z_pres [B; G²]). Also returns each object's position among the propagated slots and
/// then the cells [B; N'] (int64), the order of the frame's `Maps`.
let nextObjects (c: ScalorConfig) (training: bool) (detach: bool) (state: Objects) (propagated: (Tensor list * Tensor) option) (discovered: Tensor * Tensor * Tensor * Tensor) =
    let what, zWhere, depth, pres = discovered
    let b = pres.shape.[0]
    let cells = pres.shape.[1]
    let n = state.Slots
    let z3 (d: int64) = torch.zeros(b, cells, d)
    let keepDisc = pres.gt(torch.tensor(c.DiscoveryKeepThreshold)).to_type(torch.float32)
    let maxId =
        if n = 0L then torch.zeros(b, dtype = torch.int64)
        else
            let struct (v: Tensor, _) = state.Ids.max(1L)
            v
    let newIds = maxId.unsqueeze(1L) + torch.arange(1L, cells + 1L, dtype = torch.int64).unsqueeze(0L)
    let fieldsDisc =
        [ what.view(b, cells, -1L); zWhere.view(b, cells, 4L); z3 4L; depth.reshape(b, cells, 1L); pres.view(b, cells, 1L)
          z3 (int64 c.TemporalRnnHid); z3 (int64 c.PriorRnnHid); z3 (int64 c.PriorRnnHid); z3 1L ]
    let keep, fields, ids =
        match propagated with
        | None -> keepDisc, fieldsDisc, newIds
        | Some(fieldsProp, presProp) ->
            let keepProp = (presProp.gt(torch.tensor(0.0f)).to_type(torch.float32)).view(b, n)
            torch.cat([| keepProp; keepDisc |], 1L),
            List.map2 (fun (a: Tensor) d -> torch.cat([| a.view(b, n, -1L); d |], 1L)) fieldsProp fieldsDisc,
            torch.cat([| state.Ids; newIds |], 1L)
    let capacity = if training then max c.MaxObjects c.Capacity else c.Capacity
    let kept, idsNext, maskNext, from = compact capacity keep fields ids
    let d (t: Tensor) = if detach then t.detach() else t
    match kept |> List.map d with
    | [ wh; wr; wb; dp; pr; th; ph; pc; cm ] ->
        { What = wh; Where = wr; WhereBias = wb; Depth = dp; Pres = pr; TrackH = th; PriorH = ph; PriorC = pc; Cum = cm; Ids = idsNext; Mask = maskNext }, from
    | _ -> failwith "unreachable"

/// Flattens the object list to (b, n) rows for the propagation cell.
let carried (state: Objects) : Propagation.Carried =
    let b, n = state.Mask.shape.[0], state.Slots
    let flat (t: Tensor) = t.reshape(b * n, -1L)
    { What = flat state.What; Where = flat state.Where; WhereBias = flat state.WhereBias; Depth = flat state.Depth
      Pres = flat state.Pres; TrackH = flat state.TrackH; PriorH = flat state.PriorH; PriorC = flat state.PriorC
      Cum = flat state.Cum; Mask = flat (state.Mask.unsqueeze(2L)) }

/// Whether a training frame decodes discovery glimpses with gradients only for cells that can survive: the
/// cap leaves at most MaxObjects − live discoveries per image. Without a rejection test (first frame, or
/// nothing tracked) any cell the cap removes is saved work; with one, every glimpse is decoded once more
/// without autograd (about 40% of a decode with backward), so at most half the cells may survive.
/// `live` [B], the tracked objects per image.
let decodesSparsely (c: ScalorConfig) (o: StepOptions) (rejecting: bool) (live: Tensor) =
    o.SkipZeroCells && o.Training && o.Discover
    && (let counts = live.cpu().data<float32>().ToArray()
        let free = counts |> Array.sumBy (fun n -> max 0.0 (min (float c.Cells) (float c.MaxObjects - float n)))
        let surviving = free / float (counts.Length * c.Cells)
        if rejecting then surviving <= 0.5 else surviving < 1.0)

/// One frame. `x` [B; 3; H; W], `enc` [B; D; G; G]; `bgPrev` the previous (z_bg, prior state).
let frame (m: Nets) (o: StepOptions) (t: int) (x: Tensor) (enc: Tensor) (state: Objects) (bgPrev: (Tensor * Tensor) option) =
    let c = m.Config
    let b = x.shape.[0]
    let h, w = c.ImageSize, c.ImageSize
    let cells = int64 c.Cells
    let n = state.Slots
    let l = Spatial.windowSize c.ImageSize c.SizeAnchor c.SizeVar c.RatioAnchor c.RatioVar
    let sample = normal o.Sampling
    let relax = relaxed o.Sampling o.Tau
    let zeros () = torch.zeros(b)
    // Tracking alone (`SparseFloor`) needs no KL or importance terms.
    let scored = o.SparseFloor.IsNone
    // --- Propagation of the tracked objects, all slots at once.
    let propMaps, propKl, propNext, propLogImp =
        if n = 0L then Render.empty b h w l, (zeros (), zeros (), zeros (), zeros ()), None, zeros ()
        else
            let prev = carried state
            let mask = prev.Mask
            let pr = Propagation.prior m.Propagation prev
            let st = Propagation.step m.Propagation m.ZWhat m.GlimpseDec c enc x prev sample relax
            let weight = st.Pres * mask
            let perSlot (kl: Tensor) = (kl.sum(1L, keepdim = true) * weight).view(b, n).sum(1L)
            let kl =
                if not scored then zeros (), zeros (), zeros (), zeros ()
                else
                    perSlot (Distributions.klNormal st.WhatMean st.WhatStd pr.WhatMean pr.WhatStd),
                    perSlot (Distributions.klNormal st.WhereBiasMean st.WhereBiasStd pr.WhereBiasMean pr.WhereBiasStd),
                    perSlot (Distributions.klNormal st.DepthMean st.DepthStd pr.DepthMean pr.DepthStd),
                    (Distributions.klBernoulli st.PresLogits pr.PresProb * mask).view(b, n).sum(1L)
            let maps = Render.paste b st.O st.Alpha st.Pres st.Depth st.Where h w l
            let logImp =
              if o.Training || not scored then zeros ()
              else
                // Latents count where the object is present; z_pres everywhere a slot is live.
                let present = st.Pres.gt(torch.tensor(0.5f)).to_type(torch.float32) * mask
                let sampled = st.PresSample.gt(torch.tensor(0.5f)).to_type(torch.float32)
                let latents =
                    (Distributions.normalLogRatio st.What st.WhatMean st.WhatStd pr.WhatMean pr.WhatStd).sum(1L, keepdim = true)
                    + (Distributions.normalLogRatio st.WhereBias st.WhereBiasMean st.WhereBiasStd pr.WhereBiasMean pr.WhereBiasStd).sum(1L, keepdim = true)
                    + Distributions.normalLogRatio st.Depth st.DepthMean st.DepthStd pr.DepthMean pr.DepthStd
                (latents * present + Distributions.bernoulliLogRatio sampled st.PresLogits pr.PresProb * mask).view(b, n).sum(1L)
            maps, kl, Some(st, pr), logImp
    // --- Discovery, conditioned on the propagated alpha (clamped, detached).
    let alphaProp =
        if n = 0L then torch.zeros(b, 1L, int64 h, int64 w)
        else Render.straightThroughClamp (Render.alphaSum propMaps h w)
    let prop = Discovery.propose m.Proposal c enc (alphaProp.detach())
    let whereRaw = sample prop.WhereMean prop.WhereStd
    let zWhere = Spatial.discoveryWhere c.SizeAnchor c.SizeVar c.RatioAnchor c.RatioVar c.GridSize m.Proposal.Offset whereRaw
    let _, presCell = relax prop.PresLogits
    let presOrig = presCell.view(b, cells)
    let depth = sample prop.DepthMean prop.DepthStd
    // Tracking (`SparseFloor`): nearly every cell of a trained model has a presence far below the floor, and its
    // glimpse, appearance and decoding were most of a frame's time (about 20 of 45 ms, `bench track`).
    let active =
        match o.SparseFloor, o.Sampling with
        | None, _ -> None
        | Some floor, Means -> Some(presOrig.reshape(-1L).gt(torch.tensor(floor)))
        | Some _, Sample _ -> invalidArg (nameof o) "SparseFloor needs Means sampling"
    // Values of selected discovery cells [K; …] back in the [B·G²; …] layout, zero for the other cells.
    let toCells (idx: Tensor) (t: Tensor) = torch.zeros(Array.append [| b * cells |] t.shape.[1..]).index_copy(0L, idx, t)
    let whatMean, whatStd, what, sparseDecoded =
        match active with
        | None ->
            let glimpse = Spatial.cropMany x zWhere c.GlimpseSize
            let wm, ws = Networks.zWhatEncode m.ZWhat glimpse
            wm, ws, sample wm ws, None
        | Some on ->
            let idx = on.nonzero().squeeze(1L)
            let g = int64 c.GlimpseSize
            let what, glimpseO, glimpseAlpha =
                let k = idx.shape.[0]
                if k = 0L then torch.zeros(b * cells, int64 c.ZWhatDim), torch.zeros(b * cells, 3L, g, g), torch.zeros(b * cells, 1L, g, g)
                else
                    let image = torch.arange(b, dtype = torch.int64).repeat_interleave(cells).index_select(0L, idx)
                    // One glimpse per selected cell, each from its own image: [K; 3; g; g].
                    let glimpse = Spatial.cropMany (x.index_select(0L, image)) (zWhere.index_select(0L, idx)) c.GlimpseSize
                    let wm, _ = Networks.zWhatEncode m.ZWhat glimpse
                    let oA, aA = Networks.glimpseDecode m.GlimpseDec wm
                    toCells idx wm, toCells idx oA, toCells idx aA
            // Means are the latents; the standard deviations only enter the KL terms, which tracking skips.
            what, torch.ones_like(what), what, Some(glimpseO, glimpseAlpha)
    let rejecting = t > 0 && n > 0L
    // Under the training cap an image keeps at most MaxObjects − live discoveries, so when few slots are free
    // (early training; the `bench train` worst case) most cells end with presence exactly 0: zeroed by the cap
    // or by rejection, constants here. Such a cell adds nothing to the image and nothing to any gradient, so
    // its glimpse is decoded for the rejection test only (no autograd), and decoded with gradients only for
    // the cells still alive. The sums are the same; only the work for exact zeros goes.
    let live = state.Mask.sum(1L)
    let decoded =
        match sparseDecoded with
        | Some d -> Some d
        | None when decodesSparsely c o rejecting live -> None
        | None -> Some(Networks.decode c.RecomputeDecoder m.GlimpseDec what)
    let accept =
        if rejecting then
            use _ = torch.no_grad()
            let alphaTest =
                match decoded with
                | Some(_, a) -> a
                | None -> snd (Networks.glimpseDecode m.GlimpseDec what)
            let win, x0, y0 = Spatial.pasteWindows alphaTest zWhere h w l
            let idx = Spatial.windowIndices (x0.view(b, cells)) (y0.view(b, cells)) h w l
            let explained = Spatial.gatherWindows (alphaProp.detach()) idx cells l
            // Only pixels inside the image count, as in the official full-canvas paste: a window reaching past
            // the border would otherwise enlarge the proposal's area and let a border duplicate through.
            use inside = Spatial.gatherWindows (torch.ones(b, 1L, int64 h, int64 w)) idx cells l
            Discovery.rejection c (win.view(b, cells, 1L, int64 l, int64 l) * inside) explained
        else torch.ones(b, cells)
    let accept =
        if Discovery.testsDuplicates o.DuplicateShare && not o.Training then
            use _ = torch.no_grad()
            let alphaTest =
                match decoded with
                | Some(_, a) -> a
                | None -> snd (Networks.glimpseDecode m.GlimpseDec what)
            // Every proposal's mask on its own full canvas [B; K; H·W]: the pairwise test needs them side by side.
            let win, x0, y0 = Spatial.pasteWindows alphaTest zWhere h w l
            let own = Spatial.windowIndices (x0.view(b * cells, 1L)) (y0.view(b * cells, 1L)) h w l
            let full = (Spatial.scatterWindows (win.view(b * cells, 1L, 1L, int64 l, int64 l)) own h w l).reshape(b, cells, int64 (h * w))
            let proposed = full.gt(torch.tensor(c.ProposalAlphaThreshold)).to_type(torch.float32)
            let eligible = (presOrig * accept).gt(torch.tensor(c.DiscoveryKeepThreshold)).to_type(torch.float32)
            accept * Discovery.rejectAmong o.DuplicateShare proposed presOrig eligible
        else accept
    let accept = match active with Some on -> accept * on.view(b, cells).to_type(torch.float32) | None -> accept
    let pres0 = presOrig * accept
    let capMask = if o.Training then Some(Discovery.cap c.MaxObjects (pres0.detach()) live) else None
    let pres1 = match capMask with Some m -> pres0 * m | None -> pres0
    let oDisc, alphaDisc =
        match decoded with
        | Some d -> d
        | None ->
            // Cells whose multiplier (acceptance × cap) is exactly 0; the rest keep zero glimpses.
            let alive = (match capMask with Some m -> accept * m | None -> accept).reshape(-1L).nonzero().squeeze(1L)
            let oA, aA = Networks.decode c.RecomputeDecoder m.GlimpseDec (what.index_select(0L, alive))
            toCells alive oA, toCells alive aA
    let pres = if o.Discover then pres1 else torch.zeros_like(pres1)
    let discKl =
      if not scored then zeros (), zeros (), zeros (), zeros ()
      else
        let wgt = presOrig
        let klWhat = (Distributions.klStdNormal whatMean whatStd).sum(1L).view(b, cells) * wgt
        let klWhere = (Distributions.klStdNormal prop.WhereMean prop.WhereStd).sum(1L).view(b, cells) * wgt
        let klDepth = (Distributions.klStdNormal prop.DepthMean prop.DepthStd).view(b, cells) * wgt
        // Rejected cells pay against a 1e-8 presence prior: rejection never adds objects ([S]).
        let prior = accept * o.PresPrior + (1.0 - accept) * 1e-8
        let klPres = Distributions.klBernoulli (prop.PresLogits.view(b, cells)) prior
        klWhat.sum(1L), klWhere.sum(1L), klDepth.sum(1L), klPres.sum(1L)
    let discLogImp =
      if o.Training || not scored then zeros ()
      else
        let present = presOrig.gt(torch.tensor(0.5f)).to_type(torch.float32)
        let ratio (z: Tensor) (qm: Tensor) (qs: Tensor) = Distributions.normalLogRatio z qm qs (torch.zeros_like(qm)) (torch.ones_like(qs))
        let latents =
            (ratio what whatMean whatStd).sum(1L).view(b, cells)
            + (ratio whereRaw prop.WhereMean prop.WhereStd).sum(1L).view(b, cells)
            + (ratio depth prop.DepthMean prop.DepthStd).view(b, cells)
        let prior = accept * o.PresPrior + (1.0 - accept) * 1e-8
        (latents * present + Distributions.bernoulliLogRatio present (prop.PresLogits.view(b, cells)) prior).sum(1L)
    let discMaps = Render.paste b oDisc alphaDisc (pres.reshape(-1L, 1L)) (depth.reshape(-1L, 1L)) zWhere h w l
    // --- Composite and background.
    let maps = Render.concat propMaps discMaps
    let fg, alphaFg0 = Render.composite maps h w
    let alphaFg = match o.FixedAlpha with Some v -> withScalar v (fun s -> torch.full_like(alphaFg0, s)) | None -> alphaFg0
    let bgStep = Background.step m.Background x alphaFg bgPrev sample
    let recon = Render.image fg alphaFg bgStep.Bg
    let next, mapOf =
        nextObjects c o.Training o.Detach state
            (propNext |> Option.map (fun (st, pr) -> [ st.What; st.Where; st.WhereBias; st.Depth; st.Pres; st.TrackH; pr.H; pr.C; st.Cum ], st.Pres))
            (what, zWhere, depth, pres)
    let pw, pwh, pd, pp = propKl
    let dwk, dwh, dd, dp = discKl
    { Recon = recon; Foreground = fg; AlphaFg = alphaFg; Background = bgStep.Bg
      LogLike = logLikelihood c.Sigma recon x
      KlWhat = pw + dwk; KlWhere = pwh + dwh; KlDepth = pd + dd; KlPres = pp + dp; KlBg = (if scored then bgStep.Kl else zeros ())
      LogImportance = propLogImp + discLogImp + (if scored then bgStep.LogRatio else zeros ())
      Objects = next; Accepted = pres.gt(torch.tensor(c.DiscoveryKeepThreshold)).to_type(torch.float32); Maps = maps; MapOf = mapOf },
    (bgStep.Z, bgStep.PriorH)

/// An object list's tensors, for a caller that moves them out of a dispose scope.
let tensorsOf (ob: Objects) =
    [| ob.What; ob.Where; ob.WhereBias; ob.Depth; ob.Pres; ob.TrackH; ob.PriorH; ob.PriorC; ob.Cum; ob.Ids; ob.Mask |]

/// Runs a sequence [B; T; 3; H; W], encoded as `enc` [B; T; D; G; G], from an empty object list, and returns what
/// `pick` takes of each frame, in order. Every frame's temporaries are released at its end but the state the next
/// frame reads and the tensors `pick` names: autograd keeps its own references to what the backward pass needs,
/// but .NET handles held until the end of the step would keep everything alive. `afterFrame` runs once each frame's
/// temporaries are released.
let forwardPicking (m: Nets) (o: StepOptions) (seq: Tensor) (enc: Tensor) (pick: Frame -> 'a * Tensor[]) (afterFrame: unit -> unit) =
    let b, t = seq.shape.[0], int seq.shape.[1]
    let mutable state = emptyObjects m.Config b
    let mutable bg = None
    [ for i in 0 .. t - 1 do
        let picked =
            use scope = torch.NewDisposeScope()
            let f, (zBg, hBg) = frame m o i (seq.select(1L, int64 i)) (enc.select(1L, int64 i)) state bg
            let picked, tensors = pick f
            scope.MoveToOuter(Array.concat [ tensors; tensorsOf f.Objects; [| zBg; hBg |] ] |> Array.map (fun t -> t :> System.IDisposable))
            state <- f.Objects
            bg <- Some(zBg, hBg)
            picked
        afterFrame ()
        yield picked ]

/// Runs a sequence [B; T; 3; H; W] from an empty object list. Returns the frames in order.
let forward (m: Nets) (o: StepOptions) (seq: Tensor) =
    forwardPicking m o seq (Networks.encodeSequence m.Encoder seq) (fun f ->
        f, [| f.Recon; f.Foreground; f.AlphaFg; f.Background; f.LogLike; f.KlWhat; f.KlWhere; f.KlDepth; f.KlPres; f.KlBg; f.LogImportance
              f.Accepted; f.Maps.Windows; f.Maps.X0; f.Maps.Y0; f.Maps.Index; f.MapOf |]) ignore
