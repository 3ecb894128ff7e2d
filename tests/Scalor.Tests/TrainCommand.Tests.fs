/// The training command's run-folder bookkeeping, and a tiny run of it end to end.
module Scalor.Tests.TrainCommand

open System.IO
open Expecto
open Scalor.Cli
open Scalor.Host
open Scalor.Model

/// `train` on one-frame-pair batches of the default world into `out`, to `steps`, a checkpoint every step.
let private train (out: string) (steps: int) (extra: string list) =
    let argv = [ "train"; "--batch"; "1"; "--set"; "SeqLength=2"; "--steps"; string steps; "--checkpoint-every"; "1"; "--out"; out ] @ extra
    match Parse.parse (Array.ofList argv) with
    | Parse.Run(Parse.Train t) -> TrainCommand.Run t
    | other -> failtestf "unexpected %A" other

/// What a checkpoint's metadata records for `key` (its header alone: the tests run in one NativeSafe block each,
/// whose allocation budget whole checkpoints would spend).
let private recorded (path: string) key = (Checkpoints.ReadHeader path).Extra.TryFind key

[<Tests>]
let tests =
    testList "TrainCommand" [
        testCase "resuming drops the log lines of steps after the checkpoint, and nothing else" <| fun () ->
            let dir = Directory.CreateTempSubdirectory("scalor-log").FullName
            let path = Path.Combine(dir, "log.jsonl")
            let lines =
                [ """{"init":"/x/ckpt-0000200.safetensors","from_step":200}"""
                  """{"step":201,"loss":1.5}"""
                  """{"step":202,"skipped":"loss not finite"}"""
                  """{"step":203,"loss":1.25}"""
                  "not json: kept as it is"
                  """{"step":204,"loss":1.0}""" ]
            File.WriteAllLines(path, lines)
            TrainCommand.TrimLog(path, 202)
            Expect.equal (File.ReadAllLines path |> List.ofArray) [ lines.[0]; lines.[1]; lines.[2]; lines.[4] ] "steps ≤ 202 and lines without a step"
            TrainCommand.TrimLog(path, 202)
            Expect.equal (File.ReadAllLines path).Length 4 "idempotent"
            Expect.isFalse (File.Exists(path + ".tmp")) "no temporary file left"
            TrainCommand.TrimLog(Path.Combine(dir, "missing.jsonl"), 5)
            Expect.isFalse (File.Exists(Path.Combine(dir, "missing.jsonl"))) "a missing log stays missing"

        testCase "a resumed run's checkpoints record the shares the checkpoint it continues records; a fine-tuning run's do not" <| fun () ->
            CommandFiles.inTempDir "scalor-train" <| fun dir ->
                let run = Path.Combine(dir, "run")
                Expect.equal (train run 1 []) 0 "one step"
                let first = Checkpoints.PathFor(Path.Combine(run, "checkpoints"), 1)
                Expect.isNone (recorded first Train.duplicateShareKey) "a new run records no share"
                // Shares chosen on validation, recorded into the run's checkpoint in place (as export --out does).
                let struct (h, entries) = Checkpoints.Read first
                Train.recordRejection h entries first (Some 0.8) (Some 0.7)
                Expect.equal (train run 2 [ "--resume" ]) 0 "resumed to step 2"
                let second = Checkpoints.PathFor(Path.Combine(run, "checkpoints"), 2)
                for path in [ second; Path.Combine(run, "model.safetensors") ] do
                    Expect.equal (recorded path Train.duplicateShareKey) (Some "0.8") (sprintf "%s: the duplicate share" path)
                    Expect.equal (recorded path Train.explainedShareKey) (Some "0.7") (sprintf "%s: the explained share" path)
                let struct (_, share) = Checkpoints.LoadForInference(second, None)
                Expect.equal share 0.8 "it tracks with the recorded share"
                // A fine-tuning run may have another world: it starts over with no shares.
                let tuned = Path.Combine(dir, "tuned")
                Expect.equal (train tuned 3 [ "--init"; second; "--density"; "vld" ]) 0 "fine-tuned to step 3"
                Expect.isNone (recorded (Checkpoints.PathFor(Path.Combine(tuned, "checkpoints"), 3)) Train.duplicateShareKey) "no share carried"
    
        testCase "a checkpoint that cannot be written stops the run in one line saying which checkpoint is intact; --resume goes on from it" <| fun () ->
            CommandFiles.inTempDir "scalor-train-full" <| fun dir ->
                let run = Path.Combine(dir, "run")
                let ckpts = Path.Combine(run, "checkpoints")
                // A folder where a checkpoint's temporary file goes stands for a full disk: the write fails there.
                let block step = Directory.CreateDirectory(Scalor.IO.Files.temporaryOf (Checkpoints.PathFor(ckpts, step))) |> ignore
                let refusal f =
                    try f () |> ignore; "" with :? UserError as e -> e.Message
                block 1
                let first = refusal (fun () -> train run 1 [])
                Expect.stringContains first "could not write the checkpoint of step 1" "names the checkpoint"
                Expect.stringContains first "no checkpoint of this run had been written yet" "and that none is there to resume"
                Expect.isFalse (first.Contains '\n') "one line"
                Directory.Delete(Scalor.IO.Files.temporaryOf (Checkpoints.PathFor(ckpts, 1)))
                block 3
                let third = refusal (fun () -> train run 3 [])
                Expect.stringContains third "could not write the checkpoint of step 3" "names the checkpoint"
                Expect.stringContains third "the checkpoint of step 2 is intact: --resume continues from it" "names the one to resume"
                Expect.sequenceEqual (Directory.GetFiles(ckpts, "*.safetensors") |> Array.map Path.GetFileName |> Array.sort)
                    [| "ckpt-0000001.safetensors"; "ckpt-0000002.safetensors" |] "the steps before are whole"
                Directory.Delete(Scalor.IO.Files.temporaryOf (Checkpoints.PathFor(ckpts, 3)))
                // Other settings are refused by name, the run's value first.
                let other = refusal (fun () -> train run 3 [ "--resume"; "--set"; "MaxObjects=7" ])
                Expect.stringContains other "this run's MaxObjects 7, not 45" "names the setting and both values"
                Expect.equal (train run 3 [ "--resume" ]) 0 "room again: resumed from step 2"
                Expect.isTrue (File.Exists(Checkpoints.PathFor(ckpts, 3))) "and wrote step 3"

        testCase "--resume passes over a damaged newest checkpoint, keeps it aside as *.damaged and trains its step again" <| fun () ->
            CommandFiles.inTempDir "scalor-train-damaged" <| fun dir ->
                let run = Path.Combine(dir, "run")
                let ckpts = Path.Combine(run, "checkpoints")
                Expect.equal (train run 2 []) 0 "two steps"
                let second = Checkpoints.PathFor(ckpts, 2)
                let whole = File.ReadAllBytes second
                File.WriteAllBytes(second, whole.[.. whole.Length / 2])
                Expect.equal (train run 3 [ "--resume" ]) 0 "resumed from step 1"
                Expect.equal (File.ReadAllBytes(second + ".damaged")).Length (whole.Length / 2 + 1) "the damaged file, kept as it was"
                Expect.equal (File.ReadAllBytes second) whole "step 2 trained again from step 1, bit for bit"
                Expect.equal (Checkpoints.ReadHeader(Checkpoints.PathFor(ckpts, 3))).Step 3 "and on"
                // When none reads, nothing is trained: a one-line refusal.
                for f in Directory.GetFiles(ckpts, "ckpt-*.safetensors") do File.WriteAllBytes(f, [| 1uy; 2uy; 3uy |])
                let e = CommandFiles.refusalOf (fun () -> train run 4 [ "--resume" ])
                Expect.stringContains e.Message "--resume: no checkpoint in" "says no checkpoint reads"
                Expect.stringContains e.Message "reads (" "with the reason of the oldest"
                Expect.stringContains e.Message "the newer ones are now ckpt-0000003.safetensors.damaged, ckpt-0000002.safetensors.damaged" "and what it renamed"
                Expect.isFalse (File.Exists(Checkpoints.PathFor(ckpts, 4))) "nothing was trained"

        testCase "a checkpoint records what its run trains on: --resume on other data, frame step, world or seed is refused" <| fun () ->
            CommandFiles.inTempDir "scalor-train-data" <| fun dir ->
                let frames name value =
                    let d = Path.Combine(dir, name)
                    Directory.CreateDirectory d |> ignore
                    for t in 0 .. 4 do
                        let img = Scalor.Host.Rgb(64, 64)
                        System.Array.Fill(img.Pixels, byte (value + 10 * t))
                        img.SavePng(Path.Combine(d, sprintf "%06d.png" (t + 1)))
                    d
                let a, b = frames "a" 10, frames "b" 20
                let run = Path.Combine(dir, "run")
                Expect.equal (train run 1 [ "--data"; a ]) 0 "one step on footage a"
                let first = Checkpoints.PathFor(Path.Combine(run, "checkpoints"), 1)
                let trainsOn = (recorded first Train.trainingDataKey).Value
                Expect.stringContains trainsOn "sha256:" "the frames' hash"
                Expect.stringContains trainsOn "; seed 1" "the seed"
                Expect.isFalse (trainsOn.Contains a) "no path: moved footage still resumes"
                let refused' folder extra = (CommandFiles.refusalOf (fun () -> train folder 2 ([ "--resume" ] @ extra))).Message
                let refused = refused' run
                let other = refused [ "--data"; b ]
                Expect.stringContains other "sha256:" "other frames are named by their hash"
                Expect.isFalse (other.Contains "seed 1") "only what differs is named"
                Expect.stringContains (refused [ "--data"; a; "--frame-step"; "2" ]) "frame step 2" "another frame step"
                let seed = refused [ "--data"; a; "--seed"; "2" ]
                Expect.stringContains seed "trained on seed 1; this command gives seed 2" "another seed"
                Expect.stringContains (refused []) "generated dsprites ld world" "a generated world in place of footage"
                // A new run (no --resume) into the folder would write beside its checkpoints, and --keep delete them.
                let fresh = (CommandFiles.refusalOf (fun () -> train run 2 [ "--data"; a ])).Message
                Expect.stringContains fresh "already holds checkpoints (ckpt-0000001.safetensors); --resume continues them" "a fresh run into a run folder"
                Expect.stringContains (CommandFiles.refusalOf (fun () -> train run 3 [ "--data"; a; "--init"; first ])).Message "--init: " "and fine-tuning into one"
                Expect.isFalse (File.Exists(Checkpoints.PathFor(Path.Combine(run, "checkpoints"), 2))) "nothing was trained"
                Expect.equal (train run 2 [ "--resume"; "--data"; a ]) 0 "the same footage resumes"

        testCase "a generated world's checkpoint records its description; one from before the record resumes unchecked" <| fun () ->
            CommandFiles.inTempDir "scalor-train-world" <| fun dir ->
                let refused' folder extra = (CommandFiles.refusalOf (fun () -> train folder 2 ([ "--resume" ] @ extra))).Message
                // A generated world: its description, so another background is refused.
                let world = Path.Combine(dir, "world")
                Expect.equal (train world 1 []) 0 "one step on the generated world"
                Expect.stringContains (refused' world [ "--background"; "static" ]) "background StaticBackground" "another background"
                // A checkpoint from before the record resumes unchecked.
                let old = Checkpoints.PathFor(Path.Combine(world, "checkpoints"), 1)
                let struct (h, entries) = Checkpoints.Read old
                Train.recordRejection { h with Extra = h.Extra.Remove Train.trainingDataKey } entries old None None
                Expect.isNone (recorded old Train.trainingDataKey) "the record removed"
                Expect.equal (train world 2 [ "--resume"; "--seed"; "3" ]) 0 "an unrecorded checkpoint is not checked"
                Expect.stringContains (recorded (Checkpoints.PathFor(Path.Combine(world, "checkpoints"), 2)) Train.trainingDataKey).Value "; seed 3" "and records from then on"
    ]

