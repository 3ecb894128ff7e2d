/// Laws of the spatial transformer: crop then paste, the windowed paste, and many glimpses per image.
module Scalor.Tests.Spatial

open System
open Expecto
open TorchSharp
open Scalor.Model
open Scalor.Tests.ModelTensors

[<Tests>]
let tests =
    testSequenced <| testList "Spatial" [
        testPropertyWithConfig cfgProps "crop then paste is the identity inside the window" <| fun (seed: int) (px: byte) (py: byte) ->
            // A 16×16 window on the pixel grid: crop samples pixel centres exactly, paste puts them back.
            let left, top = float32 (int px % 48), float32 (int py % 48)
            let img = rand seed [| 1L; 3L; 64L; 64L |]
            let zw = box left top 16f 16f
            let back = Spatial.paste (Spatial.crop img zw 16) zw 64 64
            let inside = img.narrow(2L, int64 top, 16L).narrow(3L, int64 left, 16L)
            let backInside = back.narrow(2L, int64 top, 16L).narrow(3L, int64 left, 16L)
            let outside = back.sum().item<float32>() - backInside.sum().item<float32>()
            maxDiff inside backInside < 1e-5 && abs outside < 1e-3f

        testPropertyWithConfig cfgProps "windowed paste equals the full-resolution paste" <| fun (seed: int) ->
            let rng = Random(seed)
            let n = 5L
            let zw =
                torch.tensor([| for _ in 1 .. int n do
                                  yield float32 (rng.NextDouble() * 0.2 + 0.05); yield float32 (rng.NextDouble() * 0.2 + 0.05)
                                  yield float32 (rng.NextDouble() * 2.1 - 1.05); yield float32 (rng.NextDouble() * 2.1 - 1.05) |]).view(n, 4L)
            let g = rand seed [| n; 2L; 8L; 8L |]
            let l = Spatial.windowSize 64 0.15 0.1 1.0 0.0
            let win, x0, y0 = Spatial.pasteWindows g zw 64 64 l
            let idx = Spatial.windowIndices (x0.view(n, 1L)) (y0.view(n, 1L)) 64 64 l
            let full = Spatial.paste g zw 64 64
            // Each object's window scattered alone reproduces its full paste.
            [ for i in 0L .. n - 1L do
                let one = Spatial.scatterWindows (win.narrow(0L, i, 1L).unsqueeze(0L)) (idx.narrow(0L, i, 1L)) 64 64 l
                yield maxDiff one (full.narrow(0L, i, 1L)) ] |> List.forall (fun d -> d < 1e-5)

        testCase "crop of many glimpses per image equals per-row crops" <| fun () ->
            let img = rand 3 [| 2L; 3L; 64L; 64L |]
            let zw = torch.tensor([| 0.2f; 0.3f; 0.1f; -0.4f; 0.1f; 0.1f; 0.9f; 0.9f; 0.5f; 0.5f; 0f; 0f; 0.3f; 0.2f; -0.7f; 0.2f |]).view(4L, 4L)
            let rows = img.unsqueeze(1L).expand(2L, 2L, -1L, -1L, -1L).reshape(4L, 3L, 64L, 64L)
            Expect.isLessThan (maxDiff (Spatial.cropMany img zw 32) (Spatial.crop rows zw 32)) 1e-6 "same glimpses"
    ]
