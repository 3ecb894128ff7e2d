/// Every hyper-parameter of SCALOR in one immutable record. Sources: [S] the official code
/// (JindongJiang/SCALOR @ 8d116c0, `common.py`/`parse.py`), [P] the paper (ICLR 2020, appendix E).
module Scalor.Model.Config

type ScalorConfig =
    { /// Side of the square input frames. [S] 128 (GCS); 64 in its 64-px branch and for the toy tasks [P].
      ImageSize: int
      /// Discovery grid G×G. [S] 8.
      GridSize: int
      /// Side of the object glimpse. [S] 32 for 64-px images, 64 for 128-px.
      GlimpseSize: int
      /// z_what dimensions. [S] 64.
      ZWhatDim: int
      /// Background latent dimensions. [S] 10.
      BgDim: int
      /// Channels of the encoded image grid (= ConvLSTM hidden). [S] 64.
      ImgEncodeDim: int
      /// Run a 2-layer ConvLSTM over the sequence of encoded frames. [S] True.
      ConvLstm: bool
      /// Scale anchor (fraction of the image side) and its half-range: scale = anchor + var·tanh(·).
      /// [S] 0.1 ± 0.03 (GCS pedestrians). [P] toy: 0.5×–1.5× the object size, prior in the middle.
      SizeAnchor: float
      SizeVar: float
      /// Aspect-ratio anchor and half-range (sy/sx = ratio). [S] 2.5 ± 0.5; square toy objects: 1 ± 0.2.
      RatioAnchor: float
      RatioVar: float
      /// Propagated position step: t = t_prev + scale·tanh(·). [S] 0.2.
      WhereUpdateScale: float
      /// z_pres logits are bounded as factor·tanh(·). [S] 8.8.
      PresLogitFactor: float
      /// Rejection: a proposal is rejected when at least this share of its mask is explained by propagated
      /// objects. [S] 0.3.
      RejectionThreshold: float
      /// Pixels of a proposal's alpha above this form its mask. [S] 0.3.
      ProposalAlphaThreshold: float
      /// Pixels of the propagated alpha sum above this count as explained. [S] 0.1.
      PropagatedAlphaThreshold: float
      /// A discovered object enters the object list if its relaxed z_pres exceeds this. [S] 0.7.
      DiscoveryKeepThreshold: float
      /// A propagated object is dropped once its accumulated absence reaches this. [S] 0.6.
      StopThreshold: float
      /// Training cap on tracked objects (discoveries beyond it are zeroed). [S] 45.
      MaxObjects: int
      /// Object slot capacity at inference (the VHD preset shows about 100 objects).
      Capacity: int
      /// Likelihood std. [S] 0.1; [P] toy 0.2.
      Sigma: float
      /// RMSprop learning rate. [S] 4e-5; [P] toy 5e-4.
      LearningRate: float
      /// Linear learning-rate warm-up steps. [S] none (0). RMSprop's running average starts at 0, so its first
      /// updates are about 10× the learning rate; at the toy rate (5e-4) that drives every presence logit to
      /// its −8.8 bound within 4 steps, where tanh has no gradient left, and discovery never recovers.
      WarmupSteps: int
      /// Recompute the glimpse decoder's activations in backward instead of keeping them (less memory, one
      /// more decoder forward per step). Not in [S]; identical values and gradients.
      RecomputeDecoder: bool
      /// Sequences per forward/backward pass within a training step; the gradients of the passes are
      /// accumulated (each weighted by its share of the batch) before the one optimizer step, so the step
      /// follows the same batch-mean gradient with a fraction of the activation memory. 0: the whole batch
      /// in one pass, as [S]. Not in [S]; same gradients (tested). Sampling noise is drawn per pass, so a
      /// micro-batched run is its own deterministic stream.
      MicroBatch: int
      /// Total gradient L2 norm clip. [S] 1.0.
      ClipNorm: float
      /// Relaxed-Bernoulli temperature: 1 → TauEnd exponentially over TauSteps. [S] 0.5, 2e4; [P] 0.3, 2e4.
      TauEnd: float
      TauSteps: int
      /// Discovery z_pres prior: linear from PresPriorStart to PresPriorEnd over PresPriorSteps.
      /// [S] 0.1 → 1e-3 over 500; [P] toy → 1e-4.
      PresPriorStart: float
      PresPriorEnd: float
      PresPriorSteps: int
      /// Carried object state is detached between frames until this step (truncated BPTT). [S] 30000.
      DetachSteps: int
      /// Steps of the background-alpha curriculum ([S] `phase_bg_alpha_curriculum`, its README's remedy for
      /// "foreground not working"): α_fg is held at BgAlphaCurriculumValue, so the background gets little
      /// reconstruction signal and the foreground must explain the frame. [S] off (0), 200 when on.
      BgAlphaCurriculumSteps: int
      BgAlphaCurriculumValue: float
      /// The background decoder: false, the sub-pixel decoder; true, the weaker spatial-broadcast decoder ([S]
      /// `using_bg_sbd`, another of its README's remedies for "foreground not working"): z_bg tiled over the frame
      /// beside two coordinate channels, two 5×5 convolutions (three at 128 px), then 3×3 to RGB. It draws smooth
      /// images well and small sharp things badly, so objects are left to the foreground. [S] off.
      BgSpatialBroadcast: bool
      /// Frames per training sequence. [S] 10.
      SeqLength: int
      /// Batch size. [S] 20; [P] toy 16.
      BatchSize: int }

    member c.Cells = c.GridSize * c.GridSize
    /// Hidden sizes fixed by [S] (`common.py`).
    member _.TemporalRnnHid = 128
    member _.PriorRnnHid = 64
    member _.PropagateEncodeDim = 32
    member _.TemporalImgEncDim = 128

/// The official code's 64-pixel branch with its default (GCS) anchors: the settings of the parity fixtures.
let official64 =
    { ImageSize = 64; GridSize = 8; GlimpseSize = 32; ZWhatDim = 64; BgDim = 10; ImgEncodeDim = 64; ConvLstm = true
      SizeAnchor = 0.1; SizeVar = 0.03; RatioAnchor = 2.5; RatioVar = 0.5
      WhereUpdateScale = 0.2; PresLogitFactor = 8.8
      RejectionThreshold = 0.3; ProposalAlphaThreshold = 0.3; PropagatedAlphaThreshold = 0.1
      DiscoveryKeepThreshold = 0.7; StopThreshold = 0.6; MaxObjects = 45; Capacity = 128
      Sigma = 0.1; LearningRate = 4e-5; WarmupSteps = 0; RecomputeDecoder = false; MicroBatch = 0; ClipNorm = 1.0; TauEnd = 0.5; TauSteps = 20000
      PresPriorStart = 0.1; PresPriorEnd = 1e-3; PresPriorSteps = 500; DetachSteps = 30000
      BgAlphaCurriculumSteps = 0; BgAlphaCurriculumValue = 0.9; BgSpatialBroadcast = false
      SeqLength = 10; BatchSize = 20 }

/// The paper's synthetic-task settings ([P] appendix E) at the official 64-px branch's sizes. Anchors: the
/// LD world's objects are 10 px (8–12 with jitter), so scale ∈ 0.5×–1.5× of 10/64 with the prior in the
/// middle; objects are square, so the ratio varies little. Capacity 128 covers VHD.
let toy64 =
    { official64 with
        SizeAnchor = 10.0 / 64.0; SizeVar = 0.5 * 10.0 / 64.0; RatioAnchor = 1.0; RatioVar = 0.2
        Sigma = 0.2; LearningRate = 5e-4; TauEnd = 0.3; PresPriorEnd = 1e-4; BatchSize = 16
        BgAlphaCurriculumSteps = 0; WarmupSteps = 500
        // Two passes of 8: the batch-16 step at half the peak memory (10.6 → 5.4 GB) and, on 2 CPU cores,
        // no slower (`bench train`, docs/model.md).
        MicroBatch = 8 }

/// The official code's defaults for 128-px natural scenes (Grand Central Station): glimpse 64.
let natural128 = { official64 with ImageSize = 128; GlimpseSize = 64 }

let presets = [ "toy64", toy64; "natural128", natural128; "official64", official64 ]

/// Anchors fitted to a world's object size: 0.5×–1.5× of `objectPx` in a `imagePx` frame.
let withObjectSize (objectPx: float) (c: ScalorConfig) =
    let s = objectPx / float c.ImageSize
    { c with SizeAnchor = s; SizeVar = 0.5 * s }
