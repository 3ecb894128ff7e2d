/// The objective ([S] `scalor.py`, `train.py`): per-frame log-likelihood and KL terms, averaged over time
/// and then over the batch (not summed: summing rescales the effective learning rate), no β weights.
module Scalor.Model.Elbo

open TorchSharp
open Scalor.Model.Store

/// Scalar values of one step, for logs.
type Terms =
    { Loss: float
      LogLike: float
      KlWhat: float
      KlWhere: float
      KlDepth: float
      KlPres: float
      KlBg: float
      /// Reconstruction MSE per pixel.
      Mse: float
      /// Average number of objects in the list after each frame.
      Objects: float }

/// Stacks a per-frame [B] term to [B; T] and averages over T, then B.
let private mean (pick: Scalor.Frame -> Tensor) (frames: Scalor.Frame list) =
    torch.stack(frames |> List.map pick |> Array.ofList, 1L).mean([| 1L |]).mean()

/// The negative ELBO as a scalar tensor (for backward), and its terms.
let loss (frames: Scalor.Frame list) (seq: Tensor) =
    let ll = mean (fun f -> f.LogLike) frames
    let kw = mean (fun f -> f.KlWhat) frames
    let kwh = mean (fun f -> f.KlWhere) frames
    let kd = mean (fun f -> f.KlDepth) frames
    let kp = mean (fun f -> f.KlPres) frames
    let kb = mean (fun f -> f.KlBg) frames
    let total = -(ll - kw - kwh - kd - kp - kb)
    let v (t: Tensor) = float (t.item<float32>())
    let mse =
        use _ = torch.no_grad()
        let recon = torch.stack(frames |> List.map (fun f -> f.Recon) |> Array.ofList, 1L)
        v ((recon - seq).pow(torch.tensor(2.0f)).mean())
    let objects = frames |> List.averageBy (fun f -> float (f.Objects.Mask.sum().item<float32>()) / float f.Objects.Mask.shape.[0])
    total,
    { Loss = v total; LogLike = v ll; KlWhat = v kw; KlWhere = v kwh; KlDepth = v kd; KlPres = v kp; KlBg = v kb; Mse = mse; Objects = objects }

/// Per-pixel negative log-likelihood estimates of one sequence [1; T; 3; H; W] ([P] Table 2: "NLL per pixel
/// across the whole sequence"): the negative ELBO (analytic KLs, averaged over the K samples) and the K-sample
/// importance-weighted bound −log (1/K) Σ_k w_k, log w_k = Σ_t log p(x_t | z) + log p(z) − log q(z | x) with
/// z_pres binarised at 0.5 ([S] `phase_nll`). Both in nats, divided by T·H·W; the schedules at their end values.
type Nll = { NegElbo: float; ImportanceWeighted: float; SampledNegElbo: float; Mse: float }

/// The options `nll` runs the model with: the bounds are of the model as [S] infers, its rejection test alone,
/// latents sampled from `gen`.
let nllOptions (c: Config.ScalorConfig) (gen: torch.Generator) : Scalor.StepOptions =
    { Tau = c.TauEnd; PresPrior = c.PresPriorEnd; Training = false; Detach = true; Sampling = Scalor.Sample gen; Discover = true; FixedAlpha = None; SkipZeroCells = false
      DuplicateShare = Discovery.noDuplicateTest; SparseFloor = None }

let nll (nets: Scalor.Nets) (gen: torch.Generator) (k: int) (seq: Tensor) =
    use _ = torch.no_grad()
    use scope = torch.NewDisposeScope()
    let t, h, w = seq.shape.[1], seq.shape.[3], seq.shape.[4]
    let x = seq.expand(int64 k, -1L, -1L, -1L, -1L).contiguous()
    let opts = nllOptions nets.Config gen
    // Of each frame only its terms [K] and reconstruction [K; 3; H; W] stay (`Scalor.forward` keeps the frames' maps and
    // images for K samples to the end). The K samples share one sequence and the encoder samples nothing, so the
    // sequence is encoded once, T frames instead of K·T, and shared. The heap's free pages go back to the system when
    // the process has grown by 512 MB (`Native.releaseWhenGrown`): frames differ in their number of objects, and the heap
    // grew by 33 MB a frame otherwise. Two LD sequences of 40 frames, 16 samples: 4.4 GB at most before, 3.1 encoded
    // once, 2.8 with the releases (four), in the same time (35 s).
    let enc =
        use encScope = torch.NewDisposeScope()
        let e = (Networks.encodeSequence nets.Encoder seq).expand(int64 k, -1L, -1L, -1L, -1L).contiguous() // [K; T; D; G; G]
        encScope.MoveToOuter(e) |> ignore
        e
    let kept =
        Scalor.forwardPicking nets opts x enc (fun f ->
            let kl = f.KlWhat + f.KlWhere + f.KlDepth + f.KlPres + f.KlBg
            (f.LogLike, kl, f.LogImportance, f.Recon), [| f.LogLike; kl; f.LogImportance; f.Recon |])
            (Native.releaseWhenGrown (512L <<< 20))
    let sum (pick: Tensor * Tensor * Tensor * Tensor -> Tensor) = torch.stack(kept |> List.map pick |> Array.ofList, 1L).sum(1L)
    let ll = sum (fun (l, _, _, _) -> l)
    let kl = sum (fun (_, k, _, _) -> k)
    let logw = ll + sum (fun (_, _, i, _) -> i)
    let pixels = float (t * h * w)
    let v (s: Tensor) = float (s.item<float32>())
    let recon = torch.stack(kept |> List.map (fun (_, _, _, r) -> r) |> Array.ofList, 1L)
    { NegElbo = -(v ((ll - kl).mean())) / pixels
      ImportanceWeighted = -(v (torch.logsumexp(logw, 0L)) - log (float k)) / pixels
      SampledNegElbo = -(v (logw.mean())) / pixels
      Mse = v ((recon - x).pow(torch.tensor(2.0f)).mean()) }
