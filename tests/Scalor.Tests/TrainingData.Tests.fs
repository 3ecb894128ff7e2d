/// Training data from recorded sequences: clips of footage and of packed datasets, drawn by seed.
module Scalor.Tests.TrainingData

open System.IO
open Expecto
open Scalor.Cli
open Scalor.Host
open TorchSharp

/// `train --data data` with clips of 4 frames, 3 to a batch (toy64: 64×64 frames).
let private trainArgs (data: string) (extra: string list) =
    match Parse.parse (Array.ofList ([ "train"; "--data"; data; "--batch"; "3"; "--set"; "SeqLength=4" ] @ extra)) with
    | Parse.Run(Parse.Train t) -> t
    | other -> failtestf "unexpected %A" other

let private clipsOf (cmd: Parse.TrainCommand) =
    match TrainingData.Create cmd with
    | :? TrainingData.Clips as c -> c
    | other -> failtestf "expected clips, got %s" other.Describe

/// Writes `n` flat 64×64 PNG frames into `dir`; every byte of frame t is `value t`.
let private writeFrames (dir: string) n (value: int -> int) =
    Directory.CreateDirectory dir |> ignore
    for t in 0 .. n - 1 do
        let img = Rgb(64, 64)
        System.Array.Fill(img.Pixels, byte (value t))
        img.SavePng(Path.Combine(dir, sprintf "%06d.png" (t + 1)))

/// Batch item i's frames by their first byte: [T] values in 0..255.
let private frameValues (batch: torch.Tensor) (i: int) =
    use v = batch.[int64 i].select(1L, 0L).select(1L, 0L).select(1L, 0L).contiguous()
    v.data<float32>().ToArray() |> Array.map (fun x -> int (round (x * 255.0f)))

[<Tests>]
let tests =
    testList "TrainingData" [
        testCase "generated: one world is the seed's sequences in order; a mix takes its worlds in turn, by the same seeds" <| fun () ->
            let generated argv =
                match Parse.parse (Array.ofList ([ "train"; "--batch"; "3"; "--set"; "SeqLength=2"; "--seed"; "7" ] @ argv)) with
                | Parse.Run(Parse.Train t) -> t, TrainingData.Create t
                | other -> failtestf "unexpected %A" other
            let ldCmd, ld = generated [ "--density"; "ld" ]
            let mixCmd, mix = generated [ "--density"; "vld"; "--density"; "ld"; "--density"; "md" ]
            Expect.stringContains mix.Describe "vld+ld+md in turn" "the mix says what it draws"
            Expect.equal ld.TrainsOn (Scalor.Worlds.World.describe ldCmd.Worlds.Head) "one world records its description, as before mixes"
            Expect.isTrue (mix.TrainsOn.Contains(Scalor.Worlds.World.describe mixCmd.Worlds.[2])) "a mix records every world"
            Expect.notEqual mix.TrainsOn ld.TrainsOn "a mix is other data to --resume"
            let worldOf (c: Parse.TrainCommand) i = Scalor.Worlds.World.create c.Worlds.[i] None
            for step in [ 0; 5 ] do
                use ldBatch = ld.Batch step
                use mixBatch = mix.Batch step
                for i in 0 .. 2 do
                    let j = step * 3 + i
                    let expected (c: Parse.TrainCommand) w = Scalor.Model.Train.batchOf [| Scalor.Worlds.World.sequence (worldOf c w) (Scalor.Worlds.World.sequenceSeed 7UL j) |]
                    use one = expected ldCmd 0
                    Expect.isTrue (ldBatch.[int64 i].allclose(one.[0L], 0.0, 0.0)) (sprintf "LD step %d item %d: sequence %d of the seed" step i j)
                    use turn = expected mixCmd (j % 3)
                    Expect.isTrue (mixBatch.[int64 i].allclose(turn.[0L], 0.0, 0.0)) (sprintf "mix step %d item %d: world %d, sequence %d of the seed" step i (j % 3) j)

        testCase "footage: every clip is a run of consecutive frames, each drawn once per epoch in the seed's order" <| fun () ->
            CommandFiles.inTempDir "scalor-footage" <| fun dir ->
                // 13 frames: clips start at frames 0..9; frame t reads 1 + 3t, so a clip shows its own start.
                writeFrames dir 13 (fun t -> 1 + 3 * t)
                let data = clipsOf (trainArgs dir [])
                Expect.equal (List.ofSeq data.All) [ for s in 0 .. 9 -> struct (0, s) ] "one clip at every start that leaves 4 frames"
                Expect.stringContains data.Describe "13 frames at 64×64" "what it read"
                let drawn =
                    [ for step in 0 .. 3 do
                        use batch = data.Batch step
                        Expect.equal batch.shape [| 3L; 4L; 3L; 64L; 64L |] "[B; T; C; H; W]"
                        for i in 0 .. 2 do
                            let v = frameValues batch i
                            Expect.equal v [| v.[0]; v.[0] + 3; v.[0] + 6; v.[0] + 9 |] "four consecutive frames, in order"
                            let clip = data.ClipAt(step, i)
                            Expect.equal clip (struct (0, (v.[0] - 1) / 3)) "the clip ClipAt names"
                            yield clip ]
                Expect.equal (List.sort (List.take 10 drawn)) (List.ofSeq data.All) "the first epoch shows every clip once"
                Expect.notEqual (List.take 10 drawn) (List.ofSeq data.All) "shuffled"
                // Any step in any order gives the same clip: a resumed run sees an uninterrupted one's data.
                let fresh = clipsOf (trainArgs dir [])
                let backwards = [ for step in 3 .. -1 .. 0 do for i in 2 .. -1 .. 0 -> fresh.ClipAt(step, i) ] |> List.rev
                Expect.equal backwards drawn "steps read out of order"
                let other = clipsOf (trainArgs dir [ "--seed"; "2" ])
                Expect.notEqual [ for k in 0 .. 9 -> other.ClipAt(k / 3, k % 3) ] (List.take 10 drawn) "another seed, another order"
                // Every third frame: a clip of 4 spans 10 frames, so 4 clips start at frames 0..3.
                let spaced = clipsOf (trainArgs dir [ "--frame-step"; "3" ])
                Expect.equal (List.ofSeq spaced.All) [ for s in 0 .. 3 -> struct (0, s) ] "starts that leave room for 10 frames"
                use batch = spaced.Batch 0
                for i in 0 .. 2 do
                    let v = frameValues batch i
                    Expect.equal v [| v.[0]; v.[0] + 9; v.[0] + 18; v.[0] + 27 |] "frames 3 apart"
                let tooSparse = CommandFiles.refusalOf (fun () -> TrainingData.Create(trainArgs dir [ "--frame-step"; "5" ]) |> ignore; 0)
                Expect.stringContains tooSparse.Message "16 frames" "a clip 5 apart spans 16 frames: more than the 13 there are"

        testCase "footage in the MOTChallenge layout: sequences shorter than a clip are left out, and none long enough is refused" <| fun () ->
            CommandFiles.inTempDir "scalor-footage-mot" <| fun dir ->
                writeFrames (Path.Combine(dir, "a", "img1")) 6 (fun t -> 10 + t)
                writeFrames (Path.Combine(dir, "b", "img1")) 3 (fun t -> 100 + t)
                let data = clipsOf (trainArgs dir [])
                Expect.equal (List.ofSeq data.All) [ struct (0, 0); struct (0, 1); struct (0, 2) ] "sequence a's three clips"
                use batch = data.Batch 0
                for i in 0 .. 2 do
                    Expect.isLessThan (frameValues batch i).[3] 100 "no frame of the short sequence"
                let shortOnly = Path.Combine(dir, "short")
                writeFrames (Path.Combine(shortOnly, "b", "img1")) 3 id
                let e = CommandFiles.refusalOf (fun () -> TrainingData.Create(trainArgs shortOnly []) |> ignore; 0)
                Expect.stringContains e.Message "4 frames" "says how long a clip is"
                let missing = CommandFiles.refusalOf (fun () -> TrainingData.Create(trainArgs (Path.Combine(dir, "nothing")) []) |> ignore; 0)
                Expect.stringContains missing.Message "not found" "a missing path"
                let empty = Path.Combine(dir, "empty")
                Directory.CreateDirectory empty |> ignore
                Expect.throwsT<InvalidDataException> (fun () -> TrainingData.Create(trainArgs empty []) |> ignore) "a folder without images"

        testCase "a packed dataset: clip-long sequences are shown whole, once per epoch; longer ones give a clip at every start" <| fun () ->
            CommandFiles.inTempDir "scalor-packed" <| fun dir ->
                let write out length =
                    match Parse.parse [| "data"; "--sequences"; "5"; "--length"; string length; "--no-images"; "--out"; out |] with
                    | Parse.Run(Parse.Data d) -> Expect.equal (DataCommand.Run d) 0 "data written"
                    | other -> failtestf "unexpected %A" other
                let exact = Path.Combine(dir, "exact")
                write exact 4
                let data = clipsOf (trainArgs exact [])
                Expect.equal (List.ofSeq data.All) [ for s in 0 .. 4 -> struct (s, 0) ] "one clip per sequence"
                let seqs, _ = Scalor.Worlds.Dataset.unpack (Path.Combine(exact, "dataset.safetensors"))
                use batch = data.Batch 1
                for i in 0 .. 2 do
                    let struct (s, _) = data.ClipAt(1, i)
                    use whole = Scalor.Model.Train.batchOf [| seqs.[s] |]
                    use item = batch.[int64 i].contiguous()
                    Expect.equal (item.data<float32>().ToArray()) (whole.data<float32>().ToArray()) "the sequence's frames"
                let drawn = [ for k in 0 .. 4 -> let struct (s, _) = data.ClipAt(k / 3, k % 3) in s ]
                Expect.equal (List.sort drawn) [ 0 .. 4 ] "every sequence once in the first epoch"
                let long = Path.Combine(dir, "long")
                write long 6
                Expect.equal (clipsOf (trainArgs (Path.Combine(long, "dataset.safetensors")) [])).All.Count 15 "3 clips in each of 5 sequences of 6 frames (the file named)"
                // Refused by the pack's header: sequences shorter than a clip, frames of another size.
                let short = CommandFiles.refusalOf (fun () -> TrainingData.Create(trainArgs exact [ "--set"; "SeqLength=5" ]) |> ignore; 0)
                Expect.stringContains short.Message "has sequences of 4 frames; a training clip spans 5" "too short"
                let small = Path.Combine(dir, "small")
                match Parse.parse [| "data"; "--sequences"; "1"; "--length"; "4"; "--size"; "48"; "--no-images"; "--out"; small |] with
                | Parse.Run(Parse.Data d) -> Expect.equal (DataCommand.Run d) 0 "data written"
                | other -> failtestf "unexpected %A" other
                let side = CommandFiles.refusalOf (fun () -> TrainingData.Create(trainArgs small []) |> ignore; 0)
                Expect.stringContains side.Message "has 48×48 frames but the model expects 64×64" "another size"

        testCase "a pack's clips are read from its file as batches need them: the same clips, batches and data hash as its frames held in memory" <| fun () ->
            CommandFiles.inTempDir "scalor-packed-lazy" <| fun dir ->
                match Parse.parse [| "data"; "--sequences"; "4"; "--length"; "9"; "--no-images"; "--out"; dir |] with
                | Parse.Run(Parse.Data d) -> Expect.equal (DataCommand.Run d) 0 "data written"
                | other -> failtestf "unexpected %A" other
                let path = Path.Combine(dir, "dataset.safetensors")
                for step in [ 1; 2 ] do
                    let cmd = trainArgs dir [ "--frame-step"; string step ]
                    let read = clipsOf cmd
                    let held = TrainingData.Clips("held", (Scalor.Worlds.Dataset.framesOf path).Read(), cmd.Config, step, uint64 cmd.Seed)
                    Expect.equal (List.ofSeq read.All) (List.ofSeq held.All) (sprintf "step %d: the same clips" step)
                    Expect.equal read.All.Count (4 * (9 - (3 * step + 1) + 1)) (sprintf "step %d: a clip at every start" step)
                    Expect.equal read.TrainsOn held.TrainsOn (sprintf "step %d: the same data hash (checkpoints of runs before resume)" step)
                    for k in [ 0; 1; 7 ] do
                        use a = read.Batch k
                        use b = held.Batch k
                        Expect.equal (a.data<float32>().ToArray()) (b.data<float32>().ToArray()) (sprintf "step %d: batch %d" step k)

        testCase "train runs on footage end to end" <| fun () ->
            CommandFiles.inTempDir "scalor-footage-train" <| fun dir ->
                let frames = Path.Combine(dir, "frames")
                writeFrames frames 5 (fun t -> 20 * t)
                let run = Path.Combine(dir, "run")
                match Parse.parse [| "train"; "--data"; frames; "--batch"; "1"; "--set"; "SeqLength=2"; "--steps"; "1"; "--out"; run |] with
                | Parse.Run(Parse.Train t) -> Expect.equal (TrainCommand.Run t) 0 "one step"
                | other -> failtestf "unexpected %A" other
                Expect.isTrue (File.Exists(Checkpoints.PathFor(Path.Combine(run, "checkpoints"), 1))) "the final checkpoint"
                let step = File.ReadAllLines(Path.Combine(run, "log.jsonl")) |> Array.last |> System.Text.Json.JsonDocument.Parse
                Expect.isTrue (System.Double.IsFinite(step.RootElement.GetProperty("loss").GetDouble())) "a finite loss"
    
        testCase "footage with --crop: each window is a sequence of its own, showing that window" <| fun () ->
            CommandFiles.inTempDir "scalor-footage-crop" <| fun dir ->
                // 96×64 frames: the left half 20·t, the right half 100 more.
                let frames = Path.Combine(dir, "wide")
                Directory.CreateDirectory frames |> ignore
                for t in 0 .. 4 do
                    let img = Rgb(96, 64)
                    for y in 0 .. 63 do
                        for x in 0 .. 95 do
                            let v = byte (20 * t + (if x >= 48 then 100 else 0))
                            img.Set(x, y, (v, v, v))
                    img.SavePng(Path.Combine(frames, sprintf "%06d.png" (t + 1)))
                let data = clipsOf (trainArgs frames [ "--crop"; "48:48:0:0"; "--crop"; "48:48:48:16" ])
                Expect.stringContains data.Describe "cropped to 48:48:0:0, 48:48:48:16" "the windows are named"
                Expect.equal (data.All |> Seq.map (fun struct (s, _) -> s) |> Seq.countBy id |> List.ofSeq) [ (0, 2); (1, 2) ] "two windows, two clips of 4 in 5 frames each"
                use batch = data.Batch 0
                for i in 0 .. 2 do
                    let struct (s, start) = data.ClipAt(0, i)
                    Expect.sequenceEqual (frameValues batch i) [ for t in start .. start + 3 -> 20 * t + 100 * s ] (sprintf "item %d: window %d's pixels" i s)
                let e = try TrainingData.Create(trainArgs frames [ "--crop"; "64:64:40:0" ]) |> ignore; "" with :? InvalidDataException as x -> x.Message
                Expect.stringContains e "does not fit in frames of 96×64" "a window outside the frames is refused, naming their size"
                // tiles:48 of 96×64: columns at 0 and 48, rows at 0 and 16, each tile a sequence named for its window.
                let tiles = Scalor.Runtime.Inputs.OpenWindows(frames, 48, [ Scalor.IO.Crop.Tiles(48, 0) ])
                Expect.equal [ for t in tiles -> t.Name, (t.Left, t.Top, t.Width, t.Height) ]
                    [ for y in [ 0; 16 ] do for x in [ 0; 48 ] -> sprintf "wide@48:48:%d:%d" x y, (x, y, 48, 48) ] "four tiles, rows from the top left"
                for t in tiles do
                    let first = Seq.head t.Frames
                    Expect.isTrue (first |> Array.forall ((=) (if t.Left >= 48 then 100uy else 0uy))) (sprintf "%s shows its own half of frame 1" t.Name)
                let tiled = clipsOf (trainArgs frames [ "--crop"; "tiles:48" ])
                Expect.equal (tiled.All |> Seq.map (fun struct (s, _) -> s) |> Seq.distinct |> Seq.length) 4 "four sequences to train on"
                // Read once for all four (Inputs.OpenTiled), in the tiles' order: those at x 48 show the right half.
                use batch = tiled.Batch 0
                for i in 0 .. 2 do
                    let struct (s, start) = tiled.ClipAt(0, i)
                    Expect.sequenceEqual (frameValues batch i) [ for t in start .. start + 3 -> 20 * t + 100 * (s % 2) ] (sprintf "item %d: tile %d's pixels" i s)
    ]

