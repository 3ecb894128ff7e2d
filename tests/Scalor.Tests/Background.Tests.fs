/// The background decoder: both the official and the spatial-broadcast decoder, saved and resumed.
module Scalor.Tests.Background

open System
open Expecto
open TorchSharp
open Scalor.Model
open Scalor.Model.Store
open Scalor.Tests.ModelTensors

[<Tests>]
let tests =
    testSequenced <| testList "Background decoder" [
        let sbd = { Config.toy64 with BatchSize = 1; BgSpatialBroadcast = true }

        testCase "spatial broadcast: the official names, shapes and coordinate channels; three layers at 128 px" <| fun () ->
            let nets = Scalor.create sbd 7L
            let shapes = nets.Store.Named |> List.filter (fun (n, _) -> n.StartsWith "bg_dec.") |> List.map (fun (n, t) -> n, List.ofArray t.shape)
            Expect.equal shapes
                [ "bg_dec.dec.0.weight", [ 64L; 12L; 5L; 5L ]; "bg_dec.dec.0.bias", [ 64L ]; "bg_dec.dec.2.weight", [ 64L ]; "bg_dec.dec.2.bias", [ 64L ]
                  "bg_dec.dec.3.weight", [ 64L; 64L; 5L; 5L ]; "bg_dec.dec.3.bias", [ 64L ]; "bg_dec.dec.5.weight", [ 64L ]; "bg_dec.dec.5.bias", [ 64L ]
                  "bg_dec.bg_dec.weight", [ 3L; 64L; 3L; 3L ]; "bg_dec.bg_dec.bias", [ 3L ]; "bg_dec.position_embedding", [ 1L; 2L; 64L; 64L ] ]
                "[S] BgDecoderSBD's state_dict at 64 px, bg_what_dim 10"
            let pos = nets.Background.Dec.Position.Value
            let at (c: int64) (y: int64) (x: int64) = pos.[0L, c, y, x].item<float32>()
            Expect.equal [ at 0L 0L 0L; at 0L 63L 0L; at 0L 0L 63L; at 1L 0L 0L; at 1L 0L 63L; at 1L 63L 0L ] [ -1f; 1f; -1f; -1f; 1f; -1f ] "channel 0 runs down the rows, channel 1 across the columns"
            let big = Scalor.create { sbd with ImageSize = 128; GlimpseSize = 64 } 7L
            Expect.equal (big.Store.Named |> List.filter (fun (n, t) -> n.StartsWith "bg_dec.dec." && t.dim () = 4L) |> List.length) 3 "three 5×5 layers at 128 px"
            let plain = Scalor.create { sbd with BgSpatialBroadcast = false } 7L
            Expect.isNone plain.Background.Dec.Position "the sub-pixel decoder, [S]'s default, has none"

        testCase "spatial broadcast: blind to the coordinates, it paints one colour away from the border; z changes it" <| fun () ->
            let nets = Scalor.create sbd 8L
            let d = nets.Background.Dec
            use _ = torch.no_grad()
            let z = rand 9 [| 2L; 10L |] - 0.5
            let bg: Tensor = Networks.bgDecode d z
            Expect.equal (List.ofArray bg.shape) [ 2L; 3L; 64L; 64L ] "[B; 3; H; W]"
            Expect.isTrue ((bg.min().item<float32>() > 0f) && (bg.max().item<float32>() < 1f)) "colours in (0, 1)"
            // The coordinates come first in the input: zero their weights in the first convolution.
            match d.BgDec.[0] with
            | LConv(w, _, _, _) -> w.narrow(1L, 0L, 2L).zero_() |> ignore
            | _ -> failtest "the decoder starts with a convolution"
            let flat = Networks.bgDecode d z
            // Two 5×5 convolutions and a 3×3 see 5 pixels around: from 5 pixels in, every pixel sees the same.
            let inner = flat.narrow(2L, 5L, 54L).narrow(3L, 5L, 54L)
            let spread = (inner - inner.narrow(2L, 0L, 1L).narrow(3L, 0L, 1L)).abs().max().item<float32>()
            Expect.isLessThan spread 1e-6f "one colour inside"
            let border = (flat.narrow(2L, 0L, 1L).narrow(3L, 0L, 1L) - inner.narrow(2L, 0L, 1L).narrow(3L, 0L, 1L)).abs().max().item<float32>()
            Expect.isGreaterThan border 1e-6f "the zero padding shows at the border"
            Expect.isGreaterThan ((flat.[0L] - flat.[1L]).abs().max().item<float32>()) 1e-4f "another z, another colour"

        testCase "spatial broadcast: training lowers the loss, and a checkpoint restores the decoder" <| fun () ->
            let cfg = { sbd with BatchSize = 2; SeqLength = 3 }
            let world = Scalor.Worlds.World.create { Scalor.Worlds.World.defaultConfig with Length = 3; Density = Scalor.Worlds.World.vld } None
            let batch step = Train.batchOf (Array.init 2 (fun i -> Scalor.Worlds.World.sequence world (Scalor.Worlds.World.sequenceSeed 4UL (step * 2 + i))))
            let nets = Scalor.create cfg 3L
            let opt = Train.rmsProp nets cfg.LearningRate
            use gen = new torch.Generator(11UL)
            let losses = [ for s in 0 .. 23 -> match Train.step nets opt gen s (batch (s % 3)) with Train.Stepped(t, _) -> t.Loss | Train.Skipped(_, r) -> failtest r ]
            Expect.isLessThan (List.average (List.skip 20 losses)) (0.5 * List.average (List.take 4 losses)) "the loss falls"
            let path = IO.Path.Combine(IO.Directory.CreateTempSubdirectory("scalor-sbd").FullName, "ckpt.safetensors")
            Train.save path nets (Some opt) (Some gen) 24 []
            let header, entries = Train.read path
            Expect.isTrue header.Config.BgSpatialBroadcast "the config records the decoder"
            let back = Scalor.create header.Config 99L
            Train.restore path back None None entries
            use _ = torch.no_grad()
            let z = rand 10 [| 1L; 10L |]
            Expect.equal (maxDiff (Networks.bgDecode nets.Background.Dec z) (Networks.bgDecode back.Background.Dec z)) 0.0 "the same background"
            let before = (Train.configToJson Config.toy64).Replace(",\"BgSpatialBroadcast\":false", "")
            Expect.isFalse (before.Contains "BgSpatialBroadcast") "the field taken out"
            let old = Train.configFromJson "old" before
            Expect.isFalse old.BgSpatialBroadcast "a checkpoint from before the option has the sub-pixel decoder"
    ]
