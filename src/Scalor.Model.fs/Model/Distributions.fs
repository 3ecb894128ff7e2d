/// Closed-form KL terms, the binary Concrete sample and the schedules ([S] `utils.py`, `modules.py`).
/// TorchSharp's RelaxedBernoulli is broken (no gradient, or a crash with logits) and it has no
/// `kl_divergence`, so everything is written out; no distribution objects means nothing to leak.
module Scalor.Model.Distributions

open TorchSharp
open Scalor.Model.Store

/// KL(N(qm, qs) ‖ N(pm, ps)) per element.
let klNormal (qm: Tensor) (qs: Tensor) (pm: Tensor) (ps: Tensor) =
    torch.log(ps / qs) + (qs * qs + ((qm - pm) * (qm - pm))) / (2.0 * ps * ps) - 0.5

/// KL(N(qm, qs) ‖ N(0, 1)) per element.
let klStdNormal (qm: Tensor) (qs: Tensor) = -torch.log(qs) + (qs * qs + qm * qm) / 2.0 - 0.5

/// log N(z; m, s) per element.
let normalLogProb (z: Tensor) (m: Tensor) (s: Tensor) =
    let d = (z - m) / s
    -0.5 * d * d - torch.log(s) - 0.5 * log (2.0 * System.Math.PI)

/// log p(z) − log q(z) of a sample z under two normals, per element: one term of an importance weight.
let normalLogRatio (z: Tensor) (qm: Tensor) (qs: Tensor) (pm: Tensor) (ps: Tensor) = normalLogProb z pm ps - normalLogProb z qm qs

/// log p(b) − log q(b) of a binary sample b under Bernoulli prior π and posterior sigmoid(logits), with 1e-15
/// inside the logs as the KL.
let bernoulliLogRatio (b: Tensor) (logits: Tensor) (prior: Tensor) =
    let eps = 1e-15
    let q = torch.sigmoid(logits)
    b * (torch.log(prior + eps) - torch.log(q + eps)) + (1.0 - b) * (torch.log(1.0 - prior + eps) - torch.log(1.0 - q + eps))

/// Analytic Bernoulli KL of z_pres: p = sigmoid(logits) against prior probability π (a scalar or a
/// tensor broadcastable to logits), with 1e-15 inside every log as [S] `calc_kl_z_pres_bernoulli`.
let klBernoulli (logits: Tensor) (prior: Tensor) =
    let eps = 1e-15
    let p = torch.sigmoid(logits)
    p * (torch.log(p + eps) - torch.log(prior + eps)) + (1.0 - p) * (torch.log(1.0 - p + eps) - torch.log(1.0 - prior + eps))

/// Reparameterised normal sample.
let sampleNormal (gen: torch.Generator) (mean: Tensor) (std: Tensor) =
    // Noise is drawn on the CPU (the generator's device) and moved: the same stream on every device.
    use e0 = torch.randn(mean.shape, generator = gen, device = torch.CPU)
    use e = e0.``to``(mean.device)
    mean + std * e

/// Binary Concrete (relaxed Bernoulli) sample in logit space, then sigmoid: y = (logits + log u − log(1−u))/τ.
/// u is clamped away from 0 and 1 by float32 eps, as PyTorch's `clamp_probs`. Returns (y, sigmoid y).
let relaxedBernoulli (gen: torch.Generator) (logits: Tensor) (tau: float) =
    let eps = 1.1920928955078125e-07
    use u00 = torch.rand(logits.shape, generator = gen, device = torch.CPU)
    use u0 = u00.``to``(logits.device)
    use u = u0.clamp(min = torch.tensor(eps), max = torch.tensor(1.0 - eps))
    let y = (logits + torch.log(u) - torch.log1p(-u)) / tau
    y, torch.sigmoid(y)

/// Log-density of the logit-space relaxed Bernoulli at `value`: log τ + d − 2·log(1 + e^d), d = logits − τ·value.
let relaxedLogProb (logits: Tensor) (tau: float) (value: Tensor) =
    let d = logits - tau * value
    log tau + d - 2.0 * torch.nn.functional.softplus(d)

/// [S] `linear_annealing`: start value before `startStep`, end value from `endStep`, linear in between.
let linearAnnealing (step: int) (startStep: int) (endStep: int) (startValue: float) (endValue: float) =
    if step <= startStep then startValue
    elif step >= endStep then endValue
    else startValue + (endValue - startValue) * float (step - startStep) / float (endStep - startStep)

/// Relaxed-Bernoulli temperature: τ = max(τ_end^(step/steps), τ_end) — 1 at step 0, τ_end from `steps` on.
let temperature (tauEnd: float) (steps: int) (step: int) = max (tauEnd ** (float step / float steps)) tauEnd
