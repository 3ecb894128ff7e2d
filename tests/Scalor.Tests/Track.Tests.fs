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

        testCase "release frees what a step replaced, keeps what it carried on, and tracking goes on alike" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 3L
            let w = Scalor.Worlds.World.create { Scalor.Worlds.World.defaultConfig with Length = 5 } None
            let seq = Train.batchOf [| Scalor.Worlds.World.sequence w 5UL |]
            let opts = Track.options nets.Config Scalor.Means true
            let run release =
                let mutable state = Track.initial nets 1L
                [ for t in 0 .. 4 do
                    let next, f = Track.step nets opts state (seq.select(1L, int64 t))
                    if release then
                        let old = Track.tensorsOf state
                        Track.release state next
                        let kept = Track.tensorsOf next
                        Expect.isGreaterThan old.Count 0 "a state holds tensors"
                        for x in old do
                            Expect.isTrue (kept.Contains x || x.IsInvalid) (sprintf "frame %d: a tensor of the old state is carried on or freed" t)
                        Expect.isTrue (old |> Seq.exists (fun x -> x.IsInvalid)) (sprintf "frame %d: something was freed" t)
                        for x in kept do Expect.isFalse x.IsInvalid (sprintf "frame %d: the new state is whole" t)
                    state <- next
                    yield f.Recon.sum().item<float32>(), f.Objects.Ids.data<int64>().ToArray() ]
            Expect.equal (run true) (run false) "the same reconstructions and ids with and without release"

        testCase "tracking skips the cells below the floor and keeps the full step's objects (the embedded model)" <| fun () ->
            let struct (nets: Scalor.Nets, share) = Scalor.Host.Checkpoints.LoadForInference(null, None)
            let c = nets.Config
            let w = Scalor.Worlds.World.create Scalor.Worlds.World.defaultConfig None
            // Two images: the selected cells' glimpses come from their own images.
            let seq = Train.batchOf [| for i in 0 .. 1 -> Scalor.Worlds.World.sequence w (Scalor.Worlds.World.sequenceSeed 1000001UL i) |]
            let dense, sparse = Track.deterministic c share, Track.tracking c share
            Expect.equal sparse.SparseFloor (Some Track.sparseFloor) "tracking is the sparse step"
            let mutable a, b = Track.initial nets 2L, Track.initial nets 2L
            let mutable skipped, emptyFrames = 0, 0
            for t in 0 .. int seq.shape.[1] - 1 do
                let x = seq.select(1L, int64 t)
                let na, fa = Track.step nets dense a x
                let nb, fb = Track.step nets sparse b x
                a <- na
                b <- nb
                for image in 0L .. 1L do
                    let objs (f: Scalor.Frame) = Track.objectsOf f.Objects (Track.rendering nets f.Objects) image 0.5f Set.empty
                    let oa, ob = objs fa, objs fb
                    Expect.equal (ob |> Array.map (fun o -> o.Id)) (oa |> Array.map (fun o -> o.Id)) (sprintf "frame %d, image %d: the same ids" t image)
                    for u, v in Array.zip oa ob do
                        // The appearance encoder and decoder run on a few glimpses instead of 64: oneDNN sums in
                        // another order, so the values agree to float rounding, and a mask box edge to a pixel.
                        for j in 0 .. 3 do Expect.isLessThan (abs (u.Where.[j] - v.Where.[j])) 1e-4f (sprintf "frame %d, object %d: z_where" t u.Id)
                        Expect.isLessThan (abs (u.Presence - v.Presence)) 1e-4f (sprintf "frame %d, object %d: presence" t u.Id)
                        for j in 0 .. 3 do Expect.isLessThanOrEqual (abs (u.MaskBox.[j] - v.MaskBox.[j])) 1f (sprintf "frame %d, object %d: mask box" t u.Id)
                let g2 = int64 c.Cells
                let n = fa.Maps.Count - g2
                // [B·G²], image by image, as `Accepted`.
                let drawn (f: Scalor.Frame) = f.Maps.Windows.narrow(1L, n, g2).abs().sum([| 2L; 3L; 4L |]).gt(torch.tensor(0f)).reshape(-1L).data<bool>().ToArray()
                let da, db = drawn fa, drawn fb
                let kept = fa.Accepted.view(-1L).data<float32>().ToArray()
                for k in 0 .. kept.Length - 1 do
                    if kept.[k] > 0f then Expect.isTrue db.[k] (sprintf "frame %d: kept cell %d is drawn by both" t k)
                    if db.[k] then Expect.isTrue da.[k] (sprintf "frame %d: cell %d drawn only by the sparse step" t k)
                let skippedHere = (da |> Array.filter id |> Array.length) - (db |> Array.filter id |> Array.length)
                skipped <- skipped + skippedHere
                for image in 0 .. 1 do
                    if db.[image * int g2 .. (image + 1) * int g2 - 1] |> Array.forall not then emptyFrames <- emptyFrames + 1
                // Each skipped cell drew at most the floor's alpha (measured: at most 1.4e-4 here).
                Expect.isLessThan ((fa.Recon - fb.Recon).abs().max().item<float32>()) (float32 Track.sparseFloor) (sprintf "frame %d: the reconstructions agree" t)
                let total (x: torch.Tensor) = x.abs().sum().item<float32>()
                Expect.equal (total fb.KlWhat, total fb.KlPres, total fb.KlBg, total fb.LogImportance) (0f, 0f, 0f, 0f) (sprintf "frame %d: no objective terms" t)
                Expect.notEqual (total fa.KlPres) 0f (sprintf "frame %d: the dense step scores" t)
            Expect.isGreaterThan skipped 200 "cells were skipped (about 35 an image and frame)"
            Expect.isGreaterThan emptyFrames 0 "images where no cell was above the floor ran too"
            use gen = new torch.Generator(1UL)
            Expect.throws (fun () -> Track.step nets { sparse with Sampling = Scalor.Sample gen } (Track.initial nets 2L) (seq.select(1L, 0L)) |> ignore) "sampling needs every cell"

        testCase "renderingOf reads the frame's own maps: the visible pixels and mask boxes of decoding again" <| fun () ->
            let struct (nets: Scalor.Nets, share) = Scalor.Host.Checkpoints.LoadForInference(null, None)
            let w = Scalor.Worlds.World.create Scalor.Worlds.World.defaultConfig None
            let seq = Train.batchOf [| for i in 2 .. 3 -> Scalor.Worlds.World.sequence w (Scalor.Worlds.World.sequenceSeed 1000001UL i) |]
            for opts in [ Track.deterministic nets.Config share; Track.tracking nets.Config share ] do
                let mutable state = Track.initial nets 2L
                let mutable objects, emptySlots = 0, 0
                for t in 0 .. int seq.shape.[1] - 1 do
                    let next, f = Track.step nets opts state (seq.select(1L, int64 t))
                    state <- next
                    let decoded, read = Track.rendering nets f.Objects, Track.renderingOf nets.Config f
                    Expect.equal read.Visible.shape decoded.Visible.shape (sprintf "frame %d: one value per slot" t)
                    let v1, v2 = decoded.Visible.data<float32>().ToArray(), read.Visible.data<float32>().ToArray()
                    let m1, m2 = decoded.MaskBox.data<float32>().ToArray(), read.MaskBox.data<float32>().ToArray()
                    let live = f.Objects.Mask.reshape(-1L).data<float32>().ToArray()
                    objects <- objects + (v1 |> Array.filter (fun v -> v > 20f) |> Array.length)
                    for i in 0 .. v1.Length - 1 do
                        // The decoder ran on other batches (the frame's slots and cells, against the list): float rounding.
                        Expect.isLessThan (abs (v1.[i] - v2.[i])) (1e-4f * (1f + v1.[i])) (sprintf "frame %d, slot %d: visible pixels" t i)
                        if live.[i] = 0f then
                            emptySlots <- emptySlots + 1
                            Expect.equal v2.[i] 0f (sprintf "frame %d, slot %d: an empty slot draws nothing" t i)
                    for i in 0 .. m1.Length - 1 do
                        Expect.isLessThanOrEqual (abs (m1.[i] - m2.[i])) 1f (sprintf "frame %d: mask box value %d" t i)
                    Expect.isGreaterThan (Array.zip m1 m2 |> Array.filter (fun (a, b) -> a = b) |> Array.length) (m1.Length * 9 / 10) (sprintf "frame %d: mask boxes agree but for a rare pixel at the threshold" t)
                Expect.isGreaterThan objects 50 "objects were drawn (the comparison is not vacuous)"
                Expect.isGreaterThan emptySlots 0 "the two images keep different counts, so empty slots were read too"

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
                    yield Track.objectsOf f.Objects (Track.rendering nets f.Objects) 0L 0.5f Set.empty |> Array.map (fun o -> o.Id, o.Where) ]
            Expect.equal (run ()) (run ()) "identical"

        testCase "rendered pixels: linear in presence, zero off-frame and for empty slots, about half at the border" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 5L
            let c = nets.Config
            // Four copies of one object (same z_what, an anchor-sized box): centred, at half presence, past the
            // right edge, and centred on the right edge; plus an empty slot.
            let n = 5L
            let what = (torch.randn([| 1L; 64L |], generator = new torch.Generator(9UL))).expand(n, -1L).reshape(1L, n, 64L)
            let s = float32 c.SizeAnchor
            let where = torch.tensor([| s; s; 0f; 0f;  s; s; 0f; 0f;  s; s; 1.6f; 0f;  s; s; 1f; 0f;  s; s; 0f; 0f |]).view(1L, n, 4L)
            let pres = torch.tensor([| 1f; 0.5f; 1f; 1f; 1f |]).view(1L, n, 1L)
            let mask = torch.tensor([| 1f; 1f; 1f; 1f; 0f |]).view(1L, n)
            let z d = torch.zeros(1L, n, int64 d)
            let objs : Scalor.Objects =
                { What = what; Where = where; WhereBias = z 4; Depth = z 1; Pres = pres; TrackH = z 128; PriorH = z 64; PriorC = z 64; Cum = z 1
                  Ids = torch.tensor([| 1L; 2L; 3L; 4L; 0L |]).view(1L, n); Mask = mask }
            let v = (Track.rendering nets objs).Visible.data<float32>().ToArray()
            Expect.isGreaterThan v.[0] 1f "a centred object renders something"
            Expect.floatClose Accuracy.medium (float v.[1]) (float v.[0] / 2.0) "half the presence, half the pixels"
            Expect.equal v.[2] 0f "a box wholly past the edge renders nothing in the frame"
            Expect.isTrue (v.[3] > 0.2f * v.[0] && v.[3] < 0.8f * v.[0]) (sprintf "on the edge: %f of %f" v.[3] v.[0])
            Expect.equal v.[4] 0f "an empty slot renders nothing"

        testCase "mask box: the pixels above the alpha, offset by the window's origin; none gives zeros" <| fun () ->
            // One image, two 6×6 windows and the alpha 0.5: the first draws rows 2–3, columns 1–4 (a pixel under
            // 0.5 at column 5 does not count); the second nothing above 0.5 (one pixel exactly at it).
            let values =
                Array.init 72 (fun i ->
                    let window, row, col = i / 36, i % 36 / 6, i % 6
                    if window = 1 then (if i = 36 then 0.5f else 0.3f)
                    elif row >= 2 && row <= 3 && col >= 1 && col <= 4 then 0.9f
                    elif row = 3 && col = 5 then 0.49f
                    else 0f)
            let drawn = torch.tensor(values).view(1L, 2L, 6L, 6L)
            let x0 = torch.tensor([| 10L; -3L |]).view(1L, 2L)
            let y0 = torch.tensor([| 20L; 7L |]).view(1L, 2L)
            let boxes = (Track.maskBoxes 0.5 drawn x0 y0).data<float32>().ToArray()
            Expect.equal boxes [| 11f; 22f; 4f; 2f; 0f; 0f; 0f; 0f |] "(left, top, width, height) in frame pixels; all 0 without a mask pixel"

        testCase "the reporting floor is a share of the anchor area, and only it filters" <| fun () ->
            // toy64's LD anchors are 10 px: 0.2 of 10 × 10.
            Expect.floatClose Accuracy.high (float (Track.minVisiblePixels Config.toy64 Track.defaultMinVisibleShare)) 20.0 "20 px"
            let o (id: int64) (v: float32) : Track.TrackedObject =
                { Id = id; Where = [| 0f; 0f; 0f; 0f |]; Presence = 1f; Depth = 0f; What = [||]; New = false; Visible = v; MaskBox = [||] }
            Expect.equal (Track.reported 20f [| o 1L 19.9f; o 2L 20f; o 3L 64f |] |> Array.map (fun x -> x.Id)) [| 2L; 3L |] "below the floor: left out"
    ]
