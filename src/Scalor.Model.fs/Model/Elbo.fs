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
