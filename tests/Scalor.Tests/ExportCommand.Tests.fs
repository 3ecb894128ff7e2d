/// The export command's checks on its arguments, before any model is built.
module Scalor.Tests.ExportCommand

open System.IO
open Expecto
open Scalor.Cli
open Scalor.Host

let private command model out : Parse.ExportCommand =
    { Model = model; Out = out; Capacity = Some 8; Render = false; Dense = false; DuplicateShare = None; ExplainedShare = None; WeightsOnly = false }

let private refusal (cmd: Parse.ExportCommand) = CommandFiles.refusalOf (fun () -> ExportCommand.Run cmd)

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

        testCase "the exported state has the model's slots unless --capacity says otherwise; a checkpoint copy takes no capacity" <| fun () ->
            let dir = Directory.CreateTempSubdirectory("scalor-export").FullName
            let source = Path.Combine(dir, "ckpt.safetensors")
            let cfg = { Scalor.Model.Config.toy64 with BatchSize = 1; Capacity = 12 }
            Scalor.Model.Train.save source (Scalor.Model.Scalor.create cfg 5L) None None 3 []
            let slots (capacity: int option) name =
                let out = Path.Combine(dir, name)
                ExportCommand.Run { command source out with Capacity = capacity } |> ignore
                use tracker = Scalor.Runtime.OnnxTracker.Load(out, Scalor.Runtime.Provider.Cpu, 1)
                tracker.Capacity
            Expect.equal (slots None "model.onnx", slots (Some 5) "five.onnx") (12, 5) "the config's capacity, or the one asked for"
            let copy = Path.Combine(dir, "copy.safetensors")
            Expect.stringContains (refusal { command source copy with DuplicateShare = Some 0.8; Capacity = Some 64 }).Message "--capacity" "even at the old default"
            Expect.isFalse (File.Exists copy) "no copy written"

        testCase "--out X.safetensors records the share in a copy of the checkpoint, which inference then uses" <| fun () ->
            let dir = Directory.CreateTempSubdirectory("scalor-export").FullName
            let source, out = Path.Combine(dir, "ckpt.safetensors"), Path.Combine(dir, "md.safetensors")
            let cfg = { Scalor.Model.Config.toy64 with BatchSize = 2; SeqLength = 3 }
            let nets = Scalor.Model.Scalor.create cfg 5L
            Scalor.Model.Train.save source nets None None 3 []
            for cmd, says in [ command null out, "give --model"; command source out, "give --duplicate-share"
                               { command source out with DuplicateShare = Some 0.8; Render = true }, "ONNX model" ] do
                Expect.stringContains (refusal cmd).Message says "names what is missing or wrong"
                Expect.isFalse (File.Exists out) "nothing written"
            ExportCommand.Run { command source out with DuplicateShare = Some 0.8; Capacity = None } |> ignore
            let shareOf path asked = let struct (_, share) = Checkpoints.LoadForInference(path, asked) in share
            Expect.equal (shareOf out None) 0.8 "recorded"
            Expect.equal (shareOf out (Some 0.5)) 0.5 "asked for"
            Expect.equal (shareOf source None) Scalor.Model.Discovery.defaultDuplicateShare "the source is unchanged"

        testCase "--explained-share: recorded beside the duplicate share; inference uses it, the likelihood model and --rejection official do not" <| fun () ->
            let dir = Directory.CreateTempSubdirectory("scalor-export").FullName
            let source, md, both = Path.Combine(dir, "ckpt.safetensors"), Path.Combine(dir, "md.safetensors"), Path.Combine(dir, "both.safetensors")
            let cfg = { Scalor.Model.Config.toy64 with BatchSize = 2; SeqLength = 3 }
            Scalor.Model.Train.save source (Scalor.Model.Scalor.create cfg 5L) None None 3 []
            ExportCommand.Run { command source md with DuplicateShare = Some 0.8; Capacity = None } |> ignore
            ExportCommand.Run { command md both with ExplainedShare = Some 0.7; Capacity = None } |> ignore
            let load path asked explained =
                let struct (nets: Scalor.Model.Scalor.Nets, share) = Checkpoints.LoadForInference(path, asked, explained)
                share, nets.Config.RejectionThreshold
            Expect.equal (load both None None) (0.8, 0.7) "both recorded; the copy of a copy keeps the first record"
            Expect.equal (load both None (Some 0.5)) (0.8, 0.5) "asked for"
            Expect.equal (load both (Some Scalor.Model.Discovery.noDuplicateTest) None) (Scalor.Model.Discovery.noDuplicateTest, cfg.RejectionThreshold) "--rejection official: the official test at the config's share"
            Expect.equal (load md None None) (0.8, cfg.RejectionThreshold) "nothing recorded: the config's"
            Expect.equal (Checkpoints.LoadModel both).Config.RejectionThreshold cfg.RejectionThreshold "the model as trained keeps its config"

        testCase "--weights-only: the copy keeps the weights, step and share, drops optimizer and sampling state, and cannot resume" <| fun () ->
            let dir = Directory.CreateTempSubdirectory("scalor-export").FullName
            let source, out = Path.Combine(dir, "ckpt.safetensors"), Path.Combine(dir, "light.safetensors")
            let cfg = { Scalor.Model.Config.toy64 with BatchSize = 2; SeqLength = 3 }
            let nets = Scalor.Model.Scalor.create cfg 5L
            Scalor.Model.Train.save source nets (Some(Scalor.Model.Train.rmsProp nets 1e-4)) (Some(new TorchSharp.torch.Generator(7UL))) 3 []
            let onnx = refusal { command source (Path.Combine(dir, "m.onnx")) with DuplicateShare = Some 0.8; WeightsOnly = true }
            Expect.stringContains onnx.Message "--weights-only" "an ONNX model is refused the option"
            ExportCommand.Run { command source out with DuplicateShare = Some 0.8; Capacity = None; WeightsOnly = true } |> ignore
            let struct (full, fullEntries) = Checkpoints.Read source
            let struct (light, lightEntries) = Checkpoints.Read out
            let names (es: Scalor.IO.Safetensors.Entry list) = es |> List.map (fun e -> e.Name) |> Set.ofList
            Expect.equal (names lightEntries) (nets.Store.Named |> List.map fst |> Set.ofList) "exactly the model's tensors"
            Expect.isTrue (Set.isProperSubset (names lightEntries) (names fullEntries)) "the source held more"
            for e in lightEntries do
                Expect.equal e.Data (fullEntries |> List.find (fun f -> f.Name = e.Name)).Data (sprintf "%s unchanged" e.Name)
            Expect.equal light.Step full.Step "same step"
            let struct (_, share) = Checkpoints.LoadForInference(out, None)
            Expect.equal share 0.8 "the share is recorded"
            let again = Scalor.Model.Scalor.create cfg 6L
            let resume =
                try
                    Checkpoints.Restore(out, again, Scalor.Model.Train.rmsProp again 1e-4, new TorchSharp.torch.Generator(1UL), lightEntries)
                    failtest "resumed"
                with :? UserError as e -> e
            Expect.stringContains resume.Message "no optimizer state" "resuming is a one-line error"
    ]
