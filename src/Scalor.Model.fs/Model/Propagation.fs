/// Propagation ([S] `propagation.py`): every tracked object, in parallel, attends to the encoded frame
/// around its previous position, updates its tracker GRU, and proposes new latents; a learned prior
/// (an LSTM over the previous latents) scores them.
module Scalor.Model.Propagation

open TorchSharp
open Scalor.Model.Config
open Scalor.Model.Store

type PropagationNet =
    { AttConv: Layer[]
      AttEnc: Layer
      TrackerIn: Layer
      Tracker: Gru
      WhereTransit: Layer[]
      WhatTemporal: Layer[]
      WhatGate: Layer[]
      DepthTransit: Layer[]
      PresTransit: Layer[]
      PriorIn: Layer
      PriorRnn: Lstm
      PriorWhat: Layer
      PriorWhereBias: Layer
      PriorDepth: Layer
      PriorPres: Layer }

let propagationNet (s: Store) (c: ScalorConfig) =
    let p = "propagate_cell"
    let d, w, th, ph = c.ImgEncodeDim, c.ZWhatDim, c.TemporalRnnHid, c.PriorRnnHid
    let att = c.GridSize / 2
    let mlp name fin hid fout = sequential s (p + "." + name) [ Linear(fin, hid); Celu; Linear(hid, fout) ]
    { AttConv = sequential s (p + ".attention_encoding.temporal_img_conv_net") (block d d 1 1 0 8)
      AttEnc = linear s (p + ".attention_encoding.temporal_img_enc_net") (d * att * att) c.TemporalImgEncDim
      TrackerIn = linear s (p + ".temporal_rnn_inp_net") (4 + 1 + w + 4 + c.TemporalImgEncDim) th
      Tracker = gru s (p + ".temporal_rnn.cell") th th
      WhereTransit = mlp "z_where_transit_bias_net" (th + w + 4 + 4 + c.TemporalImgEncDim) 128 8
      WhatTemporal = mlp "z_what_from_temporal_net" th 64 (2 * w)
      WhatGate = mlp "z_what_gate_net" (th + c.TemporalImgEncDim) 64 2
      DepthTransit = mlp "z_depth_transit_net" (th + w + c.TemporalImgEncDim) 128 2
      PresTransit = mlp "z_pres_transit" (th + 4 + 4 + w) 64 1
      PriorIn = linear s (p + ".prior_cell.prior_rnn_inp_net") (w + 4 + 4 + 1 + 1) 128
      PriorRnn = lstm s (p + ".prior_cell.prior_rnn") 128 ph
      PriorWhat = linear s (p + ".prior_cell.prior_what_net") ph (2 * w)
      PriorWhereBias = linear s (p + ".prior_cell.prior_where_bias_net") ph 8
      PriorDepth = linear s (p + ".prior_cell.prior_depth_net") ph 2
      PriorPres = linear s (p + ".prior_cell.prior_pres_net") ph 1 }

/// Latents and recurrent state of the tracked objects, flattened to BN = B·N rows.
type Carried =
    { What: Tensor // [BN; Dw]
      Where: Tensor // [BN; 4] (sx, sy, tx, ty)
      WhereBias: Tensor // [BN; 4] raw where sample b of the last step
      Depth: Tensor // [BN; 1]
      Pres: Tensor // [BN; 1] relaxed z_pres
      TrackH: Tensor // [BN; 128]
      PriorH: Tensor // [BN; 64]
      PriorC: Tensor // [BN; 64]
      Cum: Tensor // [BN; 1] accumulated absence
      Mask: Tensor } // [BN; 1] 1 for a live slot

/// The learned prior over this step's latents, from the previous latents only.
type Prior =
    { WhatMean: Tensor; WhatStd: Tensor; WhereBiasMean: Tensor; WhereBiasStd: Tensor
      DepthMean: Tensor; DepthStd: Tensor; PresProb: Tensor; H: Tensor; C: Tensor }

let prior (net: PropagationNet) (prev: Carried) =
    let x = apply net.PriorIn (torch.cat([| prev.What; prev.Where; prev.WhereBias; prev.Depth; prev.Pres |], 1L))
    let h, c = lstmCell net.PriorRnn x prev.PriorH prev.PriorC
    let what = (apply net.PriorWhat h).chunk(2L, 1L)
    let wb = (apply net.PriorWhereBias h).chunk(2L, 1L)
    let depth = (apply net.PriorDepth h).chunk(2L, 1L)
    let sp (t: Tensor) = torch.nn.functional.softplus(t)
    { WhatMean = what.[0]; WhatStd = sp what.[1]
      WhereBiasMean = wb.[0]; WhereBiasStd = sp wb.[1]
      DepthMean = depth.[0]; DepthStd = sp depth.[1]
      // +5: "keep" bias at initialisation (p ≈ 0.993), the paper's bias toward propagation (§3.2).
      PresProb = torch.sigmoid(apply net.PriorPres h + 5.0)
      H = h; C = c }

/// One propagation step's posterior output.
type Step =
    { What: Tensor; WhatMean: Tensor; WhatStd: Tensor
      Where: Tensor; WhereBias: Tensor; WhereBiasMean: Tensor; WhereBiasStd: Tensor
      Depth: Tensor; DepthMean: Tensor; DepthStd: Tensor
      /// Pres: after the stop rule and the slot mask; PresSample: the relaxed sample itself.
      PresLogits: Tensor; Pres: Tensor; PresSample: Tensor; Cum: Tensor; TrackH: Tensor
      /// Glimpse RGB and alpha [BN; 3|1; g; g].
      O: Tensor; Alpha: Tensor }

/// Posterior step. `enc` [B; D; G; G] and `images` [B; 3; H; W] are the frame's encoding and pixels; rows
/// of `prev` are (b, n) ordered, N per image.
/// `sample` draws (mean, std) → z; `relaxed` draws logits → (y, z_pres). Deterministic mode passes means.
let step (net: PropagationNet) (zWhatEnc: Networks.ZWhatEncoder) (glimpseDec: Networks.GlimpseDecoder) (c: ScalorConfig)
         (enc: Tensor) (images: Tensor) (prev: Carried)
         (sample: Tensor -> Tensor -> Tensor) (relaxed: Tensor -> Tensor * Tensor) =
    let bn = prev.What.shape.[0]
    // Attention window: half the map, centred on the previous position (detached, [S]).
    let attWhere =
        let t = prev.Where.narrow(1L, 2L, 2L).detach()
        torch.cat([| withScalar 0.5 (fun h -> torch.full([| bn; 2L |], h)); t |], 1L)
    let att = Spatial.cropMany enc attWhere (c.GridSize / 2)
    let attEnc = apply net.AttEnc ((run net.AttConv att).flatten(1L))
    let trackIn = apply net.TrackerIn (torch.cat([| prev.Where; prev.Pres; prev.What; prev.WhereBias; attEnc |], 1L))
    let h = gruCell net.Tracker trackIn prev.TrackH
    let wt = (run net.WhereTransit (torch.cat([| h; prev.What; prev.Where; prev.WhereBias; attEnc |], 1L))).chunk(2L, 1L)
    let wbMean, wbStd = wt.[0], torch.nn.functional.softplus(wt.[1] - 2.0)
    let b = sample wbMean wbStd
    // Position is a bounded residual step; scale is re-derived from the anchors every step ([S]).
    let txy = (prev.Where.narrow(1L, 2L, 2L) + c.WhereUpdateScale * torch.tanh(b.narrow(1L, 2L, 2L))).clamp(min = torch.tensor(-1.05f), max = torch.tensor(1.05f))
    let sx, sy = Spatial.scaleFromRaw c.SizeAnchor c.SizeVar c.RatioAnchor c.RatioVar b
    let where = torch.cat([| sx.unsqueeze(1L); sy.unsqueeze(1L); txy |], 1L)
    let glimpse = Spatial.cropMany images where c.GlimpseSize
    let encMean, encStd = Networks.zWhatEncode zWhatEnc glimpse
    let tmp = (run net.WhatTemporal h).chunk(2L, 1L)
    let tmpMean, tmpStd = tmp.[0], torch.nn.functional.softplus(tmp.[1])
    let gates = torch.sigmoid(run net.WhatGate (torch.cat([| h; attEnc |], 1L))).chunk(2L, 1L)
    let forget, input = gates.[0], gates.[1]
    let whatMean = input * encMean + forget * tmpMean
    let whatStd = torch.nn.functional.softplus(input * encStd + forget * tmpStd)
    let what = sample whatMean whatStd
    let dp = (run net.DepthTransit (torch.cat([| h; what; attEnc |], 1L))).chunk(2L, 1L)
    let depthMean, depthStd = dp.[0], torch.nn.functional.softplus(dp.[1])
    let depth = sample depthMean depthStd
    // +2: the presence head starts biased towards keeping (p ≈ 0.9998).
    let presLogits = c.PresLogitFactor * torch.tanh(run net.PresTransit (torch.cat([| h; where; b; what |], 1L)) + 2.0)
    let _, presRaw = relaxed presLogits
    // Stop rule: once accumulated absence reaches the threshold the object is gone for good.
    let cum = prev.Cum + (1.0 - presRaw) * prev.Mask
    let pres = presRaw * (cum.lt(torch.tensor(c.StopThreshold))).to_type(torch.float32) * prev.Mask
    let o, alpha = Networks.decode c.RecomputeDecoder glimpseDec what
    { What = what; WhatMean = whatMean; WhatStd = whatStd
      Where = where; WhereBias = b; WhereBiasMean = wbMean; WhereBiasStd = wbStd
      Depth = depth; DepthMean = depthMean; DepthStd = depthStd
      PresLogits = presLogits; Pres = pres; PresSample = presRaw; Cum = cum; TrackH = h; O = o; Alpha = alpha }
