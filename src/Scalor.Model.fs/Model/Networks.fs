/// The neural networks of SCALOR ([S] `modules.py`, `discovery.py`, `propagation.py`), built in the
/// official layer order and registered under the official names. Shapes are for the 64-px branch.
module Scalor.Model.Networks

open TorchSharp
open Scalor.Model.Config
open Scalor.Model.Store

/// Per-frame image encoder → one feature per grid cell [N; 64; G; G].
type ImgEncoder = { Enc: Layer[]; EncLat: Layer[]; EncCat: Layer[] }

let imgEncoder (s: Store) (c: ScalorConfig) =
    let p = "image_enc.image_enc"
    let d = c.ImgEncodeDim
    let trunk =
        block 3 16 4 2 1 4 @ block 16 16 3 1 1 4 @ block 16 32 4 2 1 8 @ block 32 32 3 1 1 8
        @ block 32 64 4 2 1 8 @ block 64 64 3 1 1 8
        @ (if c.ImageSize = 128 then block 64 128 4 2 1 16 @ block 128 d 1 1 0 16 else block 64 d 1 1 0 16)
    { Enc = sequential s (p + ".enc") trunk
      EncLat = sequential s (p + ".enc_lat") (block d d 3 1 1 8 @ block d d 3 1 1 8)
      EncCat = sequential s (p + ".enc_cat") (block (2 * d) d 3 1 1 8) }

let imgEncode (e: ImgEncoder) (x: Tensor) =
    let enc = run e.Enc x
    let lat = run e.EncLat enc
    run e.EncCat (torch.cat([| enc; lat |], 1L))

/// One ConvLSTM cell with peepholes; the output gate peeks at the *previous* cell state ([S]).
type ConvLstmCell = { ConvX: Layer; ConvH: Layer; Wci: Tensor; Wcf: Tensor; Wco: Tensor; H0: Tensor; C0: Tensor }

let convLstmCell (s: Store) (name: string) (dim: int) (grid: int) =
    let peep n = s.Param(sprintf "%s.%s" name n, torch.zeros(1L, int64 dim, int64 grid, int64 grid))
    { ConvX = conv s (name + ".conv_x") dim (4 * dim) 3 1 1 true
      ConvH = conv s (name + ".conv_h") dim (4 * dim) 3 1 1 false
      Wci = peep "Wci"; Wcf = peep "Wcf"; Wco = peep "Wco"
      H0 = s.Buffer(name + ".h_0", torch.zeros(1L, int64 dim, 1L, 1L))
      C0 = s.Buffer(name + ".c_0", torch.zeros(1L, int64 dim, 1L, 1L)) }

let convLstmStep (cell: ConvLstmCell) (x: Tensor) (h: Tensor) (c: Tensor) =
    let gx = (apply cell.ConvX x).chunk(4L, 1L)
    let gh = (apply cell.ConvH h).chunk(4L, 1L)
    let i = torch.sigmoid(gx.[0] + gh.[0] + c * cell.Wci)
    let f = torch.sigmoid(gx.[1] + gh.[1] + c * cell.Wcf)
    let o = torch.sigmoid(gx.[2] + gh.[2] + c * cell.Wco)
    let c' = f * c + i * torch.tanh(gx.[3] + gh.[3])
    o * torch.tanh(c'), c'

type Encoder = { Image: ImgEncoder; Lstm: ConvLstmCell[] }

let encoder (s: Store) (c: ScalorConfig) =
    { Image = imgEncoder s c
      Lstm = if c.ConvLstm then Array.init 2 (fun l -> convLstmCell s (sprintf "image_enc.conv_lstm.cell_list.%d" l) c.ImgEncodeDim c.GridSize) else [||] }

/// Encodes a whole sequence [B; T; 3; H; W] → [B; T; D; G; G]: the per-frame CNN, then the ConvLSTM over
/// time (last layer's hidden states), shared by discovery and propagation.
let encodeSequence (e: Encoder) (seq: Tensor) =
    let b, t = seq.shape.[0], seq.shape.[1]
    let feats = imgEncode e.Image (seq.reshape(-1L, seq.shape.[2], seq.shape.[3], seq.shape.[4]))
    let feats = feats.view(b, t, feats.shape.[1], feats.shape.[2], feats.shape.[3])
    if e.Lstm.Length = 0 then feats
    else
        let mutable layerInput = [| for i in 0L .. t - 1L -> feats.select(1L, i) |]
        for cell in e.Lstm do
            let shape = layerInput.[0].shape
            let mutable h = cell.H0.expand(shape)
            let mutable c = cell.C0.expand(shape)
            layerInput <-
                [| for x in layerInput do
                     let h', c' = convLstmStep cell x h c
                     h <- h'
                     c <- c'
                     yield h' |]
        torch.stack(layerInput, 1L)

/// Glimpse → (mean, softplus std) of z_what. One instance serves discovery and propagation.
type ZWhatEncoder = { Cnn: Layer[]; What: Layer }

let zWhatEncoder (s: Store) (c: ScalorConfig) =
    let cnn =
        if c.GlimpseSize = 64 then
            block 3 16 4 2 1 4 @ block 16 32 4 2 1 8 @ block 32 64 4 2 1 8 @ block 64 128 4 2 1 16 @ block 128 128 4 1 0 16
        else block 3 16 4 2 1 4 @ block 16 32 4 2 1 8 @ block 32 64 4 2 1 8 @ block 64 64 3 1 1 8 @ block 64 128 4 1 0 16
    { Cnn = sequential s "z_what_net.enc_cnn" cnn; What = linear s "z_what_net.enc_what" 128 (2 * c.ZWhatDim) }

let zWhatEncode (e: ZWhatEncoder) (glimpses: Tensor) =
    let h = (run e.Cnn glimpses).flatten(1L)
    let ms = (apply e.What h).chunk(2L, -1L)
    ms.[0], torch.nn.functional.softplus(ms.[1])

/// z_what → glimpse RGB o [N; 3; g; g] and alpha [N; 1; g; g] by sub-pixel upsampling.
type GlimpseDecoder = { Dec: Layer[]; DecO: Layer[]; DecAlpha: Layer[] }

let glimpseDecoder (s: Store) (c: ScalorConfig) =
    let z = c.ZWhatDim
    let dec =
        if c.GlimpseSize = 64 then
            block z 128 1 1 0 16 @ up 128 64 4 8 @ block 64 64 3 1 1 8 @ up 64 64 4 8 @ block 64 64 3 1 1 8
            @ up 64 32 2 8 @ block 32 32 3 1 1 8 @ up 32 16 2 4 @ block 16 16 3 1 1 4
        else block z 128 1 1 0 16 @ up 128 64 4 8 @ up 64 64 2 8 @ up 64 32 2 8 @ up 32 16 2 4 @ block 16 16 3 1 1 4
    let head name outC =
        if c.ImageSize = 128 then sequential s name (block 16 8 3 1 1 4 @ [ Conv(8, outC, 1, 1, 0) ])
        else [| conv s name 16 outC 3 1 1 true |]
    { Dec = sequential s "glimpse_dec_net.dec" dec; DecO = head "glimpse_dec_net.dec_o" 3; DecAlpha = head "glimpse_dec_net.dec_alpha" 1 }

let glimpseDecode (d: GlimpseDecoder) (zWhat: Tensor) =
    let h = run d.Dec (zWhat.view(zWhat.shape.[0], zWhat.shape.[1], 1L, 1L))
    match d.DecO, d.DecAlpha with
    | [| LConv(wo, bo, 1L, p) |], [| LConv(wa, ba, 1L, _) |] ->
        // One 16→4 convolution instead of a 16→3 and a 16→1: oneDNN takes about as long for 4 output channels
        // as for 3 or 1, so the two heads cost half (measured: 379 → 185 ms forward and backward for one
        // training frame's 1,744 glimpses). Same values; the parameters keep their official names.
        let oa = torch.sigmoid(conv2d h (torch.cat([| wo; wa |], 0L)) (torch.cat([| bo; ba |], 0L)) 1L p)
        let k = wo.shape.[0]
        oa.narrow(1L, 0L, k), oa.narrow(1L, k, wa.shape.[0])
    | _ -> torch.sigmoid(run d.DecO h), torch.sigmoid(run d.DecAlpha h)

/// Background VAE: encoder of [x, 1 − α_fg] → (mean, softplus std) of z_bg; decoder z_bg → image.
type BgEncoder = { BgEnc: Layer[] }

/// `Position` [1; 2; H; W]: with the spatial-broadcast decoder, the coordinate channels (channel 0 runs −1 → 1
/// down the rows, channel 1 across the columns, as [S]'s `meshgrid`), placed before the tiled z_bg; None for the
/// sub-pixel decoder.
type BgDecoder = { BgDec: Layer[]; BgOut: Layer[]; Position: Tensor option }

let bgEncoder (s: Store) (c: ScalorConfig) =
    let extra = if c.ImageSize = 128 then block 64 64 4 2 1 8 else []
    { BgEnc =
        sequential s "bg_enc.enc"
            (block 4 16 4 2 1 4 @ block 16 32 4 2 1 8 @ block 32 64 4 2 1 8 @ block 64 64 4 2 1 8 @ extra
             @ [ Conv(64, 2 * c.BgDim, 4, 1, 0) ]) }

let bgEncode (e: BgEncoder) (xAlpha: Tensor) =
    let ms = (run e.BgEnc xAlpha).flatten(1L).chunk(2L, -1L)
    ms.[0], torch.nn.functional.softplus(ms.[1])

/// The coordinate channels of the spatial-broadcast decoder [1; 2; size; size].
let broadcastPosition (size: int) =
    let l = torch.linspace(-1.0, 1.0, int64 size)
    let grid = torch.meshgrid([| l; l |], indexing = "ij")
    torch.stack(grid, 0L).unsqueeze(0L)

let bgDecoder (s: Store) (c: ScalorConfig) =
    if c.BgSpatialBroadcast then
        let layers = if c.ImageSize = 128 then 3 else 2
        { BgDec = sequential s "bg_dec.dec" (block (c.BgDim + 2) 64 5 1 2 8 @ List.concat (List.replicate (layers - 1) (block 64 64 5 1 2 8)))
          // [S] `self.bg_dec = nn.Conv2d(64, 3, 3, padding=1)`: one layer, not a Sequential, so no index in its name.
          BgOut = [| conv s "bg_dec.bg_dec" 64 3 3 1 1 true |]
          Position = Some(s.Buffer("bg_dec.position_embedding", broadcastPosition c.ImageSize)) }
    else
        let dec =
            if c.ImageSize = 128 then
                block c.BgDim 256 1 1 0 16 @ up 256 128 4 16 @ block 128 128 3 1 1 16 @ up 128 64 4 8 @ block 64 64 3 1 1 8
                @ up 64 32 2 8 @ block 32 32 3 1 1 8 @ up 32 16 4 4 @ block 16 16 3 1 1 4
            else
                block c.BgDim 256 1 1 0 16 @ up 256 128 4 16 @ block 128 128 3 1 1 16 @ up 128 64 4 8
                @ block 64 64 3 1 1 8 @ up 64 16 4 4 @ block 16 16 3 1 1 4
        { BgDec = sequential s "bg_dec.dec" dec
          BgOut = sequential s "bg_dec.bg_dec" (block 16 16 3 1 1 4 @ [ Conv(16, 3, 3, 1, 1) ])
          Position = None }

/// z_bg [B; D] → background [B; 3; H; W].
let bgDecode (d: BgDecoder) (z: Tensor) =
    let input =
        match d.Position with
        | None -> z.view(z.shape.[0], z.shape.[1], 1L, 1L)
        | Some pos ->
            let b, h, w = z.shape.[0], pos.shape.[2], pos.shape.[3]
            torch.cat([| pos.expand(b, -1L, -1L, -1L); z.view(b, z.shape.[1], 1L, 1L).expand(-1L, -1L, h, w) |], 1L)
    torch.sigmoid(run d.BgOut (run d.BgDec input))

/// The glimpse decoder with its activations recomputed during backward instead of kept: decoding every
/// discovery cell and tracked object at 32×32 holds most of a training step's memory. Same values and
/// gradients (tested); the decoder's forward runs twice.
type GlimpseRecompute() =
    inherit torch.autograd.MultiTensorFunction<GlimpseRecompute>()
    override _.Name = "GlimpseDecoderRecompute"
    override _.forward(ctx, vars) =
        let z = vars.[0] :?> Tensor
        let dec = vars.[1] :?> GlimpseDecoder
        ctx.save_for_backward(System.Collections.Generic.List<Tensor>([ z ]))
        ctx.save_data("decoder", box dec)
        use _ = torch.no_grad()
        // The intermediate activations must go now, not at the end of the caller's dispose scope.
        use scope = torch.NewDisposeScope()
        let o, a = glimpseDecode dec z
        scope.MoveToOuter(o, a) |> ignore
        System.Collections.Generic.List<Tensor>([ o; a ])
    override _.backward(ctx, grads) =
        let z = ctx.get_saved_variables().[0]
        let dec = ctx.get_data("decoder") :?> GlimpseDecoder
        use _ = torch.enable_grad()
        use scope = torch.NewDisposeScope()
        let zd = z.detach().requires_grad_(true)
        let o, a = glimpseDecode dec zd
        torch.autograd.backward(System.Collections.Generic.List<Tensor>([ o; a ]), grads)
        let g = zd.grad.clone()
        scope.MoveToOuter(g) |> ignore
        System.Collections.Generic.List<Tensor>([ g; null ])

/// Decodes with or without recomputation (`recompute` only matters when gradients are being recorded).
let decode (recompute: bool) (d: GlimpseDecoder) (zWhat: Tensor) =
    if recompute && torch.is_grad_enabled() && zWhat.requires_grad then
        let outs = GlimpseRecompute.apply(zWhat, box d)
        outs.[0], outs.[1]
    else glimpseDecode d zWhat
