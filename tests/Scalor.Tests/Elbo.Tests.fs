/// The likelihood bounds: the sampled negative ELBO and the importance-weighted NLL.
module Scalor.Tests.Elbo

open System
open Expecto
open TorchSharp
open Scalor.Model

[<Tests>]
let tests =
    testSequenced <| testList "Likelihood" [
        testCase "log p − log q at samples from q averages to −KL (Monte Carlo, normals)" <| fun () ->
            let gen = new torch.Generator(11UL)
            let qm, qs = torch.tensor([| 0.3f; -1.0f |]), torch.tensor([| 0.5f; 2.0f |])
            let pm, ps = torch.tensor([| 0.0f; 0.5f |]), torch.tensor([| 1.0f; 1.5f |])
            let z = qm + qs * torch.randn([| 200000L; 2L |], generator = gen)
            let mc = (Distributions.normalLogRatio z qm qs pm ps).mean([| 0L |]).data<float32>().ToArray()
            let kl = (Distributions.klNormal qm qs pm ps).data<float32>().ToArray()
            for i in 0 .. 1 do Expect.floatClose { absolute = 0.02; relative = 0.02 } (float mc.[i]) (float -kl.[i]) (sprintf "dimension %d" i)

        testCase "the importance-weighted NLL is at most the sampled negative ELBO, and equals it with one sample" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 9L
            let w = Scalor.Worlds.World.create { Scalor.Worlds.World.defaultConfig with Length = 3 } None
            let x = Train.batchOf [| Scalor.Worlds.World.sequence w 21UL |]
            let many = Elbo.nll nets (new torch.Generator(5UL)) 6 x
            Expect.isTrue (Double.IsFinite many.ImportanceWeighted && Double.IsFinite many.NegElbo) "finite"
            Expect.isLessThanOrEqual many.ImportanceWeighted (many.SampledNegElbo + 1e-6) "log-mean-exp ≥ mean (Jensen)"
            let one = Elbo.nll nets (new torch.Generator(5UL)) 1 x
            Expect.floatClose Accuracy.high one.ImportanceWeighted one.SampledNegElbo "K = 1: the bound is the sample"

        testCase "the bounds keep of each frame only their terms: the same numbers as from the whole forward pass" <| fun () ->
            // nll runs the frames itself to free each frame's maps and images as it goes; Scalor.forward keeps them all.
            // nll encodes the sequence once for its K samples, forward K times: libtorch's kernels may sum in another
            // order for another batch, so the numbers agree to float32's precision, not to the bit.
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 9L
            let w = Scalor.Worlds.World.create { Scalor.Worlds.World.defaultConfig with Length = 4 } None
            let x = Train.batchOf [| Scalor.Worlds.World.sequence w 22UL |]
            let k = 3
            let lean = Elbo.nll nets (new torch.Generator(7UL)) k x
            use _ = torch.no_grad()
            let opts = Elbo.nllOptions nets.Config (new torch.Generator(7UL))
            let xs = x.expand(int64 k, -1L, -1L, -1L, -1L).contiguous()
            let frames = Scalor.forward nets opts xs
            let sum (pick: Scalor.Frame -> torch.Tensor) = torch.stack(frames |> List.map pick |> Array.ofList, 1L).sum(1L)
            let ll = sum (fun f -> f.LogLike)
            let kl = sum (fun f -> f.KlWhat + f.KlWhere + f.KlDepth + f.KlPres + f.KlBg)
            let logw = ll + sum (fun f -> f.LogImportance)
            let pixels = float (4L * 64L * 64L)
            let v (s: torch.Tensor) = float (s.item<float32>())
            let close = { absolute = 1e-6; relative = 1e-5 }
            Expect.floatClose close lean.NegElbo (-(v ((ll - kl).mean())) / pixels) "negative ELBO"
            Expect.floatClose close lean.ImportanceWeighted (-(v (torch.logsumexp(logw, 0L)) - log (float k)) / pixels) "importance-weighted"
            Expect.floatClose close lean.SampledNegElbo (-(v (logw.mean())) / pixels) "sampled"
            let recon = torch.stack(frames |> List.map (fun f -> f.Recon) |> Array.ofList, 1L)
            Expect.floatClose close lean.Mse (v ((recon - xs).pow(torch.tensor(2.0f)).mean())) "MSE"
    ]
