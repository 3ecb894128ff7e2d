/// Background ([S] `scalor.py`, `BgEncoder`/`BgDecoder`): a VAE conditioned on the foreground through
/// 1 − α_fg (not detached, so the background's gradient reaches the foreground alpha), with a recurrent
/// transition prior: N(0, 1) at t = 0, then μ = z_{t−1} + Δμ from a GRU over the previous z (never detached).
module Scalor.Model.Background

open TorchSharp
open Scalor.Model.Config
open Scalor.Model.Store

type BackgroundNet = { Enc: Networks.BgEncoder; Dec: Networks.BgDecoder; PriorRnn: Gru; PriorNet: Layer }

let backgroundNet (s: Store) (c: ScalorConfig) =
    { Enc = Networks.bgEncoder s c
      Dec = Networks.bgDecoder s c
      PriorRnn = gru s "bg_prior_rnn" c.BgDim 32
      PriorNet = linear s "bg_prior_net" 32 (2 * c.BgDim) }

/// `LogRatio` [B]: log p(z) − log q(z) at the sample, for importance weights.
type Step = { Z: Tensor; Mean: Tensor; Std: Tensor; Bg: Tensor; Kl: Tensor; LogRatio: Tensor; PriorH: Tensor }

/// `x` [B; 3; H; W], `alphaFg` [B; 1; H; W]; `prev` the previous (z, prior GRU state), None at t = 0.
let step (net: BackgroundNet) (x: Tensor) (alphaFg: Tensor) (prev: (Tensor * Tensor) option) (sample: Tensor -> Tensor -> Tensor) =
    let mean, std = Networks.bgEncode net.Enc (torch.cat([| x; 1.0 - alphaFg |], 1L))
    let z = sample mean std
    let pm, ps, h =
        match prev with
        | None -> torch.zeros_like(mean), torch.ones_like(std), torch.zeros(x.shape.[0], 32L)
        | Some(zPrev, hPrev) ->
            let h = gruCell net.PriorRnn zPrev hPrev
            let p = (apply net.PriorNet h).chunk(2L, 1L)
            zPrev + p.[0], torch.nn.functional.softplus(p.[1]), h
    let kl = match prev with None -> Distributions.klStdNormal mean std | Some _ -> Distributions.klNormal mean std pm ps
    { Z = z; Mean = mean; Std = std; Bg = Networks.bgDecode net.Dec z; Kl = kl.sum(1L)
      LogRatio = (Distributions.normalLogRatio z mean std pm ps).sum(1L); PriorH = h }
