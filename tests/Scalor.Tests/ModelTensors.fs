/// Tensors and checks the model's tests share: tiny random images, boxes as z_where, painted objects, and
/// the largest (relative) difference of two tensors.
module Scalor.Tests.ModelTensors

open Expecto
open TorchSharp
open Scalor.Model
open Scalor.Model.Store

let cfgProps = { FsCheckConfig.defaultConfig with maxTest = 25 }
let maxDiff (a: Tensor) (b: Tensor) = float ((a - b).abs().max().item<float32>())
/// The largest difference between paired tensors, each relative to the first one's largest magnitude.
let relWorst (a: Tensor seq) (b: Tensor seq) =
    Seq.map2 (fun (x: Tensor) (y: Tensor) -> maxDiff x y / (1e-6 + float (x.abs().max().item<float32>()))) a b |> Seq.max
/// Every parameter's gradient (zeros where none), copied.
let paramGrads (nets: Scalor.Nets) =
    nets.Store.Parameters |> Array.map (fun p -> if isNull p.grad then torch.zeros_like(p) else p.grad.clone())
let rand (seed: int) (shape: int64[]) =
    use g = new torch.Generator(uint64 seed)
    torch.rand(shape, generator = g)

let where (sx: float32) (sy: float32) (tx: float32) (ty: float32) = torch.tensor([| sx; sy; tx; ty |]).view(1L, 4L)

let box (l: float32) (t: float32) (w: float32) (h: float32) =
    // A box in pixels of a 64×64 image → z_where.
    where (w / 64f) (h / 64f) ((l + w / 2f) / 32f - 1f) ((t + h / 2f) / 32f - 1f)

/// One object's maps in a K = count window set: opaque square glimpses of a colour at given boxes.
let objects (boxes: (float32 * float32 * float32 * float32 * float32 * float32) list) (l: int) =
    // (left, top, size, depth, pres, colour)
    let k = int64 boxes.Length
    let zw = torch.cat(boxes |> List.map (fun (x, y, s, _, _, _) -> box x y s s) |> Array.ofList, 0L)
    let o = torch.cat(boxes |> List.map (fun (_, _, _, _, _, c) -> torch.full([| 1L; 3L; 8L; 8L |], c.ToScalar())) |> Array.ofList, 0L)
    let alpha = torch.ones(k, 1L, 8L, 8L)
    let pres = torch.tensor(boxes |> List.map (fun (_, _, _, _, p, _) -> p) |> Array.ofList).view(-1L, 1L)
    let depth = torch.tensor(boxes |> List.map (fun (_, _, _, d, _, _) -> d) |> Array.ofList).view(-1L, 1L)
    Render.paste 1L o alpha pres depth zw 64 64 l
