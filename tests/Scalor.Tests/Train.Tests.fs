/// Training: a loss-goes-down smoke run, exact resume, the ways a step can be computed that must agree,
/// fine-tuning, checkpoints (corrupt, recorded shares, averaging).
module Scalor.Tests.Train

open System
open Expecto
open TorchSharp
open Scalor.Model
open Scalor.Model.Store
open Scalor.Tests.ModelTensors

let private fst3 (x, _, _) = x
let private thd (_, _, x) = x

/// `Train.average` with `like` and `only` over checkpoints read whole (path, header, tensors), reporting each path it
/// loads to `onLoad`.
let private averageWith (like: string option) (only: string list) (onLoad: string -> unit) (xs: (string * Train.Checkpoint * Scalor.IO.Safetensors.Entry list) list) =
    let tensors = xs |> List.map (fun (p, _, e) -> p, e) |> Map.ofList
    Train.average like only (xs |> List.map (fun (p, h, _) -> p, h)) (fun p -> onLoad p; tensors.[p])

/// `Train.average` of checkpoints of one run.
let private averageOf onLoad xs = averageWith None [] onLoad xs

[<Tests>]
let tests =
    testSequenced <| testList "Training" [
        let tiny = { Config.toy64 with BatchSize = 2; SeqLength = 3 }
        let world = Scalor.Worlds.World.create { Scalor.Worlds.World.defaultConfig with Length = 3; Density = Scalor.Worlds.World.vld } None
        let batch step = Train.batchOf (Array.init 2 (fun i -> Scalor.Worlds.World.sequence world (Scalor.Worlds.World.sequenceSeed 4UL (step * 2 + i))))
        let lossOf = function
            | Train.Stepped(t, _) -> t.Loss
            | Train.Skipped(_, r) -> failtestf "step skipped: %s" r

        testCase "a few dozen steps on tiny data lower the loss" <| fun () ->
            Native.tuneAllocator ()
            let nets = Scalor.create tiny 3L
            let opt = Train.rmsProp nets tiny.LearningRate
            use gen = new torch.Generator(11UL)
            // The same small set of sequences, revisited: the loss must fall well below where it started.
            let losses = [ for s in 0 .. 35 -> lossOf (Train.step nets opt gen s (batch (s % 4))) ]
            let first = losses |> List.take 4 |> List.average
            let last = losses |> List.skip 32 |> List.average
            Expect.isLessThan last (first * 0.5) (sprintf "first %.0f, last %.0f" first last)

        testCase "resume continues exactly: the next losses equal an uninterrupted run's" <| fun () ->
            let straight =
                let nets = Scalor.create tiny 5L
                let opt = Train.rmsProp nets tiny.LearningRate
                use gen = new torch.Generator(9UL)
                [ for s in 0 .. 3 -> lossOf (Train.step nets opt gen s (batch s)) ]
            let path = IO.Path.Combine(IO.Directory.CreateTempSubdirectory("scalor-ckpt").FullName, "ckpt.safetensors")
            let firstHalf =
                let nets = Scalor.create tiny 5L
                let opt = Train.rmsProp nets tiny.LearningRate
                use gen = new torch.Generator(9UL)
                let l = [ for s in 0 .. 1 -> lossOf (Train.step nets opt gen s (batch s)) ]
                Train.save path nets (Some opt) (Some gen) 2 []
                l
            let header, entries = Train.read path
            Expect.equal header.Step 2 "step recorded"
            Expect.equal header.Config tiny "config recorded"
            let nets = Scalor.create header.Config 99L // other initialisation: everything must come from the file
            let opt = Train.rmsProp nets tiny.LearningRate
            use gen = new torch.Generator(12345UL)
            Train.restore path nets (Some opt) (Some gen) entries
            let secondHalf = [ for s in 2 .. 3 -> lossOf (Train.step nets opt gen s (batch s)) ]
            Expect.sequenceEqual (firstHalf @ secondHalf) straight "identical losses"

        testCase "recomputing the glimpse decoder in backward gives the same loss and gradients" <| fun () ->
            let run (recompute: bool) =
                let cfg = { tiny with RecomputeDecoder = recompute }
                let nets = Scalor.create cfg 7L
                use gen = new torch.Generator(13UL)
                let frames = Scalor.forward nets (Train.options cfg 0 (Scalor.Sample gen)) (batch 1)
                let loss, _ = Elbo.loss frames (batch 1)
                loss.backward()
                loss.item<float32>(), paramGrads nets
            let l1, g1 = run false
            let l2, g2 = run true
            Expect.floatClose Accuracy.high (float l1) (float l2) "same loss"
            Expect.isLessThan (relWorst g1 g2) 1e-4 "same gradients (relative)"

        testCase "micro-batched passes accumulate the whole batch's loss terms and gradients" <| fun () ->
            let run (micro: int) =
                let cfg = { tiny with MicroBatch = micro }
                let nets = Scalor.create cfg 8L
                // Means: no sampling noise, so the passes see exactly what one pass over the batch sees.
                let terms, failure = Train.gradients nets (Train.options cfg 0 Scalor.Means) (batch 2)
                Expect.isNone failure "finite"
                terms, paramGrads nets
            let t1, g1 = run 0
            let t2, g2 = run 1
            Expect.floatClose Accuracy.medium t2.Loss t1.Loss "loss"
            Expect.floatClose Accuracy.medium t2.Mse t1.Mse "MSE"
            Expect.floatClose Accuracy.medium t2.Objects t1.Objects "objects"
            Expect.isLessThan (relWorst g1 g2) 1e-4 "same gradients (relative)"
            Expect.isGreaterThan (g1 |> Array.sumBy (fun g -> float (g.abs().sum().item<float32>()))) 0.0 "gradients are not all zero"

        testCase "decoding only the cells that can survive the cap gives the same loss and gradients" <| fun () ->
            // A cap of 3 objects: after the first frame few cells can survive, the rest end exactly at 0.
            let cfg = { tiny with MaxObjects = 3 }
            let run (skip: bool) =
                let nets = Scalor.create cfg 9L
                let opts = { Train.options cfg 0 Scalor.Means with SkipZeroCells = skip }
                let frames = Scalor.forward nets opts (batch 3)
                let loss, terms = Elbo.loss frames (batch 3)
                loss.backward()
                let sparseFrames = frames |> List.take (frames.Length - 1) |> List.filter (fun f -> Scalor.decodesSparsely cfg opts true (f.Objects.Mask.sum(1L))) |> List.length
                terms, sparseFrames, paramGrads nets
            let t1, _, g1 = run false
            let t2, sparse, g2 = run true
            // A frame decides on the list the previous frame left: every frame's list but the last one's.
            Expect.isGreaterThan sparse 0 "the sparse path was taken"
            Expect.floatClose Accuracy.medium t2.Loss t1.Loss "loss"
            Expect.equal t2.Objects t1.Objects "objects"
            Expect.isLessThan (relWorst g1 g2) 1e-4 "same gradients (relative)"

        testCase "training only a name prefix changes only those parameters" <| fun () ->
            let nets = Scalor.create tiny 10L
            let opt = Train.rmsProp nets tiny.LearningRate
            use gen = new torch.Generator(3UL)
            let trained = Train.trainOnly nets [ "propagate_cell.prior_cell"; "bg_prior" ]
            Expect.isNonEmpty trained "some parameters match"
            let before = nets.Store.NamedParameters |> List.map (fun (n, p) -> n, p.detach().clone())
            // Two steps: the first frame has nothing to propagate, the prior is reached from the second step on.
            for s in 0 .. 1 do lossOf (Train.step nets opt gen s (batch s)) |> ignore
            let changed =
                List.map2 (fun (n, (a: Tensor)) (_, (b: Tensor)) -> n, maxDiff a b > 0.0) before nets.Store.NamedParameters
                |> List.filter snd |> List.map fst
            Expect.isNonEmpty changed "the chosen parameters moved"
            for n in changed do Expect.contains trained n (sprintf "%s is frozen but changed" n)

        testCase "a config that differs only in how a step is computed is the same model for resuming" <| fun () ->
            let knobs = { tiny with MicroBatch = 1; RecomputeDecoder = true }
            Expect.equal (Train.withExecutionOf knobs tiny) tiny "micro-batch and recompute are execution settings"
            Expect.notEqual (Train.withExecutionOf { knobs with Sigma = 0.5 } tiny) tiny "σ is part of the model"

        testCase "fine-tuning may change the anchors, the learning rate, the object cap and execution settings, and nothing else" <| fun () ->
            let vld = Config.withObjectSize 12.0 { tiny with MicroBatch = 2; LearningRate = tiny.LearningRate / 5.0; MaxObjects = tiny.MaxObjects + 55 }
            Expect.isEmpty (Train.fineTuneMismatch vld tiny) "another world's anchors, a lower rate, a higher cap, another micro-batch"
            let bad = Train.fineTuneMismatch { vld with Sigma = 0.5; ZWhatDim = 8 } tiny
            Expect.equal bad.Length 2 "two fields differ"
            Expect.stringContains (String.concat "; " bad) "Sigma 0.5" "names the field and the value"
            Expect.stringContains (String.concat "; " bad) "ZWhatDim" "names the field"

        testCase "config differences name each field with the run's value, then the checkpoint's, as --set takes them" <| fun () ->
            Expect.isEmpty (Train.configDifferences tiny tiny) "none between equal configs"
            let other = { tiny with MaxObjects = 64; LearningRate = 1e-4; RecomputeDecoder = not tiny.RecomputeDecoder }
            Expect.equal (set (Train.configDifferences other tiny))
                (set [ sprintf "MaxObjects 64, not %d" tiny.MaxObjects
                       sprintf "LearningRate 0.0001, not %s" (tiny.LearningRate.ToString("R", Globalization.CultureInfo.InvariantCulture))
                       sprintf "RecomputeDecoder %b, not %b" other.RecomputeDecoder tiny.RecomputeDecoder ]) "each field that differs, and only those"
            Expect.isEmpty (Train.configDifferences (Train.withExecutionOf other tiny) { tiny with MaxObjects = 64; LearningRate = 1e-4 }) "with the execution settings aligned, none"

        testCase "a non-finite loss skips the step and changes no parameter" <| fun () ->
            let nets = Scalor.create tiny 6L
            let opt = Train.rmsProp nets tiny.LearningRate
            use gen = new torch.Generator(2UL)
            let before = nets.Store.Parameters |> Array.map (fun p -> (p :> Tensor).clone())
            let bad = (batch 0).clone()
            bad.[0L, 0L, 0L, 0L, 0L] <- torch.tensor(nan)
            match Train.step nets opt gen 0 bad with
            | Train.Skipped(_, reason) -> Expect.stringContains reason "not finite" "reported"
            | Train.Stepped _ -> failtest "a NaN input must not step"
            Array.iter2 (fun (a: Tensor) (b: Modules.Parameter) -> Expect.equal (((a - (b :> Tensor)).abs().max().item<float32>())) 0f "unchanged") before nets.Store.Parameters

        testCase "a corrupt or foreign checkpoint is a clear error" <| fun () ->
            let dir = IO.Directory.CreateTempSubdirectory("scalor-bad").FullName
            let corrupt = IO.Path.Combine(dir, "corrupt.safetensors")
            IO.File.WriteAllBytes(corrupt, [| 1uy; 2uy; 3uy |])
            Expect.throwsT<Train.CheckpointError> (fun () -> Train.read corrupt |> ignore) "corrupt"
            let foreign = IO.Path.Combine(dir, "foreign.safetensors")
            Scalor.IO.Safetensors.write foreign [ Scalor.IO.Safetensors.ofFloats "w" [| 1L |] [| 1f |] ] []
            let e = Expect.throwsC (fun () -> Train.read foreign |> ignore) id
            Expect.stringContains e.Message "not a Scalor checkpoint" "says why"

        testCase "a checkpoint with a NaN or infinity in its weights or optimizer state is a clear error that names the tensor" <| fun () ->
            let dir = IO.Directory.CreateTempSubdirectory("scalor-nan").FullName
            let good = IO.Path.Combine(dir, "good.safetensors")
            let nets = Scalor.create tiny 5L
            use gen = new torch.Generator(9UL)
            Train.save good nets (Some(Train.rmsProp nets tiny.LearningRate)) (Some gen) 7 []
            let h, entries = Train.read good
            let weight = fst nets.Store.NamedParameters.[0]
            // The third value of the tensor spoilt: little-endian F32 NaN (0x7FC00000), or −∞ (0xFF800000).
            let spoil name (value: byte[]) path =
                let spoilt = entries |> List.map (fun e -> if e.Name = name then { e with Data = Array.concat [ e.Data.[.. 7]; value; e.Data.[12 ..] ] } else e)
                Train.recordRejection h spoilt path None None
            let nan, inf, optim = IO.Path.Combine(dir, "nan.safetensors"), IO.Path.Combine(dir, "inf.safetensors"), IO.Path.Combine(dir, "optim.safetensors")
            spoil weight [| 0uy; 0uy; 0xC0uy; 0x7Fuy |] nan
            spoil weight [| 0uy; 0uy; 0x80uy; 0xFFuy |] inf
            spoil ("optim." + weight) [| 0uy; 0uy; 0xC0uy; 0x7Fuy |] optim
            Train.loadForInference good |> ignore
            for path, name in [ nan, weight; inf, weight; optim, "optim." + weight ] do
                let e = Expect.throwsC (fun () -> Train.loadForInference path |> ignore) id
                Expect.isTrue (e :? Train.CheckpointError) "a checkpoint error, which the host prints as one line"
                Expect.stringContains e.Message (name + ": NaN or infinite") "names the tensor and says what is wrong"
                Expect.equal (Train.readHeader path).Step 7 "the header alone still reads"
            let e = Expect.throwsC (fun () -> Train.parse "embedded" (IO.File.ReadAllBytes nan) |> ignore) id
            Expect.stringContains e.Message ("embedded: " + weight) "a checkpoint in memory too"

        testCase "a checkpoint records the duplicate share it is tracked with; what is asked for wins" <| fun () ->
            let dir = IO.Directory.CreateTempSubdirectory("scalor-share").FullName
            let plain, recorded, official = IO.Path.Combine(dir, "plain.safetensors"), IO.Path.Combine(dir, "md.safetensors"), IO.Path.Combine(dir, "off.safetensors")
            let nets = Scalor.create tiny 5L
            use gen = new torch.Generator(9UL)
            Train.save plain nets (Some(Train.rmsProp nets tiny.LearningRate)) (Some gen) 7 []
            let h0, e0 = Train.read plain
            Train.recordRejection h0 e0 recorded (Some 0.8) None
            Train.recordRejection h0 e0 official (Some Discovery.noDuplicateTest) None
            let h1, e1 = Train.read recorded
            let h2, _ = Train.read official
            Expect.equal (h1.Step, h1.Config) (h0.Step, h0.Config) "step and config kept"
            Expect.equal (e1 |> List.map (fun e -> e.Name, e.Shape, e.Data)) (e0 |> List.map (fun e -> e.Name, e.Shape, e.Data)) "every tensor kept, optimizer and generator state too"
            Expect.equal (Train.duplicateShareFor None plain h0) Discovery.defaultDuplicateShare "nothing recorded: the default"
            Expect.equal (Train.duplicateShareFor None recorded h1) 0.8 "the recorded share"
            Expect.equal (Train.duplicateShareFor (Some 0.5) recorded h1) 0.5 "the command line wins"
            Expect.equal (Train.duplicateShareFor None official h2) Discovery.noDuplicateTest "official recorded"
            let bad = { h1 with Extra = h1.Extra.Add(Train.duplicateShareKey, "1.5") }
            let e = Expect.throwsC (fun () -> Train.duplicateShareFor None recorded bad |> ignore) id
            Expect.stringContains e.Message "(0, 1]" "says what a share must be"

        testCase "a checkpoint records the explained share it is tracked with; training's config keeps the paper's" <| fun () ->
            let dir = IO.Directory.CreateTempSubdirectory("scalor-explained").FullName
            let plain, gentle, both = IO.Path.Combine(dir, "plain.safetensors"), IO.Path.Combine(dir, "gentle.safetensors"), IO.Path.Combine(dir, "both.safetensors")
            Train.save plain (Scalor.create tiny 5L) None None 3 []
            let h0, e0 = Train.read plain
            Train.recordRejection h0 e0 gentle None (Some 0.7)
            let h1, e1 = Train.read gentle
            Train.recordRejection h1 e1 both (Some 0.8) None
            let h2, _ = Train.read both
            Expect.equal h1.Config h0.Config "the config, and so training's RejectionThreshold, unchanged"
            Expect.equal (Train.explainedShareFor None false plain h0) tiny.RejectionThreshold "nothing recorded: the config's"
            Expect.equal (Train.explainedShareFor None false gentle h1) 0.7 "the recorded share"
            Expect.equal (Train.explainedShareFor (Some 0.5) false gentle h1) 0.5 "the command line wins"
            Expect.equal (Train.explainedShareFor None true gentle h1) tiny.RejectionThreshold "the official inference: the config's"
            Expect.equal (Train.explainedShareFor None false both h2, Train.duplicateShareFor None both h2) (0.7, 0.8) "recording one share keeps the other"
            Expect.equal (Train.inferenceConfig h1 0.7) { h1.Config with RejectionThreshold = 0.7 } "inference config"
            let bad = { h1 with Extra = h1.Extra.Add(Train.explainedShareKey, "0") }
            let e = Expect.throwsC (fun () -> Train.explainedShareFor None false gentle bad |> ignore) id
            Expect.stringContains e.Message "(0, 1]" "says what a share must be"

        testCase "loading for inference: the weights, the recorded shares, what is asked winning, and the official inference's own share" <| fun () ->
            let dir = IO.Directory.CreateTempSubdirectory("scalor-inference").FullName
            let plain, both = IO.Path.Combine(dir, "plain.safetensors"), IO.Path.Combine(dir, "both.safetensors")
            let trained = Scalor.create tiny 5L
            Train.save plain trained None None 3 []
            let h0, e0 = Train.read plain
            Train.recordRejection h0 e0 both (Some 0.8) (Some 0.7)
            let nets, share = Train.loadForInference both
            Expect.equal (share, nets.Config) (0.8, { tiny with RejectionThreshold = 0.7 }) "the recorded shares; the rest of the config as saved"
            for ((name, loaded), (_, saved)) in Seq.zip nets.Store.Named trained.Store.Named do
                Expect.isTrue (loaded.allclose(saved, 0.0, 0.0)) (sprintf "%s restored" name)
            let h, e = Train.read both
            let _, asked = Train.forInference both h e (Some 0.5) None
            let official, offShare = Train.forInference both h e (Some Discovery.noDuplicateTest) None
            let gentler, _ = Train.forInference both h e None (Some 0.9)
            Expect.equal asked 0.5 "the duplicate share asked for wins"
            Expect.equal (offShare, official.Config.RejectionThreshold) (Discovery.noDuplicateTest, tiny.RejectionThreshold) "official inference: no duplicate test, the config's explained share"
            Expect.equal gentler.Config.RejectionThreshold 0.9 "the explained share asked for wins"
            Expect.equal (snd (Train.loadForInference plain)) Discovery.defaultDuplicateShare "nothing recorded: the default"
            let broken = IO.Path.Combine(dir, "broken.safetensors")
            Scalor.IO.Safetensors.write broken (e0 |> List.filter (fun x -> not (x.Name.StartsWith "bg_"))) (Map.toList (Scalor.IO.Safetensors.readMetadata plain))
            Expect.throwsT<Train.CheckpointError> (fun () -> Train.loadForInference broken |> ignore) "a missing tensor is a CheckpointError"

        testCase "averaging checkpoints: each weight's mean, in any order; the newest's step, config, shares, optimizer and sampling state" <| fun () ->
            let loads = Collections.Generic.List<string>()
            let averageOf xs =
                loads.Clear()
                averageOf (fun p -> loads.Add p) xs
            let dir = IO.Directory.CreateTempSubdirectory("scalor-average").FullName
            let save name seed step =
                let path = IO.Path.Combine(dir, name)
                let nets = Scalor.create tiny seed
                use gen = new torch.Generator(uint64 seed)
                let opt = Train.rmsProp nets tiny.LearningRate
                for (_, v) in opt.SquareAvg do v.fill_(float seed) |> ignore
                Train.save path nets (Some opt) (Some gen) step []
                let h, e = Train.read path
                path, h, e
            let (_, ha, ea) as a = save "a.safetensors" 3L 40
            let (pb, hb0, eb0) = save "b.safetensors" 4L 50
            Train.recordRejection hb0 eb0 pb (Some 0.8) (Some 0.7)
            let hb, eb = Train.read pb
            let (_, _, ec) as c = save "c.safetensors" 5L 45
            let h, e = averageOf [ a; (pb, hb, eb); c ]
            Expect.equal (List.ofSeq loads) [ pb; fst3 a; fst3 c ] "each checkpoint read once: the newest, then by step" 
            Expect.equal (h.Step, h.Config) (hb.Step, hb.Config) "the newest's step and config"
            Expect.equal (Train.duplicateShareFor None pb h, Train.explainedShareFor None false pb h) (0.8, 0.7) "the newest's recorded shares"
            Expect.equal (Train.averagedSteps h) (Some [| 40; 45; 50 |]) "the steps averaged, in order"
            let named (es: Scalor.IO.Safetensors.Entry list) = es |> List.map (fun x -> x.Name, x) |> Map.ofList
            let am, bm, cm, m = named ea, named eb, named ec, named e
            Expect.equal (e |> List.map (fun x -> x.Name, x.Shape)) (eb |> List.map (fun x -> x.Name, x.Shape)) "the same tensors, in the same order"
            let weights = Train.weightsOnly e |> List.map (fun x -> x.Name) |> Set.ofList
            let mutable moved = 0
            for KeyValue(n, x) in m do
                if weights.Contains n then
                    let got = Scalor.IO.Safetensors.toFloats x
                    let vs = [ am; bm; cm ] |> List.map (fun d -> Scalor.IO.Safetensors.toFloats d.[n])
                    for i in 0 .. got.Length - 1 do
                        let want = (float vs.[0].[i] + float vs.[1].[i] + float vs.[2].[i]) / 3.0
                        if abs (float got.[i] - want) > 1e-6 * (1.0 + abs want) then failtestf "%s[%d]: %g, mean %g" n i got.[i] want
                    if got <> vs.[1] then moved <- moved + 1
                else Expect.equal x.Data bm.[n].Data (sprintf "%s: the newest's state" n)
            Expect.isGreaterThan moved 10 "the weights did move towards the others"
            let _, reordered = averageOf [ c; a; (pb, hb, eb) ]
            Expect.equal (reordered |> List.map (fun x -> x.Data)) (e |> List.map (fun x -> x.Data)) "the order given does not matter"
            // A checkpoint averaged with a copy of itself is itself: (x + x) / 2 is exact.
            let copy = IO.Path.Combine(dir, "copy.safetensors")
            Train.recordRejection { ha with Step = 41; Extra = ha.Extra.Add("step", "41") } ea copy None None
            let hcopy, ecopy = Train.read copy
            let _, same = averageOf [ a; (copy, hcopy, ecopy) ]
            Expect.equal (Train.weightsOnly same |> List.map (fun x -> x.Data)) (Train.weightsOnly ea |> List.map (fun x -> x.Data)) "idempotent"

        testCase "averaging refuses one checkpoint, two of one step and checkpoints of another model, naming them" <| fun () ->
            let dir = IO.Directory.CreateTempSubdirectory("scalor-average").FullName
            let save name cfg step =
                let path = IO.Path.Combine(dir, name)
                Train.save path (Scalor.create cfg 3L) None None step []
                let h, e = Train.read path
                path, h, e
            let a, b = save "a.safetensors" tiny 10, save "b.safetensors" tiny 10
            let other = save "other.safetensors" { tiny with ZWhatDim = 8 } 20
            let shifted = save "shifted.safetensors" { tiny with Sigma = tiny.Sigma + 0.1 } 30
            let says (xs: (string * Train.Checkpoint * Scalor.IO.Safetensors.Entry list) list) (words: string list) =
                let mutable loaded = 0
                let e = Expect.throwsC (fun () -> averageOf (fun _ -> loaded <- loaded + 1) xs |> ignore) id
                for w in words do Expect.stringContains e.Message w "names the problem and the file"
                Expect.equal loaded 0 "refused from the headers, before any weights are read"
            says [ a ] [ "two checkpoints" ]
            says [ a; b ] [ "both are step 10"; "a.safetensors" ]
            let later = save "later.safetensors" tiny 15
            says [ later; b; a ] [ "both are step 10" ]
            let knobs = save "knobs.safetensors" { tiny with MicroBatch = 1; RecomputeDecoder = true } 12
            Expect.equal (Train.averagedSteps (fst (averageOf ignore [ a; knobs; later ]))) (Some [| 10; 12; 15 |]) "execution settings are not another model"
            says [ a; other ] [ "another model config"; "a.safetensors" ]
            says [ a; shifted ] [ "another model config" ]

        testCase "a model soup (like): fine-tunings of other configs average, with that checkpoint's step, config and records" <| fun () ->
            let dir = IO.Directory.CreateTempSubdirectory("scalor-soup").FullName
            let save name cfg seed step =
                let path = IO.Path.Combine(dir, name)
                Train.save path (Scalor.create cfg seed) None None step [ Train.duplicateShareKey, string step ]
                let h, e = Train.read path
                path, h, e
            // A crowd fine-tuning: smaller anchors and a higher object cap, a later step.
            let md = save "md.safetensors" tiny 3L 10
            let hd = save "hd.safetensors" (Config.withObjectSize 6.0 { tiny with MaxObjects = 64 }) 4L 20
            let loaded = Collections.Generic.List<string>()
            let header, entries = averageWith (Some (fst3 md)) [] (fun p -> loaded.Add p) [ hd; md ]
            Expect.equal (header.Step, header.Config) (10, tiny) "md's step and config, though hd is newer"
            Expect.equal (header.Extra.TryFind Train.duplicateShareKey) (Some "10") "md's records"
            Expect.equal (header.Extra.TryFind Train.averagedFromKey) (Some (fst3 md + "," + fst3 hd)) "the files averaged"
            Expect.equal (Train.averagedSteps header) (Some [| 10; 20 |]) "their steps"
            let byName (es: Scalor.IO.Safetensors.Entry list) = es |> List.map (fun e -> e.Name, Scalor.IO.Safetensors.toFloats e) |> Map.ofList
            let m, h, mean = byName (thd md), byName (thd hd), byName entries
            for KeyValue(name, v) in mean do
                if not (name.StartsWith "optim.") && name <> "rng.sampling" then
                    let expected = Array.map2 (fun (x: float32) (y: float32) -> float32 ((float x + float y) / 2.0)) m.[name] h.[name]
                    Expect.equal v expected (sprintf "%s is the mean" name)
            Expect.equal (Set.ofSeq loaded) (Set.ofList [ fst3 md; fst3 hd ]) "both read"
            let e = Expect.throwsC (fun () -> averageWith (Some "elsewhere.safetensors") [] ignore [ hd; md ] |> ignore) id
            Expect.stringContains e.Message "not among the checkpoints averaged" "like must be one of them"
            let plain = Expect.throwsC (fun () -> averageOf ignore [ hd; md ] |> ignore) id
            Expect.stringContains plain.Message "--like" "without it, another config is refused, and the refusal says what to give"
            // Only the tensors of some networks: those averaged, the rest md's as they are.
            let partHeader, part = averageWith (Some (fst3 md)) [ "image_enc"; "proposal_rejection_cell" ] ignore [ hd; md ]
            Expect.equal (partHeader.Extra.TryFind Train.averagedOnlyKey) (Some "image_enc,proposal_rejection_cell") "the prefixes averaged"
            let partByName = byName part
            let mutable mixedCount = 0
            for KeyValue(name, v) in partByName do
                if name.StartsWith "image_enc" || name.StartsWith "proposal_rejection_cell" then
                    mixedCount <- mixedCount + 1
                    Expect.equal v mean.[name] (sprintf "%s is the mean" name)
                else Expect.equal v m.[name] (sprintf "%s is md's" name)
            Expect.isGreaterThan mixedCount 0 "some tensors averaged"
            let none = Expect.throwsC (fun () -> averageWith (Some (fst3 md)) [ "no_such_net" ] ignore [ hd; md ] |> ignore) id
            Expect.stringContains none.Message "no_such_net" "a prefix that names no tensor is refused"
    ]
