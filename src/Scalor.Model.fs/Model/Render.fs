/// Rendering and compositing ([S] `scalor.py` lines 160–221). Pure functions of per-object maps, so the
/// laws (slot-order invariance, depth ordering, no objects ⇒ background) can be tested directly.
module Scalor.Model.Render

open TorchSharp
open Scalor.Model.Store

/// Forward: clamp to [1e-15, 1 − 1e-15]; backward: identity. A plain clamp would kill the gradient where
/// objects overlap to a coverage above 1 ([S] pitfall; 1 − 1e-15 is exactly 1 in float32).
let straightThroughClamp (a: Tensor) =
    use clamped = a.clamp(min = torch.tensor(1e-15f), max = torch.tensor(1.0f - 1e-15f))
    a + (clamped - a).detach()

/// Per-object maps of one frame, each in a small L×L window of the image rather than a full canvas (the
/// official code's full canvases per object dominate its memory). Pixels outside an object's window are 0
/// in its full-resolution map, so sums over objects are unchanged.
type ObjectMaps =
    { /// [B; K; 5; L; L]: ŷ = paste(α·z·o) (3), A = paste(α·z) (1), I = paste(α·z·sigmoid(−depth)) (1).
      Windows: Tensor
      /// Window origins in image pixels [B; K] (int64).
      X0: Tensor
      Y0: Tensor
      /// Flat indices of the window pixels in the padded canvas [B; K·L·L].
      Index: Tensor
      Size: int }
    member m.Count = m.Windows.shape.[1]

/// Pastes decoded glimpses of K objects per image: `o` [B·K; 3; g; g], `alpha` [B·K; 1; g; g], `pres` and
/// `depth` [B·K; 1], `where` [B·K; 4].
let paste (b: int64) (o: Tensor) (alpha: Tensor) (pres: Tensor) (depth: Tensor) (where: Tensor) (height: int) (width: int) (l: int) =
    let az = alpha * pres.view(-1L, 1L, 1L, 1L)
    let imp = az * torch.sigmoid(-depth).view(-1L, 1L, 1L, 1L)
    let win, x0, y0 = Spatial.pasteWindows (torch.cat([| az * o; az; imp |], 1L)) where height width l
    let x0, y0 = x0.view(b, -1L), y0.view(b, -1L)
    { Windows = win.view(b, -1L, 5L, int64 l, int64 l); X0 = x0; Y0 = y0
      Index = Spatial.windowIndices x0 y0 height width l; Size = l }

let empty (b: int64) (height: int) (width: int) (l: int) =
    let z = torch.zeros(b, 0L, dtype = torch.int64)
    { Windows = torch.zeros([| b; 0L; 5L; int64 l; int64 l |]); X0 = z; Y0 = z; Index = Spatial.windowIndices z z height width l; Size = l }

/// Σ over objects of the alpha maps, full resolution [B; 1; H; W] (before clamping).
let alphaSum (m: ObjectMaps) (height: int) (width: int) =
    Spatial.scatterWindows (m.Windows.narrow(2L, 3L, 1L)) m.Index height width m.Size

/// Depth-weighted foreground and the clamped foreground alpha ([S]): fg = Σ ŷ_k·I_k / (Σ I + 1e-15) — the
/// official Σ ŷ_k·w_k with w_k = I_k / (Σ I + 1e-15) — and α_fg = Σ A_k (straight-through clamp).
/// Returns (fg [B; 3; H; W], α_fg [B; 1; H; W]).
let composite (m: ObjectMaps) (height: int) (width: int) =
    let imp = m.Windows.narrow(2L, 4L, 1L)
    let sums = Spatial.scatterWindows (torch.cat([| m.Windows.narrow(2L, 0L, 3L) * imp; m.Windows.narrow(2L, 3L, 2L) |], 2L)) m.Index height width m.Size
    let fg = sums.narrow(1L, 0L, 3L) / (sums.narrow(1L, 4L, 1L) + 1e-15)
    fg, straightThroughClamp (sums.narrow(1L, 3L, 1L))

/// x̂ = fg + (1 − α_fg)·bg.
let image (fg: Tensor) (alpha: Tensor) (bg: Tensor) = fg + (1.0 - alpha) * bg

/// Concatenates two sets of maps along the object axis.
let concat (a: ObjectMaps) (b: ObjectMaps) =
    { Windows = torch.cat([| a.Windows; b.Windows |], 1L); X0 = torch.cat([| a.X0; b.X0 |], 1L); Y0 = torch.cat([| a.Y0; b.Y0 |], 1L)
      Index = torch.cat([| a.Index; b.Index |], 1L); Size = a.Size }

/// Full-resolution per-object maps (for pictures and tests): [B; K; 5; H; W].
let fullMaps (m: ObjectMaps) (height: int) (width: int) =
    let b, k = m.Windows.shape.[0], m.Windows.shape.[1]
    let hp, wp = int64 (height + 2 * m.Size), int64 (width + 2 * m.Size)
    let l = int64 m.Size
    let src = m.Windows.reshape(b * k, 5L, l * l)
    let idx = m.Index.view(b * k, 1L, l * l).expand(b * k, 5L, l * l)
    torch.zeros(b * k, 5L, hp * wp).scatter_add(2L, idx, src).view(b, k, 5L, hp, wp).narrow(3L, l, int64 height).narrow(4L, l, int64 width)
