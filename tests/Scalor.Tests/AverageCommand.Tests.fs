/// The average command: which checkpoints it takes from files and run folders, what it writes, its errors.
module Scalor.Tests.AverageCommand

open System.IO
open Expecto
open Scalor.Cli
open Scalor.Host
open Scalor.Model

let private cfg = { Config.toy64 with BatchSize = 2; SeqLength = 3 }

/// A run folder with checkpoints of these steps (weights of a different seed each) and its path.
let private run (steps: int list) =
    let dir = Directory.CreateTempSubdirectory("scalor-average").FullName
    let ckpts = Path.Combine(dir, "checkpoints")
    Directory.CreateDirectory ckpts |> ignore
    for s in steps do
        let nets = Scalor.create cfg (int64 s)
        Train.save (Checkpoints.PathFor(ckpts, s)) nets (Some(Train.rmsProp nets 1e-4)) (Some(new TorchSharp.torch.Generator(uint64 s))) s []
    dir, ckpts

let private command files out from upTo : Parse.AverageCommand = { Checkpoints = files; Out = out; From = from; To = upTo; Like = None; Only = [] }

let private refusal cmd = CommandFiles.refusalOf (fun () -> AverageCommand.Run cmd)

[<Tests>]
let tests =
    testList "AverageCommand" [
        testCase "a run folder with --from and --to: the checkpoints in range, averaged into one that tracks and resumes" <| fun () ->
            let dir, ckpts = run [ 25; 50; 75; 100 ]
            let out = Path.Combine(dir, "avg", "average.safetensors")
            AverageCommand.Run(command [ ckpts ] out (Some 50) (Some 100)) |> ignore
            let struct (h, entries) = Checkpoints.Read out
            Expect.equal (Train.averagedSteps h) (Some [| 50; 75; 100 |]) "the steps in range"
            Expect.equal h.Step 100 "the newest's step"
            Expect.equal (Checkpoints.DescribeAveraging out) "weights averaged over steps 50–100 (3 checkpoints)" "what track says of it"
            Expect.isNull (Checkpoints.DescribeAveraging(Checkpoints.PathFor(ckpts, 100))) "nothing to say of a plain checkpoint"
            // Without --model, track describes the embedded default's header as it would the same file's.
            let embedded = Path.Combine(dir, "embedded.safetensors")
            File.WriteAllBytes(embedded, EmbeddedModel.Bytes())
            Expect.equal (Checkpoints.DescribeAveraging null) (Checkpoints.DescribeAveraging embedded) "the embedded model's record"
            let newest = Checkpoints.PathFor(ckpts, 100)
            let struct (_, newestEntries) = Checkpoints.Read newest
            Expect.equal (entries |> List.map (fun e -> e.Name)) (newestEntries |> List.map (fun e -> e.Name)) "every tensor, optimizer and sampling state included"
            // It loads for inference and restores optimizer and sampling state, as `train --resume` does.
            let struct (nets: Scalor.Nets, _) = Checkpoints.LoadForInference(out, None)
            Expect.equal nets.Config cfg "the run's config"
            let again = Scalor.create cfg 1L
            Checkpoints.Restore(out, again, Train.rmsProp again 1e-4, new TorchSharp.torch.Generator(1UL), entries)
            // Files given one by one, in any order, average to the same bytes.
            let files = Path.Combine(dir, "files.safetensors")
            AverageCommand.Run(command [ Checkpoints.PathFor(ckpts, 100); Checkpoints.PathFor(ckpts, 50); Checkpoints.PathFor(ckpts, 75) ] files None None) |> ignore
            Expect.equal (File.ReadAllBytes files) (File.ReadAllBytes out) "the same checkpoint"

        testCase "too few checkpoints, a missing path, a folder or an ONNX name for --out: one-line errors, nothing written" <| fun () ->
            let dir, ckpts = run [ 25; 50 ]
            let out = Path.Combine(dir, "average.safetensors")
            for cmd, says in [ command [ ckpts ] out (Some 50) None, "1 found between steps 50 and any"
                               command [ ckpts; Path.Combine(dir, "none.safetensors") ] out None None, "not found"
                               command [ ckpts ] dir None None, "is a folder"
                               command [ ckpts ] (Path.Combine(dir, "m.onnx")) None None, ".safetensors" ] do
                let e = refusal cmd
                Expect.stringContains e.Message says "says what is wrong"
                Expect.isFalse (e.Message.Contains '\n') "one line"
            Expect.isFalse (File.Exists out) "nothing written"

        testCase "--like: checkpoints of different runs average into one with its step, config and shares; track says so" <| fun () ->
            let dir = Directory.CreateTempSubdirectory("scalor-soup").FullName
            let md, hd = Path.Combine(dir, "md.safetensors"), Path.Combine(dir, "hd.safetensors")
            Train.save md (Scalor.create cfg 1L) None None 10 [ Train.duplicateShareKey, "0.8" ]
            Train.save hd (Scalor.create (Config.withObjectSize 6.0 { cfg with MaxObjects = 64 }) 2L) None None 20 []
            let out = Path.Combine(dir, "soup.safetensors")
            Expect.stringContains (refusal (command [ md; hd ] out None None)).Message "--like" "another config without --like: says what to give"
            Expect.stringContains (refusal { command [ md; hd ] out None None with Like = Some(Path.Combine(dir, "none.safetensors")) }).Message "not found" "a --like that is not there"
            let other = Path.Combine(dir, "other.safetensors")
            File.Copy(md, other)
            Expect.stringContains (refusal { command [ md; hd ] out None None with Like = Some other }).Message "not among the checkpoints averaged" "one that is not averaged"
            Expect.isFalse (File.Exists out) "nothing written"
            // --like by another spelling of the same path; md given twice so is averaged once (the description counts 2).
            AverageCommand.Run { command [ hd; md; Path.Combine(dir, ".", "md.safetensors") ] out None None with Like = Some(Path.Combine(dir, ".", "md.safetensors")) } |> ignore
            let struct (nets: Scalor.Nets, share) = Checkpoints.LoadForInference(out, None)
            Expect.equal (nets.Config, share) (cfg, 0.8) "md's config and recorded share"
            Expect.equal (Checkpoints.DescribeAveraging out) "weights averaged over 2 checkpoints of different runs (steps 10, 20)" "what track says of it"
            let part = Path.Combine(dir, "part.safetensors")
            AverageCommand.Run { command [ hd; md ] part None None with Like = Some md; Only = [ "image_enc"; "proposal_rejection_cell" ] } |> ignore
            Expect.equal (Checkpoints.DescribeAveraging part) "weights averaged over 2 checkpoints of different runs (steps 10, 20; image_enc, proposal_rejection_cell only)" "and of a mean of some networks"
    ]
