/// Discovery ([S] `discovery.py`): proposals from every grid cell in parallel, conditioned on the alpha of
/// the propagated objects, then the rejection test that keeps discovery from re-finding tracked objects.
module Scalor.Model.Discovery

open TorchSharp
open Scalor.Model.Config
open Scalor.Model.Store

type ProposalNet =
    { MaskEnc: Layer[]
      Fuse: Layer[]
      Where: Layer[]
      Pres: Layer[]
      Depth: Layer[]
      /// (column, row) index of every cell, [2; G; G].
      Offset: Tensor }

let proposalNet (s: Store) (c: ScalorConfig) =
    let p = "proposal_rejection_cell.ProposalNet"
    let extra = if c.ImageSize = 128 then block 64 64 4 2 1 8 else []
    let mask =
        block 1 16 4 2 1 4 @ block 16 32 4 2 1 8 @ block 32 32 3 1 1 8 @ block 32 64 4 2 1 8 @ extra
        @ block 64 64 3 1 1 8 @ block 64 c.PropagateEncodeDim 1 1 0 8
    let head name hidden outC =
        if c.ImageSize = 128 then sequential s (p + "." + name) (block 64 hidden 1 1 0 8 @ [ Conv(hidden, outC, 1, 1, 0) ])
        else [| conv s (p + "." + name) 64 outC 1 1 0 true |]
    { MaskEnc = sequential s (p + ".mask_enc_net") mask
      Fuse = sequential s (p + ".img_mask_cat_enc") (block (c.ImgEncodeDim + c.PropagateEncodeDim) 64 1 1 0 16 @ block 64 64 1 1 0 16)
      Where = head "z_where_net" 64 8
      Pres = head "z_pres_net" 64 1
      Depth = head "z_depth_net" 32 2
      Offset = s.Buffer(p + ".offset", Spatial.cellOffsets c.GridSize) }

/// Deterministic proposal heads (before any sampling).
type Proposal =
    { /// [B; 1; G; G], bounded to ±PresLogitFactor.
      PresLogits: Tensor
      /// [B; 1; G; G] each.
      DepthMean: Tensor
      DepthStd: Tensor
      /// [B; 4; G; G] each: raw (pre-tanh) z_where distribution.
      WhereMean: Tensor
      WhereStd: Tensor }

/// `imgEnc` [B; D; G; G], `alphaProp` [B; 1; H; W] (propagated alpha sum, clamped and detached).
let propose (net: ProposalNet) (c: ScalorConfig) (imgEnc: Tensor) (alphaProp: Tensor) =
    let maskEnc = run net.MaskEnc alphaProp
    let fused = run net.Fuse (torch.cat([| imgEnc; maskEnc |], 1L))
    let where = (run net.Where fused).chunk(2L, 1L)
    let depth = (run net.Depth fused).chunk(2L, 1L)
    { PresLogits = c.PresLogitFactor * torch.tanh(run net.Pres fused)
      DepthMean = depth.[0]
      DepthStd = torch.nn.functional.softplus(depth.[1])
      WhereMean = where.[0]
      WhereStd = torch.nn.functional.softplus(where.[1]) }

/// Rejection ([S] `ProposalRejectionCell`, t > 0): a proposal whose own mask (its unmasked alpha pasted,
/// > ProposalAlphaThreshold) is explained by propagated objects (their alpha sum > PropagatedAlphaThreshold)
/// for at least RejectionThreshold of its pixels is rejected. Pixel overlap, not box IoU.
/// `proposalAlpha` [B; K; 1; h; w] and `propagatedAlpha` [B; K; 1; h; w], the propagated alpha sum read at
/// the same pixels (full images, or each proposal's window) → accept mask [B; K] (float 0/1).
let rejection (c: ScalorConfig) (proposalAlpha: Tensor) (propagatedAlpha: Tensor) =
    use proposed = proposalAlpha.gt(torch.tensor(c.ProposalAlphaThreshold)).to_type(torch.float32)
    use explained = propagatedAlpha.gt(torch.tensor(c.PropagatedAlphaThreshold)).to_type(torch.float32)
    let overlap = (proposed * explained).sum([| 2L; 3L; 4L |])
    let ratio = overlap / (proposed.sum([| 2L; 3L; 4L |]) + 1e-15)
    ratio.lt(torch.tensor(c.RejectionThreshold)).to_type(torch.float32)

/// Presences closer than this count as equal when discoveries are ranked, so that the ranking does not hang
/// on float rounding (the ONNX runtime's sigmoid differs from libtorch's in the last bits); raster order
/// decides between them.
let rankTolerance = 1e-3

/// Rejection among the discoveries of one frame (not in [S]; the inference default, `StepOptions`). [S] tests
/// proposals against propagated objects only, so at the first frame, and wherever an object enters, two
/// neighbouring cells can both claim it; the copies render as one (compositing normalises their weights and
/// the alpha sum is clamped), and propagation keeps both for good: 41% of the default model's false positives
/// on held-out LD. Here proposal i is rejected when one proposal that outranks it covers at least `share` of
/// its own mask: one that is eligible (passed the propagation test, clears the keep threshold) and stronger
/// (presence higher by more than `rankTolerance`, else earlier in raster order). One pass, not greedy: an
/// eligible proposal rejected here still counts for the weaker ones.
/// Pairwise, not the union of the stronger masks: a duplicate copies one object, while in a crowd (MD) the
/// union of several true neighbours covers a share of a proposal that none of them covers alone. The share
/// depends on the model (`defaultDuplicateShare`, README "Tracking"): thin MNIST strokes let a shifted copy
/// overlap its original little (0.3 is best), crowded dSprites objects overlap each other a lot (0.8).
/// `proposed` [B; K; P] 0/1 masks over the image's P pixels, `pres` and `eligible` [B; K] → accept [B; K] (0/1).
let rejectAmong (share: float) (proposed: Tensor) (pres: Tensor) (eligible: Tensor) =
    let k = pres.shape.[1]
    use pi = pres.unsqueeze(2L)
    use pj = pres.unsqueeze(1L)
    use idx = torch.arange(k, dtype = torch.int64)
    use earlier = idx.view(1L, 1L, k).lt(idx.view(1L, k, 1L))
    use above = pj.gt(pi + rankTolerance)
    use tied = (pj - pi).abs().le(torch.tensor(float32 rankTolerance)).logical_and(earlier)
    // stronger[b; i; j]: proposal j outranks proposal i.
    use stronger = above.logical_or(tied).to_type(torch.float32) * eligible.unsqueeze(1L)
    // covered[b; i; j]: the share of i's mask that j's mask covers, |m_i ∧ m_j| / |m_i|.
    use overlap = proposed.matmul(proposed.transpose(1L, 2L))
    use covered = overlap / (proposed.sum(2L).unsqueeze(2L) + 1e-15)
    use worst = (covered * stronger).amax([| 2L |])
    worst.lt(torch.tensor(share)).to_type(torch.float32)

/// The share that turns `rejectAmong` off (the official test alone): no share of a mask reaches it.
let noDuplicateTest = System.Double.PositiveInfinity

/// Whether a duplicate share tests discoveries against each other at all (`noDuplicateTest` does not).
let testsDuplicates (share: float) = share <= 1.0

/// Whether `share` is one a user may give or a checkpoint may record: in (0, 1] (NaN is not).
let isDuplicateShare (share: float) = share > 0.0 && share <= 1.0

/// The inference default: the official test's share (RejectionThreshold), chosen with 0.5 and 0.8 on
/// validation worlds (seed 3000001).
[<Literal>]
let defaultDuplicateShare = 0.3

/// Training cap ([S] `phase_obj_num_contrain`): with k = maxObjects − live[b] free places, keep only cells
/// whose z_pres is strictly greater than the (k+1)-th largest; k ≥ cells keeps all. `pres` [B; K], `live` [B].
let cap (maxObjects: int) (pres: Tensor) (live: Tensor) =
    let cells = pres.shape.[1]
    let k = (float32 maxObjects - live).clamp(min = torch.tensor(0f)).to_type(torch.int64)
    let struct (sorted: Tensor, _) = pres.sort(1L, descending = true)
    let kIdx = k.clamp(max = torch.tensor(cells - 1L)).unsqueeze(1L)
    let threshold = sorted.gather(1L, kIdx)
    let keep = pres.gt(threshold).logical_or(k.ge(torch.tensor(cells)).unsqueeze(1L))
    keep.to_type(torch.float32)
