/// Turns a command line into a validated command. Usage problems become one line of text; the host prints
/// it and exits with code 2.
module Scalor.Cli.Parse

open System
open System.Globalization
open Argu
open Scalor.Cli.Args
open Scalor.Worlds

type DataCommand =
    { World: World.WorldConfig
      Sequences: int
      Seed: uint64
      Out: string
      /// "train" or "test": which MNIST files digits come from.
      Split: string
      /// null: the Scalor cache.
      MnistDir: string
      WriteImages: bool }

type EvalCommand =
    { GtDir: string
      PredDir: string
      ByIou: bool
      /// NaN: the default for the matching mode.
      Threshold: float
      JsonFile: string
      /// Model mode (non-null DataDir): track DataDir with Model (null: embedded) and add the likelihood terms.
      Model: string
      DataDir: string
      Samples: int
      /// Model mode: the tracking's duplicate share (`TrackCommand.DuplicateShare`).
      DuplicateShare: float option
      /// Model mode: the tracking's explained share (`TrackCommand.ExplainedShare`).
      ExplainedShare: float option
      /// Model mode: the tracking's reporting floor (`TrackCommand.MinVisibleShare`).
      MinVisibleShare: float
      /// Model mode: CPU threads for TorchSharp.
      Threads: int
      /// Ground-truth rows less visible than this (gt.txt column 9) are ignored, with the boxes matched to them.
      MinGtVisibility: float
      /// Model mode: track as `track --backfill` (`TrackCommand.Backfill`).
      Backfill: bool
      /// Model mode: the tracking's rule for converged tracks (`TrackCommand.Converged`).
      Converged: Scalor.Model.Converged.Rule option
      /// Model mode, footage without ground truth: frames between a clip's frames (1: consecutive; 0: as the model
      /// records, else 1).
      FrameStep: int
      /// Model mode, footage without ground truth: the windows to score, each a sequence of its own (empty: as the
      /// model records, else the whole frame).
      Crops: Scalor.IO.Crop.Crop list
      /// Another tracker's results folder on the same ground truth, to compare with (null: none).
      Baseline: string
      /// Bootstrap resamples for the intervals (`Bootstrap`); 0: none.
      Resamples: int
      /// Seed of the bootstrap's draws.
      BootstrapSeed: uint64
      /// How the intervals are read off the resamples.
      IntervalMethod: Scalor.Metrics.Bootstrap.Method }
    /// With the frame step and windows to see footage with (`FootageView`).
    member c.WithView(frameStep, crops) = { c with FrameStep = frameStep; Crops = crops }

type TrainCommand =
    { Config: Scalor.Model.Config.ScalorConfig
      PresetName: string
      Steps: int
      Seed: int64
      Threads: int
      /// The generated worlds, one per --density given (in order, repeats kept): the batches draw their sequences
      /// from them in turn. One world is the paper's setup; several train a model for scenes of unknown density.
      Worlds: World.WorldConfig list
      /// null: train on the generated worlds.
      DataDir: string
      /// With DataDir: frames between a clip's frames (1: consecutive).
      FrameStep: int
      /// With DataDir footage: the windows to train on, each a sequence of its own (empty: the whole frame).
      Crops: Scalor.IO.Crop.Crop list
      Out: string
      Resume: bool
      CheckpointEvery: int
      Keep: int
      LogEvery: int
      MnistDir: string
      /// Train on the CUDA device.
      Cuda: bool
      /// Parameter-name prefixes to train (empty: all).
      Only: string list
      /// null: a fresh model; else the checkpoint a new run starts from (fine-tuning).
      Init: string }

type TrackCommand =
    { /// null: the embedded default model.
      Model: string
      /// null: a generated world.
      Input: string
      Out: string
      World: World.WorldConfig
      Sequences: int
      Seed: uint64
      Latents: bool
      Pictures: bool
      MinPresence: float32
      /// Objects rendering less than this share of an anchor-sized square inside the frame are not reported.
      MinVisibleShare: float
      Threads: int
      MnistDir: string
      /// "torchsharp" or "onnx" as given; "" when not given: TorchSharp for a checkpoint, ONNX Runtime for an
      /// exported model.
      Runtime: string
      /// "auto", "cpu", "cuda", "directml".
      Provider: string
      /// Object slots: the most objects tracked at once. None: the model's (`Config.Capacity`, 128), on either
      /// runtime; an exported model has its own.
      Capacity: int option
      /// A discovery is rejected when one stronger discovery of its frame covers this share of its mask
      /// (`--rejection extended`, `--duplicate-share`); `Discovery.noDuplicateTest` with `--rejection official`.
      /// None (neither option given): the share the checkpoint records, else `Discovery.defaultDuplicateShare`
      /// (`Train.duplicateShareFor`).
      DuplicateShare: float option
      /// The official test's share: a discovery is rejected when propagated objects explain this share of its
      /// mask (`--explained-share`). None: the share the checkpoint records (unless `--rejection official`),
      /// else the config's `RejectionThreshold` (`Train.explainedShareFor`).
      ExplainedShare: float option
      /// Report mask boxes (`Track.Rendering.MaskBox`) rather than z_where glimpses.
      MaskBoxes: bool
      /// Of two tracks that settle on one object, one is retired by this rule (`Converged.step`); None: never.
      Converged: Scalor.Model.Converged.Rule option
      /// Also track each sequence backwards and extend late-starting tracks with it (`Backfill.extend`).
      Backfill: bool
      /// Join tiles frame by frame (`Stitch.Live`); with the ONNX runtime, track them as a live stream
      /// (`TiledTracker`, each frame decoded once).
      Live: bool
      /// Drop the oldest waiting frame when frames come faster than they are tracked (ONNX Runtime), to keep up
      /// with a live stream.
      Realtime: bool
      /// On ONNX Runtime, render every frame for the reconstruction MSE (TorchSharp always has it).
      Mse: bool
      /// With Input: every FrameStep-th frame is tracked (1: every frame; 0: as the model records, else 1).
      FrameStep: int
      /// With Input: the window of each frame to track (None: as the model records, else the whole frame).
      Crop: Scalor.IO.Crop.Crop option
      /// How the printed 95% intervals are read off eval's bootstrap (`--interval`; default BCa).
      IntervalMethod: Scalor.Metrics.Bootstrap.Method
      /// Bootstrap resamples for those intervals (`--resamples`, as eval's); 0: none.
      Resamples: int
      /// Seed of the bootstrap's draws (`--bootstrap-seed`; `Seed` is the generated world's).
      BootstrapSeed: uint64 }
    /// With the frame step and window to see footage with (`FootageView`).
    member c.WithView(frameStep, crop) = { c with FrameStep = frameStep; Crop = crop }
    /// Without pictures: an exported model that cannot draw them (`export` without `--render`).
    member c.WithoutPictures() = { c with Pictures = false }

type ExportCommand =
    { /// null: the embedded default model.
      Model: string
      Out: string
      /// Object slots of the exported state. None: the model's (`Config.Capacity`), as TorchSharp tracks with.
      Capacity: int option
      Render: bool
      Dense: bool
      /// As `TrackCommand.DuplicateShare`.
      DuplicateShare: float option
      /// As `TrackCommand.ExplainedShare`.
      ExplainedShare: float option
      /// A .safetensors copy without optimizer and sampling state (`Train.weightsOnly`).
      WeightsOnly: bool }

type GenerateCommand =
    { Model: string
      Input: string
      Observe: int
      Steps: int
      Out: string
      FromScratch: bool
      Samples: int
      Discovery: float
      MostLikely: bool
      Seed: uint64
      /// As `TrackCommand.DuplicateShare`.
      DuplicateShare: float option
      /// As `TrackCommand.ExplainedShare`.
      ExplainedShare: float option
      /// CPU threads for TorchSharp.
      Threads: int
      /// As `TrackCommand.MaskBoxes`: the boxes the pictures draw and the latents record.
      MaskBoxes: bool
      /// With Input: every FrameStep-th frame is observed (1: every frame; 0: as the model records, else 1).
      FrameStep: int
      /// With Input: the window of each frame to observe (None: as the model records, else the whole frame).
      Crop: Scalor.IO.Crop.Crop option
      /// Without Input: the generated world observed (its length is set to Observe + Steps), as `TrackCommand.World`.
      World: World.WorldConfig
      /// Folder with the MNIST IDX files (null: the cache, fetched when missing).
      MnistDir: string }
    /// With the frame step and window to see footage with (`FootageView`).
    member c.WithView(frameStep, crop) = { c with FrameStep = frameStep; Crop = crop }

type AverageCommand =
    { /// Checkpoint files and run folders, as given.
      Checkpoints: string list
      Out: string
      /// Only checkpoints of these steps (inclusive); None: no bound.
      From: int option
      To: int option
      /// Checkpoints of different runs: the mean takes this one's step, config and state (`Train.average`).
      Like: string option
      /// Name prefixes of the tensors averaged; empty: all.
      Only: string list }

type BenchCommand =
    { /// The toy64 preset with the command line's overrides.
      Config: Scalor.Model.Config.ScalorConfig
      Target: string
      Batch: int
      Runs: int
      Threads: int
      JsonFile: string
      /// null: the embedded model (bench track).
      Model: string }

type Command =
    | Data of DataCommand
    | Train of TrainCommand
    | Track of TrackCommand
    | Generate of GenerateCommand
    | Eval of EvalCommand
    | Bench of BenchCommand
    | Export of ExportCommand
    | Average of AverageCommand

type Outcome =
    | Run of Command
    /// Help text requested; print it and exit 0.
    | Help of string
    /// --version: print the versions and exit 0.
    | Version
    /// One line; exit 2.
    | UsageError of string

exception private Usage of string

let private usage fmt = Printf.kprintf (fun s -> raise (Usage s)) fmt

/// "a-b" or "a" → (a, b).
let private range (what: string) (s: string) =
    let parts = s.Split('-')
    let num (p: string) =
        match Int32.TryParse p with
        | true, v when v >= 0 -> v
        | _ -> usage "--%s expects N or N-M with whole numbers, got '%s'" what s
    match parts with
    | [| a |] -> let v = num a in (v, v)
    | [| a; b |] ->
        let lo, hi = num a, num b
        if hi < lo then usage "--%s range '%s' is empty" what s
        (lo, hi)
    | _ -> usage "--%s expects N or N-M, got '%s'" what s

let private densityOf =
    function
    | Vld -> World.vld
    | Ld -> World.ld
    | Md -> World.md
    | Hd -> World.hd
    | Vhd -> World.vhd

let private kindOf = function Dsprites -> World.DSprites | KindArg.Mnist -> World.Mnist

let private backgroundOf =
    function
    | BackgroundArg.None -> World.NoBackground
    | Static -> World.StaticBackground
    | Dynamic -> World.DynamicBackground

/// The generated world that --kind, --density and --background name: moving dSprites LD without a background unless
/// they say (data, track and generate alike; train takes a mix of densities).
let private namedWorld kind density background =
    { World.defaultConfig with
        Kind = kindOf (defaultArg kind KindArg.Dsprites)
        Density = densityOf (defaultArg density DensityArg.Ld)
        Background = backgroundOf (defaultArg background BackgroundArg.None) }

/// A generated sequence is one array of frames, which .NET caps near 2 GB: refused before any work, not after it.
let private checkSequenceBytes (length: int) (size: int) (remedy: string) =
    let bytes = int64 length * int64 size * int64 size * 3L
    if bytes > int64 Array.MaxLength then
        usage "a sequence of %d frames of %d×%d is %.1f GB, and each is held whole in memory (at most 2 GB): %s" length size size (float bytes / 1e9) remedy

let private dataCommand (r: ParseResults<DataArgs>) =
    let named = namedWorld (r.TryGetResult DataArgs.Kind) (r.TryGetResult DataArgs.Density) (r.TryGetResult DataArgs.Background)
    let density = named.Density
    let variant =
        match r.GetResult(DataArgs.Variant, VariantArg.Standard) with
        | Standard -> World.Standard
        | Dense_Discovery -> World.DenseDiscovery
        | Overlap -> World.Overlap
    let sequences = r.GetResult DataArgs.Sequences
    if sequences < 1 then usage "--sequences must be at least 1"
    let length = r.GetResult(DataArgs.Length, 10)
    if length < 1 || length > 100000 then usage "--length must be between 1 and 100000"
    let digits =
        match r.TryGetResult DataArgs.Digits with
        | Some s ->
            let lo, hi = range "digits" s
            if hi > 9 then usage "--digits must lie in 0-9"
            [| lo .. hi |]
        | Option.None -> [| 0 .. 9 |]
    let size = r.GetResult(DataArgs.Size, World.defaultConfig.ViewSize)
    if size < 16 || size > 1024 then usage "--size must be between 16 and 1024"
    checkSequenceBytes length size "give a shorter --length or a smaller --size"
    let objects =
        match r.TryGetResult DataArgs.Objects with
        | Some text -> Some(range "objects" text)
        | Option.None when size <> World.defaultConfig.ViewSize ->
            // The paper's densities are counts in 64×64 frames: as many per area in larger ones.
            let area = float (size * size) / float (World.defaultConfig.ViewSize * World.defaultConfig.ViewSize)
            Some(max 1 (int (Math.Round(float density.MinObjects * area))), max 1 (int (Math.Round(float density.MaxObjects * area))))
        | Option.None -> Option.None
    let world =
        { named with
            ViewSize = size
            Variant = variant
            Length = length
            ObjectCount = objects
            DigitClasses = digits }
    Data
        { World = world
          Sequences = sequences
          Seed = uint64 (r.GetResult(DataArgs.Seed, 1L))
          Out = r.GetResult DataArgs.Out
          Split = (match r.GetResult(DataArgs.Split, SplitArg.Train) with SplitArg.Test -> "test" | _ -> "train")
          MnistDir = (r.TryGetResult DataArgs.Mnist_Dir |> Option.toObj)
          WriteImages = not (r.Contains DataArgs.No_Images) }

/// Applies `Field=value` to a config record by reflection over its (immutable) fields.
let applyOverride (c: Scalor.Model.Config.ScalorConfig) (kv: string) =
    let i = kv.IndexOf '='
    if i <= 0 then usage "--set expects Field=value, got '%s'" kv
    let key, value = kv.Substring(0, i).Trim(), kv.Substring(i + 1).Trim()
    let t = typeof<Scalor.Model.Config.ScalorConfig>
    let fields = Microsoft.FSharp.Reflection.FSharpType.GetRecordFields t
    match fields |> Array.tryFindIndex (fun f -> String.Equals(f.Name, key, StringComparison.OrdinalIgnoreCase)) with
    | Option.None -> usage "--set: no config field '%s' (fields: %s)" key (fields |> Array.map (fun f -> f.Name) |> String.concat ", ")
    | Some idx ->
        let values = Microsoft.FSharp.Reflection.FSharpValue.GetRecordFields c
        let f = fields.[idx]
        let inv = Globalization.CultureInfo.InvariantCulture
        values.[idx] <-
            try
                if f.PropertyType = typeof<int> then box (Int32.Parse(value, inv))
                elif f.PropertyType = typeof<float> then box (Double.Parse(value, inv))
                elif f.PropertyType = typeof<bool> then box (Boolean.Parse value)
                else usage "--set: field %s cannot be set from the command line" f.Name
            with :? FormatException -> usage "--set: '%s' is not a valid %s for %s" value f.PropertyType.Name f.Name
        Microsoft.FSharp.Reflection.FSharpValue.MakeRecord(t, values) :?> Scalor.Model.Config.ScalorConfig

let private cropOf (text: string) =
    match Scalor.IO.Crop.parse text with
    | Ok c -> c
    | Error e -> usage "--crop: %s" e

/// `generate` follows one window; tiles are for the commands that take each as a sequence of its own.
let private oneWindowOf (command: string) (text: string) =
    match cropOf text with
    | Scalor.IO.Crop.Tiles _ -> usage "--crop %s: %s follows one window; tiles are for train, eval and track (each a sequence of its own), so give one of them as W:H:X:Y" text command
    | c -> c

let private threadsOf (t: int option) =
    let t = defaultArg t Environment.ProcessorCount
    if t < 1 then usage "--threads must be at least 1"
    t

let private trainCommand (r: ParseResults<TrainArgs>) =
    let presetName, preset =
        match r.GetResult(TrainArgs.Preset, PresetArg.Toy64) with
        | Toy64 -> "toy64", Scalor.Model.Config.toy64
        | Natural128 -> "natural128", Scalor.Model.Config.natural128
        | Official64 -> "official64", Scalor.Model.Config.official64
    let densities =
        match r.GetResults TrainArgs.Density with
        | [] -> [ World.ld ]
        | given -> List.map densityOf given
    let kind = kindOf (r.GetResult(TrainArgs.Kind, KindArg.Dsprites))
    let background = backgroundOf (r.GetResult(TrainArgs.Background, BackgroundArg.None))
    // The toy preset's anchors follow the world's object size (0.5×–1.5×, [P] appendix E); a mix's, the mean size of
    // its sequences (VLD, LD and MD: 10 px, LD's own), so the prior favours none of its densities.
    let objectSize = densities |> List.averageBy (fun d -> float d.ObjectSize)
    let cfgAnchored = if presetName = "toy64" then Scalor.Model.Config.withObjectSize objectSize preset else preset
    // The training cap (the official 45) would zero discoveries that a crowded world's frames need: HD shows about
    // 55 objects and VHD 90, and the official README's remedy for dense scenes is a higher max_num_obj. A
    // generated world's cap is therefore at least its largest object count (VLD to MD stay at 45); --set
    // MaxObjects=… still decides.
    let cfg0 =
        if r.Contains TrainArgs.Data then cfgAnchored
        else { cfgAnchored with MaxObjects = densities |> List.fold (fun cap d -> max cap d.MaxObjects) cfgAnchored.MaxObjects }
    let cfg1 = match r.TryGetResult TrainArgs.Batch with Some b -> { cfg0 with BatchSize = b } | Option.None -> cfg0
    let cfg = r.GetResults TrainArgs.Set |> List.fold applyOverride cfg1
    if cfg.BatchSize < 1 then usage "--batch must be at least 1"
    let steps = r.GetResult(TrainArgs.Steps, 100000)
    if steps < 1 then usage "--steps must be at least 1"
    let every = r.GetResult(TrainArgs.Checkpoint_Every, 200)
    if every < 1 then usage "--checkpoint-every must be at least 1"
    let keep = r.GetResult(TrainArgs.Keep, 3)
    if keep < 1 then usage "--keep must be at least 1"
    let worlds = densities |> List.map (fun d -> { World.defaultConfig with Kind = kind; Density = d; Background = background; Length = cfg.SeqLength; ViewSize = cfg.ImageSize })
    if densities.Length > 1 && r.Contains TrainArgs.Data then usage "--density applies to generated worlds; --data trains on recorded footage, so give one or neither"
    let kindName = if kind = World.Mnist then "mnist" else "dsprites"
    let frameStep = r.GetResult(TrainArgs.Frame_Step, 1)
    if frameStep < 1 then usage "--frame-step must be at least 1"
    if frameStep > 1 && not (r.Contains TrainArgs.Data) then usage "--frame-step applies to --data; a generated world draws its own motion"
    // Named for what it trains on: the world, or the data's file or folder name (not the world it does not use).
    let defaultRun =
        match r.TryGetResult TrainArgs.Data with
        | Some d ->
            let full = IO.Path.GetFullPath(d).TrimEnd(IO.Path.DirectorySeparatorChar, IO.Path.AltDirectorySeparatorChar)
            let name = IO.Path.GetFileNameWithoutExtension full
            if name = "dataset" then IO.Path.GetFileName(IO.Path.GetDirectoryName full) else name
        | Option.None -> sprintf "%s-%s" kindName (densities |> List.map (fun d -> d.Name) |> String.concat "+")
    let crops = r.GetResults TrainArgs.Crop |> List.map cropOf
    if not crops.IsEmpty && not (r.Contains TrainArgs.Data) then usage "--crop applies to --data footage; a generated world is already the model's square"
    Train
        { Config = cfg
          PresetName = presetName
          Steps = steps
          Seed = r.GetResult(TrainArgs.Seed, 1L)
          Threads = threadsOf (r.TryGetResult TrainArgs.Threads)
          Worlds = worlds
          DataDir = r.TryGetResult TrainArgs.Data |> Option.toObj
          FrameStep = frameStep
          Crops = crops
          Out = r.GetResult(TrainArgs.Out, IO.Path.Combine("runs", defaultRun))
          Resume = r.Contains TrainArgs.Resume
          CheckpointEvery = every
          Keep = keep
          LogEvery = max 1 (r.GetResult(TrainArgs.Log_Every, 10))
          MnistDir = r.TryGetResult TrainArgs.Mnist_Dir |> Option.toObj
          Cuda = r.Contains TrainArgs.Cuda
          Only = r.GetResults TrainArgs.Only |> List.map (fun p -> if String.IsNullOrWhiteSpace p then usage "--only expects a parameter-name prefix" else p.Trim())
          Init = r.TryGetResult TrainArgs.Init |> Option.toObj }

/// None when neither option is given: the checkpoint's recorded share then applies.
let private duplicateShareOf (rejection: RejectionArg option) (share: float option) =
    match rejection, share with
    | Some Official, Some _ -> usage "--duplicate-share sets the extended rejection; it does not combine with --rejection official"
    | Some Official, Option.None -> Some Scalor.Model.Discovery.noDuplicateTest
    | Option.None, Option.None -> Option.None
    | _, share ->
        let v = defaultArg share Scalor.Model.Discovery.defaultDuplicateShare
        if not (Scalor.Model.Discovery.isDuplicateShare v) then usage "--duplicate-share must be a share in (0, 1]"
        Some v

let private explainedShareOf (share: float option) =
    share |> Option.map (fun v -> if Scalor.Model.Discovery.isDuplicateShare v then v else usage "--explained-share must be a share in (0, 1]")

let private minVisibleOf (v: float option) =
    let v = defaultArg v Scalor.Model.Track.defaultMinVisibleShare
    if v < 0.0 || v > 4.0 || Double.IsNaN v then usage "--min-visible must be a share between 0 and 4"
    v

/// `--converged IOU:FRAMES[:WINDOW:DISTANCE]` or `off`; not given, `Converged.defaults`; without the hand-over's
/// WINDOW:DISTANCE, the defaults' (WINDOW 0: no hand-over).
let convergedOf (v: string option) =
    match v with
    | Option.None -> Some Scalor.Model.Converged.defaults
    | Some s when s.Trim().ToLowerInvariant() = "off" -> Option.None
    | Some s ->
        let bad () =
            usage "--converged '%s': give IOU:FRAMES or IOU:FRAMES:WINDOW:DISTANCE (an IoU in (0, 1], at least 1 frame, a window of 0 frames or more, a positive distance; e.g. 0.7:5 or 0.7:5:5:0.25) or off" s
        let real (t: string) = match Double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture) with | true, v -> Some v | _ -> Option.None
        let count (t: string) = match Int32.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture) with | true, v -> Some v | _ -> Option.None
        let d = Scalor.Model.Converged.defaults
        let rule : Scalor.Model.Converged.Rule option =
            match s.Split(':') with
            | [| iou; frames |] ->
                Option.map2 (fun i f -> { d with MinIou = i; Frames = f }) (real iou) (count frames)
            | [| iou; frames; window; distance |] ->
                match real iou, count frames, count window, real distance with
                | Some i, Some f, Some w, Some x -> Some { MinIou = i; Frames = f; HandOver = w; HandOverDistance = x }
                | _ -> Option.None
            | _ -> Option.None
        match rule with
        | Some r when Scalor.Model.Converged.isValid r -> Some r
        | _ -> bad ()

let private capacityOf (c: int option) =
    match c with
    | Some c when c < 1 || c > 1024 -> usage "--capacity must be between 1 and 1024"
    | c -> c

let private exportCommand (r: ParseResults<ExportArgs>) =
    Export
        { Model = r.TryGetResult ExportArgs.Model |> Option.toObj
          Out = r.GetResult ExportArgs.Out
          Capacity = capacityOf (r.TryGetResult ExportArgs.Capacity)
          Render = r.Contains ExportArgs.Render
          Dense = r.Contains ExportArgs.Dense
          DuplicateShare = duplicateShareOf (r.TryGetResult ExportArgs.Rejection) (r.TryGetResult ExportArgs.Duplicate_Share)
          ExplainedShare = explainedShareOf (r.TryGetResult ExportArgs.Explained_Share)
          WeightsOnly = r.Contains ExportArgs.Weights_Only }

let private intervalMethodOf =
    function
    | Some IntervalArg.Percentile -> Scalor.Metrics.Bootstrap.Percentile
    | Some IntervalArg.Bca -> Scalor.Metrics.Bootstrap.Bca
    | Option.None -> Scalor.Metrics.Bootstrap.defaultMethod

/// The bootstrap's resamples and seed, as given to eval or track (each names its seed option).
let private bootstrapOf (resamples: int option) (seed: int64 option) (seedOption: string) =
    let resamples = resamples |> Option.defaultValue Scalor.Metrics.Bootstrap.defaultResamples
    if resamples <> 0 && (resamples < Scalor.Metrics.Bootstrap.minResamples || resamples > 1_000_000) then
        usage "--resamples must be 0 (no intervals) or from %d to 1000000: fewer leave too few resamples beyond a 95%% interval's ends to place them" Scalor.Metrics.Bootstrap.minResamples
    let seed = seed |> Option.defaultValue (int64 Scalor.Metrics.Bootstrap.defaultSeed)
    if seed < 0L then usage "%s must be at least 0" seedOption
    resamples, uint64 seed

let private trackCommand (r: ParseResults<TrackArgs>) =
    let sequences = r.GetResult(TrackArgs.Sequences, 4)
    if sequences < 1 then usage "--sequences must be at least 1"
    let length = r.GetResult(TrackArgs.Length, 10)
    if length < 1 then usage "--length must be at least 1"
    checkSequenceBytes length World.defaultConfig.ViewSize "give a shorter --length"
    let minPres = r.GetResult(TrackArgs.Min_Presence, 0.5)
    if minPres < 0.0 || minPres >= 1.0 then usage "--min-presence must be in [0, 1)"
    let runtime =
        match r.TryGetResult TrackArgs.Runtime with
        | Some RuntimeArg.Onnx -> "onnx"
        | Some _ -> "torchsharp"
        | Option.None -> ""
    // 0: not given, so as the model records (`Train.recordedFrameStep`).
    let frameStep = r.TryGetResult TrackArgs.Frame_Step |> Option.defaultValue 0
    if r.Contains TrackArgs.Frame_Step && frameStep < 1 then usage "--frame-step must be at least 1"
    if frameStep > 1 && not (r.Contains TrackArgs.Input) then usage "--frame-step applies to --input; a generated world draws its own motion"
    let crop = r.TryGetResult TrackArgs.Crop |> Option.map cropOf
    if crop.IsSome && not (r.Contains TrackArgs.Input) then usage "--crop applies to --input; a generated world is already the model's square"
    if r.Contains TrackArgs.Live && not (r.Contains TrackArgs.Input) then usage "--live joins tiles of --input; a generated world is the model's square, one tile"
    if r.Contains TrackArgs.Live && r.Contains TrackArgs.Backfill then usage "--live tracks as a live stream, which cannot go back; --backfill plays each sequence backwards once it has ended"
    if r.Contains TrackArgs.Realtime && r.Contains TrackArgs.Backfill then usage "--realtime drops frames to keep up; --backfill needs every frame of a sequence"
    if r.Contains TrackArgs.Realtime && not (r.Contains TrackArgs.Input) then usage "--realtime keeps up with --input's frames as they come; a generated world waits for the tracker"
    if r.Contains TrackArgs.Realtime && runtime = "torchsharp" then usage "--realtime drops frames on ONNX Runtime: give --runtime onnx (or an exported model)"
    match crop with
    | Some c when r.Contains TrackArgs.Live && not c.IsTiles -> usage "--live joins tiles: give --crop tiles:S[:O]"
    | _ -> ()
    let resamples, bootstrapSeed = bootstrapOf (r.TryGetResult TrackArgs.Resamples) (r.TryGetResult TrackArgs.Bootstrap_Seed) "--bootstrap-seed"
    Track
        { Model = r.TryGetResult TrackArgs.Model |> Option.toObj
          Input = r.TryGetResult TrackArgs.Input |> Option.toObj
          Out = r.GetResult TrackArgs.Out
          World = { namedWorld (r.TryGetResult TrackArgs.Kind) (r.TryGetResult TrackArgs.Density) (r.TryGetResult TrackArgs.Background) with Length = length }
          Sequences = sequences
          Seed = uint64 (r.GetResult(TrackArgs.Seed, 1000001L))
          Latents = r.Contains TrackArgs.Latents
          Pictures = not (r.Contains TrackArgs.No_Pictures)
          MinPresence = float32 minPres
          MinVisibleShare = minVisibleOf (r.TryGetResult TrackArgs.Min_Visible)
          Threads = threadsOf (r.TryGetResult TrackArgs.Threads)
          MnistDir = r.TryGetResult TrackArgs.Mnist_Dir |> Option.toObj
          Runtime = runtime
          Provider =
            (match r.GetResult(TrackArgs.Provider, ProviderArg.Auto) with
             | ProviderArg.Cpu -> "cpu" | ProviderArg.Cuda -> "cuda" | ProviderArg.Directml -> "directml" | _ -> "auto")
          Capacity = capacityOf (r.TryGetResult TrackArgs.Capacity)
          MaskBoxes = r.GetResult(TrackArgs.Boxes, BoxesArg.Mask) = BoxesArg.Mask
          DuplicateShare = duplicateShareOf (r.TryGetResult TrackArgs.Rejection) (r.TryGetResult TrackArgs.Duplicate_Share)
          ExplainedShare = explainedShareOf (r.TryGetResult TrackArgs.Explained_Share)
          Converged = convergedOf (r.TryGetResult TrackArgs.Converged)
          Backfill = r.Contains TrackArgs.Backfill
          Live = r.Contains TrackArgs.Live
          Realtime = r.Contains TrackArgs.Realtime
          Mse = r.Contains TrackArgs.Mse
          FrameStep = frameStep
          Crop = crop
          IntervalMethod = intervalMethodOf (r.TryGetResult TrackArgs.Interval)
          Resamples = resamples
          BootstrapSeed = bootstrapSeed }

let private generateCommand (r: ParseResults<GenerateArgs>) =
    let observe = r.GetResult(GenerateArgs.Observe, 5)
    let steps = r.GetResult(GenerateArgs.Steps, 5)
    let samples = r.GetResult(GenerateArgs.Samples, 1)
    let p = r.GetResult(GenerateArgs.Discovery, 0.0)
    if observe < 1 then usage "--observe must be at least 1"
    if steps < 1 then usage "--steps must be at least 1"
    if samples < 1 || samples > 100 then usage "--samples must be between 1 and 100"
    if p < 0.0 || p >= 1.0 then usage "--discovery must be a probability in [0, 1)"
    let mostLikely = r.Contains GenerateArgs.Most_Likely
    if mostLikely && r.Contains GenerateArgs.From_Scratch then usage "--most-likely imagines the future of an observed past; it does not combine with --from-scratch"
    if mostLikely && samples > 1 && p = 0.0 then usage "--most-likely with discovery off has one future; --samples must be 1"
    // 0: not given, so as the model records (`Train.recordedFrameStep`).
    let frameStep = r.TryGetResult GenerateArgs.Frame_Step |> Option.defaultValue 0
    if r.Contains GenerateArgs.Frame_Step && frameStep < 1 then usage "--frame-step must be at least 1"
    if frameStep > 1 && not (r.Contains GenerateArgs.Input) then usage "--frame-step applies to --input; a generated world draws its own motion"
    let crop = r.TryGetResult GenerateArgs.Crop |> Option.map (oneWindowOf "generate")
    if crop.IsSome && not (r.Contains GenerateArgs.Input) then usage "--crop applies to --input; a generated world is already the model's square"
    let world = [ r.Contains GenerateArgs.Kind; r.Contains GenerateArgs.Density; r.Contains GenerateArgs.Background; r.Contains GenerateArgs.Mnist_Dir ]
    if List.contains true world && r.Contains GenerateArgs.Input then usage "--kind, --density, --background and --mnist-dir describe the generated world observed without --input"
    if List.contains true world && r.Contains GenerateArgs.From_Scratch then usage "--kind, --density, --background and --mnist-dir describe a world to observe; --from-scratch observes none"
    Generate
        { Model = r.TryGetResult GenerateArgs.Model |> Option.toObj
          Input = r.TryGetResult GenerateArgs.Input |> Option.toObj
          Observe = observe; Steps = steps; Out = r.GetResult GenerateArgs.Out
          FromScratch = r.Contains GenerateArgs.From_Scratch; Samples = samples; Discovery = p
          MostLikely = mostLikely; Seed = uint64 (r.GetResult(GenerateArgs.Seed, 1000001L))
          DuplicateShare = duplicateShareOf (r.TryGetResult GenerateArgs.Rejection) (r.TryGetResult GenerateArgs.Duplicate_Share)
          ExplainedShare = explainedShareOf (r.TryGetResult GenerateArgs.Explained_Share)
          Threads = threadsOf (r.TryGetResult GenerateArgs.Threads)
          MaskBoxes = r.GetResult(GenerateArgs.Boxes, BoxesArg.Mask) = BoxesArg.Mask
          FrameStep = frameStep
          Crop = crop
          World = namedWorld (r.TryGetResult GenerateArgs.Kind) (r.TryGetResult GenerateArgs.Density) (r.TryGetResult GenerateArgs.Background)
          MnistDir = r.TryGetResult GenerateArgs.Mnist_Dir |> Option.toObj }

let private evalCommand (r: ParseResults<EvalArgs>) =
    let byIou = r.GetResult(EvalArgs.Match, MatchArg.Distance) = MatchArg.Iou
    let thr = r.GetResult(EvalArgs.Threshold, nan)
    if not (Double.IsNaN thr) then
        if thr <= 0.0 then usage "--threshold must be positive"
        if byIou && thr > 1.0 then usage "--threshold for IoU matching must be in (0, 1]"
    let samples = r.GetResult(EvalArgs.Samples, 16)
    if samples < 1 || samples > 256 then usage "--samples must be between 1 and 256"
    let json = r.TryGetResult EvalArgs.Json |> Option.toObj
    // 0: not given, so as the model records (`Train.recordedFrameStep`).
    let frameStep = r.TryGetResult EvalArgs.Frame_Step |> Option.defaultValue 0
    if r.Contains EvalArgs.Frame_Step && frameStep < 1 then usage "--frame-step must be at least 1"
    let minGt = r.GetResult(EvalArgs.Min_Gt_Visibility, 0.0)
    if not (minGt >= 0.0 && minGt <= 1.0) then usage "--min-gt-visibility must be a share in [0, 1]"
    let resamples, bootstrapSeed = bootstrapOf (r.TryGetResult EvalArgs.Resamples) (r.TryGetResult EvalArgs.Seed) "--seed"
    let baseline = r.TryGetResult EvalArgs.Baseline |> Option.toObj
    let intervalMethod = intervalMethodOf (r.TryGetResult EvalArgs.Interval)
    match r.TryGetResult EvalArgs.Data with
    | Some data ->
        Eval { GtDir = data; PredDir = null; ByIou = byIou; Threshold = thr; JsonFile = json
               Model = r.TryGetResult EvalArgs.Model |> Option.toObj; DataDir = data; Samples = samples
               DuplicateShare = duplicateShareOf (r.TryGetResult EvalArgs.Rejection) (r.TryGetResult EvalArgs.Duplicate_Share)
               ExplainedShare = explainedShareOf (r.TryGetResult EvalArgs.Explained_Share)
               MinVisibleShare = minVisibleOf (r.TryGetResult EvalArgs.Min_Visible)
               Threads = threadsOf (r.TryGetResult EvalArgs.Threads); MinGtVisibility = minGt
               Backfill = r.Contains EvalArgs.Backfill; Converged = convergedOf (r.TryGetResult EvalArgs.Converged); FrameStep = frameStep
               Crops = r.GetResults EvalArgs.Crop |> List.map cropOf
               Baseline = baseline; Resamples = resamples; BootstrapSeed = bootstrapSeed; IntervalMethod = intervalMethod }
    | Option.None ->
        if r.Contains EvalArgs.Backfill then usage "--backfill tracks with the model: it needs --data (evaluate a model on a dataset)"
        if r.Contains EvalArgs.Converged then usage "--converged tracks with the model: it needs --data (evaluate a model on a dataset)"
        if r.Contains EvalArgs.Frame_Step then usage "--frame-step cuts footage into clips: it needs --data"
        if r.Contains EvalArgs.Crop then usage "--crop cuts a window of footage: it needs --data"
        let gt =
            match r.TryGetResult EvalArgs.Gt with
            | Some g -> g
            | Option.None -> usage "eval needs --gt and --pred (score results), or --data (evaluate a model on a dataset)"
        let pred =
            match r.TryGetResult EvalArgs.Pred with
            | Some p -> p
            | Option.None -> usage "eval needs --pred (a folder of <seq>.txt results)"
        Eval { GtDir = gt; PredDir = pred; ByIou = byIou; Threshold = thr; JsonFile = json; Model = null; DataDir = null; Samples = samples
               DuplicateShare = Option.None; ExplainedShare = Option.None; MinVisibleShare = 0.0; Threads = threadsOf Option.None
               MinGtVisibility = minGt; Backfill = false; Converged = Option.None; FrameStep = 1; Crops = []
               Baseline = baseline; Resamples = resamples; BootstrapSeed = bootstrapSeed; IntervalMethod = intervalMethod }

let private benchCommand (r: ParseResults<BenchArgs>) =
    let runs = r.GetResult(BenchArgs.Runs, 5)
    if runs < 1 then usage "--runs must be at least 1"
    let batch = r.GetResult(BenchArgs.Batch, 16)
    if batch < 1 then usage "--batch must be at least 1"
    let threads = threadsOf (r.TryGetResult BenchArgs.Threads)
    let target =
        match r.GetResult BenchArgs.Target with
        | BenchTarget.Data -> "data"
        | Assign -> "assign"
        | BenchTarget.Train -> "train"
        | BenchTarget.Track -> "track"
        | BenchTarget.Png -> "png"
    let cfg = r.GetResults BenchArgs.Set |> List.fold applyOverride { Scalor.Model.Config.toy64 with BatchSize = batch }
    Bench { Config = cfg; Target = target; Batch = batch; Runs = runs; Threads = threads; JsonFile = r.TryGetResult BenchArgs.Json |> Option.toObj
            Model = r.TryGetResult BenchArgs.Model |> Option.toObj }

let private averageCommand (r: ParseResults<AverageArgs>) =
    let from, upTo = r.TryGetResult AverageArgs.From, r.TryGetResult AverageArgs.To
    match from, upTo with
    | Some f, Some t when f > t -> usage "--from must not be after --to"
    | _ -> ()
    Average { Checkpoints = r.GetResult AverageArgs.Checkpoints; Out = r.GetResult AverageArgs.Out; From = from; To = upTo; Like = r.TryGetResult AverageArgs.Like; Only = r.GetResults AverageArgs.Only }

let parser = ArgumentParser.Create<HostArgs>(programName = "scalor-host")

/// Parses `argv`. Never throws for bad input.
let parse (argv: string[]) : Outcome =
    try
        let r = parser.ParseCommandLine(argv, raiseOnUsage = true)
        // The subcommand is required unless --version is asked for (hence no [<RequireSubcommand>]).
        if r.Contains HostArgs.Version then Version else
        if r.TryGetSubCommand().IsNone then UsageError "no command given: data, train, track, generate, eval, bench, export or average" else
        match r.GetSubCommand() with
        | HostArgs.Data d -> Run(dataCommand d)
        | HostArgs.Train t -> Run(trainCommand t)
        | HostArgs.Track t -> Run(trackCommand t)
        | HostArgs.Generate g -> Run(generateCommand g)
        | HostArgs.Eval e -> Run(evalCommand e)
        | HostArgs.Bench b -> Run(benchCommand b)
        | HostArgs.Export e -> Run(exportCommand e)
        | HostArgs.Average a -> Run(averageCommand a)
        | HostArgs.Version -> Version
    with
    | :? ArguParseException as e when e.ErrorCode = ErrorCode.HelpText -> Help e.Message
    | :? ArguParseException as e ->
        let first = (e.Message.Split('\n') |> Array.tryHead |> Option.defaultValue "invalid arguments").TrimEnd()
        // Argu's own "ERROR: …." reads as the other usage errors do: no shouted prefix, no full stop before the hint.
        let line = if first.StartsWith("ERROR: ", StringComparison.Ordinal) then first.Substring 7 else first
        UsageError(line.TrimEnd('.'))
    | Usage msg -> UsageError msg
