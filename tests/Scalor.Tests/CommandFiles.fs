/// What the end-to-end command tests share: a scratch folder, and the boxes `track` and `generate` write.
module Scalor.Tests.CommandFiles

open System.IO
open System.Text.Json
open Expecto

/// `track` of one held-out generated LD sequence (seed 1000001) into `out` with the embedded model, latents and
/// mask boxes on, pictures off: what the command tests vary.
let trackCommand (out: string) : Scalor.Cli.Parse.TrackCommand =
    { Model = null; Input = null; Out = out; World = Scalor.Worlds.World.defaultConfig; Sequences = 1; Seed = 1000001UL
      Latents = true; Pictures = false; MinPresence = 0.5f; MinVisibleShare = Scalor.Model.Track.defaultMinVisibleShare
      Threads = System.Environment.ProcessorCount; MnistDir = null; Runtime = "torchsharp"; Provider = "auto"; Capacity = None
      DuplicateShare = None; ExplainedShare = None; MaskBoxes = true; Converged = Some Scalor.Model.Converged.defaults; Backfill = false; Live = false; Realtime = false; Mse = false; FrameStep = 1; Crop = None
      IntervalMethod = Scalor.Metrics.Bootstrap.defaultMethod; Resamples = Scalor.Metrics.Bootstrap.defaultResamples
      BootstrapSeed = Scalor.Metrics.Bootstrap.defaultSeed }

/// One held-out LD sequence (seed 1000001) of `length` frames in the MOTChallenge layout under `dir`/data: that
/// folder and its sequence's.
let heldOutSequence (dir: string) (length: int) =
    let data = Path.Combine(dir, "data")
    match Scalor.Cli.Parse.parse [| "data"; "--sequences"; "1"; "--length"; string length; "--seed"; "1000001"; "--out"; data |] with
    | Scalor.Cli.Parse.Run(Scalor.Cli.Parse.Data d) -> Expect.equal (Scalor.Host.DataCommand.Run d) 0 "data written"
    | other -> failtestf "unexpected %A" other
    data, Path.Combine(data, "seq-0001")

/// Runs `f` in a fresh temporary folder, deleted afterwards whatever happens.
let inTempDir (prefix: string) (f: string -> unit) =
    let dir = Directory.CreateTempSubdirectory(prefix).FullName
    try f dir finally Directory.Delete(dir, true)

/// The one-line error (a `UserError`) that `run` ends with; the test fails if the command runs.
let refusalOf (run: unit -> int) =
    try
        run () |> ignore
        failtest "the command ran"
    with :? Scalor.Host.UserError as e -> e

/// An object's `box` in a latents file: (left, top, width, height) in pixels.
let latentBox (o: JsonElement) = o.GetProperty("box").EnumerateArray() |> Seq.map (fun v -> v.GetDouble()) |> Array.ofSeq

/// A mask box `b` of a 64×64 frame lies in the frame and is no wider than its glimpse (scale `sx`).
let expectMaskBoxInGlimpse key (b: float[]) (sx: float) =
    Expect.isTrue (b.[0] >= 0.0 && b.[1] >= 0.0 && b.[0] + b.[2] <= 64.0 && b.[1] + b.[3] <= 64.0) (sprintf "%A: %A inside the frame" key b)
    Expect.isLessThanOrEqual b.[2] (64.0 * sx + 0.01) (sprintf "%A: no wider than its glimpse" key)

/// The mean area of (left, top, width, height) boxes.
let meanArea (boxes: seq<float[]>) = boxes |> Seq.averageBy (fun b -> b.[2] * b.[3])
