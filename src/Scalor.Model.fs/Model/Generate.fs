/// The world model imagines ([P] §5.1, experiment 3; [S] `phase_generate`): frames rolled forward from the
/// learned priors alone — the propagation prior for every tracked object, the background transition prior,
/// and discovery switched off or sampled from its prior — with no image input at all.
module Scalor.Model.Generate

open TorchSharp
open Scalor.Model.Config
open Scalor.Model.Store

type Frame =
    { Recon: Tensor // [B; 3; H; W]
      Background: Tensor
      AlphaFg: Tensor
      Objects: Scalor.Objects
      Maps: Render.ObjectMaps }

let private logit (p: Tensor) = torch.log(p.clamp(min = torch.tensor(1e-6f), max = torch.tensor(1f - 1e-6f))) - torch.log1p(-p.clamp(min = torch.tensor(1e-6f), max = torch.tensor(1f - 1e-6f)))

/// One imagined frame after `state`. `discoveryProb`: presence probability of each discovery cell sampled
/// from the prior (0 switches discovery off, as the paper's conditional generation); `b` images.
/// `mostLikely`: tracked objects and the background follow their priors' means (presence: the prior's
/// probability) instead of samples, the single most likely future; discovery, when on, is still sampled.
let step (nets: Scalor.Nets) (gen: torch.Generator) (tau: float) (mostLikely: bool) (discoveryProb: float) (state: Track.State) =
    use _ = torch.no_grad()
    let c = nets.Config
    let b = state.Objects.Mask.shape.[0]
    let h, w = c.ImageSize, c.ImageSize
    let l = Spatial.windowSize c.ImageSize c.SizeAnchor c.SizeVar c.RatioAnchor c.RatioVar
    let cells = int64 c.Cells
    let sample m s = if mostLikely then m else Distributions.sampleNormal gen m s
    let n = state.Objects.Slots
    let propMaps, propagated =
        if n = 0L then Render.empty b h w l, None
        else
            let prev = Scalor.carried state.Objects
            let pr = Propagation.prior nets.Propagation prev
            let wb = sample pr.WhereBiasMean pr.WhereBiasStd
            let what = sample pr.WhatMean pr.WhatStd
            let depth = sample pr.DepthMean pr.DepthStd
            let presRaw = if mostLikely then pr.PresProb else snd (Distributions.relaxedBernoulli gen (logit pr.PresProb) tau)
            let cum = prev.Cum + (1.0 - presRaw) * prev.Mask
            let pres = presRaw * cum.lt(torch.tensor(c.StopThreshold)).to_type(torch.float32) * prev.Mask
            let txy = (prev.Where.narrow(1L, 2L, 2L) + c.WhereUpdateScale * torch.tanh(wb.narrow(1L, 2L, 2L))).clamp(min = torch.tensor(-1.05f), max = torch.tensor(1.05f))
            let sx, sy = Spatial.scaleFromRaw c.SizeAnchor c.SizeVar c.RatioAnchor c.RatioVar wb
            let where = torch.cat([| sx.unsqueeze(1L); sy.unsqueeze(1L); txy |], 1L)
            let o, alpha = Networks.glimpseDecode nets.GlimpseDec what
            Render.paste b o alpha pres depth where h w l, Some([ what; where; wb; depth; pres; prev.TrackH; pr.H; pr.C; cum ], pres)
    // Discovery from its prior: where, what, depth ~ N(0, 1), presence ~ relaxed Bernoulli(discoveryProb).
    let rawWhere = torch.randn([| b; 4L; int64 c.GridSize; int64 c.GridSize |], generator = gen)
    let zWhere = Spatial.discoveryWhere c.SizeAnchor c.SizeVar c.RatioAnchor c.RatioVar c.GridSize nets.Proposal.Offset rawWhere
    let what = torch.randn([| b * cells; int64 c.ZWhatDim |], generator = gen)
    let depth = torch.randn([| b * cells; 1L |], generator = gen)
    let presDisc =
        if discoveryProb <= 0.0 then torch.zeros(b, cells)
        else
            let p = withScalar discoveryProb (fun v -> torch.full([| b; cells |], v))
            snd (Distributions.relaxedBernoulli gen (logit p) tau)
    let o, alpha = Networks.glimpseDecode nets.GlimpseDec what
    let discMaps = Render.paste b o alpha (presDisc.reshape(-1L, 1L)) depth zWhere h w l
    let maps = Render.concat propMaps discMaps
    let fg, alphaFg = Render.composite maps h w
    // Background from its transition prior (N(0, 1) when nothing was observed).
    let zBg, hBg =
        match state.Background with
        | None -> torch.randn([| b; int64 c.BgDim |], generator = gen), torch.zeros(b, 32L)
        | Some(zPrev, hPrev) ->
            let hNext = gruCell nets.Background.PriorRnn zPrev hPrev
            let ps = (apply nets.Background.PriorNet hNext).chunk(2L, 1L)
            sample (zPrev + ps.[0]) (torch.nn.functional.softplus(ps.[1])), hNext
    let bg = Networks.bgDecode nets.Background.Dec zBg
    let objects, _ = Scalor.nextObjects c false true state.Objects propagated (what, zWhere, depth, presDisc)
    { state with Objects = objects; Background = Some(zBg, hBg); Frame = state.Frame + 1 },
    { Recon = Render.image fg alphaFg bg; Background = bg; AlphaFg = alphaFg; Objects = objects; Maps = maps }

/// Moves a frame's tensors out of `scope`, so that each step's temporaries are freed with it and only the frames
/// and the state stay: without it every temporary of every step lived to the end of the run (`generate --steps 200`
/// peaked at 15 GB, about 75 MB a step, and 100,000 steps were killed for memory).
let private keep (scope: DisposeScope) (state: Track.State) (f: Frame) =
    scope.MoveToOuter(f.Recon, f.Background, f.AlphaFg, f.Maps.Windows, f.Maps.X0, f.Maps.Y0, f.Maps.Index) |> ignore
    Track.keep scope state, f

/// Conditional generation: infer over the first `observe` frames of `seq` [B; T; 3; H; W] (deterministic),
/// then imagine `steps` frames. Frames after `observe` are never read.
/// `duplicateShare`: the observed frames' discoveries are also tested against each other (`Track.deterministic`).
let conditional (nets: Scalor.Nets) (gen: torch.Generator) (mostLikely: bool) (duplicateShare: float) (seq: Tensor) (observe: int) (steps: int) (discoveryProb: float) =
    let b = seq.shape.[0]
    let opts = Track.deterministic nets.Config duplicateShare
    let mutable state = Track.initial nets b
    let observed = ResizeArray()
    for t in 0 .. observe - 1 do
        use scope = torch.NewDisposeScope()
        let next, f = Track.step nets opts state (seq.select(1L, int64 t))
        let next, kept = keep scope next { Recon = f.Recon; Background = f.Background; AlphaFg = f.AlphaFg; Objects = f.Objects; Maps = f.Maps }
        state <- next
        observed.Add kept
    let imagined = ResizeArray()
    for _ in 1 .. steps do
        use scope = torch.NewDisposeScope()
        let next, f = keep scope <|| step nets gen nets.Config.TauEnd mostLikely discoveryProb state
        state <- next
        imagined.Add f
    List.ofSeq observed, List.ofSeq imagined

/// Generation from scratch: every latent from the priors, discovery presence `firstProb` (the paper: 0.2)
/// at the first step, then `laterProb` (0: propagation only).
let fromScratch (nets: Scalor.Nets) (gen: torch.Generator) (b: int64) (steps: int) (firstProb: float) (laterProb: float) =
    let mutable state = Track.initial nets b
    let frames = ResizeArray()
    for t in 0 .. steps - 1 do
        use scope = torch.NewDisposeScope()
        let next, f = keep scope <|| step nets gen nets.Config.TauEnd false (if t = 0 then firstProb else laterProb) state
        state <- next
        frames.Add f
    List.ofSeq frames
