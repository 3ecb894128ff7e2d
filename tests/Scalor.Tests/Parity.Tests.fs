/// Layer-for-layer parity with the official code: its initial weights loaded by name into our modules, and
/// each module's outputs compared with the recorded ones (fixtures/parity, see SOURCE.md).
module Scalor.Tests.Parity

open System.Collections
open System.Collections.Generic
open System.IO
open Expecto
open TorchSharp
open Scalor.Model
open Scalor.Model.Store

let fixtureDir = Path.Combine(System.AppContext.BaseDirectory, "fixtures", "parity")

let load (file: string) : IDictionary<string, Tensor> =
    use fs = File.OpenRead(Path.Combine(fixtureDir, file))
    let table = TorchSharp.PyBridge.PyTorchUnpickler.UnpickleStateDict(fs)
    let d = Dictionary<string, Tensor>()
    for e in table |> Seq.cast<DictionaryEntry> do d.[string e.Key] <- (e.Value :?> Tensor)
    d :> IDictionary<_, _>

let weights = lazy (load "weights.pt")

/// Builds networks on a fresh store, loads the official weights, and checks every name was found.
let withWeights (build: Store -> 'a) =
    let s = Store(0L)
    let net = build s
    let missing = s.Load(weights.Value)
    Expect.isEmpty missing "every parameter of ours has an official counterpart"
    net

let close (name: string) (actual: Tensor) (expected: Tensor) (tol: float) =
    Expect.equal actual.shape expected.shape (name + ": shape")
    let diff = (actual - expected).abs().max().item<float32>()
    Expect.isLessThan (float diff) tol (sprintf "%s: max |diff| = %g" name diff)

let cfg = Config.official64

[<Tests>]
let tests =
    testSequenced <| testList "Parity" [
        testCase "image encoder" <| fun () ->
            use _ = torch.no_grad()
            let f = load "img_encoder.pt"
            let e = withWeights (fun s -> Networks.imgEncoder s cfg)
            let enc = run e.Enc f.["x"]
            close "enc" enc f.["enc"] 1e-5
            close "enc_lat" (run e.EncLat enc) f.["enc_lat"] 1e-5
            close "features" (Networks.imgEncode e f.["x"]) f.["features"] 1e-5

        testCase "ConvLSTM encoder (default and non-zero peepholes)" <| fun () ->
            use _ = torch.no_grad()
            let f = load "convlstm_encoder.pt"
            let s = Store(0L)
            let e = Networks.encoder s cfg
            Expect.isEmpty (s.Load(weights.Value)) "all names"
            let seq = f.["seq"]
            close "per_frame_features" (Networks.imgEncode e.Image (seq.reshape(-1L, 3L, 64L, 64L))) f.["per_frame_features"] 1e-5
            close "img_enc_seq" (Networks.encodeSequence e seq) f.["img_enc_seq"] 1e-5
            let peep = Dictionary<string, Tensor>()
            for k in f.Keys do
                if k.StartsWith "peephole." then peep.[k.Substring("peephole.".Length)] <- f.[k]
            Expect.equal peep.Count 10 "ten peephole tensors"
            s.Load(peep) |> ignore
            close "img_enc_seq_peephole" (Networks.encodeSequence e seq) f.["img_enc_seq_peephole"] 1e-5

        testCase "spatial transformer crop and paste" <| fun () ->
            use _ = torch.no_grad()
            let f = load "spatial_transform.pt"
            close "crop" (Spatial.crop f.["image"] f.["z_where"] 32) f.["crop"] 1e-5
            close "paste" (Spatial.paste f.["glimpse"] f.["z_where"] 64 64) f.["paste"] 1e-5
            close "paste_1ch" (Spatial.paste f.["glimpse_1ch"] f.["z_where"] 64 64) f.["paste_1ch"] 1e-5

        testCase "z_what encoder" <| fun () ->
            use _ = torch.no_grad()
            let f = load "zwhat_encoder.pt"
            let e = withWeights (fun s -> Networks.zWhatEncoder s cfg)
            close "enc_cnn" (run e.Cnn f.["glimpses"]) f.["enc_cnn"] 1e-5
            let m, sd = Networks.zWhatEncode e f.["glimpses"]
            close "mean" m f.["mean"] 1e-5
            close "std" sd f.["std"] 1e-5

        testCase "glimpse decoder" <| fun () ->
            use _ = torch.no_grad()
            let f = load "glimpse_decoder.pt"
            let d = withWeights (fun s -> Networks.glimpseDecoder s cfg)
            let z = f.["z_what"]
            close "dec" (run d.Dec (z.view(4L, 64L, 1L, 1L))) f.["dec"] 1e-5
            let o, a = Networks.glimpseDecode d z
            close "o" o f.["o"] 1e-5
            close "alpha" a f.["alpha"] 1e-5

        testCase "background encoder, decoder and prior" <| fun () ->
            use _ = torch.no_grad()
            let f = load "background.pt"
            let s = Store(0L)
            let e = Networks.bgEncoder s cfg
            let d = Networks.bgDecoder s cfg
            let rnn = gru s "bg_prior_rnn" 10 32
            let net = linear s "bg_prior_net" 32 20
            Expect.isEmpty (s.Load(weights.Value)) "all names"
            let m, sd = Networks.bgEncode e f.["x_alpha"]
            close "bg_mean" m f.["bg_mean"] 1e-5
            close "bg_std" sd f.["bg_std"] 1e-5
            let z = f.["z_bg"]
            close "bg_dec_features" (run d.BgDec (z.view(2L, 10L, 1L, 1L))) f.["bg_dec_features"] 1e-5
            close "bg" (Networks.bgDecode d z) f.["bg"] 1e-5
            let h = gruCell rnn z f.["prior_hid_in"]
            close "prior_hid_out" h f.["prior_hid_out"] 1e-5
            let ms = (apply net h).chunk(2L, -1L)
            close "prior_mean_bias" ms.[0] f.["prior_mean_bias"] 1e-5
            close "prior_std_raw" ms.[1] f.["prior_std_raw"] 1e-5

        testCase "KL terms, relaxed Bernoulli density, prior annealing" <| fun () ->
            use _ = torch.no_grad()
            let f = load "kl.pt"
            let logits = f.["pres_logits"]
            close "kl_pres_scalar_prior" ((Distributions.klBernoulli logits (torch.tensor(0.1f))).view(-1L)) f.["kl_pres_scalar_prior"] 1e-5
            close "kl_pres_cell_prior" ((Distributions.klBernoulli logits f.["prior_cells"]).view(-1L)) f.["kl_pres_cell_prior"] 1e-5
            close "kl_normal_std_prior" (Distributions.klStdNormal f.["q_mean"] f.["q_std"]) f.["kl_normal_std_prior"] 1e-5
            close "kl_normal_general" (Distributions.klNormal f.["q_mean"] f.["q_std"] f.["p_mean"] f.["p_std"]) f.["kl_normal_general"] 1e-5
            let tau = f.["relaxed_temperature"].item<float32>() |> float
            close "relaxed_log_prob" (Distributions.relaxedLogProb logits tau f.["relaxed_value"]) f.["relaxed_log_prob"] 1e-5
            let steps = f.["anneal_steps"].data<float32>().ToArray()
            let expected = f.["anneal_prior_pres_prob"].data<float32>().ToArray()
            for (st, e) in Array.zip steps expected do
                Expect.floatClose Accuracy.medium (Distributions.linearAnnealing (int st) 0 500 0.1 1e-3) (float e) (sprintf "anneal at %g" st)

        testCase "discovery proposal heads and z_where transform" <| fun () ->
            use _ = torch.no_grad()
            let f = load "discovery_proposal.pt"
            let net = withWeights (fun s -> Discovery.proposalNet s cfg)
            close "mask_enc" (run net.MaskEnc f.["alpha_prop"]) f.["mask_enc"] 1e-5
            let p = Discovery.propose net cfg f.["img_enc"] f.["alpha_prop"]
            close "z_pres_logits" p.PresLogits f.["z_pres_logits"] 1e-5
            close "z_depth_mean" p.DepthMean f.["z_depth_mean"] 1e-5
            close "z_depth_std" p.DepthStd f.["z_depth_std"] 1e-5
            close "z_where_mean" p.WhereMean f.["z_where_mean"] 1e-5
            close "z_where_std" p.WhereStd f.["z_where_std"] 1e-5
            let zw = Spatial.discoveryWhere cfg.SizeAnchor cfg.SizeVar cfg.RatioAnchor cfg.RatioVar cfg.GridSize net.Offset f.["z_where_raw_sample"]
            close "z_where" zw f.["z_where"] 1e-5
            close "offset buffer" (Spatial.cellOffsets 8) (weights.Value.["proposal_rejection_cell.ProposalNet.offset"]) 1e-6
    ]
