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
