/// Named parameters and buffers. Names are the official code's state-dict keys, so loading its weights is a
/// name-for-name copy, and a checkpoint is a flat name → tensor file (safetensors) readable anywhere.
module Scalor.Model.Store

open System.Collections.Generic
open TorchSharp

type Tensor = torch.Tensor

/// Runs `f` with a native scalar that is disposed after `f` returns. A temporary `v.ToScalar()` passed straight
/// into a native call is unreachable as soon as its handle is read, so the GC may finalize (free) it while the
/// call still reads it: that crashed a CPU training run at step 4,102 in `celu_` ("toDouble: Expected false to
/// be true"). `use` keeps the scalar alive until the call is over.
let withScalar (v: float) (f: Scalar -> 'a) =
    use s = v.ToScalar()
    f s

type Store(seed: int64) =
    let parameters = List<string * Modules.Parameter>()
    let buffers = List<string * Tensor>()
    let names = HashSet<string>()
    /// Initialisation draws from its own generator: the same seed gives the same weights everywhere.
    let gen = new torch.Generator(uint64 seed)

    member _.Generator = gen

    member _.Param(name: string, t: Tensor) =
        if not (names.Add name) then invalidOp (sprintf "duplicate parameter %s" name)
        // Onto the default device (the GPU when training there), whatever device the values were drawn on.
        use here = torch.empty(0L)
        let p = new Modules.Parameter(t.detach().``to``(here.device), true)
        parameters.Add((name, p))
        p :> Tensor

    member _.Buffer(name: string, t: Tensor) =
        if not (names.Add name) then invalidOp (sprintf "duplicate buffer %s" name)
        buffers.Add((name, t))
        t

    /// U(−bound, bound): PyTorch's default for conv, linear and recurrent weights (kaiming_uniform with
    /// a = √5 reduces to bound = 1/√fan_in).
    member this.Uniform(name: string, shape: int64[], bound: float) =
        use u = torch.rand(shape, generator = gen, device = torch.CPU)
        this.Param(name, (u * (2.0 * bound) - bound).contiguous())

    member _.Parameters = parameters |> Seq.map snd |> Seq.toArray
    member _.Named = [ for (n, p) in parameters -> n, (p :> Tensor) ] @ [ for (n, b) in buffers -> n, b ]
    member _.NamedParameters = [ for (n, p) in parameters -> n, (p :> Tensor) ]

    /// Copies values by name (no gradient tracking). Returns the names of this store that were not found.
    member this.Load(values: IDictionary<string, Tensor>) =
        use _ = torch.no_grad()
        [ for (n, t) in this.Named do
            match values.TryGetValue n with
            | true, v ->
                let dims (s: int64[]) = "[" + System.String.Join(", ", s) + "]"
                if v.shape <> t.shape then invalidOp (sprintf "%s: shape %s in the file, %s in the model" n (dims v.shape) (dims t.shape))
                t.copy_(v) |> ignore
            | _ -> yield n ]

/// Layers of the official `nn.Sequential` stacks. Activation and PixelShuffle entries have no parameters
/// but still take an index, exactly as in PyTorch, so `enc.12.weight` lands where the official one does.
type Spec =
    | Conv of cin: int * cout: int * k: int * stride: int * pad: int
    | ConvNoBias of cin: int * cout: int * k: int * stride: int * pad: int
    | Celu
    | GroupNorm of groups: int * channels: int
    | PixelShuffle of r: int
    | Linear of fin: int * fout: int

type Layer =
    | LConv of w: Tensor * b: Tensor * stride: int64 * pad: int64
    | LCelu
    | LGroupNorm of groups: int64 * w: Tensor * b: Tensor
    | LPixelShuffle of r: int64
    | LLinear of w: Tensor * b: Tensor

let conv (s: Store) name cin cout k stride pad bias =
    let fanIn = float (cin * k * k)
    let bound = 1.0 / sqrt fanIn
    let w = s.Uniform(name + ".weight", [| int64 cout; int64 cin; int64 k; int64 k |], bound)
    let b = if bias then s.Uniform(name + ".bias", [| int64 cout |], bound) else null
    LConv(w, b, int64 stride, int64 pad)

let linear (s: Store) name fin fout =
    let bound = 1.0 / sqrt (float fin)
    LLinear(s.Uniform(name + ".weight", [| int64 fout; int64 fin |], bound), s.Uniform(name + ".bias", [| int64 fout |], bound))

let groupNorm (s: Store) name groups channels =
    LGroupNorm(int64 groups, s.Param(name + ".weight", torch.ones(int64 channels)), s.Param(name + ".bias", torch.zeros(int64 channels)))

/// Builds a Sequential under `prefix`, naming entries by position.
let sequential (s: Store) (prefix: string) (specs: Spec list) : Layer[] =
    specs
    |> List.mapi (fun i spec ->
        let name = sprintf "%s.%d" prefix i
        match spec with
        | Conv(ci, co, k, st, p) -> conv s name ci co k st p true
        | ConvNoBias(ci, co, k, st, p) -> conv s name ci co k st p false
        | Celu -> LCelu
        | GroupNorm(g, c) -> groupNorm s name g c
        | PixelShuffle r -> LPixelShuffle(int64 r)
        | Linear(fi, fo) -> linear s name fi fo)
    |> Array.ofList

/// conv2d with a guard for the CPU backward. The oneDNN in libtorch (v3.7.1) computes the input gradient in a
/// layout that pads the output channels to a multiple of 16, and on some CPUs (seen on an AMD EPYC of family
/// 26, Zen 5) a convolution with fewer output channels (the 16→4 glimpse head, the 16→3 background head, the
/// 64→20 background encoder, the 1×1 proposal heads) returned a wrong input gradient in about one backward
/// in ten, at random: most often NaN (training skipped every step within a few), sometimes finite but 10%
/// off. Zero filters up to the next multiple of 16, narrowed off after, leave oneDNN nothing to pad: measured
/// on such a CPU, no wrong gradient in 240 backwards of these shapes against 20 NaNs in 180 without. Values
/// are the same and the extra filters cost little (oneDNN computed the padded channels anyway). Only where
/// an input gradient will be taken, on the CPU.
let conv2d (x: Tensor) (w: Tensor) (b: Tensor) (stride: int64) (pad: int64) =
    let conv (w: Tensor) (b: Tensor) = torch.nn.functional.conv2d(x, w, b, strides = [| stride; stride |], padding = [| pad; pad |])
    let co = w.shape.[0]
    let extra = (16L - co % 16L) % 16L
    if extra = 0L || not x.requires_grad || x.device_type <> DeviceType.CPU || not (torch.is_grad_enabled ()) then conv w b
    else
        // Zero rows after the last filter [C_out + extra; C_in; k; k] (pads run from the last dimension).
        let grow (t: Tensor) = torch.nn.functional.pad(t, Array.append (Array.zeroCreate (2 * (int (t.dim ()) - 1))) [| 0L; extra |])
        (conv (grow w) (if isNull b then null else grow b)).narrow(1L, 0L, co)

let apply (layer: Layer) (x: Tensor) : Tensor =
    match layer with
    | LConv(w, b, st, p) -> conv2d x w b st p
    // In place: CELU's input is a conv or pixel-shuffle output that their backward does not need, so one
    // activation-sized tensor per block is not kept for autograd.
    | LCelu -> if x.requires_grad && x.is_leaf then torch.nn.functional.celu(x, 1.0) else withScalar 1.0 x.celu_
    | LGroupNorm(g, w, b) -> torch.nn.functional.group_norm(x, g, w, b, 1e-5)
    | LPixelShuffle r -> torch.nn.functional.pixel_shuffle(x, r)
    | LLinear(w, b) -> torch.nn.functional.linear(x, w, b)

/// A 1×1 convolution to C'·r² channels followed by PixelShuffle(r) is one transposed convolution with an
/// r×r kernel and stride r: W_T[c, c', i, j] = W[c'·r² + i·r + j, c]. It writes the upsampled map directly,
/// so the shuffle's copy and its backward copy go (they were 7% of a training step); the bias differs per
/// sub-pixel, so it is added as an r-periodic image. Same values to float rounding; parameters unchanged.
let private upsample (w: Tensor) (b: Tensor) (r: int64) (x: Tensor) =
    let cOut = w.shape.[0] / (r * r)
    let cIn = w.shape.[1]
    let wt = w.view(cOut, r, r, cIn).permute(3L, 0L, 1L, 2L)
    let y = torch.nn.functional.conv_transpose2d(x, wt, strides = [| r; r |])
    if isNull b then y
    else
        let h, wd = x.shape.[2], x.shape.[3]
        let tile = b.view(cOut, 1L, r, 1L, r).expand(cOut, h, r, wd, r).reshape(cOut, h * r, wd * r)
        y.add_(tile)

let run (layers: Layer[]) (x: Tensor) =
    let mutable acc = x
    let mutable i = 0
    while i < layers.Length do
        match layers.[i], (if i + 1 < layers.Length then Some layers.[i + 1] else None) with
        | LConv(w, b, 1L, 0L), Some(LPixelShuffle r) when w.shape.[2] = 1L && w.shape.[3] = 1L ->
            acc <- upsample w b r acc
            i <- i + 2
        | l, _ ->
            acc <- apply l acc
            i <- i + 1
    acc

/// Conv → CELU → GroupNorm: the official block (norm after the activation).
let block cin cout k stride pad groups = [ Conv(cin, cout, k, stride, pad); Celu; GroupNorm(groups, cout) ]

/// Sub-pixel upsampling: Conv1×1(C → C'·r²) → PixelShuffle(r) → CELU → GroupNorm.
let up cin cout r groups = [ Conv(cin, cout * r * r, 1, 1, 0); PixelShuffle r; Celu; GroupNorm(groups, cout) ]

/// GRU cell with PyTorch's gate order (r, z, n) and parameter names.
type Gru = { Wih: Tensor; Whh: Tensor; Bih: Tensor; Bhh: Tensor; Hidden: int64 }

let gru (s: Store) (name: string) input hidden =
    let b = 1.0 / sqrt (float hidden)
    { Wih = s.Uniform(name + ".weight_ih", [| 3L * int64 hidden; int64 input |], b)
      Whh = s.Uniform(name + ".weight_hh", [| 3L * int64 hidden; int64 hidden |], b)
      Bih = s.Uniform(name + ".bias_ih", [| 3L * int64 hidden |], b)
      Bhh = s.Uniform(name + ".bias_hh", [| 3L * int64 hidden |], b)
      Hidden = int64 hidden }

let gruCell (g: Gru) (x: Tensor) (h: Tensor) =
    let gi = torch.nn.functional.linear(x, g.Wih, g.Bih).chunk(3L, 1L)
    let gh = torch.nn.functional.linear(h, g.Whh, g.Bhh).chunk(3L, 1L)
    let r = torch.sigmoid(gi.[0] + gh.[0])
    let z = torch.sigmoid(gi.[1] + gh.[1])
    let n = torch.tanh(gi.[2] + r * gh.[2])
    (1.0 - z) * n + z * h

/// LSTM cell with PyTorch's gate order (i, f, g, o).
type Lstm = { LWih: Tensor; LWhh: Tensor; LBih: Tensor; LBhh: Tensor }

let lstm (s: Store) (name: string) input hidden =
    let b = 1.0 / sqrt (float hidden)
    { LWih = s.Uniform(name + ".weight_ih", [| 4L * int64 hidden; int64 input |], b)
      LWhh = s.Uniform(name + ".weight_hh", [| 4L * int64 hidden; int64 hidden |], b)
      LBih = s.Uniform(name + ".bias_ih", [| 4L * int64 hidden |], b)
      LBhh = s.Uniform(name + ".bias_hh", [| 4L * int64 hidden |], b) }

let lstmCell (l: Lstm) (x: Tensor) (h: Tensor) (c: Tensor) =
    let gates = (torch.nn.functional.linear(x, l.LWih, l.LBih) + torch.nn.functional.linear(h, l.LWhh, l.LBhh)).chunk(4L, 1L)
    let i, f, g, o = torch.sigmoid(gates.[0]), torch.sigmoid(gates.[1]), torch.tanh(gates.[2]), torch.sigmoid(gates.[3])
    let c' = f * c + i * g
    o * torch.tanh(c'), c'
