/// `scalor-host generate` end to end with the embedded model: the latents it writes agree with its pictures' rule.
module Scalor.Tests.GenerateCommand

open System
open System.IO
open System.Text.Json
open Expecto
open Scalor.Cli
open Scalor.Host

let private command out masks : Parse.GenerateCommand =
    { Model = null; Input = null; Observe = 4; Steps = 3; Out = out; FromScratch = false; Samples = 1; Discovery = 0.0
      MostLikely = true; Seed = 1000001UL; DuplicateShare = None; ExplainedShare = None
      Threads = Environment.ProcessorCount; MaskBoxes = masks }

/// (frame, id) → (imagined, box, scale_x, visible_px) of a latents file.
let private latents (path: string) =
    use doc = JsonDocument.Parse(File.ReadAllText path)
    [ for frame in doc.RootElement.EnumerateArray() do
        for o in frame.GetProperty("objects").EnumerateArray() do
            let box = o.GetProperty("box").EnumerateArray() |> Seq.map (fun v -> v.GetDouble()) |> Array.ofSeq
            yield (frame.GetProperty("frame").GetInt32(), o.GetProperty("id").GetInt64()),
                  (frame.GetProperty("imagined").GetBoolean(), box, o.GetProperty("scale_x").GetDouble(), o.GetProperty("visible_px").GetDouble()) ]
    |> Map.ofList

/// Runs generate into `dir`/`name` and reads its latents.
let private generate dir name masks =
    let out = Path.Combine(dir, name)
    Expect.equal (GenerateCommand.Run(command out masks)) 0 "generate succeeds"
    Expect.isTrue (File.Exists(Path.Combine(out, "sample-1.png")) && File.Exists(Path.Combine(out, "sample-1.gif"))) "pictures written"
    latents (Path.Combine(out, "latents-1.json"))

[<Tests>]
let tests =
    testSequenced <| testList "GenerateCommand" [
        testCase "imagined objects get mask boxes in the frame inside their glimpses; the box kind changes no future" <| fun () ->
            let dir = Directory.CreateTempSubdirectory("scalor-generate").FullName
            try
                let masked, glimpses = generate dir "mask" true, generate dir "glimpse" false
                // The objects `track` would report (an object leaving the view keeps its latents, not its mask).
                let config = EmbeddedModel.Load().Config
                let floor = float (Scalor.Model.Track.minVisiblePixels config Scalor.Model.Track.defaultMinVisibleShare)
                let shown = masked |> Map.filter (fun _ (_, _, _, v) -> v >= floor)
                let imagined = shown |> Map.filter (fun _ (i, _, _, _) -> i)
                Expect.isGreaterThan imagined.Count 5 "the embedded model imagines the LD objects on"
                Expect.equal (Map.keys glimpses |> List.ofSeq) (Map.keys masked |> List.ofSeq) "the box kind changes no frame, object or id"
                for KeyValue(key, (_, b, sx, _)) in shown do
                    let _, g, _, _ = glimpses.[key]
                    Expect.isTrue (b.[0] >= 0.0 && b.[1] >= 0.0 && b.[0] + b.[2] <= 64.0 && b.[1] + b.[3] <= 64.0) (sprintf "%A: %A inside the frame" key b)
                    Expect.isLessThanOrEqual b.[2] (64.0 * sx + 0.01) (sprintf "%A: no wider than its glimpse" key)
                    Expect.floatClose Accuracy.high g.[2] (64.0 * sx) (sprintf "%A: --boxes glimpse writes the z_where window" key)
                let area (m: Map<_, bool * float[] * float * float>) = m |> Seq.averageBy (fun (KeyValue(_, (_, b, _, _))) -> b.[2] * b.[3])
                Expect.isLessThan (area imagined) (0.8 * area (glimpses |> Map.filter (fun k _ -> imagined.ContainsKey k))) "imagined mask boxes are tighter than glimpses"
            finally
                Directory.Delete(dir, true)
    ]
