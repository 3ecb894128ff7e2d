module Scalor.Tests.Export

open System
open System.IO
open Expecto
open TorchSharp
open Scalor.Model
open Scalor.Runtime
open Scalor.Worlds

let private tempModel () = Path.Combine(Path.GetTempPath(), sprintf "scalor-export-%s.onnx" (Guid.NewGuid().ToString("N")))

/// Tracks `frames` with TorchSharp (`Track.step`, means) and with the exported model on ONNX Runtime; returns
/// per frame the (id, where, presence) lists of both.
let private bothWith (duplicateShare: float) (nets: Scalor.Nets) (capacity: int) (render: bool) (dense: bool) (seq: World.Sequence) =
    let path = tempModel ()
    try
        Export.save nets { Capacity = capacity; Render = render; Dense = dense; DuplicateShare = duplicateShare } path |> ignore
        use onnx = OnnxTracker.Load(path, Provider.Cpu, 1)
        Expect.equal (onnx.FrameStep, onnx.Crops.Count) (1, 0) "a model of generated worlds sees every frame, whole"
        let recorded = if Discovery.testsDuplicates duplicateShare then Nullable duplicateShare else Nullable()
        Expect.equal onnx.DuplicateShare recorded "the model file records its duplicate share"
        Expect.equal onnx.ExplainedShare (Nullable nets.Config.RejectionThreshold) "and the official test's share"
        // Compare every present object, step against step; the reporting floor and the converged tracks' rule are
        // checked on their own.
        onnx.MinVisible <- 0f
        onnx.Converged <- Unchecked.defaultof<Converged.Rule>
        let x = Train.batchOf [| seq |]
        let opts = Track.deterministic nets.Config duplicateShare
        let mutable state = Track.initial nets 1L
        let bytes = seq.ViewSize * seq.ViewSize * 3
        [ for t in 0 .. seq.Length - 1 do
            use scope = torch.NewDisposeScope()
            let next, f = Track.step nets opts state (x.select(1L, int64 t))
            state <- Track.keep scope next
            // z_where and then the reported box (the mask box where the object has one, as `track` reports).
            let reported (o: Track.TrackedObject) =
                if o.MaskBox.Length = 4 then o.MaskBox
                else let l, t, w, h = Track.box o.Where seq.ViewSize seq.ViewSize in [| float32 l; float32 t; float32 w; float32 h |]
            let torchObjs =
                Track.objectsOf f.Objects (Track.rendering nets f.Objects) 0L 0.5f Set.empty
                |> Array.map (fun o -> o.Id, Array.append o.Where (reported o), o.Presence, o.Visible)
            let frame = Frame("s", t, seq.ViewSize, seq.ViewSize, seq.Frames.[t * bytes .. (t + 1) * bytes - 1])
            let r = onnx.Step frame
            let onnxObjs = r.Objects |> Seq.map (fun o -> o.Id, Array.append o.Where [| o.Left; o.Top; o.Width; o.Height |], o.Presence, o.Visible) |> Array.ofSeq
            let recon = if render then Some(f.Recon.contiguous().data<float32>().ToArray(), r.Reconstruction) else None
            yield torchObjs, onnxObjs, recon ]
    finally
        File.Delete path

let private both = bothWith Discovery.defaultDuplicateShare

let private expectSame (frames: ((int64 * float32[] * float32 * float32)[] * (int64 * float32[] * float32 * float32)[] * _) list) (tol: float32) =
    for t, (a, b, _) in List.indexed frames do
        Expect.equal (b |> Array.map (fun (i, _, _, _) -> i)) (a |> Array.map (fun (i, _, _, _) -> i)) (sprintf "frame %d: the same ids in the same order" t)
        for (ia, wa, pa, va), (_, wb, pb, vb) in Array.zip a b do
            for j in 0 .. 3 do
                Expect.isLessThan (abs (wa.[j] - wb.[j])) tol (sprintf "frame %d, object %d: z_where[%d] %f vs %f" t ia j wa.[j] wb.[j])
            // Mask box edges are pixel indices where α·z_pres exceeds 0.3: equal, or one pixel apart where a
            // value lies within float error of the threshold.
            for j in 4 .. 7 do
                Expect.isLessThanOrEqual (abs (wa.[j] - wb.[j])) 1.0f (sprintf "frame %d, object %d: box[%d] %f vs %f" t ia (j - 4) wa.[j] wb.[j])
            Expect.isLessThan (abs (pa - pb)) tol (sprintf "frame %d, object %d: presence" t ia)
            // Rendered pixels: a sum over a few hundred pixels, each within the tolerance.
            Expect.isLessThan (abs (va - vb)) (tol * (1f + va)) (sprintf "frame %d, object %d: rendered pixels %f vs %f" t ia va vb)

[<Tests>]
let tests =
    testSequenced <| testList "Export" [
        testCase "the exported step tracks as the TorchSharp step: same ids, boxes within 1e-3 (small random model)" <| fun () ->
            // A fresh model with capacity 12: more cells pass the keep threshold than there are slots, so the
            // trimming to capacity is exercised too.
            let nets = Scalor.create { Config.toy64 with BatchSize = 1; Capacity = 12 } 3L
            let w = World.create { World.defaultConfig with Length = 5 } None
            let frames = both nets 12 false false (World.sequence w (World.sequenceSeed 77UL 0))
            Expect.isGreaterThan (frames |> List.sumBy (fun (a, _, _) -> a.Length)) 0 "the random model reports objects (the test is not vacuous)"
            Expect.isTrue (frames |> List.exists (fun (a, _, _) -> a |> Array.exists (fun (_, _, _, v) -> v > 1f))) "objects render pixels"
            // A glimpse is s_x·64 px wide; a mask box is narrower, and whole pixels.
            let masked = frames |> List.sumBy (fun (a, _, _) -> a |> Array.filter (fun (_, w, _, _) -> w.[6] < 64f * w.[0] - 0.5f && w.[6] = round w.[6]) |> Array.length)
            Expect.isGreaterThan masked 0 "some objects report mask boxes (the box comparison is not vacuous)"
            expectSame frames 1e-3f

        testCase "with the official rejection alone and with a larger duplicate share, too; a smaller share keeps fewer objects" <| fun () ->
            // Capacity 64: no trimming, so the counts compare the rejection tests alone.
            let nets = Scalor.create { Config.toy64 with BatchSize = 1; Capacity = 64 } 3L
            let w = World.create { World.defaultConfig with Length = 3 } None
            let seq = World.sequence w (World.sequenceSeed 77UL 0)
            let official = bothWith Discovery.noDuplicateTest nets 64 false false seq
            expectSame official 1e-3f
            let loose = bothWith 0.8 nets 64 false false seq
            expectSame loose 1e-3f
            let count (frames: ((int64 * float32[] * float32 * float32)[] * _ * _) list) = frames |> List.sumBy (fun (a, _, _) -> a.Length)
            Expect.isLessThan (count (both nets 64 false false seq)) (count official) "a random model's overlapping proposals are thinned out"
            Expect.isLessThanOrEqual (count (both nets 64 false false seq)) (count loose) "0.3 rejects at least what 0.8 rejects"
            Expect.isLessThanOrEqual (count loose) (count official) "0.8 keeps no more than the official test"

        testCase "dense mode (every slot and cell processed) tracks the same" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1; Capacity = 12 } 3L
            let w = World.create { World.defaultConfig with Length = 4 } None
            expectSame (both nets 12 false true (World.sequence w (World.sequenceSeed 77UL 0))) 1e-3f

        testCase "with rendering: the reconstruction matches within 1e-3, with either background decoder" <| fun () ->
            for broadcast in [ false; true ] do
                let nets = Scalor.create { Config.toy64 with BatchSize = 1; Capacity = 12; BgSpatialBroadcast = broadcast } 5L
                let w = World.create { World.defaultConfig with Length = 3 } None
                let frames = both nets 12 true false (World.sequence w (World.sequenceSeed 78UL 0))
                expectSame frames 1e-3f
                for t, (_, _, recon) in List.indexed frames do
                    match recon with
                    | Some((a: float32[]), (onnxRecon: float32[])) when not (isNull onnxRecon) ->
                        Expect.equal onnxRecon.Length a.Length "size"
                        let d = Array.map2 (fun (u: float32) v -> abs (u - v)) a onnxRecon |> Array.max
                        Expect.isLessThan d 1e-3f (sprintf "spatial broadcast %b, frame %d reconstruction" broadcast t)
                    | _ -> failtest "no reconstruction"

        testCase "with rendering: the segmentation and each object's rendering are TorchSharp's; frames not rendered track the same" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1; Capacity = 12 } 5L
            let w = World.create { World.defaultConfig with Length = 4 } None
            let seq = World.sequence w (World.sequenceSeed 78UL 0)
            let size = seq.ViewSize
            let bytes = size * size * 3
            let path = tempModel ()
            try
                Export.save nets { Capacity = 12; Render = true; Dense = false; DuplicateShare = Discovery.defaultDuplicateShare } path |> ignore
                use onnx = OnnxTracker.Load(path, Provider.Cpu, 1)
                Expect.isTrue onnx.Renders "a rendering model"
                onnx.MinVisible <- 0f
                let plain = onnx.NewState()
                let x = Train.batchOf [| seq |]
                // What `track` runs: the cells below `Track.sparseFloor` count as absent, in the graph's rendering too.
                let opts = Track.tracking nets.Config Discovery.defaultDuplicateShare
                let mutable state = Track.initial nets 1L
                let mutable compared = 0
                let mutable segmented = 0
                for t in 0 .. seq.Length - 1 do
                    use scope = torch.NewDisposeScope()
                    let before = state.Objects.Ids
                    let next, f = Track.step nets opts state (x.select(1L, int64 t))
                    let frame = Frame("s", t, size, size, seq.Frames.[t * bytes .. (t + 1) * bytes - 1])
                    let r = onnx.Step frame
                    // A frame not rendered: nothing drawn, the same objects (the graph without the rendering's branch).
                    let q = onnx.Step(frame, plain, false)
                    Expect.isNull q.Reconstruction "not rendered"
                    Expect.isNull q.Segments "no segmentation"
                    Expect.equal [ for o in q.Objects -> o.Id, o.Where, o.Render ] [ for o in r.Objects -> o.Id, o.Where, null ] (sprintf "frame %d: the same objects, without renderings" t)
                    let torchSeg = Scalor.Host.TrackCommand.SegmentIds(f.Maps, f.AlphaFg, before, size)
                    Expect.equal r.Segments.Length torchSeg.Length "one id a pixel"
                    segmented <- segmented + (torchSeg |> Array.filter (fun i -> i <> 0L) |> Array.length)
                    // Ties and the 0.1 cut within float error of TorchSharp's may move a pixel or two.
                    let recon = f.Recon.contiguous().data<float32>().ToArray()
                    Expect.isLessThan (Array.map2 (fun (u: float32) v -> abs (u - v)) recon r.Reconstruction |> Array.max) 1e-3f (sprintf "frame %d: the reconstruction" t)
                    let differ = Array.fold2 (fun n (a: int64) b -> if a = b then n else n + 1) 0 torchSeg r.Segments
                    Expect.isLessThanOrEqual differ (torchSeg.Length / 200) (sprintf "frame %d: %d pixels segmented otherwise" t differ)
                    let renders = Scalor.Host.TrackCommand.ObjectRenders(f.Maps, before, Collections.Generic.HashSet(r.Objects |> Seq.map (fun o -> o.Id)), size)
                    for o in r.Objects do
                        Expect.isNotNull o.Render (sprintf "frame %d, object %d: rendered" t o.Id)
                        let img = renders.[o.Id]
                        // TorchSharp's picture is bytes (HWC); the runtime's floats (CHW).
                        for c in 0 .. 2 do
                            for p in 0 .. size * size - 1 do
                                let v = int (Math.Clamp(o.Render.[c * size * size + p], 0f, 1f) * 255f + 0.5f)
                                Expect.isLessThanOrEqual (abs (v - int img.Pixels.[3 * p + c])) 1 (sprintf "frame %d, object %d: pixel %d" t o.Id p)
                        compared <- compared + 1
                    state <- Track.keep scope next
                Expect.isGreaterThan compared 0 "objects to compare"
                Expect.isGreaterThan segmented (seq.Length * 20) "pixels that show objects (the comparison is not vacuous)"
            finally File.Delete path

        testCase "a graph without some outputs keeps what the others need and nothing more" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 3L
            let rendering = Export.model nets { Export.defaultOptions with Capacity = 4; Render = true }
            let plain = Export.model nets { Export.defaultOptions with Capacity = 4 }
            let nodes = rendering.Graph.Node.Count
            let pruned = OnnxGraph.withoutOutputs Export.renderOutputs rendering
            let outputs (m: Onnx.ModelProto) = m.Graph.Output |> Seq.map (fun o -> o.Name) |> Set.ofSeq
            Expect.equal (outputs pruned) (outputs plain) "the outputs of a model exported without rendering"
            Expect.isTrue (Set.isSubset Export.renderOutputs (outputs rendering)) "the rendering model has them all"
            Expect.isLessThan pruned.Graph.Node.Count rendering.Graph.Node.Count "nodes removed"
            let weights (m: Onnx.ModelProto) = m.Graph.Initializer |> Seq.sumBy (fun t -> t.RawData.Length)
            Expect.isLessThan (weights pruned) (weights rendering) "the background's weights removed"
            Expect.equal (OnnxGraph.withoutOutputs Export.renderOutputs plain).Graph.Node.Count plain.Graph.Node.Count "nothing to remove"
            Expect.equal rendering.Graph.Node.Count nodes "the input is left as it was"

        testCase "the exported model carries the reporting floor; objects below it are tracked, not reported" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 3L
            let path = tempModel ()
            try
                Export.save nets { Export.defaultOptions with Capacity = 8 } path |> ignore
                use onnx = OnnxTracker.Load(path, Provider.Cpu, 1)
                Expect.floatClose Accuracy.medium (float onnx.MinVisible) 20.0 "0.2 of the 10-px anchor's area"
                let w = World.create { World.defaultConfig with Length = 2 } None
                let seq = World.sequence w (World.sequenceSeed 77UL 0)
                let bytes = seq.ViewSize * seq.ViewSize * 3
                let frame t = Frame("s", t, seq.ViewSize, seq.ViewSize, seq.Frames.[t * bytes .. (t + 1) * bytes - 1])
                onnx.MinVisible <- 1e9f
                Expect.isEmpty (onnx.Step(frame 0)).Objects "nothing renders a billion pixels"
                onnx.MinVisible <- 0f
                let second = (onnx.Step(frame 1)).Objects
                Expect.isNonEmpty second "the objects are still tracked"
                Expect.exists second (fun o -> not o.New) "and the survivors are not new"
            finally File.Delete path

        testCase "the default model retires converged tracks and hands their ids on, on either runtime alike; no reported pair coincides for the rule's frames in a row, without the rule some do" <| fun () ->
            let struct (nets: Scalor.Nets, share) = Scalor.Host.Checkpoints.LoadForInference(null, None)
            let seq = World.sequence (World.create { World.defaultConfig with Length = 40 } None) (World.sequenceSeed 1000001UL 0)
            let bytes = seq.ViewSize * seq.ViewSize * 3
            let frames = [ for t in 0 .. seq.Length - 1 -> seq.Frames.[t * bytes .. (t + 1) * bytes - 1] ]
            let torchWith (rule: Converged.Rule option) =
                use tracker = new Tracker.Tracker(nets, share, 0.5f, Track.defaultMinVisibleShare, rule)
                [ for rgb in frames -> tracker.Step rgb |> Array.map (fun o -> o.Id, o.Where) ]
            let path = tempModel ()
            let onnxFrames =
                try
                    Export.save nets { Export.optionsFor nets with Render = true } path |> ignore
                    use onnx = OnnxTracker.Load(path, Provider.Cpu, 1)
                    Expect.equal onnx.Converged Converged.defaults "the runtime's default is track's"
                    [ for t, rgb in List.indexed frames ->
                          let r = onnx.Step(Frame("s", t, seq.ViewSize, seq.ViewSize, rgb))
                          r.Objects |> Seq.map (fun o -> o.Id) |> Array.ofSeq, r.Segments ]
                finally File.Delete path
            let ruled, off = torchWith (Some Converged.defaults), torchWith None
            Expect.equal (onnxFrames |> List.map fst) (ruled |> List.map (Array.map fst)) "ONNX Runtime reports the ids TorchSharp reports, frame by frame"
            // This sequence hands a retired track's id on (the premise); the hand-over changes ids, never boxes.
            let kept = torchWith (Some { Converged.defaults with HandOver = 0 })
            Expect.notEqual (ruled |> List.map (Array.map fst)) (kept |> List.map (Array.map fst)) "an id is handed on"
            let boxes frames = frames |> List.map (Array.map snd >> Array.sort)
            Expect.equal (boxes ruled) (boxes kept) "the same boxes with and without the hand-over"
            // Both runtimes' segmentations show a track that took an id under that id, never under its own.
            let handed =
                use tracker = new Tracker.Tracker(nets, share, 0.5f, Track.defaultMinVisibleShare, Some Converged.defaults)
                [ for rgb in frames ->
                      let seen = ref (Map.empty, [||])
                      let inspect (v: Tracker.FrameView) =
                          seen.Value <- v.Handed, Scalor.Host.TrackCommand.SegmentIds(v.Frame.Maps, v.Frame.AlphaFg, v.IdsBefore, seq.ViewSize, Func<int64, int64>(v.ReportedId))
                      tracker.Step(rgb, Action<Tracker.FrameView>(inspect)) |> ignore
                      seen.Value ]
            for (h, torchSeg), (_, onnxSeg) in List.zip handed onnxFrames do
                for seg in [ torchSeg; onnxSeg ] do
                    for KeyValue(own, _) in h do Expect.isFalse (Array.contains own seg) (sprintf "track %d shows under its own id" own)
                // Ties and the 0.1 cut within float error may move a pixel or two.
                Expect.isLessThanOrEqual (Array.fold2 (fun n (a: int64) b -> if a = b then n else n + 1) 0 torchSeg onnxSeg) (torchSeg.Length / 200) "the runtimes segment alike"
            Expect.isTrue (List.zip handed onnxFrames |> List.exists (fun ((h, _), (_, seg)) -> h |> Map.exists (fun _ id -> Array.contains id seg))) "a handed track shows under the id it took"
            // The longest run of frames in a row in which two reported tracks' glimpse boxes coincide.
            let longest (frames: (int64 * float32[])[] list) =
                let coincide a b = Scalor.Metrics.Geometry.iou (Converged.boxOf a) (Converged.boxOf b) >= Converged.defaults.MinIou
                frames
                |> List.fold (fun (runs: Map<int64 * int64, int>, best) objects ->
                    let now = Map.ofList [ for ia, wa in objects do
                                               for ib, wb in objects do
                                                   if ia < ib && coincide wa wb then yield (ia, ib), 1 + defaultArg (runs.TryFind(ia, ib)) 0 ]
                    now, (if now.IsEmpty then best else max best (Seq.max now.Values)))
                    (Map.empty, 0)
                |> snd
            Expect.isGreaterThanOrEqual (longest off) Converged.defaults.Frames "without the rule, copies ride along (the premise)"
            Expect.isLessThan (longest ruled) Converged.defaults.Frames "with it, none for the rule's frames"
            Expect.isLessThan (ruled |> List.sumBy Array.length) (off |> List.sumBy Array.length) "fewer reports"
            Expect.equal ruled.[0] off.[0] "the first frame is the model's own"

        testCase "optionsFor exports the slots the nets track with, not the presets'" <| fun () ->
            let nets = Scalor.withCapacity 6 (Scalor.create { Config.toy64 with BatchSize = 1 } 3L)
            Expect.equal (Export.optionsFor nets) { Export.defaultOptions with Capacity = 6 } "only the capacity differs"
            let path = tempModel ()
            try
                Export.save nets (Export.optionsFor nets) path |> ignore
                use onnx = OnnxTracker.Load(path, Provider.Cpu, 1)
                Expect.equal onnx.Capacity 6 "the file's slots"
            finally File.Delete path

        testCase "a frame of the wrong size is refused with a clear error" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 3L
            let path = tempModel ()
            try
                Export.save nets { Export.defaultOptions with Capacity = 8 } path |> ignore
                use onnx = OnnxTracker.Load(path, Provider.Cpu, 1)
                Expect.throwsT<ArgumentException> (fun () -> onnx.Step(Frame("s", 0, 32, 32, Array.zeroCreate (32 * 32 * 3))) |> ignore) "refused"
            finally File.Delete path

        testCase "asking for an execution provider this build lacks falls back to the CPU and says so" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 3L
            let path = tempModel ()
            try
                Export.save nets { Export.defaultOptions with Capacity = 4 } path |> ignore
                let messages = Collections.Generic.List<string>()
                use onnx = OnnxTracker.Load(path, Provider.Cuda, 1, fun m -> messages.Add m)
                if not (Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders() |> Array.contains "CUDAExecutionProvider") then
                    Expect.equal onnx.ProviderName "CPUExecutionProvider" "fell back"
                    Expect.exists messages (fun m -> m.Contains "falling back to CPU") "said so"
            finally File.Delete path

        testCase "held in memory, the exported model is the file's bytes and tracks as the file does; bad bytes are a clear error" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 3L
            let opts = { Export.defaultOptions with Capacity = 8 }
            let path = tempModel ()
            try
                Export.save nets opts path |> ignore
                let model = Export.model nets opts
                let bytes = OnnxGraph.toBytes model
                // Compared as spans: Expect.sequenceEqual boxes each of the model's bytes, and so outgrew the test's block.
                let file = File.ReadAllBytes path
                Expect.isTrue (System.Linq.Enumerable.SequenceEqual(bytes, file)) (sprintf "the same model as the file (%d and %d bytes)" bytes.Length file.Length)
                let v = typeof<Config.ScalorConfig>.Assembly.GetName().Version
                Expect.equal (model.ProducerName, model.ProducerVersion) ("Scalor", sprintf "%d.%d.%d" v.Major v.Minor v.Build) "written by this version of Scalor"
                let w = World.create { World.defaultConfig with Length = 3 } None
                let seq = World.sequence w (World.sequenceSeed 78UL 0)
                let size = seq.ViewSize * seq.ViewSize * 3
                // One session at a time: each is released before the next loads.
                let track (load: unit -> OnnxTracker) =
                    use onnx = load ()
                    onnx.MinVisible <- 0f
                    [ for t in 0 .. 2 do
                        let frame = Frame("s", t, seq.ViewSize, seq.ViewSize, seq.Frames.[t * size .. (t + 1) * size - 1])
                        yield [ for o in (onnx.Step frame).Objects -> o.Id, (o.Left, o.Top, o.Width, o.Height), o.Presence, o.Where ] ]
                let fromFile = track (fun () -> OnnxTracker.Load(path, Provider.Cpu, 1))
                let inMemory = track (fun () -> OnnxTracker.Load(bytes, "the test's model", Provider.Cpu, 1))
                for t in 0 .. 2 do Expect.equal inMemory.[t] fromFile.[t] (sprintf "frame %d: the same objects" t)
                Expect.isNonEmpty (List.concat inMemory) "objects to compare"
                let e = Expect.throwsC (fun () -> OnnxTracker.Load(Array.init 64 byte, "the broken model", Provider.Cpu, 1) |> ignore) id
                Expect.isTrue (e :? InvalidDataException) "InvalidDataException"
                Expect.stringContains e.Message "the broken model" "names it"
            finally File.Delete path
    ]
