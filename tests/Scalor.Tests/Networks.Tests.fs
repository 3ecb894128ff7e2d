/// The fused layers against the official ones they replace: the same values and gradients.
module Scalor.Tests.Networks

open Expecto
open TorchSharp
open Scalor.Model
open Scalor.Model.Store
open Scalor.Tests.ModelTensors

[<Tests>]
let tests =
    testSequenced <| testList "Networks" [
        // Gradients of every parameter and of the input after `f`, for one output gradient.
        let gradsOf (nets: Scalor.Nets) (input: Tensor) (dy: Tensor option) (f: Tensor -> Tensor) =
            for p in nets.Store.Parameters do p.grad <- null
            let x = input.clone().requires_grad_(true)
            let y = f x
            match dy with Some d -> y.backward([| d |]) | None -> y.sum().backward()
            y.detach() :: x.grad.clone() :: [ for p in nets.Store.Parameters do if not (isNull p.grad) then yield p.grad.clone() ]
        let perturbed seed =
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } seed
            use _ = torch.no_grad()
            use g = new torch.Generator(uint64 seed)
            for p in nets.Store.Parameters do (p :> Tensor).add_(torch.randn(p.shape, generator = g) * 0.05) |> ignore
            nets

        testCase "1×1 conv then PixelShuffle as one transposed convolution: same values and gradients" <| fun () ->
            let nets = perturbed 21L
            let z = rand 3 [| 5L; 64L; 1L; 1L |] - 0.5
            use g = new torch.Generator(4UL)
            let dy = torch.randn([| 5L; 16L; 32L; 32L |], generator = g)
            let plain = gradsOf nets z (Some dy) (fun x -> nets.GlimpseDec.Dec |> Array.fold (fun acc l -> apply l acc) x)
            let fused = gradsOf nets z (Some dy) (run nets.GlimpseDec.Dec)
            Expect.equal plain.Length fused.Length "same parameters reached"
            Expect.isLessThan (relWorst plain fused) 1e-4 "relative difference"

        testCase "convolutions with fewer than 16 output channels: input gradient finite and exact, backward after backward" <| fun () ->
            // oneDNN's padded output-gradient layout returned NaNs at random on some CPUs (Store.conv2d);
            // 25 backwards per shape miss a 1-in-10 failure with odds of 7%; all four shapes, under 1 in 10⁴.
            for (n, ci, co, hw, k, p) in [ (8L, 16L, 4L, 32L, 3L, 1L); (4L, 16L, 3L, 64L, 3L, 1L); (8L, 64L, 20L, 4L, 4L, 0L); (8L, 64L, 1L, 8L, 1L, 0L) ] do
                let x = rand 31 [| n; ci; hw; hw |] - 0.5
                let w = rand 32 [| co; ci; k; k |] - 0.5
                let b = rand 33 [| co |]
                let oh = hw + 2L * p - k + 1L
                let dy = rand 34 [| n; co; oh; oh |] - 0.5
                // The float64 reference takes libtorch's own convolution, not oneDNN.
                let reference =
                    let x64 = x.to_type(torch.float64).requires_grad_(true)
                    torch.nn.functional.conv2d(x64, w.to_type(torch.float64), b.to_type(torch.float64), padding = [| p; p |]).backward([| dy.to_type(torch.float64) |])
                    x64.grad.to_type(torch.float32)
                for i in 1 .. 25 do
                    use scope = torch.NewDisposeScope()
                    let xi = x.clone().requires_grad_(true)
                    (conv2d xi w b 1L p).backward([| dy |])
                    Expect.isTrue (torch.isfinite(xi.grad).all().item<bool>()) (sprintf "%d→%d, backward %d: non-finite input gradient" ci co i)
                    Expect.isLessThan (relWorst [ reference ] [ xi.grad ]) 1e-4 (sprintf "%d→%d, backward %d: relative difference" ci co i)

        testCase "the merged 16→4 decoder head equals the official 16→3 and 16→1 heads" <| fun () ->
            let nets = perturbed 22L
            let d = nets.GlimpseDec
            let z = rand 5 [| 4L; 64L |] - 0.5
            let merged = gradsOf nets z None (fun x -> let o, a = Networks.glimpseDecode d x in torch.cat([| o * 2.0; a * 3.0 |], 1L))
            let official =
                gradsOf nets z None (fun x ->
                    let h = run d.Dec (x.view(4L, 64L, 1L, 1L))
                    torch.cat([| torch.sigmoid(run d.DecO h) * 2.0; torch.sigmoid(run d.DecAlpha h) * 3.0 |], 1L))
            Expect.isLessThan (relWorst official merged) 1e-5 "relative difference"
    ]
