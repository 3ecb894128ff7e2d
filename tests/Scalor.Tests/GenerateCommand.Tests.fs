/// `scalor-host generate` end to end with the embedded model: the latents it writes agree with its pictures' rule.
module Scalor.Tests.GenerateCommand

open System
open System.IO
open System.Text.Json
open Expecto
open Scalor.Cli
open Scalor.Host
open Scalor.Tests.CommandFiles

let private command out masks : Parse.GenerateCommand =
    { Model = null; Input = null; Observe = 4; Steps = 3; Out = out; FromScratch = false; Samples = 1; Discovery = 0.0
      MostLikely = true; Seed = 1000001UL; DuplicateShare = None; ExplainedShare = None
      Threads = Environment.ProcessorCount; MaskBoxes = masks; FrameStep = 1; Crop = None
      World = Scalor.Worlds.World.defaultConfig; MnistDir = null }

/// (frame, id) → (imagined, box, scale_x, visible_px) of a latents file.
let private latents (path: string) =
    use doc = JsonDocument.Parse(File.ReadAllText path)
    [ for frame in doc.RootElement.EnumerateArray() do
        for o in frame.GetProperty("objects").EnumerateArray() do
            yield (frame.GetProperty("frame").GetInt32(), o.GetProperty("id").GetInt64()),
                  (frame.GetProperty("imagined").GetBoolean(), latentBox o, o.GetProperty("scale_x").GetDouble(), o.GetProperty("visible_px").GetDouble()) ]
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
            inTempDir "scalor-generate" <| fun dir ->
                let masked, glimpses = generate dir "mask" true, generate dir "glimpse" false
                // The objects `track` would report (an object leaving the view keeps its latents, not its mask).
                let config = (Checkpoints.ReadHeader null).Config
                let floor = float (Scalor.Model.Track.minVisiblePixels config Scalor.Model.Track.defaultMinVisibleShare)
                let shown = masked |> Map.filter (fun _ (_, _, _, v) -> v >= floor)
                let imagined = shown |> Map.filter (fun _ (i, _, _, _) -> i)
                Expect.isGreaterThan imagined.Count 5 "the embedded model imagines the LD objects on"
                Expect.equal (Map.keys glimpses |> List.ofSeq) (Map.keys masked |> List.ofSeq) "the box kind changes no frame, object or id"
                for KeyValue(key, (_, b, sx, _)) in shown do
                    let _, g, _, _ = glimpses.[key]
                    expectMaskBoxInGlimpse key b sx
                    Expect.floatClose { absolute = 0.005 + 1e-9; relative = 0.0 } g.[2] (64.0 * sx) (sprintf "%A: --boxes glimpse writes the z_where window, to the results' two decimals" key)
                    Expect.equal g (Scalor.Runtime.TrackingStream.MotBox g) (sprintf "%A: rounded as track's latents and results" key)
                let boxes (m: Map<_, bool * float[] * float * float>) = m.Values |> Seq.map (fun (_, b, _, _) -> b)
                Expect.isLessThan (meanArea (boxes imagined)) (0.8 * meanArea (boxes (glimpses |> Map.filter (fun k _ -> imagined.ContainsKey k)))) "imagined mask boxes are tighter than glimpses"
    
        testCase "the generated world observed is the one named: VLD's few objects, MD's crowd" <| fun () ->
            inTempDir "scalor-generate-world" <| fun dir ->
                // positions.json counts the model's objects matched to true ones at the last observed frame, per step.
                let matched name (density: Scalor.Worlds.World.Density) =
                    let out = Path.Combine(dir, name)
                    let world = { Scalor.Worlds.World.defaultConfig with Density = density }
                    Expect.equal (GenerateCommand.Run { command out true with Steps = 2; World = world }) 0 "generate succeeds"
                    use doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(out, "positions.json")))
                    [ for c in doc.RootElement.GetProperty("objects").EnumerateArray() -> c.GetInt32() ]
                let vld, md = matched "vld" Scalor.Worlds.World.vld, matched "md" Scalor.Worlds.World.md
                Expect.all vld (fun n -> n >= 1 && n <= Scalor.Worlds.World.vld.MaxObjects) (sprintf "VLD holds at most %d objects to match: %A" Scalor.Worlds.World.vld.MaxObjects vld)
                Expect.isGreaterThan md.[0] Scalor.Worlds.World.vld.MaxObjects (sprintf "MD's crowd gives more matches than VLD could: %A" md)

        testCase "--input with --frame-step and --crop observes the window of every k-th frame, as a folder of those windows" <| fun () ->
            inTempDir "scalor-generate-input" <| fun dir ->
                // A held-out LD sequence of 8 frames placed at (16, 0) in 96×64 frames, and its frames 1, 3, 5, 7 alone.
                let _, seq = heldOutSequence dir 8
                let wide, odd = Path.Combine(dir, "wide"), Path.Combine(dir, "odd")
                for d in [ wide; odd ] do Directory.CreateDirectory d |> ignore
                for t in 1 .. 8 do
                    let file = Path.Combine(seq, "img1", sprintf "%06d.png" t)
                    use fs = File.OpenRead file
                    let img = StbImageSharp.ImageResult.FromStream(fs, StbImageSharp.ColorComponents.RedGreenBlue)
                    let canvas = Rgb(96, 64)
                    Array.Fill(canvas.Pixels, 200uy)
                    for y in 0 .. 63 do Array.blit img.Data (y * 64 * 3) canvas.Pixels ((y * 96 + 16) * 3) (64 * 3)
                    canvas.SavePng(Path.Combine(wide, sprintf "%06d.png" t))
                    if t % 2 = 1 then File.Copy(file, Path.Combine(odd, sprintf "%06d.png" t))
                let run name input change =
                    let out = Path.Combine(dir, name)
                    Expect.equal (GenerateCommand.Run(change { command out true with Input = input; Steps = 2 })) 0 "generate succeeds"
                    File.ReadAllText(Path.Combine(out, "latents-1.json"))
                let window = Scalor.IO.Crop.Window { Width = 64; Height = 64; Left = 16; Top = 0 }
                let through = run "through" wide (fun c -> { c with FrameStep = 2; Crop = Some window })
                let direct = run "direct" odd id
                Expect.isGreaterThan direct.Length 100 "objects observed and imagined"
                Expect.equal through direct "the same past, so the same latents"
                Expect.notEqual (run "whole" wide id) direct "the whole frames are another past"
                let e = refusalOf (fun () -> GenerateCommand.Run { command (Path.Combine(dir, "few")) true with Input = wide; FrameStep = 3; Observe = 4 })
                Expect.stringContains e.Message "3 frames 3 apart, fewer than --observe 4" "too few frames at that step"
    ]

