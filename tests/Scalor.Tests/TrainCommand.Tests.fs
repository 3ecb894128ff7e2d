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

/// What a checkpoint's metadata records for `key`.
let private recorded (path: string) key =
    let struct (h: Train.Checkpoint, _) = Checkpoints.Read path
    h.Extra.TryFind key

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
    ]
