/// KL terms against analytic constants, and the relaxed Bernoulli's samples.
module Scalor.Tests.Distributions

open System
open Expecto
open TorchSharp
open Scalor.Model
open Scalor.Model.Store
open Scalor.Tests.ModelTensors

[<Tests>]
let tests =
    testSequenced <| testList "KL" [
        testPropertyWithConfig cfgProps "normal KL ≥ 0, zero for equal distributions, matches Monte Carlo" <| fun (seed: int) ->
            let rng = Random(seed)
            let qm, qs, pm, ps = rng.NextDouble() * 2.0 - 1.0, rng.NextDouble() + 0.3, rng.NextDouble() * 2.0 - 1.0, rng.NextDouble() + 0.3
            let t (x: float) = torch.tensor([| float32 x |])
            let kl = (Distributions.klNormal (t qm) (t qs) (t pm) (t ps)).item<float32>() |> float
            let self = (Distributions.klNormal (t qm) (t qs) (t qm) (t qs)).item<float32>() |> float
            use g = new torch.Generator(uint64 (abs seed + 1))
            let z = torch.randn([| 200000L |], generator = g, dtype = torch.float64) * qs + qm
            let logq = -((z - qm) / qs).pow(torch.tensor(2.0)) / 2.0 - log qs
            let logp = -((z - pm) / ps).pow(torch.tensor(2.0)) / 2.0 - log ps
            let mc = (logq - logp).mean().item<float>()
            kl >= 0.0 && abs self < 1e-6 && abs (kl - mc) < 0.03 + 0.03 * kl

        testPropertyWithConfig cfgProps "Bernoulli KL ≥ 0, zero for equal distributions, matches its definition" <| fun (seed: int) ->
            let rng = Random(seed)
            let p, prior = rng.NextDouble() * 0.98 + 0.01, rng.NextDouble() * 0.98 + 0.01
            let logit = log (p / (1.0 - p))
            let kl = (Distributions.klBernoulli (torch.tensor([| float32 logit |])) (torch.tensor(float32 prior))).item<float32>() |> float
            let same = (Distributions.klBernoulli (torch.tensor([| float32 logit |])) (torch.tensor(float32 p))).item<float32>() |> float
            // Monte Carlo over the two outcomes is the exact expectation.
            let exact = p * log (p / prior) + (1.0 - p) * log ((1.0 - p) / (1.0 - prior))
            kl >= -1e-6 && abs same < 1e-5 && abs (kl - exact) < 1e-4

        testCase "relaxed Bernoulli samples lie in (0, 1) and sharpen as τ falls" <| fun () ->
            use g = new torch.Generator(3UL)
            let logits = torch.full([| 10000L |], (1.0).ToScalar())
            let _, soft = Distributions.relaxedBernoulli g logits 1.0
            let _, hard = Distributions.relaxedBernoulli g logits 0.1
            let extreme (z: Tensor) = (z.lt(torch.tensor(0.05f)).logical_or(z.gt(torch.tensor(0.95f)))).to_type(torch.float32).mean().item<float32>()
            Expect.isTrue (soft.gt(torch.tensor(0f)).all().item<bool>() && soft.lt(torch.tensor(1f)).all().item<bool>()) "in (0,1)"
            Expect.isGreaterThan (extreme hard) (extreme soft) "lower temperature, closer to 0/1"
            // 10,000 draws: the standard error is 0.0044.
            Expect.floatClose { absolute = 0.02; relative = 0.0 } (float (hard.gt(torch.tensor(0.5f)).to_type(torch.float32).mean().item<float32>())) (1.0 / (1.0 + exp -1.0)) "P(z > 0.5) = sigmoid(logit)"
    ]
