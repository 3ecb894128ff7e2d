/// The spatial transformer and z_where geometry ([S] `utils.spatial_transform`). z_where rows are
/// (sx, sy, tx, ty): the box spans [tx ± sx] × [ty ± sy] in normalised [−1, 1] coordinates, x along width.
/// `align_corners = false` in both `affine_grid` and `grid_sample` (PyTorch ≥ 1.3, the official target).
module Scalor.Model.Spatial

open TorchSharp
open Scalor.Model.Store

/// θ = [[a, 0, c], [0, d, e]] from four [N] columns → [N; 2; 3].
let private theta (a: Tensor) (c: Tensor) (d: Tensor) (e: Tensor) =
    let z = torch.zeros_like(a)
    torch.stack([| torch.stack([| a; z; c |], 1L); torch.stack([| z; d; e |], 1L) |], 1L)

let private sample (src: Tensor) (th: Tensor) (outH: int64) (outW: int64) =
    let n, c = src.shape.[0], src.shape.[1]
    use grid = torch.nn.functional.affine_grid(th, [| n; c; outH; outW |], align_corners = false)
    torch.nn.functional.grid_sample(src, grid, mode = torch.GridSampleMode.Bilinear, padding_mode = torch.GridSamplePaddingMode.Zeros, align_corners = false)

/// Image → glimpse: `images` [N; C; H; W], `zWhere` [N; 4] → [N; C; size; size].
let crop (images: Tensor) (zWhere: Tensor) (size: int) =
    let w = zWhere.unbind(1L)
    sample images (theta w.[0] w.[2] w.[1] w.[3]) (int64 size) (int64 size)

/// Glimpse → image (inverse transform, +1e-9 in every denominator as [S]): `glimpses` [N; C; g; g] →
/// [N; C; H; W].
let paste (glimpses: Tensor) (zWhere: Tensor) (height: int) (width: int) =
    let w = zWhere.unbind(1L)
    let sx, sy = w.[0] + 1e-9, w.[1] + 1e-9
    sample glimpses (theta (1.0 / sx) (-w.[2] / sx) (1.0 / sy) (-w.[3] / sy)) (int64 height) (int64 width)

/// Discovery transform of raw z_where samples [B; 4; G; G] into (sx, sy, tx, ty) per cell, flattened in
/// row-major (b, i, j) order to [B·G·G; 4]. Scale and ratio are bounded around the anchors; the centre may
/// move ±1 cell from the cell centre. `offset` [2; G; G] holds (column, row) indices.
let discoveryWhere (sizeAnchor: float) (sizeVar: float) (ratioAnchor: float) (ratioVar: float) (grid: int) (offset: Tensor) (raw: Tensor) =
    let r = raw.unbind(1L)
    let scale = sizeAnchor + sizeVar * torch.tanh(r.[0])
    let ratio = ratioAnchor + ratioVar * torch.tanh(r.[1])
    let sqrtRatio = torch.sqrt(ratio)
    let sx, sy = scale / sqrtRatio, scale * sqrtRatio
    let o = offset.unbind(0L)
    let g = float grid
    let tx = (2.0 / g) * (o.[0] + 0.5 + torch.tanh(r.[2])) - 1.0
    let ty = (2.0 / g) * (o.[1] + 0.5 + torch.tanh(r.[3])) - 1.0
    torch.stack([| sx; sy; tx; ty |], 1L).permute(0L, 2L, 3L, 1L).reshape(-1L, 4L)

/// Scale and ratio from the first two raw channels, as discovery does (propagation re-derives them every
/// step rather than carrying them). `raw` [N; 2+] → (sx, sy) [N] each.
let scaleFromRaw (sizeAnchor: float) (sizeVar: float) (ratioAnchor: float) (ratioVar: float) (raw: Tensor) =
    let scale = sizeAnchor + sizeVar * torch.tanh(raw.select(1L, 0L))
    let ratio = torch.sqrt(ratioAnchor + ratioVar * torch.tanh(raw.select(1L, 1L)))
    scale / ratio, scale * ratio

/// The (column, row) index buffer of a G×G grid: [2; G; G].
let cellOffsets (grid: int) =
    let idx = torch.arange(int64 grid, dtype = torch.float32)
    let cols = idx.view(1L, -1L).expand(int64 grid, int64 grid)
    let rows = idx.view(-1L, 1L).expand(int64 grid, int64 grid)
    torch.stack([| cols; rows |], 0L).contiguous()
