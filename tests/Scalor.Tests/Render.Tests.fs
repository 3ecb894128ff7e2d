/// Laws of rendering: compositing by depth and presence, and the straight-through clamp.
module Scalor.Tests.Render

open System
open Expecto
open TorchSharp
open Scalor.Model
open Scalor.Model.Store
open Scalor.Tests.ModelTensors

[<Tests>]
let tests =
    testSequenced <| testList "Render" [
        let l = 24
        testPropertyWithConfig cfgProps "alpha and foreground stay in [0, 1]" <| fun (seed: int) ->
            let rng = Random(seed)
            let boxes = [ for _ in 1 .. 4 -> float32 (rng.Next(0, 50)), float32 (rng.Next(0, 50)), 14f, float32 (rng.NextDouble() * 4.0 - 2.0), float32 (rng.NextDouble()), float32 (rng.NextDouble()) ]
            let fg, alpha = Render.composite (objects boxes l) 64 64
            let lo (t: Tensor) = t.min().item<float32>()
            let hi (t: Tensor) = t.max().item<float32>()
            lo alpha >= 0f && hi alpha <= 1f && lo fg >= -1e-6f && hi fg <= 1f + 1e-6f

        testCase "with no objects the image is the background" <| fun () ->
            let maps = objects [ (10f, 10f, 14f, 0f, 0f, 0.9f); (30f, 20f, 14f, 1f, 0f, 0.4f) ] l
            let fg, alpha = Render.composite maps 64 64
            let bg = rand 5 [| 1L; 3L; 64L; 64L |]
            Expect.isLessThan (maxDiff (Render.image fg alpha bg) bg) 1e-6 "x̂ = bg"

        testPropertyWithConfig cfgProps "compositing is invariant to slot order" <| fun (seed: int) ->
            let rng = Random(seed)
            let boxes = [ for _ in 1 .. 4 -> float32 (rng.Next(0, 50)), float32 (rng.Next(0, 50)), 14f, float32 (rng.NextDouble() * 4.0 - 2.0), float32 (rng.NextDouble()), float32 (rng.NextDouble()) ]
            let fg1, a1 = Render.composite (objects boxes l) 64 64
            let fg2, a2 = Render.composite (objects (List.rev boxes) l) 64 64
            maxDiff fg1 fg2 < 1e-5 && maxDiff a1 a2 < 1e-6

        testCase "the nearer object wins an overlap" <| fun () ->
            // Red-ish (0.9) at depth −2 (near) over 0.1 at depth +2 (far), overlapping at (25..30, 25..30).
            let maps = objects [ (20f, 20f, 14f, -2f, 1f, 0.9f); (24f, 24f, 14f, 2f, 1f, 0.1f) ] l
            let fg, _ = Render.composite maps 64 64
            let v: float32 = fg.[0L, 0L, 28L, 28L].item<float32>()
            Expect.isGreaterThan v 0.5f "overlap shows the near object's colour"
            let maps2 = objects [ (20f, 20f, 14f, 2f, 1f, 0.9f); (24f, 24f, 14f, -2f, 1f, 0.1f) ] l
            let fg2, _ = Render.composite maps2 64 64
            Expect.isLessThan (fg2.[0L, 0L, 28L, 28L].item<float32>()) 0.5f "swap depths, swap winner"

        testCase "straight-through clamp: clamped forward, identity gradient" <| fun () ->
            let a = torch.tensor([| 0.5f; 1.5f; -0.2f |], requires_grad = true)
            let y = Render.straightThroughClamp a
            // Forward is a + (clamp(a) − a), as the official code: clamped up to float32 rounding.
            Array.iter2 (fun (a: float32) e -> Expect.floatClose Accuracy.high (float a) e "clamped") (y.data<float32>().ToArray()) [| 0.5; 1.0; 0.0 |]
            y.sum().backward()
            Expect.sequenceEqual (a.grad.data<float32>().ToArray()) [| 1f; 1f; 1f |] "gradient passes"
    ]
