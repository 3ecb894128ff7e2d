/// `scalor-host track` end to end with the embedded model: the files it writes agree with each other.
module Scalor.Tests.TrackCommand

open System
open System.IO
open System.Text.Json
open Expecto
open Scalor.Cli
open Scalor.Host
open System.Reactive.Linq
open Scalor.Runtime
open Scalor.Tests.CommandFiles
open Scalor.Model
open Scalor.Metrics

let private command out masks : Parse.TrackCommand = { trackCommand out with MaskBoxes = masks }

/// (frame, id) → box of a MOTChallenge results file.
let private results (path: string) =
    File.ReadAllLines path
    |> Array.map (fun l ->
        let f = l.Split(',') |> Array.map (fun x -> Double.Parse(x, Globalization.CultureInfo.InvariantCulture))
        (int f.[0], int64 f.[1]), [| f.[2]; f.[3]; f.[4]; f.[5] |])
    |> Map.ofArray

/// An empty sequence `dir`/`name`/seq-0001 with its img1/ and gt/ folders.
let private sequenceFolder (dir: string) (name: string) =
    let seq = Path.Combine(dir, name, "seq-0001")
    Directory.CreateDirectory(Path.Combine(seq, "img1")) |> ignore
    Directory.CreateDirectory(Path.Combine(seq, "gt")) |> ignore
    seq

/// Tracks `input` with `change` applied to the test command, into `dir`/`name`-`runtime`, on `runtime`, with
/// latents: the output folder.
let private trackInto (dir: string) (runtime: string) (name: string) (input: string) (change: Parse.TrackCommand -> Parse.TrackCommand) =
    let out = Path.Combine(dir, name + "-" + runtime)
    let cmd = change { command out true with Input = input; Runtime = runtime; Latents = true }
    Expect.equal (TrackCommand.Run cmd) 0 "track succeeds"
    out

/// The results rows of the first of two sequences of a `track` output folder, then the second's.
let private rowsOf2 (out: string) =
    Array.append (File.ReadAllLines(Path.Combine(out, "results", "seq-0001.txt"))) (File.ReadAllLines(Path.Combine(out, "results", "seq-0002.txt")))

/// The results rows of the one sequence of a `track` output folder.
let private rowsOf (out: string) = File.ReadAllLines(Path.Combine(out, "results", "seq-0001.txt"))

/// Two `track` outputs score alike: every count and score of their metrics.json.
let private sameScores (label: string) (a: string) (b: string) =
    use a = JsonDocument.Parse(File.ReadAllText(Path.Combine(a, "metrics.json")))
    use b = JsonDocument.Parse(File.ReadAllText(Path.Combine(b, "metrics.json")))
    for key in [ "num_gt"; "tp"; "fn"; "fp"; "idsw"; "mota"; "idf1"; "hota" ] do
        Expect.equal (a.RootElement.GetProperty(key).GetDouble()) (b.RootElement.GetProperty(key).GetDouble()) (sprintf "%s: %s" label key)

[<Tests>]
let tests =
    testSequenced <| testList "TrackCommand" [
        testProperty "--backfill's tile groups: every tile once, in order, each group within the budget (one tile at least), as few reads as that allows, evenly" <| fun (tiles: byte) (per: byte) (frames: byte) ->
            let tiles, per, frames = 1 + int tiles % 120, 1 + int per % 60, int frames % 40
            let tileBytes = 64L * 64L * 3L * int64 frames
            let budget = int64 per * tileBytes + tileBytes / 2L
            let groups = TrackCommand.TileGroups(tiles, tileBytes, budget) |> Seq.map List.ofSeq |> List.ofSeq
            Expect.equal (List.concat groups) [ 0 .. tiles - 1 ] "every tile once, in order"
            if frames = 0 then Expect.equal groups.Length 1 "a length not known: one group"
            else
                Expect.equal groups.Length ((tiles + per - 1) / per) (sprintf "%d tiles, %d fit: the fewest reads" tiles per)
                for g in groups do Expect.isLessThanOrEqual (int64 g.Length * tileBytes) budget "within the budget"
                let sizes = groups |> List.map List.length
                Expect.isLessThanOrEqual (List.max sizes - List.min sizes) 1 "groups even to a tile"
                let alone = TrackCommand.TileGroups(tiles, 2L * budget, budget) |> Seq.map List.ofSeq |> List.ofSeq
                Expect.equal alone [ for i in 0 .. tiles - 1 -> [ i ] ] "a tile over the budget alone: a read a tile"

        testCase "results, latents and metrics agree; mask boxes lie in the frame inside their glimpses" <| fun () ->
            inTempDir "scalor-track" <| fun dir ->
                let run name masks =
                    let out = Path.Combine(dir, name)
                    Expect.equal (TrackCommand.Run(command out masks)) 0 "track succeeds"
                    out
                let maskOut, glimpseOut = run "mask" true, run "glimpse" false
                let masked = results (Path.Combine(maskOut, "results", "seq-0001.txt"))
                Expect.isGreaterThan masked.Count 20 "the default model tracks the LD objects"
                use latents = JsonDocument.Parse(File.ReadAllText(Path.Combine(maskOut, "latents", "seq-0001.json")))
                let fromLatents =
                    [ for frame in latents.RootElement.EnumerateArray() do
                        for o in frame.GetProperty("objects").EnumerateArray() do
                            yield (frame.GetProperty("frame").GetInt32(), o.GetProperty("id").GetInt64()), (latentBox o, o.GetProperty("scale_x").GetDouble()) ]
                    |> Map.ofList
                Expect.equal (fromLatents |> Map.toList |> List.map fst) (masked |> Map.toList |> List.map fst) "the same objects in every frame"
                for KeyValue(key, b) in masked do
                    let box, sx = fromLatents.[key]
                    for j in 0 .. 3 do
                        Expect.floatClose Accuracy.high box.[j] b.[j] (sprintf "%A: the latents' box is the results' box" key)
                    expectMaskBoxInGlimpse key b sx
                let glimpses = results (Path.Combine(glimpseOut, "results", "seq-0001.txt"))
                Expect.equal (glimpses |> Map.toList |> List.map fst) (masked |> Map.toList |> List.map fst) "the box kind changes no object or id"
                Expect.isLessThan (meanArea masked.Values) (0.8 * meanArea glimpses.Values) "mask boxes are tighter than glimpses"
                use metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(maskOut, "metrics.json")))
                Expect.equal (metrics.RootElement.GetProperty("recall_by_frame").GetArrayLength()) 10 "recall at each of the 10 frames"

        testCase "track of ten sequences or more gives eval's 95% interval of MOTA, by the method and draws given; of fewer, or with --resamples 0, none" <| fun () ->
            inTempDir "scalor-track-interval" <| fun dir ->
                let world = { Scalor.Worlds.World.defaultConfig with Length = 3 }
                let pair (e: JsonElement) = e.[0].GetDouble(), e.[1].GetDouble()
                // The same results scored by eval with the same method, resamples and seed give the same intervals.
                let sameAsEval (name: string) (intervalMethod: Bootstrap.Method) (resamples: int) (seed: uint64) =
                    let out = Path.Combine(dir, name)
                    let tracked = { command out true with Latents = false; Sequences = 10; World = world; IntervalMethod = intervalMethod; Resamples = resamples; BootstrapSeed = seed }
                    Expect.equal (TrackCommand.Run tracked) 0 "track succeeds"
                    let metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "metrics.json")))
                    let lo, hi = pair (metrics.RootElement.GetProperty "mota_interval")
                    Expect.isTrue (lo <= hi && hi <= 1.0) (sprintf "an interval of MOTA: %g–%g" lo hi)
                    let recorded = metrics.RootElement.GetProperty("interval")
                    Expect.equal (recorded.GetProperty("method").GetString(), recorded.GetProperty("resamples").GetInt32(), recorded.GetProperty("seed").GetUInt64())
                        (Bootstrap.methodName intervalMethod, resamples, seed) "the JSON names the method and the draws"
                    let json = Path.Combine(dir, name + "-eval.json")
                    let eval : Parse.EvalCommand =
                        { GtDir = Path.Combine(out, "gt"); PredDir = Path.Combine(out, "results"); ByIou = false; Threshold = nan; JsonFile = json
                          Model = null; DataDir = null; Samples = 1; DuplicateShare = None; ExplainedShare = None; MinVisibleShare = 0.0
                          Threads = 1; MinGtVisibility = 0.0; Backfill = false; Converged = None; FrameStep = 1; Crops = []; Baseline = null
                          Resamples = resamples; BootstrapSeed = seed; IntervalMethod = intervalMethod }
                    Expect.equal (EvalCommand.Run eval) 0 "eval succeeds"
                    use scored = JsonDocument.Parse(File.ReadAllText json)
                    for k in [ "mota_interval"; "idf1_interval"; "hota_interval" ] do
                        Expect.equal (pair (scored.RootElement.GetProperty k)) (pair (metrics.RootElement.GetProperty k)) (sprintf "%s: track's is eval's" k)
                    metrics
                use bca = sameAsEval "ten" Bootstrap.defaultMethod Bootstrap.defaultResamples Bootstrap.defaultSeed
                use percentile = sameAsEval "ten-percentile" Bootstrap.Percentile Bootstrap.defaultResamples Bootstrap.defaultSeed
                use drawn = sameAsEval "ten-draws" Bootstrap.defaultMethod 500 7UL
                // The same world and model track the same objects; only the reading or the draws of the resamples differ.
                for other, what in [ percentile, "percentile and BCa intervals differ"; drawn, "other draws give another interval" ] do
                    Expect.equal (other.RootElement.GetProperty("mota").GetDouble()) (bca.RootElement.GetProperty("mota").GetDouble()) "the same MOTA"
                    Expect.notEqual (pair (other.RootElement.GetProperty "mota_interval")) (pair (bca.RootElement.GetProperty "mota_interval")) what
                let noInterval (name: string) (cmd: Parse.TrackCommand) =
                    let out = Path.Combine(dir, name)
                    Expect.equal (TrackCommand.Run { cmd with Out = out }) 0 "track succeeds"
                    use m = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "metrics.json")))
                    Expect.isTrue (m.RootElement.TryGetProperty("mota") |> fst) (sprintf "%s: scored" name)
                    Expect.isFalse (m.RootElement.TryGetProperty("mota_interval") |> fst) (sprintf "%s: no interval" name)
                noInterval "few" { command dir true with Latents = false; Sequences = 9; World = world }
                noInterval "off" { command dir true with Latents = false; Sequences = 10; World = world; Resamples = 0 }

        testCase "the ONNX runtime reports the rows TorchSharp does with the trained model, mask boxes included" <| fun () ->
            // A trained model's alphas are near 0 or 1, so no mask pixel sits within float error of the threshold:
            // the two runtimes must agree on every id and box to the files' rounding.
            inTempDir "scalor-track" <| fun dir ->
                let run name runtime =
                    let out = Path.Combine(dir, name)
                    Expect.equal (TrackCommand.Run { command out true with Latents = false; Runtime = runtime; Sequences = 2 }) 0 "track succeeds"
                    [ for s in [ "seq-0001"; "seq-0002" ] -> File.ReadAllLines(Path.Combine(out, "results", s + ".txt")) ]
                let torch, onnx = run "torch" "torchsharp", run "onnx" "onnx"
                // Frame, id and box as the files write them (one formatter for both runtimes); the confidence, a
                // float near 1, is left out: another CPU's rounding may move its third decimal.
                let firstSix (lines: string[]) = lines |> Array.map (fun l -> l.Split(',').[0..5] |> String.concat ",")
                for t, o in List.zip torch onnx do
                    Expect.isGreaterThan t.Length 20 "objects tracked"
                    Expect.sequenceEqual (firstSix o) (firstSix t) "the same frames, ids and boxes, written alike"

        testCase "--mse: ONNX Runtime renders every frame and reports TorchSharp's reconstruction MSE; an export without rendering is refused" <| fun () ->
            inTempDir "scalor-track-mse" <| fun dir ->
                let mseOf name runtime mse =
                    let out = Path.Combine(dir, name)
                    Expect.equal (TrackCommand.Run { command out true with Latents = false; Runtime = runtime; Sequences = 2; Mse = mse }) 0 "track succeeds"
                    use metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "metrics.json")))
                    match metrics.RootElement.TryGetProperty "mse" with
                    | true, v -> Some(v.GetDouble())
                    | _ -> None
                let torch = mseOf "torch" "torchsharp" false
                Expect.isSome torch "TorchSharp reports it"
                Expect.isNone (mseOf "onnx" "onnx" false) "ONNX Runtime without --mse renders only the frames drawn: no MSE"
                match torch, mseOf "onnx-mse" "onnx" true with
                | Some t, Some o ->
                    Expect.isGreaterThan t 0.0 "a reconstruction error"
                    Expect.floatClose { absolute = 1e-7; relative = 1e-4 } o t "the same reconstruction, the same error"
                | _, other -> failtestf "ONNX Runtime with --mse: %A" other
                let plain = Path.Combine(dir, "plain.onnx")
                Export.save (Scalor.create { Config.toy64 with BatchSize = 1 } 3L) { Export.defaultOptions with Capacity = 8 } plain |> ignore
                let e = refusalOf (fun () -> TrackCommand.Run { command (Path.Combine(dir, "refused")) true with Model = plain; Mse = true; Runtime = "" })
                Expect.stringContains e.Message "--mse" "names the option"
                Expect.stringContains e.Message "--render" "and the export it needs"

        testCase "--capacity bounds both runtimes alike, and metrics.json counts the frames after which every slot was taken" <| fun () ->
            inTempDir "scalor-track" <| fun dir ->
                let run name runtime capacity =
                    let out = Path.Combine(dir, name)
                    Expect.equal (TrackCommand.Run { command out true with Latents = false; Pictures = false; Runtime = runtime; Capacity = capacity }) 0 "track succeeds"
                    use metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "metrics.json")))
                    let key (k: string) = metrics.RootElement.GetProperty(k).GetInt32()
                    rowsOf out |> Array.map (fun l -> l.Split(',').[0..5] |> String.concat ","), key "capacity", key "slots_full_frames"
                let torch, torchCapacity, torchFull = run "torch3" "torchsharp" (Some 3)
                let onnx, onnxCapacity, onnxFull = run "onnx3" "onnx" (Some 3)
                Expect.sequenceEqual onnx torch "the same frames, ids and boxes on both runtimes"
                Expect.equal (torchCapacity, onnxCapacity) (3, 3) "the capacity asked for"
                Expect.equal onnxFull torchFull "both full after the same frames"
                Expect.isGreaterThan torchFull 0 "three slots fill on an LD world"
                let perFrame = torch |> Array.countBy (fun l -> l.Split(',').[0]) |> Array.map snd
                Expect.isLessThanOrEqual (Array.max perFrame) 3 "at most three objects a frame"
                let roomy, capacity, full = run "torch" "torchsharp" None
                Expect.equal (capacity, full) (Scalor.Model.Config.toy64.Capacity, 0) "the model's 128 slots never fill here"
                Expect.isGreaterThan (roomy |> Array.countBy (fun l -> l.Split(',').[0]) |> Array.map snd |> Array.max) 3 "more objects a frame with them"

        testCase "the ONNX runtime draws TorchSharp's pictures and writes its latents" <| fun () ->
            inTempDir "scalor-track-onnx" <| fun dir ->
                let run runtime =
                    let out = Path.Combine(dir, runtime)
                    Expect.equal (TrackCommand.Run { command out true with Latents = true; Pictures = true; Runtime = runtime; Sequences = 2 }) 0 "track succeeds"
                    out
                let torch, onnx = run "torchsharp", run "onnx"
                for s in [ "seq-0001"; "seq-0002" ] do
                    let png out =
                        use fs = File.OpenRead(Path.Combine(out, "pictures", s + ".png"))
                        StbImageSharp.ImageResult.FromStream(fs, StbImageSharp.ColorComponents.RedGreenBlue)
                    let a, b = png torch, png onnx
                    Expect.equal (b.Width, b.Height) (a.Width, a.Height) (s + ": the same layout")
                    Expect.isTrue (File.Exists(Path.Combine(onnx, "pictures", s + ".gif"))) (s + ": and a GIF")
                    // TorchSharp's tracking renders only the cells above a floor of presence (Track.sparseFloor), the
                    // ONNX graph every cell; rounding to bytes does the rest: a level here and there, no more.
                    // Counted in a loop: a sequence of byte pairs allocates one per value, hundreds of MB here.
                    let mutable far, off = 0, 0
                    for i in 0 .. a.Data.Length - 1 do
                        let d = abs (int a.Data.[i] - int b.Data.[i])
                        if d > 8 then far <- far + 1
                        if d > 0 then off <- off + 1
                    Expect.isLessThanOrEqual far (a.Data.Length / 2000) (sprintf "%s: %d values more than 8 levels apart" s far)
                    Expect.isLessThan off (a.Data.Length / 100) (sprintf "%s: %d of %d values differ" s off a.Data.Length)
                    let objects out =
                        use latents = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "latents", s + ".json")))
                        [ for f in latents.RootElement.EnumerateArray() do
                            for o in f.GetProperty("objects").EnumerateArray() ->
                                (f.GetProperty("frame").GetInt32(), o.GetProperty("id").GetInt64(), latentBox o, o.GetProperty("discovered").GetBoolean()),
                                [ for k in [ "scale_x"; "scale_y"; "position_x"; "position_y"; "depth"; "presence" ] -> o.GetProperty(k).GetDouble() ]
                                @ [ for v in o.GetProperty("appearance").EnumerateArray() -> v.GetDouble() ] ]
                    let t, o = objects torch, objects onnx
                    Expect.isGreaterThan t.Length 20 "objects tracked"
                    Expect.equal (List.map fst o) (List.map fst t) (s + ": the same frames, ids, boxes and discoveries")
                    for (key, u), (_, v) in List.zip t o do
                        Expect.equal v.Length u.Length "the same latents"
                        for x, y in List.zip u v do Expect.isLessThan (abs (x - y)) 1e-3 (sprintf "%s %A: latents %f and %f" s key x y)

        testCase "an exported model tracks as --runtime onnx does: results, latents and pictures byte for byte, and its floor scales as --min-visible asks" <| fun () ->
            inTempDir "scalor-track-exported" <| fun dir ->
                let exported render =
                    let path = Path.Combine(dir, (if render then "render.onnx" else "plain.onnx"))
                    let export : Parse.ExportCommand =
                        { Model = null; Out = path; Capacity = None; Render = render; Dense = false; DuplicateShare = None; ExplainedShare = None; WeightsOnly = false }
                    Expect.equal (ExportCommand.Run export) 0 "export succeeds"
                    path
                let rendering, plain = exported true, exported false
                let run name (change: Parse.TrackCommand -> Parse.TrackCommand) =
                    let out = Path.Combine(dir, name)
                    Expect.equal (TrackCommand.Run(change { command out true with Latents = true; Pictures = true; Sequences = 2 })) 0 "track succeeds"
                    out
                let inMemory = run "in-memory" (fun c -> { c with Runtime = "onnx" })
                // No --runtime: the file runs on ONNX Runtime.
                let fromFile = run "from-file" (fun c -> { c with Model = rendering; Runtime = "" })
                for s in [ "seq-0001"; "seq-0002" ] do
                    for sub, ext in [ "results", ".txt"; "latents", ".json"; "pictures", ".png"; "pictures", ".gif" ] do
                        let a, b = File.ReadAllBytes(Path.Combine(inMemory, sub, s + ext)), File.ReadAllBytes(Path.Combine(fromFile, sub, s + ext))
                        Expect.isTrue (a.AsSpan().SequenceEqual(ReadOnlySpan b)) (sprintf "%s%s: the same bytes" s ext)
                Expect.isGreaterThan (rowsOf2 inMemory).Length 20 "objects tracked"
                // Without --render the file draws nothing, and says so rather than failing.
                let unpictured = run "plain" (fun c -> { c with Model = plain; Runtime = "onnx" })
                Expect.isFalse (Directory.Exists(Path.Combine(unpictured, "pictures"))) "no pictures from a model that cannot draw them"
                Expect.sequenceEqual (rowsOf2 unpictured) (rowsOf2 inMemory) "the same rows"
                // The floor the file stores (the default share) scaled to another share: as the checkpoint computes it.
                let strict = run "strict-file" (fun c -> { c with Model = plain; Runtime = ""; Pictures = false; MinVisibleShare = 0.6 })
                let strictMemory = run "strict-memory" (fun c -> { c with Runtime = "onnx"; Pictures = false; MinVisibleShare = 0.6 })
                Expect.sequenceEqual (rowsOf2 strict) (rowsOf2 strictMemory) "--min-visible 0.6 reports the same rows"
                Expect.isLessThan (rowsOf2 strict).Length (rowsOf2 inMemory).Length "a higher floor reports fewer rows"

        testCase "what an exported model has built in cannot be asked for again, and other commands name the checkpoint they need" <| fun () ->
            inTempDir "scalor-track-exported" <| fun dir ->
                let path = Path.Combine(dir, "model")
                let export : Parse.ExportCommand =
                    { Model = null; Out = path + ".onnx"; Capacity = None; Render = false; Dense = false; DuplicateShare = None; ExplainedShare = None; WeightsOnly = false }
                ExportCommand.Run export |> ignore
                // Named without .onnx: the file's first bytes say what it is.
                File.Move(path + ".onnx", path)
                Expect.isTrue (Checkpoints.IsOnnx path) "an exported model is ONNX"
                let checkpoint = Path.Combine(dir, "ckpt.safetensors")
                Train.save checkpoint (Scalor.Model.Scalor.create { Config.toy64 with BatchSize = 2; SeqLength = 3 } 5L) None None 3 []
                Expect.isFalse (Checkpoints.IsOnnx checkpoint) "a checkpoint is not"
                let out = Path.Combine(dir, "out")
                for change, says in [ (fun (c: Parse.TrackCommand) -> { c with DuplicateShare = Some 0.3 }), "--duplicate-share"
                                      (fun c -> { c with ExplainedShare = Some 0.7 }), "--explained-share"
                                      (fun c -> { c with Capacity = Some 32 }), "--capacity"
                                      (fun c -> { c with Runtime = "torchsharp" }), "--runtime torchsharp" ] do
                    let e = refusalOf (fun () -> TrackCommand.Run(change { command out true with Model = path; Runtime = "" }))
                    Expect.stringContains e.Message says "names the option"
                    Expect.stringContains e.Message "is an exported model" "and why it cannot apply"
                Expect.isFalse (Directory.Exists(Path.Combine(out, "results"))) "nothing tracked"
                let e = refusalOf (fun () -> Checkpoints.LoadModel path |> ignore; 0)
                Expect.stringContains e.Message "is an ONNX model" "says what the file is"
                Expect.stringContains e.Message "needs the checkpoint" "and what the command needs"
                Expect.isFalse (e.Message.Contains '\n') "one line"
                // A damaged export is a one-line error too, not ONNX Runtime's exception.
                let cut = Path.Combine(dir, "cut.onnx")
                File.WriteAllBytes(cut, File.ReadAllBytes(path)[.. 2999])
                let e = refusalOf (fun () -> TrackCommand.Run { command out true with Model = cut; Runtime = "" })
                Expect.stringContains e.Message "not a loadable ONNX model" "says the model is damaged"

        testCase "--backfill keeps every online row, adds rows only before a track's first frame, and both runtimes agree" <| fun () ->
            inTempDir "scalor-backfill" <| fun dir ->
                let run name runtime backfill =
                    let out = Path.Combine(dir, name)
                    Expect.equal (TrackCommand.Run { command out true with Latents = true; Runtime = runtime; Sequences = 3; Backfill = backfill }) 0 "track succeeds"
                    [ for s in [ "seq-0001"; "seq-0002"; "seq-0003" ] -> results (Path.Combine(out, "results", s + ".txt")) ]
                let online, filled = run "online" "torchsharp" false, run "filled" "torchsharp" true
                // The latents list the results' objects with their boxes; "backfilled" is written with --backfill
                // only, true exactly for the added rows.
                for name, rows, reference in [ "online", online, online; "filled", filled, online ] do
                    for s, (r: Map<_, float[]>), (o: Map<_, _>) in List.zip3 [ "seq-0001"; "seq-0002"; "seq-0003" ] rows reference do
                        use latents = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, name, "latents", s + ".json")))
                        let listed =
                            [ for frame in latents.RootElement.EnumerateArray() do
                                for obj in frame.GetProperty("objects").EnumerateArray() do
                                    let key = frame.GetProperty("frame").GetInt32(), obj.GetProperty("id").GetInt64()
                                    let flag = match obj.TryGetProperty "backfilled" with | true, v -> Some(v.GetBoolean()) | _ -> None
                                    yield key, (latentBox obj, flag) ]
                            |> Map.ofList
                        Expect.equal (listed |> Map.toList |> List.map fst) (r |> Map.toList |> List.map fst) (sprintf "%s %s: the latents list the results' objects" name s)
                        for KeyValue(key, (box, flag)) in listed do
                            Expect.sequenceEqual box r.[key] (sprintf "%s %A: the latents' box is the results' box" name key)
                            let expected = if name = "online" then None else Some(not (o.ContainsKey key))
                            Expect.equal flag expected (sprintf "%s %A: marked backfilled where added, and only with --backfill" name key)
                for name, expected in [ "online", false; "filled", true ] do
                    use metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, name, "metrics.json")))
                    Expect.equal (metrics.RootElement.GetProperty("backfill").GetBoolean()) expected (sprintf "%s: metrics.json says whether it backfilled" name)
                let added = List.sumBy (fun (o: Map<_, _>, f: Map<_, _>) -> f.Count - o.Count) (List.zip online filled)
                // The default model misses objects at the start of these LD sequences, which it finds later.
                Expect.isGreaterThan added 0 "the backward pass adds rows"
                for o, f in List.zip online filled do
                    for KeyValue(key, box) in o do
                        Expect.equal (f.TryFind key) (Some box) (sprintf "%A: the online row is kept" key)
                    let first = o |> Map.toList |> List.groupBy (fun ((_, id), _) -> id) |> List.map (fun (id, rows) -> id, rows |> List.map (fun ((t, _), _) -> t) |> List.min) |> Map.ofList
                    for KeyValue((t, id), _) in f do
                        if not (o.ContainsKey((t, id))) then
                            Expect.isTrue (first.ContainsKey id && t < first.[id]) (sprintf "frame %d, id %d: added before the track's first frame" t id)
                // Pictures: the same reconstructions; the input row gains the added boxes of its 10 frames.
                let picture name backfill =
                    let out = Path.Combine(dir, name)
                    Expect.equal (TrackCommand.Run { command out true with Latents = false; Pictures = true; Sequences = 3; Backfill = backfill }) 0 "track succeeds"
                    [ for s in [ "seq-0001"; "seq-0002"; "seq-0003" ] ->
                        use fs = File.OpenRead(Path.Combine(out, "pictures", s + ".png"))
                        StbImageSharp.ImageResult.FromStream(fs, StbImageSharp.ColorComponents.RedGreenBlue) ]
                let tile = 64 * 3
                for (o, f), (a, b) in List.zip (List.zip online filled) (List.zip (picture "online-png" false) (picture "filled-png" true)) do
                    let strip (img: StbImageSharp.ImageResult) row = img.Data.[row * tile * img.Width * 3 .. (row + 1) * tile * img.Width * 3 - 1]
                    Expect.equal (b.Width, b.Height) (a.Width, a.Height) "the same layout"
                    Expect.isTrue (strip a 1 = strip b 1) "the same reconstructions"
                    let addedShown = f |> Map.exists (fun (t, id) _ -> t <= 10 && not (o.ContainsKey((t, id))))
                    Expect.equal (strip a 0 <> strip b 0) addedShown "the input row changes exactly where boxes were added"
                let onnx = run "onnx" "onnx" true
                for t, o in List.zip filled onnx do
                    Expect.equal (o |> Map.toList |> List.map fst) (t |> Map.toList |> List.map fst) "ONNX: the same frames and ids"

        testCase "the runtime's offline tracking keeps every online object and adds the backward pass's before a track's first frame" <| fun () ->
            let struct (nets: Scalor.Model.Scalor.Nets, share) = Checkpoints.LoadForInference(null, None)
            use tracker = ExportCommand.InMemory(nets, 64, "cpu", 1, ignore, duplicateShare = share)
            let world = DataCommand.CreateWorld(Scalor.Worlds.World.defaultConfig, "test", null, ignore)
            let all = FrameSources.FromWorld(world, 1000001UL, 3).ToList().Wait() |> Seq.toList
            let mutable added = 0
            for _, frames in all |> List.groupBy (fun (f: Frame) -> f.Sequence) do
                let frames = Collections.Generic.List<Frame>(frames)
                let online = [ for f in frames -> tracker.Step f ]
                tracker.Reset()
                let filled = tracker.TrackBackfilled(frames)
                Expect.equal filled.Count frames.Count "a tracked frame per frame"
                let first = online |> List.indexed |> List.collect (fun (t, f) -> [ for o in f.Objects -> o.Id, t ]) |> List.groupBy fst |> List.map (fun (id, ts) -> id, ts |> List.map snd |> List.min) |> Map.ofList
                for t in 0 .. frames.Count - 1 do
                    Expect.equal filled.[t].Frame frames.[t] "the frame as it came in"
                    let before = online.[t].Objects |> Seq.map (fun o -> o.Id, (o.Left, o.Top, o.Width, o.Height)) |> Set.ofSeq
                    let after = filled.[t].Objects |> Seq.map (fun o -> o.Id, (o.Left, o.Top, o.Width, o.Height)) |> Set.ofSeq
                    Expect.isTrue (Set.isSubset before after) (sprintf "frame %d: every online object kept" t)
                    for o in filled.[t].Objects do
                        if not (before.Contains(o.Id, (o.Left, o.Top, o.Width, o.Height))) then
                            added <- added + 1
                            Expect.isTrue (first.ContainsKey o.Id && t < first.[o.Id] && not o.New) (sprintf "frame %d, id %d: added before its track's first frame" t o.Id)
            Expect.isGreaterThan added 0 "the backward pass adds objects"
            // The Rx form over the whole source: the same frames and objects, sequence by sequence, in order.
            let key (f: TrackedFrame) = f.Frame.Sequence, f.Frame.Index, [ for o in f.Objects -> o.Id, o.Left, o.Top, o.Width, o.Height ]
            let streamed = FrameSources.FromWorld(world, 1000001UL, 3).TrackBackfilled(tracker).ToList().Wait() |> Seq.map key |> Seq.toList
            let listed =
                all |> List.groupBy (fun (f: Frame) -> f.Sequence)
                |> List.collect (fun (_, fs) -> tracker.TrackBackfilled(Collections.Generic.List<Frame>(fs)) |> Seq.map key |> Seq.toList)
            Expect.equal streamed listed "the stream gathers each sequence and tracks it offline"
            let bad = Observable.Return(Frame("x", 0, 32, 32, Array.zeroCreate (32 * 32 * 3)))
            Expect.throwsT<ArgumentException> (fun () -> bad.TrackBackfilled(tracker).Wait() |> ignore) "a wrong-sized frame ends the stream with its error"

        testCase "stopped midway (Ctrl+C), track keeps the frames done: the sequence in hand as far as it went, with --backfill none of it" <| fun () ->
            inTempDir "scalor-track-stop" <| fun dir ->
                let run name backfill stopAfter =
                    let out = Path.Combine(dir, name)
                    let cmd = { command out true with Sequences = 3; World = { Scalor.Worlds.World.defaultConfig with Length = 10 }; Latents = true; Backfill = backfill }
                    use interrupt = new Interrupt("track", StopAfter = stopAfter)
                    Expect.equal (TrackCommand.Run(cmd, interrupt)) 130 "the exit code of a command ended by Ctrl+C"
                    let framesOf seq =
                        let file = Path.Combine(out, "results", seq + ".txt")
                        if File.Exists file then Some(results file |> Map.toList |> List.map (fun ((f, _), _) -> f) |> List.distinct |> List.sort) else None
                    Expect.isFalse (File.Exists(Path.Combine(out, "metrics.json"))) "a part of the worlds is not scored as the whole"
                    Expect.isEmpty (Directory.GetFiles(out, "*" + Scalor.IO.Files.temporaryOf "", SearchOption.AllDirectories)) "no latents file left half written"
                    for seq in [ "seq-0001"; "seq-0002"; "seq-0003" ] do
                        let latents = Path.Combine(out, "latents", seq + ".json")
                        let file = Path.Combine(out, "results", seq + ".txt")
                        Expect.equal (File.Exists latents) (File.Exists file) (sprintf "%s: latents as the results" seq)
                        if File.Exists latents then
                            use doc = JsonDocument.Parse(File.ReadAllText latents)
                            let listed = [ for f in doc.RootElement.EnumerateArray() -> f.GetProperty("frame").GetInt32() ]
                            Expect.equal listed [ 1 .. List.length listed ] (sprintf "%s: the latents list the frames tracked" seq)
                            Expect.isTrue (Set.isSubset (results file |> Map.toList |> List.map (fun ((f, _), _) -> f) |> set) (set listed)) (sprintf "%s: every frame with a result" seq)
                    framesOf "seq-0001", framesOf "seq-0002", framesOf "seq-0003"
                // Each pass reads its frames through the interrupt: the 15th frame read is the second sequence's 5th.
                match run "online" false (Nullable 15L) with
                | Some first, Some second, third ->
                    Expect.equal first [ 1 .. 10 ] "the first sequence whole"
                    Expect.isNonEmpty second "the second as far as it went"
                    Expect.isLessThanOrEqual (List.max second) 5 "and no further"
                    Expect.isNone third "the third not tracked"
                | other -> failtestf "results %A" other
                // With --backfill each sequence is read, then passed over backwards and forwards: 30 frames a sequence.
                match run "backfill" true (Nullable 45L) with
                | Some first, second, third ->
                    Expect.equal first [ 1 .. 10 ] "the first sequence whole"
                    Expect.isNone second "the second, stopped in its backward pass, left out"
                    Expect.isNone third "the third not tracked"
                | other -> failtestf "results %A" other

        testCase "a command that fails before writing leaves no output folder behind; a folder that was there, or that holds a file, stays" <| fun () ->
            inTempDir "scalor-track" <| fun dir ->
                let missing = Path.Combine(dir, "no-such-input")
                let fresh = Path.Combine(dir, "a", "b")
                Expect.equal (Program.Main [| "track"; "--input"; missing; "--out"; fresh |]) 1 "a missing input is a user error"
                Expect.isFalse (Directory.Exists(Path.Combine(dir, "a"))) "the folders the run made are gone"
                let refused = refusalOf (fun () -> TrackCommand.Run { trackCommand fresh with Input = missing })
                Expect.equal refused.Message (sprintf "input '%s' not found" missing) "one line naming the input"
                Expect.isFalse (Directory.Exists fresh) "said before the output folder is made"
                let existing = Path.Combine(dir, "existing")
                Directory.CreateDirectory existing |> ignore
                Expect.equal (Program.Main [| "track"; "--input"; missing; "--out"; existing |]) 1 "the same error"
                Expect.isTrue (Directory.Exists existing) "a folder that was there stays"
                // A file that is no checkpoint fails once track has made its output folder: the folders go again.
                let bad = Path.Combine(dir, "bad.safetensors")
                File.WriteAllText(bad, "not a checkpoint")
                let made = Path.Combine(dir, "made", "out")
                Expect.equal (Program.Main [| "track"; "--model"; bad; "--out"; made |]) 1 "a bad checkpoint is a user error"
                Expect.isFalse (Directory.Exists(Path.Combine(dir, "made"))) "the folders track made are gone"
                // Training from it: the run folder goes, the data beside it stays.
                let data = Path.Combine(dir, "data")
                Expect.equal (Program.Main [| "data"; "--sequences"; "1"; "--length"; "10"; "--out"; data |]) 0 "data written"
                Expect.equal (Program.Main [| "train"; "--init"; bad; "--data"; data; "--out"; Path.Combine(data, "run"); "--steps"; "1" |]) 1 "a bad checkpoint is a user error"
                Expect.isFalse (Directory.Exists(Path.Combine(data, "run"))) "no empty run folder"
                Expect.isTrue (File.Exists(Path.Combine(data, "seq-0001", "gt", "gt.txt"))) "what was there stays"

        testCase "the embedded model is read from memory as its bytes would be from a file: header, shares and weights" <| fun () ->
            inTempDir "scalor-embedded" <| fun dir ->
                let file = Path.Combine(dir, "default.safetensors")
                File.WriteAllBytes(file, EmbeddedModel.Bytes())
                let headerOf (path: string) = Checkpoints.ReadHeader path
                Expect.equal (headerOf null).Extra (headerOf file).Extra "the same metadata, config and step"
                let struct (inMemory: Scalor.Model.Scalor.Nets, share) = Checkpoints.LoadForInference(null, None)
                let struct (fromFile: Scalor.Model.Scalor.Nets, fileShare) = Checkpoints.LoadForInference(file, None)
                Expect.equal share fileShare "the recorded duplicate share"
                Expect.equal inMemory.Config fromFile.Config "the inference config"
                Expect.equal (List.map fst inMemory.Store.Named) (List.map fst fromFile.Store.Named) "every tensor"
                for (n, a), (_, b) in List.zip inMemory.Store.Named fromFile.Store.Named do
                    Expect.isTrue (a.shape = b.shape && a.equal(b).all().item<bool>()) (sprintf "%s: the same values" n)
                Expect.equal (Checkpoints.LoadModel null).Config (Checkpoints.LoadModel file).Config "as trained: the config it records"

        testCase "track names the shares a checkpoint records, one equal to the default too, and not those the command line overrides" <| fun () ->
            inTempDir "scalor-recorded" <| fun dir ->
                let source = Path.Combine(dir, "default.safetensors")
                File.WriteAllBytes(source, EmbeddedModel.Bytes())
                let at03 = Path.Combine(dir, "at-0.3.safetensors")
                Checkpoints.RecordRejection(source, at03, Some Discovery.defaultDuplicateShare, Some 0.3)
                let said asked askedExplained =
                    let struct (nets: Scalor.Model.Scalor.Nets, share) = Checkpoints.LoadForInference(at03, asked, askedExplained)
                    TrackCommand.Recorded(at03, nets, share, asked, askedExplained)
                let recorded = said None None
                Expect.stringContains recorded "duplicate share 0.3," "the recorded duplicate share, equal to the default"
                Expect.stringContains recorded "explained share 0.3," "the recorded explained share, equal to the config's"
                Expect.stringContains recorded "weights averaged over steps" "the averaging it records"
                let overridden = said (Some 0.8) (Some 0.5)
                Expect.isFalse (overridden.Contains "duplicate share") "a duplicate share asked for is not the checkpoint's"
                Expect.isFalse (overridden.Contains "explained share") "nor an explained share asked for"
                let official = said (Some Discovery.noDuplicateTest) None
                Expect.isFalse (official.Contains "explained share") "--rejection official tests at the config's share, not the recorded one"
                Expect.isFalse (official.Contains "rejection") "nor is the official rejection the checkpoint's"

        testCase "--frame-step tracks every k-th frame as a folder of those frames, under the input's frame numbers, scored on them" <| fun () ->
            inTempDir "scalor-frame-step" <| fun dir ->
                // One held-out LD sequence of 9 frames, and a copy of its frames 1, 3, 5, 7, 9 with their truth renumbered
                // 1..5: what a model trained with --frame-step 2 should see.
                let data, seq = heldOutSequence dir 9
                let odd = sequenceFolder dir "odd"
                for k in 0 .. 4 do
                    File.Copy(Path.Combine(seq, "img1", sprintf "%06d.png" (2 * k + 1)), Path.Combine(odd, "img1", sprintf "%06d.png" (k + 1)))
                File.Copy(Path.Combine(seq, "seqinfo.ini"), Path.Combine(odd, "seqinfo.ini"))
                let truth = File.ReadAllLines(Path.Combine(seq, "gt", "gt.txt"))
                let frameOf (l: string) = int (l.Split(',').[0])
                File.WriteAllLines(Path.Combine(odd, "gt", "gt.txt"),
                    [| for l in truth do if frameOf l % 2 = 1 then yield string ((frameOf l + 1) / 2) + l.Substring(l.IndexOf ',') |])
                for runtime in [ "torchsharp"; "onnx" ] do
                    let stepped = trackInto dir runtime "stepped" data (fun c -> { c with FrameStep = 2 })
                    let direct = trackInto dir runtime "direct" (Path.Combine(dir, "odd")) id
                    let direct' = rowsOf direct |> Array.map (fun l -> string (2 * frameOf l - 1) + l.Substring(l.IndexOf ','))
                    Expect.isGreaterThan direct'.Length 15 (runtime + ": objects tracked")
                    Expect.sequenceEqual (rowsOf stepped) direct' (runtime + ": the same rows, at frames 1, 3, 5, 7, 9")
                    sameScores (runtime + ", the truth of the tracked frames only") stepped direct
                    use latents = JsonDocument.Parse(File.ReadAllText(Path.Combine(stepped, "latents", "seq-0001.json")))
                    Expect.sequenceEqual [ for f in latents.RootElement.EnumerateArray() -> f.GetProperty("frame").GetInt32() ] [ 1; 3; 5; 7; 9 ] "the latents name the input's frames"
                Expect.isTrue (File.Exists(Path.Combine(seq, "gt", "gt.txt")) && File.ReadAllLines(Path.Combine(seq, "gt", "gt.txt")) = truth) "the input's truth is left as it was"

        testCase "--realtime tracks the frames it keeps up with, each under its own number, and the rows at those frames only" <| fun () ->
            inTempDir "scalor-realtime" <| fun dir ->
                // Images load far faster than frames are tracked, so most wait too long and are dropped; which ones
                // depends on the machine's timing, so what is checked holds whichever are kept.
                let data, _ = heldOutSequence dir 40
                let out = trackInto dir "onnx" "realtime" data (fun c -> { c with Realtime = true; FrameStep = 2 })
                use latents = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "latents", "seq-0001.json")))
                let kept = [ for f in latents.RootElement.EnumerateArray() -> f.GetProperty("frame").GetInt32() ]
                Expect.isNonEmpty kept "some frames tracked"
                Expect.isTrue (List.forall (fun f -> f >= 1 && f <= 39 && f % 2 = 1) kept) (sprintf "every 2nd input frame, by its number: %A" kept)
                Expect.equal kept (List.distinct (List.sort kept)) "in order, once each"
                let rowFrames = results (Path.Combine(out, "results", "seq-0001.txt")) |> Map.toList |> List.map (fun ((f, _), _) -> f) |> set
                Expect.isTrue (Set.isSubset rowFrames (set kept)) "rows only at the frames tracked"
                // The objects a frame's rows report are those its latents list (the same frames, not shifted).
                for f in latents.RootElement.EnumerateArray() do
                    let frame = f.GetProperty("frame").GetInt32()
                    let ids = [ for o in f.GetProperty("objects").EnumerateArray() -> o.GetProperty("id").GetInt64() ] |> set
                    let rowIds = results (Path.Combine(out, "results", "seq-0001.txt")) |> Map.toList |> List.choose (fun ((g, id), _) -> if g = frame then Some id else None) |> set
                    Expect.equal rowIds ids (sprintf "frame %d: the same objects in both files" frame)
                Expect.equal
                    (refusalOf (fun () -> TrackCommand.Run { command (Path.Combine(dir, "ts")) true with Input = data; Realtime = true; Runtime = "torchsharp" })).Message
                    "--realtime drops frames on ONNX Runtime: add --runtime onnx" "TorchSharp takes every frame"

        testCase "--crop tracks a window as the frames it shows, boxes in the input's pixels, scored on the objects in it" <| fun () ->
            inTempDir "scalor-crop" <| fun dir ->
                // One held-out LD sequence, and a copy of it placed at (40, 12) in wider 112×80 black frames, its truth
                // moved with it, plus an object outside the window that the window cannot show.
                let data, seq = heldOutSequence dir 6
                let wide = sequenceFolder dir "wide"
                let dx, dy = 40, 12
                for t in 1 .. 6 do
                    use fs = File.OpenRead(Path.Combine(seq, "img1", sprintf "%06d.png" t))
                    let img = StbImageSharp.ImageResult.FromStream(fs, StbImageSharp.ColorComponents.RedGreenBlue)
                    let canvas = Rgb(112, 80)
                    for y in 0 .. 63 do
                        Array.blit img.Data (y * 64 * 3) canvas.Pixels (((y + dy) * 112 + dx) * 3) (64 * 3)
                    canvas.SavePng(Path.Combine(wide, "img1", sprintf "%06d.png" t))
                File.WriteAllText(Path.Combine(wide, "seqinfo.ini"),
                    File.ReadAllText(Path.Combine(seq, "seqinfo.ini")).Replace("imWidth=64", "imWidth=112").Replace("imHeight=64", "imHeight=80"))
                let inv = Globalization.CultureInfo.InvariantCulture
                let moved (l: string) =
                    let c = l.Split(',')
                    c.[2] <- (Double.Parse(c.[2], inv) + float dx).ToString("0.##", inv)
                    c.[3] <- (Double.Parse(c.[3], inv) + float dy).ToString("0.##", inv)
                    String.Join(",", c)
                let truth = File.ReadAllLines(Path.Combine(seq, "gt", "gt.txt"))
                File.WriteAllLines(Path.Combine(wide, "gt", "gt.txt"),
                    [| for l in truth -> moved l
                       for t in 1 .. 6 -> sprintf "%d,999,2,30,10,10,1,1,1" t |])
                let window = Scalor.IO.Crop.Window { Width = 64; Height = 64; Left = dx; Top = dy }
                for runtime in [ "torchsharp"; "onnx" ] do
                    let cropped = trackInto dir runtime "cropped" (Path.Combine(dir, "wide")) (fun c -> { c with Crop = Some window })
                    let direct = trackInto dir runtime "direct" data id
                    let direct' = rowsOf direct |> Array.map moved
                    Expect.isGreaterThan direct'.Length 15 (runtime + ": objects tracked")
                    Expect.sequenceEqual (rowsOf cropped) direct' (runtime + ": the same rows, moved to the window's corner")
                    sameScores (runtime + ", the truth in the window only") cropped direct
                    let boxes out =
                        use latents = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "latents", "seq-0001.json")))
                        [ for f in latents.RootElement.EnumerateArray() do for o in f.GetProperty("objects").EnumerateArray() -> latentBox o ]
                    let shifted = boxes direct |> List.map (fun b -> [| Math.Round(b.[0] + float dx, 2); Math.Round(b.[1] + float dy, 2); b.[2]; b.[3] |])
                    Expect.sequenceEqual (boxes cropped) shifted "the latents' boxes are the results' boxes"
                Expect.equal (File.ReadAllLines(Path.Combine(wide, "gt", "gt.txt"))).Length (truth.Length + 6) "the input's truth is left as it was"

        // One test a runtime: both in one outgrew the test's NativeSafe block once the ONNX runtime drew pictures.
        yield! [ for runtime in [ "torchsharp"; "onnx" ] ->
                  testCase (sprintf "--crop tiles:64 tracks frames larger than the model's tile by tile, joined into one set of ids (%s)" runtime) <| fun () ->
                    inTempDir "scalor-tiles" <| fun dir ->
                        // A held-out LD world at 112×112 (objects of the model's size, three times as many): squashed into
                        // 64 pixels its objects shrink to 6 pixels; in tiles at x, y 0 and 48 they keep their size.
                        let big = Path.Combine(dir, "big")
                        match Parse.parse [| "data"; "--size"; "112"; "--sequences"; "1"; "--length"; "8"; "--seed"; "1000001"; "--out"; big |] with
                        | Parse.Run(Parse.Data d) -> Expect.equal (DataCommand.Run d) 0 "data written"
                        | other -> failtestf "unexpected %A" other
                        let mota out =
                            use m = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "metrics.json")))
                            m.RootElement.GetProperty("mota").GetDouble()
                        let tiled = trackInto dir runtime "tiled" big (fun c -> { c with Crop = Some(Scalor.IO.Crop.Tiles(64, 0)); Pictures = true })
                        let whole = trackInto dir runtime "whole" big id
                        let tileFiles = Directory.GetFiles(Path.Combine(tiled, "tiles")) |> Array.map Path.GetFileName |> Array.sort
                        Expect.equal tileFiles (Array.sort [| for y in [ 0; 48 ] do for x in [ 0; 48 ] -> sprintf "seq-0001@64_64_%d_%d.txt" x y |]) (runtime + ": each tile's results")
                        let ids file = File.ReadAllLines file |> Array.map (fun l -> l.Split(',').[1]) |> Array.distinct |> Array.length
                        let tracks = tileFiles |> Array.sumBy (fun f -> ids (Path.Combine(tiled, "tiles", f)))
                        let objects = ids (Path.Combine(tiled, "results", "seq-0001.txt"))
                        Expect.isLessThan objects tracks (sprintf "%s: the tiles' %d tracks joined into %d objects" runtime tracks objects)
                        Expect.isFalse (Directory.Exists(Path.Combine(tiled, "gt-in-crop"))) "tiles cover the frame: all its truth is scored"
                        // The whole frame's pictures: 112 pixels of tiles of the model's 64, drawn 2× (about as tall as a
                        // tile's 3×); rows input, reconstruction, background, segmentation of the 8 frames, then the
                        // trajectories. Segment colours are the joined ids', grey where a tile's object was not reported.
                        use fs = File.OpenRead(Path.Combine(tiled, "pictures", "seq-0001.png"))
                        let png = StbImageSharp.ImageResult.FromStream(fs, StbImageSharp.ColorComponents.RedGreenBlue)
                        Expect.equal (png.Width, png.Height) (8 * 224 + 7 * 2, 5 * 224 + 4 * 2) "eight frames of 224 pixels, five rows"
                        Expect.isTrue (File.Exists(Path.Combine(tiled, "pictures", "seq-0001.gif"))) "and its GIF"
                        let joined = File.ReadAllLines(Path.Combine(tiled, "results", "seq-0001.txt")) |> Array.map (fun l -> l.Split(','))
                        let firstIds = joined |> Array.filter (fun c -> c.[0] = "1") |> Array.map (fun c -> int c.[1]) |> set
                        let colourOf id = let struct (r, g, b) = Rgb.IdColour id in r, g, b
                        let segmentColours =
                            set [ for y in 3 * 226 .. 3 * 226 + 223 do
                                      for x in 0 .. 223 do
                                          let o = (y * png.Width + x) * 3
                                          let c = png.Data.[o], png.Data.[o + 1], png.Data.[o + 2]
                                          if c <> (0uy, 0uy, 0uy) && c <> (128uy, 128uy, 128uy) then yield c ]
                        let expected = firstIds |> Set.map colourOf
                        Expect.isTrue (Set.isSubset segmentColours expected) "frame 1's segments are coloured by joined ids of frame 1"
                        Expect.isGreaterThan (Set.count (Set.intersect segmentColours expected)) (Set.count expected * 3 / 4) "most of frame 1's objects show in it"
                        // The joined latents list the joined results' objects, each with the tile that saw it.
                        let num (x: string) = Double.Parse(x, Globalization.CultureInfo.InvariantCulture)
                        let resultRows = set [ for c in joined -> int c.[0], int64 c.[1], [ num c.[2]; num c.[3]; num c.[4]; num c.[5] ] ]
                        use latents = JsonDocument.Parse(File.ReadAllText(Path.Combine(tiled, "latents", "seq-0001.json")))
                        let objects = [ for f in latents.RootElement.EnumerateArray() do for o in f.GetProperty("objects").EnumerateArray() -> f.GetProperty("frame").GetInt32(), o ]
                        Expect.equal (latents.RootElement.GetArrayLength()) 8 "every frame"
                        Expect.equal (set [ for f, o in objects -> f, o.GetProperty("id").GetInt64(), List.ofArray (latentBox o) ]) resultRows "the joined results' ids and boxes"
                        let windows = set [ for y in [ 0; 48 ] do for x in [ 0; 48 ] -> sprintf "64:64:%d:%d" x y ]
                        for _, o in objects do Expect.isTrue (windows.Contains(o.GetProperty("tile").GetString())) "named by its tile"
                        let firsts = objects |> List.groupBy (fun (_, o) -> o.GetProperty("id").GetInt64()) |> List.map (fun (_, os) -> os |> List.minBy fst)
                        Expect.isTrue (firsts |> List.forall (fun (_, o) -> o.GetProperty("discovered").GetBoolean())) "discovered where a joined track begins"
                        Expect.equal (objects |> List.filter (fun (_, o) -> o.GetProperty("discovered").GetBoolean()) |> List.length) firsts.Length "and only there"
                        let t, w = mota tiled, mota whole
                        Expect.isGreaterThan t 0.8 (sprintf "%s: tiled MOTA %.3f" runtime t)
                        Expect.isGreaterThan t (w + 0.3) (sprintf "%s: tiled MOTA %.3f against %.3f squashed" runtime t w)
                        // Each frame is read once and cut into its tiles, stepped in turn: a tile's results are those of
                        // tracking its window alone.
                        let alone = trackInto dir runtime "window" big (fun c -> { c with Crop = Some(Scalor.IO.Crop.Window { Width = 64; Height = 64; Left = 48; Top = 0 }) })
                        Expect.sequenceEqual (File.ReadAllLines(Path.Combine(tiled, "tiles", "seq-0001@64_64_48_0.txt"))) (rowsOf alone) (runtime + ": a tile as its window alone")
                        // With --backfill too, each tile tracked forwards and backwards from frames read once for all tiles.
                        let back = trackInto dir runtime "tiled-backfill" big (fun c -> { c with Crop = Some(Scalor.IO.Crop.Tiles(64, 0)); Backfill = true })
                        let aloneBack = trackInto dir runtime "window-backfill" big (fun c -> { c with Crop = Some(Scalor.IO.Crop.Window { Width = 64; Height = 64; Left = 0; Top = 0 }); Backfill = true })
                        let tile00 out = File.ReadAllLines(Path.Combine(out, "tiles", "seq-0001@64_64_0_0.txt"))
                        Expect.sequenceEqual (tile00 back) (rowsOf aloneBack) (runtime + ": a tile as its window alone, with --backfill")
                        // Room for two tiles' frames: the sequence read twice, two tiles a time, and every tile's results
                        // and latents, and the joined ones, as when all four were held.
                        let grouped = Path.Combine(dir, "tiled-backfill-grouped-" + runtime)
                        let cmd = { command grouped true with Input = big; Runtime = runtime; Latents = true; Crop = Some(Scalor.IO.Crop.Tiles(64, 0)); Backfill = true }
                        Expect.equal (TrackCommand.Run(cmd, heldTileBytes = 2L * 64L * 64L * 3L * 8L)) 0 "track succeeds, two tiles held at a time"
                        for folder in [ "tiles"; "results"; "latents" ] do
                            let files = Directory.GetFiles(Path.Combine(back, folder)) |> Array.map Path.GetFileName |> Array.sort
                            Expect.equal (Directory.GetFiles(Path.Combine(grouped, folder)) |> Array.map Path.GetFileName |> Array.sort) files (sprintf "%s: the same %s" runtime folder)
                            for f in files do
                                Expect.sequenceEqual (File.ReadAllLines(Path.Combine(grouped, folder, f))) (File.ReadAllLines(Path.Combine(back, folder, f))) (sprintf "%s: %s/%s read two tiles at a time" runtime folder f)
                        Expect.isGreaterThan (tile00 back).Length (tile00 tiled).Length (runtime + ": where the backward pass adds rows")
                        // --live: the tiles are tracked as without it, and joined frame by frame as Stitch.joinLive joins
                        // their results.
                        let live = trackInto dir runtime "live" big (fun c -> { c with Crop = Some(Scalor.IO.Crop.Tiles(64, 0)); Live = true; Pictures = true })
                        for f in tileFiles do
                            Expect.sequenceEqual (File.ReadAllLines(Path.Combine(live, "tiles", f))) (File.ReadAllLines(Path.Combine(tiled, "tiles", f))) (sprintf "%s: %s as without --live" runtime f)
                        let parts =
                            [ for f in tileFiles ->
                                  let at = f.Split('@').[1].Replace(".txt", "").Split('_') |> Array.map int
                                  { Stitch.Window = { Width = at.[0]; Height = at.[1]; Left = at.[2]; Top = at.[3] }
                                    Stitch.Rows = MotFiles.parse f false (File.ReadAllLines(Path.Combine(live, "tiles", f))) } ]
                            // In the order `Crop.windows` gives them, which numbers the objects that appear in one frame.
                            |> List.sortBy (fun p -> p.Window.Top, p.Window.Left)
                        let expected = (Stitch.joinLive Stitch.defaults parts).Rows
                        let got = MotFiles.parse "live" false (rowsOf live)
                        Expect.equal [ for r in got -> r.Frame, r.Id ] [ for r in expected -> r.Frame, r.Id ] (runtime + ": the live join's frames and ids")
                        for r, e in Array.zip got expected do
                            Expect.isLessThanOrEqual (abs (r.Box.Left - e.Box.Left) + abs (r.Box.Top - e.Box.Top) + abs (r.Box.Width - e.Box.Width) + abs (r.Box.Height - e.Box.Height)) 0.04 (runtime + ": and boxes, to the files' two decimals")
                        let l = mota live
                        Expect.isGreaterThan l 0.8 (sprintf "%s: MOTA %.3f joined live" runtime l)
                        Expect.isGreaterThan l (w + 0.3) (sprintf "%s: live MOTA %.3f against %.3f squashed" runtime l w)
                        for f in [ "seq-0001.png"; "seq-0001.gif"; "seq-0001@64_64_48_48.png" ] do
                            Expect.isTrue (File.Exists(Path.Combine(live, "pictures", f))) (sprintf "%s: %s drawn" runtime f)
                        // The joined latents list the objects of the results, with their ids: on ONNX Runtime the
                        // stream's own join (`TiledTracker.LastJoined`), not a join of the tiles' files after.
                        use latents = JsonDocument.Parse(File.ReadAllText(Path.Combine(live, "latents", "seq-0001.json")))
                        let listed = set [ for f in latents.RootElement.EnumerateArray() do for o in f.GetProperty("objects").EnumerateArray() -> f.GetProperty("frame").GetInt32(), o.GetProperty("id").GetInt64() ]
                        Expect.equal listed (set [ for r in got -> r.Frame, int64 r.Id ]) (runtime + ": the joined latents list the live results' objects")
                 ]
    ]
