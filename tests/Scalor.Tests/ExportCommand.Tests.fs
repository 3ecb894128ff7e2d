/// The export command's checks on its arguments, before any model is built.
module Scalor.Tests.ExportCommand

open System.IO
open Expecto
open Scalor.Cli
open Scalor.Host

let private command model out : Parse.ExportCommand =
    { Model = model; Out = out; Capacity = 8; Render = false; Dense = false; DuplicateShare = Scalor.Model.Discovery.defaultDuplicateShare }

let private refusal (cmd: Parse.ExportCommand) =
    try
        ExportCommand.Run cmd |> ignore
        failtest "the command ran"
    with :? UserError as e -> e

[<Tests>]
let tests =
    testList "ExportCommand" [
        testCase "an output folder instead of a file is a one-line error that names a file to give" <| fun () ->
            let dir = Directory.CreateTempSubdirectory("scalor-export").FullName
            let e = refusal (command null dir)
            Expect.stringContains e.Message "is a folder" "says what is wrong"
            Expect.stringContains e.Message (Path.Combine(dir, "model.onnx")) "suggests a file name"
            Expect.isFalse (e.Message.Contains '\n') "one line"
            Expect.isEmpty (Directory.GetFileSystemEntries dir) "nothing written into the folder"

        testCase "a missing checkpoint is a one-line error and writes no model" <| fun () ->
            let dir = Directory.CreateTempSubdirectory("scalor-export").FullName
            let out = Path.Combine(dir, "model.onnx")
            let e = refusal (command (Path.Combine(dir, "none.safetensors")) out)
            Expect.stringContains e.Message "not found" "says the checkpoint is missing"
            Expect.isFalse (File.Exists out) "no model written"
    ]
