/// Training: schedules, RMSprop, clipping, the NaN guard and checkpoints that resume exactly.
/// The optimizer is written out (a few lines) so that its state is plain named tensors in the checkpoint.
module Scalor.Model.Train

open System
open System.IO
open System.Text.Json
open TorchSharp
open Scalor.IO
open Scalor.Model.Config
open Scalor.Model.Store

type RmsProp = { Lr: float; Alpha: float; Eps: float; SquareAvg: (string * Tensor)[] }

let rmsProp (nets: Scalor.Nets) (lr: float) =
    { Lr = lr; Alpha = 0.99; Eps = 1e-8
      SquareAvg = [| for (n, p) in nets.Store.NamedParameters -> n, torch.zeros_like(p) |] }

type Outcome =
    | Stepped of Elbo.Terms * gradNorm: float
    /// The loss or a gradient was NaN or infinite: no parameter changed.
    | Skipped of Elbo.Terms * reason: string

/// The schedules at a global step ([S] `train.py`, [P] appendix E).
let options (c: ScalorConfig) (step: int) (sampling: Scalor.Sampling) : Scalor.StepOptions =
    { Tau = Distributions.temperature c.TauEnd c.TauSteps step
      PresPrior = Distributions.linearAnnealing step 0 c.PresPriorSteps c.PresPriorStart c.PresPriorEnd
      Training = true
      Detach = step < c.DetachSteps
      Sampling = sampling
      Discover = true
      FixedAlpha = if step < c.BgAlphaCurriculumSteps then Some c.BgAlphaCurriculumValue else None
      SkipZeroCells = true
      DuplicateShare = Discovery.noDuplicateTest
      SparseFloor = None }

/// `c` with the execution settings of `other` (how a step is computed, not what is computed).
let withExecutionOf (c: ScalorConfig) (other: ScalorConfig) =
    { c with MicroBatch = other.MicroBatch; RecomputeDecoder = other.RecomputeDecoder }

/// The fields in which a run's config differs from a checkpoint's, each as "Name run's value, not the checkpoint's"
/// (numbers as `--set Name=value` takes them): what a refused `--init` or `--resume` has to say.
let configDifferences (run: ScalorConfig) (ckpt: ScalorConfig) =
    let fields = Reflection.FSharpType.GetRecordFields typeof<ScalorConfig>
    let a, b = Reflection.FSharpValue.GetRecordFields run, Reflection.FSharpValue.GetRecordFields ckpt
    let show (v: obj) =
        match v with
        | :? float as f -> f.ToString("R", Globalization.CultureInfo.InvariantCulture)
        | :? IFormattable as x -> x.ToString(null, Globalization.CultureInfo.InvariantCulture)
        | x -> sprintf "%A" x
    [| for i in 0 .. fields.Length - 1 do
         if not (LanguagePrimitives.GenericEquality a.[i] b.[i]) then yield sprintf "%s %s, not %s" fields.[i].Name (show a.[i]) (show b.[i]) |]

/// Fields in which a fine-tuning run (`train --init`) differs from the checkpoint it starts from, other than
/// those it may change: the anchors (they follow the new world's object size, [P] appendix E), the learning
/// rate (fine-tuning at a lower rate than the first training, as a step decay would), the training cap on
/// objects (a crowded world needs more than the official 45: dSprites HD shows 55 objects, and the official
/// README's advice for dense scenes is a higher `max_num_obj`; inference never applies it) and the execution
/// settings. Empty: the run may start from that checkpoint.
let fineTuneMismatch (run: ScalorConfig) (ckpt: ScalorConfig) =
    let aligned =
        { withExecutionOf run ckpt with
            SizeAnchor = ckpt.SizeAnchor; SizeVar = ckpt.SizeVar; RatioAnchor = ckpt.RatioAnchor; RatioVar = ckpt.RatioVar
            LearningRate = ckpt.LearningRate; MaxObjects = ckpt.MaxObjects }
    configDifferences aligned ckpt

/// Freezes every parameter whose name starts with none of `prefixes` (autograd then skips their gradients and
/// the activations only they need; the optimizer skips parameters without a gradient). Returns the names
/// still trained.
let trainOnly (nets: Scalor.Nets) (prefixes: string list) =
    [| for (n, p) in nets.Store.NamedParameters do
         let keep = prefixes |> List.exists (fun pre -> n.StartsWith(pre, StringComparison.Ordinal))
         p.requires_grad_(keep) |> ignore
         if keep then yield n |]

/// Forward and backward over `batch` [B; T; 3; H; W] in passes of `MicroBatch` sequences, accumulating into
/// the parameters' gradients (cleared first) the gradient of the batch-mean loss: each pass's mean loss is
/// weighted by its share of the batch. Returns the batch's terms (the same weighted means) and, if a pass's
/// loss is not finite, the reason; passes stop there.
let gradients (nets: Scalor.Nets) (opts: Scalor.StepOptions) (batch: Tensor) =
    let c = nets.Config
    let b = batch.shape.[0]
    let size = if c.MicroBatch <= 0 then b else min b (int64 c.MicroBatch)
    for p in nets.Store.Parameters do
        let g = p.grad
        if not (isNull g) then g.zero_() |> ignore
    // One pass; its activations are released when it returns, before the next pass starts.
    let pass (start: int64) (len: int64) =
        use scope = torch.NewDisposeScope()
        let part = batch.narrow(0L, start, len)
        let share = float len / float b
        let frames = Scalor.forward nets opts part
        let total, terms = Elbo.loss frames part
        let finite = not (Double.IsNaN terms.Loss || Double.IsInfinity terms.Loss)
        if finite then (if len = b then total else total * share).backward()
        (terms, share), finite
    let rec passes (start: int64) (acc: (Elbo.Terms * float) list) =
        if start >= b then List.rev acc, None
        else
            let part, finite = pass start (min size (b - start))
            if finite then passes (start + size) (part :: acc) else List.rev (part :: acc), Some "loss is not finite"
    let parts, failure = passes 0L []
    let total = parts |> List.sumBy snd
    let avg (f: Elbo.Terms -> float) = (parts |> List.sumBy (fun (t, w) -> f t * w)) / total
    let terms: Elbo.Terms =
        { Loss = avg _.Loss; LogLike = avg _.LogLike; KlWhat = avg _.KlWhat; KlWhere = avg _.KlWhere; KlDepth = avg _.KlDepth
          KlPres = avg _.KlPres; KlBg = avg _.KlBg; Mse = avg _.Mse; Objects = avg _.Objects }
    terms, failure

/// One optimisation step on `batch` [B; T; 3; H; W] in [0, 1].
let step (nets: Scalor.Nets) (opt: RmsProp) (gen: torch.Generator) (globalStep: int) (batch: Tensor) =
    let c = nets.Config
    let ps = nets.Store.Parameters
    match gradients nets (options c globalStep (Scalor.Sample gen)) batch with
    | terms, Some reason -> Skipped(terms, reason)
    | terms, None ->
        use scope = torch.NewDisposeScope()
        use _ = torch.no_grad()
        let grads = ps |> Array.map (fun p -> p.grad)
        let sq = grads |> Array.sumBy (fun g -> if isNull g then 0.0 else float (g.pow(torch.tensor(2.0f)).sum().item<float32>()))
        let norm = sqrt sq
        if Double.IsNaN norm || Double.IsInfinity norm then Skipped(terms, "gradient is not finite")
        else
            let lr = if c.WarmupSteps > 0 then opt.Lr * min 1.0 (float (globalStep + 1) / float c.WarmupSteps) else opt.Lr
            // clip_grad_norm_(·, ClipNorm): scale by max / (norm + 1e-6) when above.
            let coef = c.ClipNorm / (norm + 1e-6)
            // Held until the update is over (`use`), never left to the GC mid-call: see `Store.withScalar`.
            use keep = (1.0 - opt.Alpha).ToScalar()
            use negLr = (-lr).ToScalar()
            Array.iteri (fun i (p: Modules.Parameter) ->
                let g = grads.[i]
                if not (isNull g) then
                    if coef < 1.0 then g.mul_(torch.tensor(coef)) |> ignore
                    let _, v = opt.SquareAvg.[i]
                    v.mul_(torch.tensor(opt.Alpha)).addcmul_(g, g, keep) |> ignore
                    p.addcdiv_(g, v.sqrt().add_(torch.tensor(opt.Eps)), negLr) |> ignore) ps
            Stepped(terms, norm)

// ---------------------------------------------------------------------------------------------
// Checkpoints: one safetensors file holding the weights under the official names, the optimizer state
// under "optim.<name>", the sampling generator's state, and the config and step in the metadata.

let private jsonOptions = JsonSerializerOptions(WriteIndented = false, IncludeFields = true)
/// Checkpoint entry names of the optimizer's state ("optim." + parameter name) and the sampling generator's.
let private optimizerPrefix = "optim."
let private samplingKey = "rng.sampling"

let configToJson (c: ScalorConfig) = JsonSerializer.Serialize(c, jsonOptions)

exception CheckpointError of string

let configFromJson (path: string) (json: string) : ScalorConfig =
    try
        let c = JsonSerializer.Deserialize<ScalorConfig>(json, jsonOptions)
        if c.ImageSize = 0 || c.GridSize = 0 then raise (CheckpointError(sprintf "%s: the config in the checkpoint is incomplete" path))
        c
    with :? JsonException as e -> raise (CheckpointError(sprintf "%s: unreadable config (%s)" path e.Message))

let private tensorEntry (name: string) (t: Tensor) =
    let t = t.detach().contiguous().cpu()
    match t.dtype with
    | torch.ScalarType.Float32 -> Safetensors.ofFloats name t.shape (t.data<float32>().ToArray())
    | torch.ScalarType.Byte -> { Safetensors.Entry.Name = name; DType = "U8"; Shape = t.shape; Data = t.data<byte>().ToArray() }
    | d -> invalidArg name (sprintf "unsupported dtype %A" d)

type Checkpoint = { Step: int; Config: ScalorConfig; Extra: Map<string, string> }

/// Writes atomically (temporary file, then rename): a crash mid-write leaves the previous file intact.
let save (path: string) (nets: Scalor.Nets) (opt: RmsProp option) (gen: torch.Generator option) (step: int) (extra: (string * string) list) =
    let entries =
        [ for (n, t) in nets.Store.Named do yield tensorEntry n t
          match opt with
          | Some o -> for (n, v) in o.SquareAvg do yield tensorEntry (optimizerPrefix + n) v
          | None -> ()
          match gen with
          | Some g -> yield tensorEntry samplingKey (g.get_state())
          | None -> () ]
    let meta = [ "format", "scalor-checkpoint-1"; "step", string step; "config", configToJson nets.Config ] @ extra
    Safetensors.write path entries meta

let private toTensor (e: Safetensors.Entry) =
    match e.DType with
    | "F32" -> torch.tensor(Safetensors.toFloats e).reshape(e.Shape)
    | "U8" -> torch.tensor(e.Data, dtype = torch.uint8, device = torch.CPU).reshape(e.Shape)
    | d -> raise (CheckpointError(sprintf "tensor %s has unsupported dtype %s" e.Name d))

let private headerOf (path: string) (meta: Map<string, string>) =
    if meta.TryFind "format" <> Some "scalor-checkpoint-1" then raise (CheckpointError(sprintf "%s: not a Scalor checkpoint" path))
    let config = configFromJson path meta.["config"]
    let step = match Int32.TryParse meta.["step"] with | true, s -> s | _ -> raise (CheckpointError(sprintf "%s: bad step" path))
    { Step = step; Config = config; Extra = meta }

let private checkpointError f =
    try f ()
    with Safetensors.SafetensorsError msg -> raise (CheckpointError msg)

/// Refuses a checkpoint with a NaN or an infinity among its values, weights or optimizer state. Training never writes
/// one (a step whose loss or gradients are not finite is skipped, `step`), so one means the file was damaged after it
/// was written; loaded, it would turn every output or the next step into NaN, far from its cause.
let checkFinite (source: string) (entries: Safetensors.Entry list) =
    for e in entries do
        if e.DType = "F32" then
            let values = Runtime.InteropServices.MemoryMarshal.Cast<byte, float32>(ReadOnlySpan<byte>(e.Data))
            let mutable i = 0
            while i < values.Length do
                if not (Single.IsFinite values.[i]) then
                    raise (CheckpointError(sprintf "%s: %s: NaN or infinite values in the file (a damaged checkpoint?)" source e.Name))
                i <- i + 1

/// Reads a checkpoint's header (config, step, metadata) and tensors.
let read (path: string) =
    let entries, meta = checkpointError (fun () -> Safetensors.read path)
    let header = headerOf path meta
    checkFinite path entries
    header, entries

/// A checkpoint held in memory (the model embedded in scalor-host), as `read` reads a file; `source` names it in errors.
let parse (source: string) (bytes: byte[]) =
    let entries, meta = checkpointError (fun () -> Safetensors.parse source bytes)
    let header = headerOf source meta
    checkFinite source entries
    header, entries

/// Reads a checkpoint's header alone (config, step, metadata), not its tensors.
let readHeader (path: string) = headerOf path (checkpointError (fun () -> Safetensors.readMetadata path))

/// The header alone of a checkpoint held in memory.
let parseHeader (source: string) (bytes: byte[]) = headerOf source (checkpointError (fun () -> Safetensors.parseMetadata source bytes))

// A checkpoint may record the duplicate share its model was chosen with on validation worlds (README, "Trained
// models"): the crowded-scene model wants 0.8 where the default is 0.3, and a user should not have to know.
// The key and its values are the ONNX export's ("official": no test among discoveries).

[<Literal>]
let duplicateShareKey = "scalor.duplicate_share"

/// A share as checkpoint and ONNX metadata write it (round-trip, invariant culture).
let formatShare (share: float) = share.ToString("R", Globalization.CultureInfo.InvariantCulture)

let formatDuplicateShare (share: float) =
    if Discovery.testsDuplicates share then formatShare share else "official"

/// The duplicate share `c` records, if any; a value that is neither "official" nor a share in (0, 1] is an error.
let recordedDuplicateShare (path: string) (c: Checkpoint) =
    match c.Extra.TryFind duplicateShareKey with
    | None -> None
    | Some "official" -> Some Discovery.noDuplicateTest
    | Some v ->
        match Double.TryParse(v, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
        | true, s when Discovery.isDuplicateShare s -> Some s
        | _ -> raise (CheckpointError(sprintf "%s: bad %s '%s' (a share in (0, 1] or official)" path duplicateShareKey v))

/// The share to track with: the one asked for (`--duplicate-share`, `--rejection`), else the checkpoint's, else
/// `Discovery.defaultDuplicateShare`.
let duplicateShareFor (asked: float option) (path: string) (c: Checkpoint) =
    match asked with
    | Some s -> s
    | None -> recordedDuplicateShare path c |> Option.defaultValue Discovery.defaultDuplicateShare

// A checkpoint may also record the official test's share to track with (`Discovery.rejection`): a discovery
// is rejected when propagated objects explain this share of its mask. Training keeps the config's
// `RejectionThreshold` (the paper's 0.3, the objective's); a model may track better with a gentler test
// (the crowded-scene model: MOTA 81.6% → 82.8% on validation worlds at 0.7, README "Tracking").

[<Literal>]
let explainedShareKey = "scalor.explained_share"

/// The explained share `c` records, if any; a value that is not a share in (0, 1] is an error.
let recordedExplainedShare (path: string) (c: Checkpoint) =
    match c.Extra.TryFind explainedShareKey with
    | None -> None
    | Some v ->
        match Double.TryParse(v, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
        | true, s when Discovery.isDuplicateShare s -> Some s
        | _ -> raise (CheckpointError(sprintf "%s: bad %s '%s' (a share in (0, 1])" path explainedShareKey v))

/// The explained share to track with: the one asked for (`--explained-share`), else, unless the official
/// inference is asked for (`--rejection official`: the official code's test at its config's share), the
/// checkpoint's, else the config's `RejectionThreshold`.
let explainedShareFor (asked: float option) (official: bool) (path: string) (c: Checkpoint) =
    match asked with
    | Some s -> s
    | None when official -> c.Config.RejectionThreshold
    | None -> recordedExplainedShare path c |> Option.defaultValue c.Config.RejectionThreshold

// Every checkpoint a run writes records what the run trains on: a generated world's description or a hash of the
// recorded frames, with the seed (which orders the clips and draws the sampling noise). A resume that gave other
// data would silently be another run, not the one it claims to continue ("training resumes exactly").

[<Literal>]
let trainingDataKey = "scalor.training_data"

/// Why `c` cannot be resumed on `trainsOn` (`trainingDataKey`'s value for the resuming command), if it cannot:
/// it recorded other data. A checkpoint that records none (written before the record) is not checked.
let trainingDataMismatch (path: string) (c: Checkpoint) (trainsOn: string) =
    match c.Extra.TryFind trainingDataKey with
    | Some recorded when recorded <> trainsOn ->
        // Name only the parts that differ (the data, the seed), not the whole of both lines.
        let mine, theirs = recorded.Split "; ", trainsOn.Split "; "
        let differ (a: string[]) (b: string[]) = a |> Array.filter (fun x -> not (Array.contains x b)) |> String.concat "; "
        Some(sprintf "%s was trained on %s; this command gives %s" path (differ mine theirs) (differ theirs mine))
    | _ -> None

// A model trained on footage saw it in a certain way: every K-th frame (`--frame-step`: footage at 25 fps moves
// little from one frame to the next, and the official code takes every 8th) and windows of it (`--crop`). Its
// checkpoints record both, so that tracking, generating and scoring footage see it the same way unless told
// otherwise: frames are cropped "as the model's config says" (issue 5), and the user need not remember how.

[<Literal>]
let frameStepKey = "scalor.frame_step"

[<Literal>]
let cropKey = "scalor.crop"

/// What a run on recorded data records of how it sees it: its frame step when over 1, its windows when any.
let footageRecords (frameStep: int) (crops: Crop.Crop list) =
    [ if frameStep > 1 then frameStepKey, string frameStep
      if not crops.IsEmpty then cropKey, Crop.describeAll crops ]

/// The frame step `c` records, 1 when none; a value that is not a whole number of at least 1 is an error.
let recordedFrameStep (path: string) (c: Checkpoint) =
    match c.Extra.TryFind frameStepKey with
    | None -> 1
    | Some v ->
        match Int32.TryParse(v, Globalization.NumberStyles.None, Globalization.CultureInfo.InvariantCulture) with
        | true, k when k >= 1 -> k
        | _ -> raise (CheckpointError(sprintf "%s: bad %s '%s' (a whole number, at least 1)" path frameStepKey v))

/// The windows `c` records, none when it records none; a value that does not read as crops is an error.
let recordedCrops (path: string) (c: Checkpoint) =
    match c.Extra.TryFind cropKey with
    | None -> []
    | Some v ->
        match Crop.parseAll v with
        | Ok crops -> crops
        | Error _ -> raise (CheckpointError(sprintf "%s: bad %s '%s' (windows as --crop takes them, joined by \", \")" path cropKey v))

/// The records of `c` that say how its model saw footage (`footageRecords`), to carry into an exported model; a bad
/// one is a `CheckpointError` now rather than in the runtime.
let footageRecordsOf (path: string) (c: Checkpoint) =
    footageRecords (recordedFrameStep path c) (recordedCrops path c)

/// The records a resumed run's new checkpoints carry over from the checkpoint it continues: the shares to track
/// with, chosen on validation worlds for this model (README, "Trained models"), so its checkpoints track as the
/// one it continues and their scores compare. Not what describes the weights themselves (`averagedStepsKey`):
/// the new weights are no mean. A bad record is a `CheckpointError` now rather than in a later checkpoint.
let carriedRecords (path: string) (c: Checkpoint) =
    recordedDuplicateShare path c |> ignore
    recordedExplainedShare path c |> ignore
    [ duplicateShareKey; explainedShareKey ] |> List.choose (fun k -> c.Extra.TryFind k |> Option.map (fun v -> k, v))

/// The config to track with: the checkpoint's, with the explained share in place of `RejectionThreshold`.
/// For inference only; what trains or estimates the objective (`Elbo.nll`) keeps the checkpoint's config.
let inferenceConfig (c: Checkpoint) (explainedShare: float) = { c.Config with RejectionThreshold = explainedShare }

/// A checkpoint's model tensors alone, without the optimizer's state (`optim.*`) and the sampling generator's
/// (`rng.sampling`): an inference copy of half the size, as the embedded default. It tracks, evaluates,
/// generates and exports; resuming or fine-tuning from it is refused (`restore` finds no optimizer state).
let weightsOnly (entries: Safetensors.Entry list) =
    entries |> List.filter (fun e -> not (e.Name.StartsWith(optimizerPrefix, StringComparison.Ordinal) || e.Name = samplingKey))

// Weight averaging (Izmailov et al. 2018, "Averaging weights leads to wider optima"): at a constant learning
// rate (the paper's RMSprop has no schedule) the iterates circle a wide optimum, and checkpoint-to-checkpoint
// MOTA jumps by a point or more (README, "Trained models"); their mean sits nearer its centre. The model has
// GroupNorm and no running statistics, so the mean of the weights is a model as it stands.

[<Literal>]
let averagedStepsKey = "scalor.averaged_steps"

/// Set on a mean of checkpoints of different runs (`average`'s `like`): the files averaged, as given.
[<Literal>]
let averagedFromKey = "scalor.averaged_from"

/// Set on a mean of some tensors only (`average`'s `only`): the name prefixes averaged, comma-separated.
[<Literal>]
let averagedOnlyKey = "scalor.averaged_only"

/// The mean of the model tensors of checkpoints of one run, given as paths with their headers (`readHeader`)
/// and read with `load` one at a time (`read`'s tensors), so memory holds one checkpoint and the float64 sums,
/// however many are averaged. Every header is checked before any tensor is read. The result is a checkpoint to
/// write with `recordRejection`: the newest one's step, config, metadata (recorded shares included), optimizer
/// and sampling state, so resuming from it restarts training at the average; its metadata lists the steps
/// averaged (`averagedStepsKey`). Means are rounded once. Checkpoints of another config, tensor set or shape,
/// or two of one step, are a `CheckpointError` naming them.
///
/// `like` (one of the paths) averages checkpoints of different runs instead: fine-tunings of one model for other
/// worlds, whose configs differ in what a fine-tuning may change (anchors, object cap), a "model soup" (Wortsman
/// et al. 2022; WiSE-FT when one is the other's start). The mean then takes that checkpoint's step, config,
/// metadata and state, and records the files averaged (`averagedFromKey`); tensor names and shapes must still agree.
///
/// `only` (name prefixes, as `train --only` takes them; empty: every tensor) averages those tensors alone and keeps
/// the rest as that checkpoint holds them (`averagedOnlyKey`): the networks of one stage averaged, the others left.
let average (like: string option) (only: string list) (checkpoints: (string * Checkpoint) list) (load: string -> Safetensors.Entry list) : Checkpoint * Safetensors.Entry list =
    if checkpoints.Length < 2 then raise (CheckpointError "averaging needs two checkpoints or more")
    let sorted = checkpoints |> List.sortBy (fun (_, h) -> h.Step)
    // The checkpoint whose step, config, metadata and state the mean takes: `like`, else the newest.
    let basisPath, basis =
        match like with
        | None -> List.last sorted
        | Some l ->
            match checkpoints |> List.tryFind (fun (p, _) -> p = l) with
            | Some found -> found
            | None -> raise (CheckpointError(sprintf "%s: not among the checkpoints averaged; give it among them" l))
    if like.IsNone then
        for ((p, h), (q, g)) in List.pairwise sorted do
            if h.Step = g.Step then raise (CheckpointError(sprintf "%s and %s: both are step %d; average distinct checkpoints" p q h.Step))
        for (p, h) in sorted do
            // How a step was computed (micro-batches, recomputation) does not make another model.
            if p <> basisPath && configToJson (withExecutionOf h.Config basis.Config) <> configToJson basis.Config then
                raise (CheckpointError(sprintf "%s: another model config than %s (average checkpoints of one run, or give --like for fine-tunings of one model)" p basisPath))
    let basisEntries = load basisPath
    let model = weightsOnly basisEntries
    for e in model do
        if e.DType <> "F32" then raise (CheckpointError(sprintf "%s: tensor %s is %s; only F32 weights average" basisPath e.Name e.DType))
    let shapes = model |> List.map (fun e -> e.Name, (e.DType, e.Shape)) |> Map.ofList
    let averaged (name: string) = only.IsEmpty || only |> List.exists (fun pre -> name.StartsWith(pre, StringComparison.Ordinal))
    for pre in only do
        if not (model |> List.exists (fun e -> e.Name.StartsWith(pre, StringComparison.Ordinal))) then
            raise (CheckpointError(sprintf "%s: no tensor's name starts with %s" basisPath pre))
    let sums = model |> List.filter (fun e -> averaged e.Name) |> List.map (fun e -> e.Name, Array.zeroCreate<float> (e.Data.Length / 4)) |> dict
    let add (p: string) (es: Safetensors.Entry list) =
        let mine = weightsOnly es
        if mine.Length <> shapes.Count || mine |> List.exists (fun e -> shapes.TryFind e.Name <> Some(e.DType, e.Shape)) then
            raise (CheckpointError(sprintf "%s: other tensors than %s (average checkpoints of one model)" p basisPath))
        for e in mine do
            match sums.TryGetValue e.Name with
            | true, sum ->
                let v = Safetensors.toFloats e
                for i in 0 .. v.Length - 1 do sum.[i] <- sum.[i] + float v.[i]
            | _ -> ()
    for (p, _) in sorted do add p (if p = basisPath then basisEntries else load p)
    let k = float sorted.Length
    let entries =
        basisEntries
        |> List.map (fun e ->
            match sums.TryGetValue e.Name with
            | true, sum -> Safetensors.ofFloats e.Name e.Shape (sum |> Array.map (fun s -> float32 (s / k)))
            | _ -> e)
    let steps = sorted |> List.map (fun (_, h) -> string h.Step) |> String.concat ","
    let extra = basis.Extra.Add(averagedStepsKey, steps)
    let extra = if like.IsSome then extra.Add(averagedFromKey, sorted |> List.map fst |> String.concat ",") else extra.Remove averagedFromKey
    let extra = if only.IsEmpty then extra.Remove averagedOnlyKey else extra.Add(averagedOnlyKey, String.concat "," only)
    { basis with Extra = extra }, entries

/// The steps a checkpoint's weights average (`average`), if it is such a mean.
let averagedSteps (c: Checkpoint) =
    c.Extra.TryFind averagedStepsKey
    |> Option.map (fun s -> s.Split ',' |> Array.choose (fun x -> match Int32.TryParse x with | true, n -> Some n | _ -> None))

/// Writes a checkpoint read with `read` (every tensor it holds: with optimizer and generator state it still
/// resumes and fine-tunes; see `weightsOnly`) to `target`, recording the duplicate and explained shares
/// given (None keeps what the checkpoint records). Written atomically.
let recordRejection (header: Checkpoint) (entries: Safetensors.Entry list) (target: string) (duplicateShare: float option) (explainedShare: float option) =
    let put key value (m: Map<string, string>) = match value with Some v -> m.Add(key, v) | None -> m
    let meta =
        header.Extra
        |> put duplicateShareKey (duplicateShare |> Option.map formatDuplicateShare)
        |> put explainedShareKey (explainedShare |> Option.map formatShare)
    Safetensors.write target entries (Map.toList meta)

/// Restores weights (and optionally optimizer and generator state) into freshly created nets.
let restore (path: string) (nets: Scalor.Nets) (opt: RmsProp option) (gen: torch.Generator option) entries =
    let byName = entries |> List.map (fun (e: Safetensors.Entry) -> e.Name, e) |> dict
    let values = Collections.Generic.Dictionary<string, Tensor>()
    for (n, _) in nets.Store.Named do
        match byName.TryGetValue n with
        | true, e -> values.[n] <- toTensor e
        | _ -> raise (CheckpointError(sprintf "%s: no tensor for %s (a checkpoint of another model?)" path n))
    try nets.Store.Load(values) |> ignore
    with :? InvalidOperationException as e -> raise (CheckpointError(sprintf "%s: %s" path e.Message))
    match opt with
    | Some o ->
        use _ = torch.no_grad()
        for (n, v) in o.SquareAvg do
            match byName.TryGetValue(optimizerPrefix + n) with
            | true, e -> v.copy_(toTensor e) |> ignore
            | _ -> raise (CheckpointError(sprintf "%s: no optimizer state for %s" path n))
    | None -> ()
    match gen with
    | Some g ->
        match byName.TryGetValue samplingKey with
        | true, e -> g.set_state(toTensor e) |> ignore
        | _ -> raise (CheckpointError(sprintf "%s: no generator state" path))
    | None -> ()

/// A checkpoint's model ready to track, as `scalor-host track` loads it: built with the explained share as its
/// `RejectionThreshold` (`explainedShareFor`) and the weights restored, with the duplicate share to track with
/// (`duplicateShareFor`). `askedDuplicate` and `askedExplained` are what a user asked for (None: what the checkpoint
/// records, else the defaults); a duplicate share that turns the duplicate test off asks for the official
/// inference, so it also takes the config's share for the official test. Bad records or tensors: `CheckpointError`.
let forInference (source: string) (c: Checkpoint) (entries: Safetensors.Entry list) (askedDuplicate: float option) (askedExplained: float option) =
    let duplicate = duplicateShareFor askedDuplicate source c
    let official = askedDuplicate |> Option.exists (Discovery.testsDuplicates >> not)
    let nets = Scalor.create (inferenceConfig c (explainedShareFor askedExplained official source c)) 0L
    restore source nets None None entries
    nets, duplicate

/// `forInference` of the checkpoint file at `path`, with what it records: the one call an application needs to
/// track as `scalor-host track --model PATH` does (then `Tracker.Tracker(nets, share)`, or `Export.model`).
let loadForInference (path: string) =
    let c, entries = read path
    forInference path c entries None None

/// Converts generated sequences to a batch tensor [B; T; 3; H; W] in [0, 1].
let batchOf (sequences: Scalor.Worlds.World.Sequence[]) =
    let b = sequences.Length
    let t, v = sequences.[0].Length, sequences.[0].ViewSize
    let bytes = Array.concat (sequences |> Array.map (fun s -> s.Frames))
    use raw = torch.tensor(bytes, dtype = torch.uint8)
    raw.reshape(int64 b, int64 t, int64 v, int64 v, 3L).permute(0L, 1L, 4L, 2L, 3L).to_type(torch.float32).div(torch.tensor(255.0f)).contiguous()
