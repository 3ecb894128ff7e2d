module Scalor.Tests.Track

open Expecto
open TorchSharp
open Scalor.Model

[<Tests>]
let tests =
    testSequenced <| testList "Track" [
        testCase "box of a z_where in pixels" <| fun () ->
            // Centre (0, 0) is the image centre; sx = 0.25 spans a quarter of the width.
            let l, t, w, h = Track.box [| 0.25f; 0.5f; 0.0f; -0.5f |] 64 64
            Expect.equal (l, t, w, h) (24.0, 0.0, 16.0, 32.0) "left, top, width, height"

        testCase "streaming frame by frame equals the whole-sequence forward (state carried exactly)" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 3L
            let w = Scalor.Worlds.World.create { Scalor.Worlds.World.defaultConfig with Length = 4 } None
            let seq = Train.batchOf [| Scalor.Worlds.World.sequence w 5UL |]
            let opts = Track.options nets.Config Scalor.Means true
            let whole =
                use _ = torch.no_grad()
                Scalor.forward nets opts seq
            let mutable state = Track.initial nets 1L
            for t in 0 .. 3 do
                let next, f = Track.step nets opts state (seq.select(1L, int64 t))
                state <- next
                let d = (f.Recon - whole.[t].Recon).abs().max().item<float32>()
                // The sequence path runs the encoder on B·T frames at once, the stream on one frame: the convolution
                // kernels sum in another order, and the float32 differences (1e-5 per step) travel through the recurrences.
                Expect.isLessThan d 1e-3f (sprintf "frame %d reconstruction" t)
                Expect.equal (f.Objects.Ids.data<int64>().ToArray()) (whole.[t].Objects.Ids.data<int64>().ToArray()) (sprintf "frame %d ids" t)

        testCase "deterministic mode: the same input gives the same tracks" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 4L
            let w = Scalor.Worlds.World.create { Scalor.Worlds.World.defaultConfig with Length = 3 } None
            let seq = Train.batchOf [| Scalor.Worlds.World.sequence w 6UL |]
            let run () =
                let opts = Track.options nets.Config Scalor.Means true
                let mutable state = Track.initial nets 1L
                [ for t in 0 .. 2 do
                    let next, f = Track.step nets opts state (seq.select(1L, int64 t))
                    state <- next
                    yield Track.objectsOf f.Objects 0L 0.5f Set.empty |> Array.map (fun o -> o.Id, o.Where) ]
            Expect.equal (run ()) (run ()) "identical"
    ]
