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

/// Crops K glimpses from each of B images without copying the images K times: the K sampling grids of an
/// image are stacked along the output's height, so one grid_sample per batch serves all. `images`
/// [B; C; H; W], `zWhere` [B·K; 4] in (b, k) order → [B·K; C; size; size]. Same values as `crop`.
let cropMany (images: Tensor) (zWhere: Tensor) (size: int) =
    let b, ch = images.shape.[0], images.shape.[1]
    let bk = zWhere.shape.[0]
    let k = bk / b
    let w = zWhere.unbind(1L)
    use grid = torch.nn.functional.affine_grid(theta w.[0] w.[2] w.[1] w.[3], [| bk; ch; int64 size; int64 size |], align_corners = false)
    use stacked = grid.view(b, k * int64 size, int64 size, 2L)
    let out = torch.nn.functional.grid_sample(images, stacked, mode = torch.GridSampleMode.Bilinear, padding_mode = torch.GridSamplePaddingMode.Zeros, align_corners = false)
    out.view(b, ch, k, int64 size, int64 size).permute(0L, 2L, 1L, 3L, 4L).reshape(bk, ch, int64 size, int64 size)

/// Side of the local window that holds any pasted glimpse: the largest box the anchors allow, plus the
/// bilinear footprint and rounding, made even.
let windowSize (imageSize: int) (sizeAnchor: float) (sizeVar: float) (ratioAnchor: float) (ratioVar: float) =
    let scale = sizeAnchor + sizeVar
    let sx = scale / sqrt (max 1e-3 (ratioAnchor - ratioVar))
    let sy = scale * sqrt (ratioAnchor + ratioVar)
    let extent = max sx sy * float imageSize
    let l = int (ceil extent) + 4
    min (l + l % 2) (2 * imageSize)

/// Pastes glimpses into L×L windows of the image instead of full canvases: window pixel (u, v) of object n
/// is image pixel (x0 + u, y0 + v), sampled with exactly the inverse transform `paste` uses, so every value
/// equals the full paste's at that pixel, and the full paste is zero outside the window.
/// `glimpses` [N; C; g; g], `zWhere` [N; 4] → windows [N; C; L; L] and origins x0, y0 [N] (int64).
let pasteWindows (glimpses: Tensor) (zWhere: Tensor) (height: int) (width: int) (l: int) =
    let n = zWhere.shape.[0]
    let w = zWhere.unbind(1L)
    let sx, sy, tx, ty = w.[0] + 1e-9, w.[1] + 1e-9, w.[2], w.[3]
    let lf = float l
    // Origins: the window centred on the box centre, kept inside the padded canvas (padding = L).
    // A non-finite position (a NaN step, caught and skipped by the trainer) must not become an index
    // outside the canvas: origins of such windows fall back to the image centre.
    use cx = torch.nan_to_num((tx.detach() + 1.0) * (float width / 2.0), 0.0, 0.0, 0.0)
    use cy = torch.nan_to_num((ty.detach() + 1.0) * (float height / 2.0), 0.0, 0.0, 0.0)
    let x0 = (cx - lf / 2.0).floor().clamp(min = torch.tensor(-lf), max = torch.tensor(float32 width)).to_type(torch.int64)
    let y0 = (cy - lf / 2.0).floor().clamp(min = torch.tensor(-lf), max = torch.tensor(float32 height)).to_type(torch.int64)
    use u = torch.arange(int64 l, dtype = torch.float32).unsqueeze(0L)
    // Normalised image coordinates of the window's pixel centres (align_corners = false), then into the
    // glimpse's frame: g = (X − t) / s.
    let px = ((x0.to_type(torch.float32).unsqueeze(1L) + u) * 2.0 + 1.0) / float width - 1.0
    let py = ((y0.to_type(torch.float32).unsqueeze(1L) + u) * 2.0 + 1.0) / float height - 1.0
    let gx = (px - tx.unsqueeze(1L)) / sx.unsqueeze(1L)
    let gy = (py - ty.unsqueeze(1L)) / sy.unsqueeze(1L)
    let grid = torch.stack([| gx.unsqueeze(1L).expand(n, int64 l, int64 l); gy.unsqueeze(2L).expand(n, int64 l, int64 l) |], 3L)
    let win = torch.nn.functional.grid_sample(glimpses, grid, mode = torch.GridSampleMode.Bilinear, padding_mode = torch.GridSamplePaddingMode.Zeros, align_corners = false)
    win, x0, y0

/// Flat indices into a canvas padded by L on every side, for windows [B; K] with origins x0, y0 → [B; K·L·L].
let windowIndices (x0: Tensor) (y0: Tensor) (height: int) (width: int) (l: int) =
    let b, k = x0.shape.[0], x0.shape.[1]
    let wp = int64 (width + 2 * l)
    use u = torch.arange(int64 l, dtype = torch.int64)
    let cols = (x0 + int64 l).unsqueeze(2L).unsqueeze(3L) + u.view(1L, 1L, 1L, -1L)
    let rows = (y0 + int64 l).unsqueeze(2L).unsqueeze(3L) + u.view(1L, 1L, -1L, 1L)
    (rows * wp + cols).reshape(b, k * int64 l * int64 l)

/// Sums windows [B; K; C; L; L] into full images [B; C; H; W] (scatter-add; differentiable).
let scatterWindows (windows: Tensor) (index: Tensor) (height: int) (width: int) (l: int) =
    let b, c = windows.shape.[0], windows.shape.[2]
    let hp, wp = int64 (height + 2 * l), int64 (width + 2 * l)
    let src = windows.permute(0L, 2L, 1L, 3L, 4L).reshape(b, c, -1L)
    let idx = index.unsqueeze(1L).expand(b, c, index.shape.[1])
    let canvas = torch.zeros(b, c, hp * wp).scatter_add(2L, idx, src)
    canvas.view(b, c, hp, wp).narrow(2L, int64 l, int64 height).narrow(3L, int64 l, int64 width)

/// Reads full images [B; C; H; W] at the windows' pixels → [B; K; C; L; L] (zero outside the image).
let gatherWindows (images: Tensor) (index: Tensor) (k: int64) (l: int) =
    let b, c = images.shape.[0], images.shape.[1]
    let padded = torch.nn.functional.pad(images, [| int64 l; int64 l; int64 l; int64 l |]).reshape(b, c, -1L)
    let idx = index.unsqueeze(1L).expand(b, c, index.shape.[1])
    padded.gather(2L, idx).view(b, c, k, int64 l, int64 l).permute(0L, 2L, 1L, 3L, 4L)
