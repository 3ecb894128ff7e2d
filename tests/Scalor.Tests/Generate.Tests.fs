module Scalor.Tests.Generate

open Expecto
open TorchSharp
open Scalor.Model

let private setup () =
    let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 8L
    let w = Scalor.Worlds.World.create { Scalor.Worlds.World.defaultConfig with Length = 6 } None
    nets, Train.batchOf [| Scalor.Worlds.World.sequence w 21UL |]

let private counts (frames: Generate.Frame list) = frames |> List.map (fun f -> f.Objects.Mask.sum().item<float32>())

[<Tests>]
let tests =
    testSequenced <| testList "Generate" [
        testCase "imagined frames do not depend on any input frame after the observed ones" <| fun () ->
            let nets, seq = setup ()
            let noisy = seq.clone()
            noisy.narrow(1L, 3L, 3L).copy_(torch.rand([| 1L; 3L; 3L; 64L; 64L |])) |> ignore
            let run (s: torch.Tensor) =
                use g = new torch.Generator(5UL)
                let _, imagined = Generate.conditional nets g false Discovery.defaultDuplicateShare s 3 4 0.0
                imagined |> List.map (fun f -> f.Recon.clone())
            let a, b = run seq, run noisy
            List.iter2 (fun (x: torch.Tensor) (y: torch.Tensor) -> Expect.equal ((x - y).abs().max().item<float32>()) 0f "identical") a b

        testCase "a fixed seed reproduces the rollout exactly; another seed does not" <| fun () ->
            let nets, seq = setup ()
            let run seed =
                use g = new torch.Generator(uint64 seed)
                let _, imagined = Generate.conditional nets g false Discovery.defaultDuplicateShare seq 3 4 0.1
                imagined |> List.map (fun f -> f.Recon.clone())
            let a, b, c = run 7, run 7, run 8
            List.iter2 (fun (x: torch.Tensor) (y: torch.Tensor) -> Expect.equal ((x - y).abs().max().item<float32>()) 0f "same seed") a b
            Expect.isGreaterThan (List.map2 (fun (x: torch.Tensor) (y: torch.Tensor) -> (x - y).abs().max().item<float32>()) a c |> List.max) 0f "other seed differs"

        testCase "the most likely future is one future: the seed changes nothing, and it differs from a sampled one" <| fun () ->
            let nets, seq = setup ()
            let run mostLikely seed =
                use g = new torch.Generator(uint64 seed)
                let _, imagined = Generate.conditional nets g mostLikely Discovery.defaultDuplicateShare seq 3 4 0.0
                imagined |> List.map (fun f -> f.Recon.clone())
            let worst a b = List.map2 (fun (x: torch.Tensor) (y: torch.Tensor) -> (x - y).abs().max().item<float32>()) a b |> List.max
            let a = run true 7
            Expect.equal (worst a (run true 8)) 0f "another seed, same future"
            Expect.isGreaterThan (worst a (run false 7)) 0f "a sampled future differs"

        testCase "each step frees its temporaries: what stays grows by the frame and the state alone" <| fun () ->
            // Every tensor a step makes and does not keep lands in the caller's scope unless the step frees it: in a
            // block without collections (the host's NativeSafe) that was about 75 MB a step, 15 GB for 200 steps.
            let nets, seq = setup ()
            let held fromScratch steps =
                use scope = torch.NewDisposeScope()
                use g = new torch.Generator(5UL)
                if fromScratch then Generate.fromScratch nets g 1L steps 0.2 0.1 |> ignore
                else Generate.conditional nets g false Discovery.defaultDuplicateShare seq 3 steps 0.1 |> ignore
                scope.DisposablesCount
            for fromScratch in [ false; true ] do
                let perStep = (held fromScratch 6 - held fromScratch 2) / 4
                // A frame keeps 7 tensors (reconstruction, background, foreground alpha, the maps' windows, origins and
                // index); the state its objects' 11 and the background's 2.
                Expect.isLessThanOrEqual perStep 20 (sprintf "tensors held per imagined step (from scratch: %b)" fromScratch)
                Expect.isGreaterThan perStep 0 "the frames are kept"

        testCase "with discovery off the number of objects never grows" <| fun () ->
            let nets, seq = setup ()
            use g = new torch.Generator(3UL)
            let observed, imagined = Generate.conditional nets g false Discovery.defaultDuplicateShare seq 3 6 0.0
            let start = (List.last observed).Objects.Mask.sum().item<float32>()
            let cs = start :: counts imagined
            Expect.isTrue (List.pairwise cs |> List.forall (fun (a, b) -> b <= a)) (sprintf "counts %A" cs)

        testCase "from scratch: first-step discovery from the prior, then propagation only" <| fun () ->
            let nets, _ = setup ()
            use g = new torch.Generator(4UL)
            let frames = Generate.fromScratch nets g 2L 5 0.2 0.0
            let cs = counts frames
            Expect.isTrue (List.pairwise cs |> List.forall (fun (a, b) -> b <= a)) (sprintf "never grows after step 1: %A" cs)
            for f in frames do
                Expect.isTrue (f.Recon.ge(torch.tensor(-1e-6f)).all().item<bool>() && f.Recon.le(torch.tensor(1f + 1e-6f)).all().item<bool>()) "pixels in [0, 1]"
    ]
