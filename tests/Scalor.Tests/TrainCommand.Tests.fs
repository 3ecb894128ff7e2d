/// The training command's run-folder bookkeeping.
module Scalor.Tests.TrainCommand

open System.IO
open Expecto
open Scalor.Host

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
    ]
