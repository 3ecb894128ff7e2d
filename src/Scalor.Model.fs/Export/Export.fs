/// The per-frame inference step as an ONNX graph, written from the model's own structure and weights:
/// image encoder and ConvLSTM state, propagation of the live slots, discovery with rejection, slot compaction
/// with ids. Deterministic (means instead of samples, z_pres = sigmoid(logits)), batch 1, a fixed slot
/// capacity; the recurrent and object state are explicit inputs and outputs. Mirrors `Track.step` with
/// `Scalor.Means` line for line; `Export` tests check the two agree.
///
/// Three things differ from the TorchSharp step by construction, none changing the boxes and ids: the object
/// state has `Capacity` slots (dead slots carry mask 0 and are never kept); only live slots and discovery
/// cells above the keep threshold are computed (`Dense` computes all); and pasting uses full canvases (equal
/// to the windowed paste within 1e-5, a tested property). The background and the prior networks are not
/// needed for boxes and ids and are left out; `Render` adds the reconstruction, background, segmentation and each
/// object's rendering, a branch of its own that decodes the cells `track` renders (`Track.sparseFloor`).
module Scalor.Model.Export

open Scalor.Model.Config
open Scalor.Model.OnnxGraph

/// Names of the graph's state inputs; the outputs are the same names with a `next_` prefix.
let objectFields (c: ScalorConfig) =
    [ "what", int64 c.ZWhatDim; "where", 4L; "where_bias", 4L; "depth", 1L; "pres", 1L; "track_h", int64 c.TemporalRnnHid; "cum", 1L ]

let lstmNames (c: ScalorConfig) = if c.ConvLstm then [ for l in 0 .. 1 do yield sprintf "lstm_h%d" l; yield sprintf "lstm_c%d" l ] else []

type Options =
    { /// Object slots in the exported state.
      Capacity: int
      /// Also output the reconstruction, foreground alpha, background, segmentation and each object's own rendering
      /// (`object_ids`, `object_render`), of the cells `track` renders (`Track.sparseFloor`).
      Render: bool
      /// Propagate every slot and decode every discovery cell, live or not: a constant amount of work per frame
      /// (the paper's constant time in the number of objects), at the cost of the full capacity every frame.
      Dense: bool
      /// Discoveries are also tested against the stronger discoveries of the same frame with this share, as
      /// `Track.options` (`Discovery.rejectAmong`); `Discovery.noDuplicateTest`: the official rejection alone.
      DuplicateShare: float }

/// The outputs `Render` adds. A runtime that does not ask for them runs the graph without them
/// (`OnnxGraph.withoutOutputs`), which costs what a model exported without rendering costs.
let renderOutputs = set [ "recon"; "alpha_fg"; "background"; "segment"; "object_ids"; "object_render" ]

/// The presets' capacity (`Config.Capacity`, 128), which `Tracker` tracks with: with fewer slots a crowded scene's
/// newest discoveries find none free and go untracked, so the runtimes would part ways there.
let defaultOptions = { Capacity = toy64.Capacity; Render = false; Dense = false; DuplicateShare = Discovery.defaultDuplicateShare }

/// `defaultOptions` with the slots `nets` tracks with (`Config.Capacity`, which `Scalor.withCapacity` sets), so
/// that an exported model holds what `Tracker` holds for the same nets, whatever its config says.
let optionsFor (nets: Scalor.Nets) = { defaultOptions with Capacity = nets.Config.Capacity }

/// Builds the ONNX model of one tracking step of `nets`.
let build (nets: Scalor.Nets) (opts: Options) =
    let c = nets.Config
    let g = Graph()
    let h, w = int64 c.ImageSize, int64 c.ImageSize
    let gs = int64 c.GridSize
    let k = int64 c.Cells
    let cap = int64 opts.Capacity
    let d = int64 c.ImgEncodeDim
    let gl = int64 c.GlimpseSize
    let fixedDims (xs: int64 list) = xs |> List.map Choice1Of2
    // --- Inputs.
    let x = g.Input("image", DType.Float, fixedDims [ 1L; 3L; h; w ])
    let lstmIn = [ for n in lstmNames c -> g.Input(n, DType.Float, fixedDims [ 1L; d; gs; gs ]) ]
    let fields = objectFields c
    let state = dict [ for (n, dim) in fields -> n, g.Input(n, DType.Float, fixedDims [ 1L; cap; dim ]) ]
    let ids = g.Input("ids", DType.Int64, fixedDims [ 1L; cap ])
    let mask = g.Input("mask", DType.Float, fixedDims [ 1L; cap ])
    // --- Encoder and ConvLSTM (`Track.encodeFrame`).
    let e = nets.Encoder
    let enc0 = Ops.run g e.Image.Enc x
    let lat = Ops.run g e.Image.EncLat enc0
    let feats = Ops.run g e.Image.EncCat (Ops.concat g 1L [ enc0; lat ])
    let enc, lstmOut =
        if not c.ConvLstm then feats, []
        else
            let mutable input = feats
            let outs =
                [ for l, cell in Array.indexed e.Lstm do
                    let hPrev, cPrev = lstmIn.[2 * l], lstmIn.[2 * l + 1]
                    let gx = Ops.chunk g 4 1L (4L * d) (Ops.layer g cell.ConvX input)
                    let gh = Ops.chunk g 4 1L (4L * d) (Ops.layer g cell.ConvH hPrev)
                    let gate i (peep: TorchSharp.torch.Tensor) =
                        Ops.sigmoid g (Ops.add g (Ops.add g gx.[i] gh.[i]) (Ops.mul g cPrev (g.Weight peep)))
                    let ig, fg, og = gate 0 cell.Wci, gate 1 cell.Wcf, gate 2 cell.Wco
                    let cNext = Ops.add g (Ops.mul g fg cPrev) (Ops.mul g ig (Ops.tanh g (Ops.add g gx.[3] gh.[3])))
                    let hNext = Ops.mul g og (Ops.tanh g cNext)
                    input <- hNext
                    yield hNext
                    yield cNext ]
            input, outs
    // --- Propagation (`Propagation.step`, means) of the live slots only: the work follows the objects present,
    // not the capacity. Rows are gathered, propagated, and scattered back into the capacity layout.
    let p = nets.Propagation
    let live = Ops.rowsWhere g cap (cap - 1L) (g.Node("Greater", [ Ops.reshape g [ cap ] mask; g.Scalar (if opts.Dense then -1.0 else 0.5) ]))
    let flat name (dim: int64) = Ops.gatherRows g live (Ops.reshape g [ cap; dim ] state.[name])
    let prevWhat = flat "what" (int64 c.ZWhatDim)
    let prevWhere = flat "where" 4L
    let prevWb = flat "where_bias" 4L
    let prevPres = flat "pres" 1L
    let prevTrack = flat "track_h" (int64 c.TemporalRnnHid)
    let prevCum = flat "cum" 1L
    let prevMask = Ops.gatherRows g live (Ops.reshape g [ cap; 1L ] mask)
    let prevTxy = Ops.slice g 1L 2L 2L prevWhere
    let attWhere = Ops.concat g 1L [ Ops.affine g 0.0 0.5 prevTxy; prevTxy ]
    let att = Ops.cropMany g enc d attWhere (gs / 2L)
    let attEnc = Ops.layer g p.AttEnc (Ops.reshape g [ -1L; d * (gs / 2L) * (gs / 2L) ] (Ops.run g p.AttConv att))
    let trackIn = Ops.layer g p.TrackerIn (Ops.concat g 1L [ prevWhere; prevPres; prevWhat; prevWb; attEnc ])
    let hTrack = Ops.gruCell g p.Tracker trackIn prevTrack
    let wt = Ops.chunk g 2 1L 8L (Ops.run g p.WhereTransit (Ops.concat g 1L [ hTrack; prevWhat; prevWhere; prevWb; attEnc ]))
    let bRaw = wt.[0]
    let txy = Ops.clip g -1.05 1.05 (Ops.add g prevTxy (Ops.mul g (g.Scalar c.WhereUpdateScale) (Ops.tanh g (Ops.slice g 1L 2L 2L bRaw))))
    let scaleOf raw =
        let cols = Ops.columns g 4 raw
        let scale = Ops.affine g c.SizeVar c.SizeAnchor (Ops.tanh g cols.[0])
        let ratio = Ops.sqrt g (Ops.affine g c.RatioVar c.RatioAnchor (Ops.tanh g cols.[1]))
        Ops.div g scale ratio, Ops.mul g scale ratio, cols
    let sx, sy, _ = scaleOf bRaw
    let propWhere = Ops.concat g 1L [ sx; sy; txy ]
    let zWhatMean glimpses =
        let hdn = Ops.reshape g [ -1L; 128L ] (Ops.run g nets.ZWhat.Cnn glimpses)
        (Ops.chunk g 2 1L (2L * int64 c.ZWhatDim) (Ops.layer g nets.ZWhat.What hdn)).[0]
    let decode what =
        let dec = nets.GlimpseDec
        let hh = Ops.run g dec.Dec (Ops.reshape g [ -1L; int64 c.ZWhatDim; 1L; 1L ] what)
        // The RGB head only enters the graph when rendering asks for it; tracking needs the alpha alone.
        (fun () -> Ops.sigmoid g (Ops.run g dec.DecO hh)), Ops.sigmoid g (Ops.run g dec.DecAlpha hh)
    let encMean = zWhatMean (Ops.cropMany g x 3L propWhere gl)
    let tmpMean = (Ops.chunk g 2 1L (2L * int64 c.ZWhatDim) (Ops.run g p.WhatTemporal hTrack)).[0]
    let gates = Ops.chunk g 2 1L 2L (Ops.sigmoid g (Ops.run g p.WhatGate (Ops.concat g 1L [ hTrack; attEnc ])))
    let propWhat = Ops.add g (Ops.mul g gates.[1] encMean) (Ops.mul g gates.[0] tmpMean)
    let propDepth = (Ops.chunk g 2 1L 2L (Ops.run g p.DepthTransit (Ops.concat g 1L [ hTrack; propWhat; attEnc ]))).[0]
    let presLogits =
        Ops.mul g (g.Scalar c.PresLogitFactor)
            (Ops.tanh g (Ops.affine g 1.0 2.0 (Ops.run g p.PresTransit (Ops.concat g 1L [ hTrack; propWhere; bRaw; propWhat ]))))
    let presRaw = Ops.sigmoid g presLogits
    let cum = Ops.add g prevCum (Ops.mul g (Ops.affine g -1.0 1.0 presRaw) prevMask)
    let propPres = Ops.mul g (Ops.mul g presRaw (Ops.ltF g c.StopThreshold cum)) prevMask
    let propO, propAlpha = decode propWhat
    // --- Propagated alpha: Σ paste(α·z_pres), clamped ([S]; the straight-through clamp's forward).
    let propAz = Ops.mul g propAlpha (Ops.reshape g [ -1L; 1L; 1L; 1L ] propPres)
    let propAzFull = Ops.paste g propAz 1L propWhere h w
    let alphaProp = Ops.clip g 1e-15 (float (1.0f - 1e-15f)) (Ops.reduceSum g [ 0L ] true propAzFull)
    // --- Discovery (`Discovery.propose` and `Scalor.frame`).
    let pn = nets.Proposal
    let maskEnc = Ops.run g pn.MaskEnc alphaProp
    let fused = Ops.run g pn.Fuse (Ops.concat g 1L [ enc; maskEnc ])
    let whereMean = (Ops.chunk g 2 1L 8L (Ops.run g pn.Where fused)).[0]
    let depthMean = (Ops.chunk g 2 1L 2L (Ops.run g pn.Depth fused)).[0]
    let cellLogits = Ops.mul g (g.Scalar c.PresLogitFactor) (Ops.tanh g (Ops.run g pn.Pres fused))
    let presCell = Ops.reshape g [ 1L; k ] (Ops.sigmoid g cellLogits)
    // `Spatial.discoveryWhere`.
    let discWhere =
        let r = Ops.split g 1L [ 1L; 1L; 1L; 1L ] whereMean
        let scale = Ops.affine g c.SizeVar c.SizeAnchor (Ops.tanh g r.[0])
        let sqrtRatio = Ops.sqrt g (Ops.affine g c.RatioVar c.RatioAnchor (Ops.tanh g r.[1]))
        let offs = Ops.split g 0L [ 1L; 1L ] (g.Weight pn.Offset)
        let centre (off: string) (raw: string) =
            Ops.affine g (2.0 / float c.GridSize) -1.0 (Ops.add g (Ops.affine g 1.0 0.5 (Ops.unsqueeze g [ 0L ] off)) (Ops.tanh g raw))
        let stacked = Ops.concat g 1L [ Ops.div g scale sqrtRatio; Ops.mul g scale sqrtRatio; centre offs.[0] r.[2]; centre offs.[1] r.[3] ]
        Ops.reshape g [ k; 4L ] (Ops.transpose g [ 0L; 2L; 3L; 1L ] stacked)
    // Only cells that could join the list (z_pres above the keep threshold) need a glimpse, a decoded alpha and
    // the rejection test; the others are dropped by compaction whatever they hold (`Dense`: every cell).
    // Returns, for the cells `cand` lists: their z_where, z_what, RGB (a thunk), alpha and its full canvases, and
    // [1; k] each cell's z_pres after rejection (0 for cells not listed).
    let discoverAt (cand: string) =
        let candWhere = Ops.gatherRows g cand discWhere
        let candWhat = zWhatMean (Ops.cropMany g x 3L candWhere gl)
        let discO, discAlpha = decode candWhat
        // Rejection: share of each proposal's mask (alpha > τ_p) explained by propagated alpha (> τ_e).
        let candAlphaFull = Ops.paste g discAlpha 1L candWhere h w
        let proposed = Ops.gtF g c.ProposalAlphaThreshold candAlphaFull
        let explained = Ops.gtF g c.PropagatedAlphaThreshold alphaProp
        let overlap = Ops.reduceSum g [ 1L; 2L; 3L ] false (Ops.mul g proposed explained)
        let area = Ops.reduceSum g [ 1L; 2L; 3L ] false proposed
        let candAccept0 = Ops.ltF g c.RejectionThreshold (Ops.div g overlap (Ops.affine g 1.0 1e-15 area))
        let candAccept =
            if not (Discovery.testsDuplicates opts.DuplicateShare) then candAccept0
            else
                // `Discovery.rejectAmong` over the candidates' full canvases: stronger[i; j] = eligible j that
                // outranks i (presence higher by more than the tolerance, else earlier in raster order); i is a
                // duplicate when one stronger mask covers DuplicateShare of its own. Only cells above the keep
                // threshold are eligible, so listing more cells changes no listed cell's verdict.
                let candPres = Ops.gatherRows g cand (Ops.reshape g [ k; 1L ] presCell)
                let eligible = Ops.gtF g c.DiscoveryKeepThreshold (Ops.mul g candPres (Ops.unsqueeze g [ 1L ] candAccept0))
                let pRow, pCol = Ops.reshape g [ 1L; -1L ] candPres, Ops.reshape g [ -1L; 1L ] candPres
                let cellIdx = Ops.cast g DType.Float cand
                let earlier = g.Node("Less", [ Ops.reshape g [ 1L; -1L ] cellIdx; Ops.reshape g [ -1L; 1L ] cellIdx ])
                let above = g.Node("Greater", [ pRow; Ops.affine g 1.0 Discovery.rankTolerance pCol ])
                let close = g.Node("LessOrEqual", [ g.Node("Abs", [ Ops.sub g pRow pCol ]); g.Scalar Discovery.rankTolerance ])
                let stronger =
                    Ops.mul g (Ops.cast g DType.Float (g.Node("Or", [ above; g.Node("And", [ close; earlier ]) ]))) (Ops.reshape g [ 1L; -1L ] eligible)
                let masks = Ops.reshape g [ -1L; h * w ] proposed
                let overlap = g.Node("MatMul", [ masks; Ops.transpose g [ 1L; 0L ] masks ])
                let covered = Ops.div g overlap (Ops.affine g 1.0 1e-15 (Ops.reduceSum g [ 1L ] true masks))
                let worst = Ops.reduceMax g [ 1L ] false (Ops.mul g covered stronger)
                Ops.mul g candAccept0 (Ops.ltF g opts.DuplicateShare worst)
        let accept = Ops.reshape g [ 1L; k ] (Ops.scatterRows g k 1L cand (Ops.unsqueeze g [ 1L ] candAccept))
        candWhere, candWhat, discO, discAlpha, candAlphaFull, Ops.mul g presCell accept
    let cand =
        if opts.Dense then Ops.rowsWhere g k 0L (g.Node("Greater", [ Ops.reshape g [ k ] presCell; g.Scalar -1.0 ]))
        else Ops.rowsWhere g k 0L (g.Node("Greater", [ Ops.reshape g [ k ] presCell; g.Scalar c.DiscoveryKeepThreshold ]))
    let tracked = discoverAt cand
    let _, candWhat, _, _, candAlphaFull, discPres = tracked
    let discWhat = Ops.scatterRows g k (int64 c.ZWhatDim) cand candWhat
    // `Track.rendering`'s `Visible`: each object's Σ α·z_pres over the frame (full canvases hold only the frame's pixels).
    let propVisible = Ops.reshape g [ -1L; 1L ] (Ops.reduceSum g [ 1L; 2L; 3L ] false propAzFull)
    let candVisible = Ops.mul g (Ops.reshape g [ -1L; 1L ] (Ops.reduceSum g [ 1L; 2L; 3L ] false candAlphaFull)) (Ops.gatherRows g cand (Ops.reshape g [ k; 1L ] discPres))
    let discVisible = Ops.scatterRows g k 1L cand candVisible
    // `Track.rendering`'s mask box: the first and last column (row) where α·z_pres exceeds the config's
    // `ProposalAlphaThreshold`, from full canvases [m; 1; h; w] → [m; 4] (left, top, width, height); all 0
    // without such a pixel.
    let maskBox (az: string) =
        let m = Ops.gtF g c.ProposalAlphaThreshold az
        let span (any: string) (extent: int64) =
            let u = g.Floats([| 1L; extent |], Array.init (int extent) float32)
            let far = float (4L * max h w)
            let gap = Ops.affine g (-far) far any
            let first = Ops.neg g (Ops.reduceMax g [ 1L ] true (Ops.neg g (Ops.add g u gap)))
            let last = Ops.reduceMax g [ 1L ] true (Ops.sub g u gap)
            let has = Ops.reduceMax g [ 1L ] true any
            Ops.mul g first has, Ops.mul g (g.Node("Relu", [ Ops.affine g 1.0 1.0 (Ops.sub g last first) ])) has
        let left, width = span (Ops.reduceMax g [ 1L; 2L ] false m) w
        let top, height = span (Ops.reduceMax g [ 1L; 3L ] false m) h
        Ops.concat g 1L [ left; top; width; height ]
    let propBox = maskBox propAzFull
    let candBox = maskBox (Ops.mul g candAlphaFull (Ops.reshape g [ -1L; 1L; 1L; 1L ] (Ops.gatherRows g cand (Ops.reshape g [ k; 1L ] discPres))))
    let discBox = Ops.scatterRows g k 4L cand candBox
    // --- Compaction (`Scalor.compact`): survivors first, then kept discoveries, stable, first `cap`.
    let back (dim: int64) v = Ops.scatterRows g cap dim live v
    let keepProp = Ops.reshape g [ 1L; cap ] (Ops.gtF g 0.0 (back 1L propPres))
    let keepDisc = Ops.gtF g c.DiscoveryKeepThreshold discPres
    let keep = Ops.concat g 1L [ keepProp; keepDisc ]
    let total = cap + k
    let key = Ops.add g (Ops.affine g (-float total) (float total) keep) (g.Floats([| 1L; total |], Array.init (int total) float32))
    let order = (g.NodeN("TopK", [ key; g.Shape [ cap ] ], 2, [ attrInt "axis" 1L; attrInt "largest" 0L; attrInt "sorted" 1L ])).[1]
    let kept = g.Node("GatherElements", [ keep; order ], [ attrInt "axis" 1L ])
    let zerosK (dim: int64) = g.Floats([| k; dim |], Array.zeroCreate (int (k * dim)))
    let take (prop: string) (disc: string) (dim: int64) =
        let both = Ops.reshape g [ 1L; total; dim ] (Ops.concat g 0L [ prop; disc ])
        let idx = Ops.expand g [ 1L; cap; dim ] (Ops.unsqueeze g [ 2L ] order)
        Ops.mul g (g.Node("GatherElements", [ both; idx ], [ attrInt "axis" 1L ])) (Ops.unsqueeze g [ 2L ] kept)
    let nextFields =
        let dw, th = int64 c.ZWhatDim, int64 c.TemporalRnnHid
        [ "what", take (back dw propWhat) discWhat dw
          "where", take (back 4L propWhere) discWhere 4L
          "where_bias", take (back 4L bRaw) (zerosK 4L) 4L
          "depth", take (back 1L propDepth) (Ops.reshape g [ k; 1L ] depthMean) 1L
          "pres", take (back 1L propPres) (Ops.reshape g [ k; 1L ] discPres) 1L
          "track_h", take (back th hTrack) (zerosK th) th
          "cum", take (back 1L cum) (zerosK 1L) 1L ]
    let maxId = Ops.reduceMax g [ 1L ] true ids
    let newIds = Ops.add g maxId (g.Ints([| 1L; k |], Array.init (int k) (fun i -> int64 (i + 1))))
    let nextIds = Ops.mul g (g.Node("GatherElements", [ Ops.concat g 1L [ ids; newIds ]; order ], [ attrInt "axis" 1L ])) (Ops.cast g DType.Int64 kept)
    // --- Outputs.
    for n, v in List.zip (lstmNames c) lstmOut do g.Output("next_" + n, v, DType.Float, fixedDims [ 1L; d; gs; gs ])
    g.Output("visible", Ops.reshape g [ 1L; cap ] (take (back 1L propVisible) discVisible 1L), DType.Float, fixedDims [ 1L; cap ])
    g.Output("mask_box", take (back 4L propBox) discBox 4L, DType.Float, fixedDims [ 1L; cap; 4L ])
    let nextByName = dict nextFields
    for (n, dim) in fields do g.Output("next_" + n, nextByName.[n], DType.Float, fixedDims [ 1L; cap; dim ])
    g.Output("next_ids", nextIds, DType.Int64, fixedDims [ 1L; cap ])
    g.Output("next_mask", kept, DType.Float, fixedDims [ 1L; cap ])
    g.Output("accepted", keepDisc, DType.Float, fixedDims [ 1L; k ])
    if opts.Render then
        // The rendering is a branch of its own beside the tracking above, which it leaves as it is: the cells `track`
        // renders (`Track.tracking`: presence above `Track.sparseFloor`; the others count as absent) decoded and
        // tested. Only candidates above the keep threshold can reject a cell, so each candidate's verdict is the
        // tracking's. A runtime steps frames it does not draw with the graph without these outputs (`renderOutputs`),
        // so such a frame costs what it costs in a model exported without rendering.
        let shownCells =
            if opts.Dense then cand
            else Ops.rowsWhere g k 0L (g.Node("Greater", [ Ops.reshape g [ k ] presCell; g.Scalar Track.sparseFloor ]))
        let shownWhere, _, shownO, shownAlpha, _, shownPres = if opts.Dense then tracked else discoverAt shownCells
        // The cell `rowsWhere` lists even when none passes the floor renders nothing, as in `track`.
        let shownPres = Ops.gatherRows g shownCells (Ops.reshape g [ k; 1L ] (Ops.mul g shownPres (Ops.gtF g Track.sparseFloor presCell)))
        let groups = [ propO, propAlpha, propPres, propDepth, propWhere
                       shownO, shownAlpha, shownPres, Ops.gatherRows g shownCells (Ops.reshape g [ k; 1L ] depthMean), shownWhere ]
        // Each live slot's and cell's own maps on the frame's canvas [n; 5; h; w]: α·z_pres·o, α·z_pres, and the
        // importance α·z_pres·sigmoid(−depth) (`Render.fullMaps`).
        let fulls =
            [ for (oo, a, pr, dp, wh) in groups do
                let oo = oo ()
                let az = Ops.mul g a (Ops.reshape g [ -1L; 1L; 1L; 1L ] pr)
                let imp = Ops.mul g az (Ops.reshape g [ -1L; 1L; 1L; 1L ] (Ops.sigmoid g (Ops.neg g dp)))
                yield Ops.paste g (Ops.concat g 1L [ Ops.mul g az oo; az; imp ]) 5L wh h w ]
        // Depth-weighted compositing (`Render.composite`), then the background.
        let maps =
            [ for full in fulls do
                let weighted = Ops.mul g (Ops.slice g 1L 0L 3L full) (Ops.slice g 1L 4L 1L full)
                yield Ops.reduceSum g [ 0L ] true (Ops.concat g 1L [ weighted; Ops.slice g 1L 3L 2L full ]) ]
        let sums = Ops.add g maps.[0] maps.[1]
        let fg = Ops.div g (Ops.slice g 1L 0L 3L sums) (Ops.affine g 1.0 1e-15 (Ops.slice g 1L 4L 1L sums))
        let alphaFg = Ops.clip g 1e-15 (float (1.0f - 1e-15f)) (Ops.slice g 1L 3L 1L sums)
        let bgNet = nets.Background
        let bgMean = (Ops.chunk g 2 1L (2L * int64 c.BgDim) (Ops.reshape g [ 1L; -1L ] (Ops.run g bgNet.Enc.BgEnc (Ops.concat g 1L [ x; Ops.affine g -1.0 1.0 alphaFg ])))).[0]
        let zBg = Ops.reshape g [ 1L; int64 c.BgDim; 1L; 1L ] bgMean
        let bgInput =
            match bgNet.Dec.Position with
            | None -> zBg
            | Some pos -> Ops.concat g 1L [ g.Weight pos; Ops.expand g [ 1L; int64 c.BgDim; h; w ] zBg ]
        let bg = Ops.sigmoid g (Ops.run g bgNet.Dec.BgOut (Ops.run g bgNet.Dec.BgDec bgInput))
        let recon = Ops.add g fg (Ops.mul g (Ops.affine g -1.0 1.0 alphaFg) bg)
        g.Output("recon", recon, DType.Float, fixedDims [ 1L; 3L; h; w ])
        g.Output("alpha_fg", alphaFg, DType.Float, fixedDims [ 1L; 1L; h; w ])
        g.Output("background", bg, DType.Float, fixedDims [ 1L; 3L; h; w ])
        // The id each rendered row stands for: a live slot's own, a cell's the one it would be given
        // (`newIds`, as `Scalor.nextObjects` numbers them), so the pictures colour a frame as `track`'s do.
        let rowIds = Ops.concat g 0L [ Ops.gatherRows g live (Ops.reshape g [ cap ] ids); Ops.gatherRows g shownCells (Ops.reshape g [ k ] newIds) ]
        let rows = Ops.concat g 0L fulls
        let objects = Choice2Of2 "objects"
        g.Output("object_ids", rowIds, DType.Int64, [ objects ])
        g.Output("object_render", Ops.slice g 1L 0L 3L rows, DType.Float, [ objects; Choice1Of2 3L; Choice1Of2 h; Choice1Of2 w ])
        // The segmentation: each pixel where α_fg ≥ 0.1 shows the row of the largest importance there (the first
        // on ties, as torch's max), else 0.
        let strongest = g.Node("ArgMax", [ Ops.slice g 1L 4L 1L rows ], [ attrInt "axis" 0L; attrInt "keepdims" 0L ])
        let shown = g.Node("Gather", [ rowIds; strongest ], [ attrInt "axis" 0L ])
        let faint = g.Node("Less", [ Ops.reshape g [ 1L; h; w ] alphaFg; g.Scalar 0.1 ])
        g.Output("segment", g.Node("Where", [ faint; g.Ints([||], [| 0L |]); shown ]), DType.Int64, fixedDims [ 1L; h; w ])
    let meta =
        [ "scalor.capacity", string opts.Capacity
          "scalor.image_size", string c.ImageSize
          "scalor.zwhat_dim", string c.ZWhatDim
          "scalor.track_hidden", string c.TemporalRnnHid
          "scalor.grid", string c.GridSize
          "scalor.enc_dim", string c.ImgEncodeDim
          "scalor.conv_lstm", (if c.ConvLstm then "true" else "false")
          "scalor.render", (if opts.Render then "true" else "false")
          "scalor.dense", (if opts.Dense then "true" else "false")
          "scalor.min_visible_px", string (Track.minVisiblePixels c Track.defaultMinVisibleShare)
          // Baked into the graph; recorded so a model file says which rejection it runs ("official": none among
          // discoveries; the explained share is the official test's).
          Train.duplicateShareKey, Train.formatDuplicateShare opts.DuplicateShare
          Train.explainedShareKey, Train.formatShare c.RejectionThreshold ]
    g.Model("scalor_track_step", meta)

/// The ONNX model of `nets` (refused for a ConvLSTM whose initial state is not zero).
let model (nets: Scalor.Nets) (opts: Options) =
    use _ = TorchSharp.torch.no_grad()
    for cell in nets.Encoder.Lstm do
        // The runtime starts the ConvLSTM from zeros; the official initial states are zero buffers.
        if cell.H0.abs().max().item<float32>() <> 0.0f || cell.C0.abs().max().item<float32>() <> 0.0f then
            invalidOp "the ConvLSTM's initial state is not zero; this exporter assumes it is"
    build nets opts

/// `model` with `records` added to its metadata: how the model saw footage in training (`Train.footageRecordsOf`),
/// so that a runtime feeds it frames the same way (`OnnxTracker.FrameStep`, `Crops`).
let modelRecording (nets: Scalor.Nets) (opts: Options) (records: (string * string) list) =
    let m = model nets opts
    for (key, value) in records do
        m.MetadataProps.Add(Onnx.StringStringEntryProto(Key = key, Value = value))
    m

/// Exports to a file with `records` in its metadata (`modelRecording`), whole or not at all (`Files.writeDurably`):
/// a crash never leaves half a model.
let saveRecording (nets: Scalor.Nets) (opts: Options) (records: (string * string) list) (path: string) =
    let m = modelRecording nets opts records
    Scalor.IO.Files.writeDurably path (fun s -> let bytes = toBytes m in s.Write(bytes, 0, bytes.Length))
    m

/// Exports to a file (`saveRecording` with no records).
let save (nets: Scalor.Nets) (opts: Options) (path: string) = saveRecording nets opts [] path
