/// A small builder of ONNX graphs over the protobuf classes generated from the official `onnx.proto`
/// (OnnxSharp). Values are named by the builder; weights become initializers, shared weights once.
/// Opset 20: AffineGrid and GridSample with `linear` mode are the spatial transformer.
module Scalor.Model.OnnxGraph

open System
open System.Collections.Generic
open Google.Protobuf
open Onnx
open TorchSharp

type Tensor = torch.Tensor

let opset = 20L

/// ONNX TensorProto.DataType values.
[<RequireQualifiedAccess>]
type DType =
    | Float = 1
    | Int64 = 7
    | Bool = 9

let private attr (name: string) (kind: AttributeProto.Types.AttributeType) =
    let a = AttributeProto()
    a.Name <- name
    a.Type <- kind
    a

let attrInt name (v: int64) =
    let a = attr name AttributeProto.Types.AttributeType.Int
    a.I <- v
    a

let attrFloat name (v: float32) =
    let a = attr name AttributeProto.Types.AttributeType.Float
    a.F <- v
    a

let attrString name (v: string) =
    let a = attr name AttributeProto.Types.AttributeType.String
    a.S <- ByteString.CopyFromUtf8 v
    a

let attrInts name (v: int64 seq) =
    let a = attr name AttributeProto.Types.AttributeType.Ints
    a.Ints.AddRange v
    a

let private tensorProto (name: string) (dims: int64[]) (dtype: DType) (raw: byte[]) =
    let t = TensorProto()
    t.Name <- name
    t.Dims.AddRange dims
    t.DataType <- int dtype
    t.RawData <- ByteString.CopyFrom raw
    t

let private bytesOf<'T when 'T: unmanaged and 'T: struct and 'T :> ValueType and 'T: (new: unit -> 'T)> (values: 'T[]) =
    let span = Runtime.InteropServices.MemoryMarshal.AsBytes(ReadOnlySpan<'T>(values))
    span.ToArray()

let valueInfo (name: string) (dtype: DType) (dims: Choice<int64, string> list) =
    let tt = TypeProto.Types.Tensor()
    tt.ElemType <- int dtype
    let shape = TensorShapeProto()
    for d in dims do
        let dim = TensorShapeProto.Types.Dimension()
        match d with
        | Choice1Of2 v -> dim.DimValue <- v
        | Choice2Of2 p -> dim.DimParam <- p
        shape.Dim.Add dim
    tt.Shape <- shape
    let tp = TypeProto()
    tp.TensorType <- tt
    let vi = ValueInfoProto()
    vi.Name <- name
    vi.Type <- tp
    vi

/// Accumulates nodes and initializers. Every node output gets a fresh name.
type Graph() =
    let nodes = List<NodeProto>()
    let inits = List<TensorProto>()
    let inputs = List<ValueInfoProto>()
    let outputs = List<ValueInfoProto>()
    let weights = Dictionary<nativeint, string>()
    let constants = Dictionary<string, string>()
    let mutable counter = 0

    member _.Fresh(prefix: string) =
        counter <- counter + 1
        sprintf "%s_%d" prefix counter

    /// Adds a node; returns its `outputs` output names.
    member g.NodeN(op: string, ins: string list, outs: int, ?attrs: AttributeProto list) =
        let n = NodeProto()
        n.OpType <- op
        n.Name <- g.Fresh op
        n.Input.AddRange ins
        let names = [| for i in 1 .. outs -> sprintf "%s_o%d" n.Name i |]
        n.Output.AddRange names
        for a in defaultArg attrs [] do n.Attribute.Add a
        nodes.Add n
        names

    member g.Node(op: string, ins: string list, ?attrs: AttributeProto list) = (g.NodeN(op, ins, 1, defaultArg attrs [])).[0]

    /// A float32 weight (copied once per tensor, however often it is used).
    member g.Weight(t: Tensor) =
        match weights.TryGetValue t.Handle with
        | true, name -> name
        | _ ->
            let name = g.Fresh "w"
            let values = t.detach().contiguous().to_type(torch.float32).data<float32>().ToArray()
            inits.Add(tensorProto name t.shape DType.Float (bytesOf values))
            weights.[t.Handle] <- name
            name

    /// A constant initializer, made once per distinct value.
    member private g.Constant(key: string, dims: int64[], dtype: DType, raw: unit -> byte[]) =
        match constants.TryGetValue key with
        | true, n -> n
        | _ ->
            let name = g.Fresh "c"
            inits.Add(tensorProto name dims dtype (raw ()))
            constants.[key] <- name
            name

    member g.Floats(dims: int64[], values: float32[]) = g.Constant("f" + String.Join(",", dims) + "|" + String.Join(",", values), dims, DType.Float, fun () -> bytesOf values)

    member g.Ints(dims: int64[], values: int64[]) = g.Constant("i" + String.Join(",", dims) + "|" + String.Join(",", values), dims, DType.Int64, fun () -> bytesOf values)

    /// A float scalar constant (rank 0, broadcasts everywhere).
    member g.Scalar(v: float) = g.Floats([||], [| float32 v |])
    /// A 1-D int64 constant (shapes, axes, split sizes).
    member g.Shape(values: int64 list) = g.Ints([| int64 values.Length |], Array.ofList values)

    member _.Input(name: string, dtype: DType, dims: Choice<int64, string> list) =
        inputs.Add(valueInfo name dtype dims)
        name

    /// Names `value` as a graph output (through Identity, so any value can be exposed under any name).
    member g.Output(name: string, value: string, dtype: DType, dims: Choice<int64, string> list) =
        let n = NodeProto()
        n.OpType <- "Identity"
        n.Name <- g.Fresh "out"
        n.Input.Add value
        n.Output.Add name
        nodes.Add n
        outputs.Add(valueInfo name dtype dims)

    member _.Model(graphName: string, metadata: (string * string) list) =
        let graph = GraphProto()
        graph.Name <- graphName
        graph.Node.AddRange nodes
        graph.Initializer.AddRange inits
        graph.Input.AddRange inputs
        graph.Output.AddRange outputs
        let model = ModelProto()
        model.IrVersion <- 9L
        model.ProducerName <- "Scalor"
        // The library's version (Directory.Build.props), so a model file says which Scalor wrote it.
        model.ProducerVersion <- (let v = typeof<Graph>.Assembly.GetName().Version in sprintf "%d.%d.%d" v.Major v.Minor v.Build)
        model.Graph <- graph
        let op = OperatorSetIdProto()
        op.Domain <- ""
        op.Version <- opset
        model.OpsetImport.Add op
        for (k, v) in metadata do
            let e = StringStringEntryProto()
            e.Key <- k
            e.Value <- v
            model.MetadataProps.Add e
        model

    member _.NodeCount = nodes.Count

/// Operators with PyTorch's semantics, one per line of the model code that uses them.
module Ops =
    let add (g: Graph) a b = g.Node("Add", [ a; b ])
    let sub (g: Graph) a b = g.Node("Sub", [ a; b ])
    let mul (g: Graph) a b = g.Node("Mul", [ a; b ])
    let div (g: Graph) a b = g.Node("Div", [ a; b ])
    let sigmoid (g: Graph) x = g.Node("Sigmoid", [ x ])
    let tanh (g: Graph) x = g.Node("Tanh", [ x ])
    let softplus (g: Graph) x = g.Node("Softplus", [ x ])
    let sqrt (g: Graph) x = g.Node("Sqrt", [ x ])
    let neg (g: Graph) x = g.Node("Neg", [ x ])
    let reciprocal (g: Graph) x = g.Node("Reciprocal", [ x ])
    /// a·x + b with scalar constants.
    let affine (g: Graph) (a: float) (b: float) x =
        let ax = if a = 1.0 then x else mul g (g.Scalar a) x
        if b = 0.0 then ax else add g ax (g.Scalar b)
    let concat (g: Graph) (axis: int64) (xs: string list) = g.Node("Concat", xs, [ attrInt "axis" axis ])
    let split (g: Graph) (axis: int64) (sizes: int64 list) x =
        g.NodeN("Split", [ x; g.Shape sizes ], sizes.Length, [ attrInt "axis" axis ])
    /// PyTorch's `chunk(n, axis)` for a known extent.
    let chunk (g: Graph) (n: int) (axis: int64) (extent: int64) x = split g axis (List.replicate n (extent / int64 n)) x
    let slice (g: Graph) (axis: int64) (start: int64) (length: int64) x =
        g.Node("Slice", [ x; g.Shape [ start ]; g.Shape [ start + length ]; g.Shape [ axis ] ])
    let reshape (g: Graph) (shape: int64 list) x = g.Node("Reshape", [ x; g.Shape shape ])
    let transpose (g: Graph) (perm: int64 list) x = g.Node("Transpose", [ x ], [ attrInts "perm" perm ])
    let unsqueeze (g: Graph) (axes: int64 list) x = g.Node("Unsqueeze", [ x; g.Shape axes ])
    let expand (g: Graph) (shape: int64 list) x = g.Node("Expand", [ x; g.Shape shape ])
    let clip (g: Graph) (lo: float) (hi: float) x = g.Node("Clip", [ x; g.Scalar lo; g.Scalar hi ])
    let reduceSum (g: Graph) (axes: int64 list) (keep: bool) x =
        g.Node("ReduceSum", [ x; g.Shape axes ], [ attrInt "keepdims" (if keep then 1L else 0L) ])
    let reduceMax (g: Graph) (axes: int64 list) (keep: bool) x =
        g.Node("ReduceMax", [ x; g.Shape axes ], [ attrInt "keepdims" (if keep then 1L else 0L) ])
    let cast (g: Graph) (dtype: DType) x = g.Node("Cast", [ x ], [ attrInt "to" (int64 dtype) ])
    /// (x > v) as float 0/1.
    let gtF (g: Graph) (v: float) x = cast g DType.Float (g.Node("Greater", [ x; g.Scalar v ]))
    let ltF (g: Graph) (v: float) x = cast g DType.Float (g.Node("Less", [ x; g.Scalar v ]))

    let layer (g: Graph) (l: Store.Layer) x =
        match l with
        | Store.LConv(w, b, st, p) ->
            let k = w.shape.[2]
            let ins = if isNull b then [ x; g.Weight w ] else [ x; g.Weight w; g.Weight b ]
            g.Node("Conv", ins, [ attrInts "strides" [ st; st ]; attrInts "pads" [ p; p; p; p ]; attrInts "kernel_shape" [ k; w.shape.[3] ] ])
        // CELU with α = 1 is ELU with α = 1.
        | Store.LCelu -> g.Node("Elu", [ x ], [ attrFloat "alpha" 1.0f ])
        | Store.LGroupNorm(groups, w, b) ->
            // GroupNormalization's scale/bias changed meaning between opsets 18 and 21; InstanceNormalization
            // over [N; G; rest] is the same statistics in every runtime.
            let c = w.shape.[0]
            let grouped = reshape g [ 0L; groups; -1L ] x
            let ones = g.Floats([| groups |], Array.create (int groups) 1.0f)
            let zeros = g.Floats([| groups |], Array.zeroCreate (int groups))
            let normed = g.Node("InstanceNormalization", [ grouped; ones; zeros ], [ attrFloat "epsilon" 1e-5f ])
            let back = g.Node("Reshape", [ normed; g.Node("Shape", [ x ]) ])
            let wv = reshape g [ c; 1L; 1L ] (g.Weight w)
            let bv = reshape g [ c; 1L; 1L ] (g.Weight b)
            add g (mul g back wv) bv
        | Store.LPixelShuffle r -> g.Node("DepthToSpace", [ x ], [ attrInt "blocksize" r; attrString "mode" "CRD" ])
        | Store.LLinear(w, b) -> g.Node("Gemm", [ x; g.Weight w; g.Weight b ], [ attrInt "transB" 1L ])

    let run (g: Graph) (layers: Store.Layer[]) x = layers |> Array.fold (fun acc l -> layer g l acc) x

    /// Columns of an [N; k] matrix as k [N; 1] values.
    let columns (g: Graph) (k: int) x = split g 1L (List.replicate k 1L) x

    /// θ rows [[a, 0, c], [0, d, e]] from [N; 1] columns → [N; 2; 3].
    let theta (g: Graph) a c d e =
        let z = mul g a (g.Scalar 0.0)
        reshape g [ -1L; 2L; 3L ] (concat g 1L [ a; z; c; z; d; e ])

    /// The AffineGrid size [N; C; H; W] for as many rows as θ has (row counts may be data-dependent).
    let private gridSize (g: Graph) (th: string) (c: int64) (outH: int64) (outW: int64) =
        concat g 0L [ slice g 0L 0L 1L (g.Node("Shape", [ th ])); g.Shape [ c; outH; outW ] ]

    /// affine_grid + grid_sample (bilinear, zeros, align_corners = false), as `Spatial.sample`.
    let sample (g: Graph) (src: string) (th: string) (c: int64) (outH: int64) (outW: int64) =
        let grid = g.Node("AffineGrid", [ th; gridSize g th c outH outW ], [ attrInt "align_corners" 0L ])
        g.Node("GridSample", [ src; grid ], [ attrString "mode" "linear"; attrString "padding_mode" "zeros"; attrInt "align_corners" 0L ])

    /// `Spatial.cropMany` for one image [1; C; H; W] and N boxes [N; 4]: the N grids stacked along the height.
    let cropMany (g: Graph) (image: string) (channels: int64) (zWhere: string) (size: int64) =
        let w = columns g 4 zWhere
        let th = theta g w.[0] w.[2] w.[1] w.[3]
        let grid = g.Node("AffineGrid", [ th; gridSize g th channels size size ], [ attrInt "align_corners" 0L ])
        let stacked = reshape g [ 1L; -1L; size; 2L ] grid
        let out = g.Node("GridSample", [ image; stacked ], [ attrString "mode" "linear"; attrString "padding_mode" "zeros"; attrInt "align_corners" 0L ])
        reshape g [ -1L; channels; size; size ] (transpose g [ 0L; 2L; 1L; 3L; 4L ] (reshape g [ 1L; channels; -1L; size; size ] out))

    /// `Spatial.paste` onto full canvases: glimpses [N; C; g; g], boxes [N; 4] → [N; C; H; W].
    let paste (g: Graph) (glimpses: string) (channels: int64) (zWhere: string) (height: int64) (width: int64) =
        let w = columns g 4 zWhere
        let sx, sy = add g w.[0] (g.Scalar 1e-9), add g w.[1] (g.Scalar 1e-9)
        let th = theta g (reciprocal g sx) (neg g (div g w.[2] sx)) (reciprocal g sy) (neg g (div g w.[3] sy))
        sample g glimpses th channels height width

    /// Indices [M] of the rows of a bool [R] condition (NonZero), always with row `always` among them so that
    /// no tensor downstream is empty.
    let rowsWhere (g: Graph) (rows: int64) (always: int64) (cond: string) =
        let forced = g.Node("Equal", [ g.Ints([| rows |], Array.init (int rows) int64); g.Ints([||], [| always |]) ])
        reshape g [ -1L ] (g.Node("NonZero", [ g.Node("Or", [ cond; forced ]) ]))

    /// Rows `idx` [M] of a [R; ...] value.
    let gatherRows (g: Graph) (idx: string) x = g.Node("Gather", [ x; idx ], [ attrInt "axis" 0L ])

    /// Writes rows [M; d] back at `idx` into zeros [R; d].
    let scatterRows (g: Graph) (rows: int64) (dim: int64) (idx: string) x =
        g.Node("ScatterND", [ g.Floats([| rows; dim |], Array.zeroCreate (int (rows * dim))); unsqueeze g [ 1L ] idx; x ])

    let gruCell (g: Graph) (gru: Store.Gru) x h =
        let hid = gru.Hidden
        let gi = chunk g 3 1L (3L * hid) (g.Node("Gemm", [ x; g.Weight gru.Wih; g.Weight gru.Bih ], [ attrInt "transB" 1L ]))
        let gh = chunk g 3 1L (3L * hid) (g.Node("Gemm", [ h; g.Weight gru.Whh; g.Weight gru.Bhh ], [ attrInt "transB" 1L ]))
        let r = sigmoid g (add g gi.[0] gh.[0])
        let z = sigmoid g (add g gi.[1] gh.[1])
        let nn = tanh g (add g gi.[2] (mul g r gh.[2]))
        add g (mul g (affine g -1.0 1.0 z) nn) (mul g z h)

/// Serialises a model.
let toBytes (m: ModelProto) = m.ToByteArray()

/// Removes from `m`, in place, the outputs `drop` and every node and initializer that only they needed. Nodes are
/// in topological order, so one pass from the last finds what the kept outputs need.
let private dropOutputs (drop: Set<string>) (m: ModelProto) =
    let graph = m.Graph
    let kept = graph.Output |> Seq.filter (fun o -> not (drop.Contains o.Name)) |> Array.ofSeq
    graph.Output.Clear()
    graph.Output.AddRange kept
    let needed = HashSet<string>(kept |> Seq.map (fun o -> o.Name))
    let nodes =
        [ for n in Seq.rev graph.Node do
            if n.Output |> Seq.exists needed.Contains then
                for i in n.Input do needed.Add i |> ignore
                yield n ]
        |> List.rev
    graph.Node.Clear()
    graph.Node.AddRange nodes
    let inits = graph.Initializer |> Seq.filter (fun t -> needed.Contains t.Name) |> Array.ofSeq
    graph.Initializer.Clear()
    graph.Initializer.AddRange inits
    m

/// `m` without the outputs `drop` and without every node and initializer that only they needed (`m` is left as it
/// is): the graph a runtime runs when it does not ask for those outputs (ONNX Runtime runs every node of a
/// session's graph, asked for or not).
let withoutOutputs (drop: Set<string>) (m: ModelProto) = dropOutputs drop (m.Clone())

/// A model file's bytes without the outputs `drop` (`withoutOutputs`), pruned in the model parsed from them.
let bytesWithoutOutputs (drop: Set<string>) (model: byte[]) = (dropOutputs drop (ModelProto.Parser.ParseFrom model)).ToByteArray()
