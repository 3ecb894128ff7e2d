/// A model trained on footage records how it saw it (frame step, windows), and track, generate and eval see
/// footage that way unless their command lines say otherwise.
module Scalor.Tests.FootageView

open System.IO
open System.Text.Json
open Expecto
open Scalor.Cli
open Scalor.Host
open Scalor.Model
open Scalor.IO.Crop
open Scalor.Tests.CommandFiles

/// 12 frames of 96×64 noise (seeded), a little brighter each frame: footage with something to explain.
let private footage (dir: string) =
    let d = Path.Combine(dir, "wide")
    Directory.CreateDirectory d |> ignore
    let rng = System.Random 7
    for t in 0 .. 11 do
        let img = Rgb(96, 64)
        for i in 0 .. img.Pixels.Length - 1 do
            img.Pixels.[i] <- byte (min 255 (rng.Next 200 + 4 * t))
        img.SavePng(Path.Combine(d, sprintf "%06d.png" (t + 1)))
    d

/// Runs a command line, which must succeed.
let private run (argv: string list) =
    let code =
        match Parse.parse (Array.ofList argv) with
        | Parse.Run(Parse.Train c) -> TrainCommand.Run c
        | Parse.Run(Parse.Track c) -> TrackCommand.Run c
        | Parse.Run(Parse.Generate c) -> GenerateCommand.Run c
        | Parse.Run(Parse.Eval c) -> EvalCommand.Run c
        | Parse.Run(Parse.Export c) -> ExportCommand.Run c
        | other -> failtestf "unexpected %A" other
    Expect.equal code 0 (sprintf "%A succeeds" argv)

/// Runs `command` with `opts` into `dir`/`name`: that folder.
let private runInto (dir: string) (command: string list) (name: string) (opts: string list) =
    let out = Path.Combine(dir, name)
    run (command @ [ "--out"; out ] @ opts)
    out

/// One training step on `extra`'s data into `dir`/`name`: its checkpoint's path and metadata.
let private trained (dir: string) (name: string) (extra: string list) =
    let out = runInto dir [ "train"; "--batch"; "1"; "--set"; "SeqLength=2"; "--steps"; "1" ] name extra
    let path = Checkpoints.PathFor(Path.Combine(out, "checkpoints"), 1)
    path, (Checkpoints.ReadHeader path).Extra

/// The frames a latents file lists.
let private latentFrames (out: string) =
    let file = Path.Combine(out, "latents", "wide.json")
    use doc = JsonDocument.Parse(File.ReadAllText file)
    [ for f in doc.RootElement.EnumerateArray() -> f.GetProperty("frame").GetInt32() ]

/// What FootageView says, with what it returns.
let private heard (f: System.Action<string> -> 'a) =
    let lines = ResizeArray<string>()
    let result = f (System.Action<string> lines.Add)
    result, List.ofSeq lines

/// The window the "window" model is trained on.
let private window = Window { Width = 48; Height = 48; Left = 48; Top = 16 }

/// A model trained on every other frame of `wide` through `window`.
let private windowModel dir wide = fst (trained dir "window" [ "--data"; wide; "--frame-step"; "2"; "--crop"; "48:48:48:16" ])

/// Runs `f dir wide model` in a scratch folder holding the footage and the window model trained on it.
let private withWindowModel (prefix: string) f =
    inTempDir prefix <| fun dir ->
        let wide = footage dir
        f dir wide (windowModel dir wide)

// Each test trains a few models at most: the tests run in one NativeSafe block each, and a test that outgrows its
// block's allocation budget loses the block's protection for the rest of it (tests/Scalor.Tests/Main.fs).
[<Tests>]
let tests =
    testSequenced <| testList "FootageView" [
        testCase "a run on footage records its frame step and windows; a run on a generated world records neither" <| fun () ->
            inTempDir "scalor-footage-records" <| fun dir ->
                let wide = footage dir
                let _, extra = trained dir "window" [ "--data"; wide; "--frame-step"; "2"; "--crop"; "48:48:48:16" ]
                Expect.equal (extra.TryFind Train.frameStepKey, extra.TryFind Train.cropKey) (Some "2", Some "48:48:48:16") "the frame step and window recorded"
                let _, tiledExtra = trained dir "tiles" [ "--data"; wide; "--crop"; "tiles:48"; "--crop"; "centre" ]
                Expect.equal (tiledExtra.TryFind Train.frameStepKey, tiledExtra.TryFind Train.cropKey) (None, Some "tiles:48, centre") "every window recorded; step 1 is not"
                let _, worldExtra = trained dir "world" []
                Expect.isFalse (worldExtra.ContainsKey Train.frameStepKey || worldExtra.ContainsKey Train.cropKey) "a generated world records neither"

        testCase "what a command is given wins, else what the checkpoint records, each said; a bad record is the checkpoint's error" <| fun () ->
            inTempDir "scalor-footage-view" <| fun dir ->
                let wide = footage dir
                let model = windowModel dir wide
                let tiled, _ = trained dir "tiles" [ "--data"; wide; "--crop"; "tiles:48"; "--crop"; "centre" ]
                let tilesOnly, _ = trained dir "tiles-only" [ "--data"; wide; "--crop"; "tiles:48" ]
                let view, said = heard (fun say -> FootageView.One("track", model, 0, None, say))
                Expect.equal view (2, Some window) "the recorded step and window"
                Expect.equal said.Length 2 "each said"
                Expect.stringContains said.[1] "--crop whole" "with the option that sets it aside"
                Expect.equal (fst (heard (fun say -> FootageView.One("track", model, 1, Some Whole, say)))) (1, None) "what is asked for wins; whole is no window"
                let view, said = heard (fun say -> FootageView.One("track", tiled, 0, None, say))
                Expect.equal view (1, None) "several windows recorded: track follows none of them by itself"
                Expect.stringContains said.Head "windows tiles:48, centre of its footage, and track follows one" "and says so"
                Expect.equal (fst (heard (fun say -> FootageView.One("track", tiled, 0, None, say, tiles = true)))) (1, None) "nor when it joins tiles"
                Expect.equal (fst (heard (fun say -> FootageView.All("eval", tiled, 0, [], say)))) (1, [ Tiles(48, 0); Centre ]) "eval scores every window recorded"
                let view, said = heard (fun say -> FootageView.One("track", tilesOnly, 0, None, say, tiles = true))
                Expect.equal view (1, Some(Tiles(48, 0))) "a model trained on tiles alone: track joins them"
                Expect.stringContains said.Head "tiles tiles:48, as the checkpoint records" "and says so"
                Expect.equal (fst (heard (fun say -> FootageView.One("generate", tilesOnly, 0, None, say)))) (1, None) "generate follows one window"
                Expect.equal (fst (heard (fun say -> FootageView.All("eval", tiled, 0, [ Whole ], say)))) (1, []) "or the whole frame, asked"
                Expect.equal (fst (heard (fun say -> FootageView.One("track", null, 0, None, say)))) (1, None) "the embedded model records neither"
                // A record that does not read is the checkpoint's error, naming it.
                let struct (h, entries) = Checkpoints.Read model
                let bad = Path.Combine(dir, "bad.safetensors")
                Checkpoints.Write({ h with Extra = h.Extra.Add(Train.cropKey, "48x48") }, entries, bad)
                match (try FootageView.One("track", bad, 0, None, System.Action<string> ignore) |> ignore; None with Train.CheckpointError m -> Some m) with
                | Some m -> Expect.stringContains m "bad scalor.crop '48x48'" "names the record and its value"
                | None -> failtest "a bad record was read"

        testCase "track sees footage as the checkpoint records: as with those options given, not as with every whole frame" <| fun () ->
            withWindowModel "scalor-footage-track" <| fun dir wide model ->
                let track name opts =
                    let out = runInto dir [ "track"; "--model"; model; "--input"; wide; "--latents"; "--no-pictures" ] name opts
                    File.ReadAllText(Path.Combine(out, "results", "wide.txt")), latentFrames out
                let recorded, frames = track "as-recorded" []
                Expect.equal frames [ 1; 3; 5; 7; 9; 11 ] "every other input frame"
                Expect.equal (track "as-given" [ "--frame-step"; "2"; "--crop"; "48:48:48:16" ]) (recorded, frames) "the same as the options given"
                let whole, wholeFrames = track "whole" [ "--frame-step"; "1"; "--crop"; "whole" ]
                Expect.equal wholeFrames [ 1 .. 12 ] "every frame when asked"
                Expect.notEqual whole recorded "and other results"

        testCase "generate observes footage as the checkpoint records" <| fun () ->
            withWindowModel "scalor-footage-generate" <| fun dir wide model ->
                let generate name opts =
                    let out = runInto dir [ "generate"; "--model"; model; "--input"; wide; "--observe"; "3"; "--steps"; "2"; "--most-likely" ] name opts
                    File.ReadAllText(Path.Combine(out, "latents-1.json"))
                Expect.equal (generate "g-recorded" []) (generate "g-given" [ "--frame-step"; "2"; "--crop"; "48:48:48:16" ]) "generate observes as recorded"

        testCase "eval --data scores every window the checkpoint records" <| fun () ->
            inTempDir "scalor-footage-eval" <| fun dir ->
                let wide = footage dir
                // eval --data on footage: every recorded window, 6 clips of 2 frames in each of 12 frames.
                let tiled, _ = trained dir "tiles" [ "--data"; wide; "--crop"; "tiles:48"; "--crop"; "centre" ]
                let clips name opts =
                    let json = Path.Combine(dir, name + ".json")
                    run ([ "eval"; "--model"; tiled; "--data"; wide; "--samples"; "1"; "--json"; json ] @ opts)
                    use d = JsonDocument.Parse(File.ReadAllText json)
                    d.RootElement.GetProperty("clips").GetInt32()
                Expect.equal (clips "e-recorded" []) ((4 + 1) * 6) "four tiles and the centre"
                Expect.equal (clips "e-whole" [ "--crop"; "whole" ]) 6 "the whole frames"

        testCase "an ONNX export carries the record, and ONNX Runtime tracks as recorded" <| fun () ->
            withWindowModel "scalor-footage-onnx" <| fun dir wide model ->
                let onnxFile = runInto dir [ "export"; "--model"; model; "--capacity"; "8" ] "window.onnx" []
                use onnx = Scalor.Runtime.OnnxTracker.Load(onnxFile, Scalor.Runtime.Provider.Cpu, 1)
                Expect.equal (onnx.FrameStep, List.ofSeq onnx.Crops) (2, [ window ]) "the exported model records the step and window"
                let onnxOut = runInto dir [ "track"; "--model"; model; "--input"; wide; "--runtime"; "onnx" ] "onnx" []
                let onnxFrames = File.ReadAllLines(Path.Combine(onnxOut, "results", "wide.txt")) |> Array.map (fun l -> int (l.Split(',').[0])) |> Array.distinct
                Expect.isNonEmpty onnxFrames "ONNX Runtime tracks objects"
                Expect.isTrue (onnxFrames |> Array.forall (fun t -> t % 2 = 1)) (sprintf "track on ONNX Runtime sees every other frame too: %A" onnxFrames)
                // The exported file itself, tracked with no checkpoint: its own record, said as the model's.
                let lines = ResizeArray<string>()
                let view = FootageView.One("track", struct (onnx.FrameStep, List.ofSeq onnx.Crops), "model", 0, None, System.Action<string> lines.Add)
                Expect.equal view (struct (2, Some window)) "the file's step and window"
                Expect.stringContains lines.[0] "frame step 2, as the model records" "said as the model's record"
                let fileOut = runInto dir [ "track"; "--model"; onnxFile; "--input"; wide ] "from-file" []
                let fileFrames = File.ReadAllLines(Path.Combine(fileOut, "results", "wide.txt")) |> Array.map (fun l -> int (l.Split(',').[0])) |> Array.distinct
                Expect.equal fileFrames onnxFrames "the exported file tracks the frames its checkpoint does"
    ]
