/// `scalor-host eval --data` end to end with the embedded model: its tracking, kept in memory, scores as
/// `track` and then `eval --gt --pred` on the files do.
module Scalor.Tests.EvalCommand

open System
open System.IO
open System.Text.Json
open Expecto
open Scalor.Cli
open Scalor.Host
open Scalor.Tests.CommandFiles

let private evalCommand gt pred data json : Parse.EvalCommand =
    { GtDir = gt; PredDir = pred; ByIou = false; Threshold = nan; JsonFile = json; Model = null; DataDir = data; Samples = 2
      DuplicateShare = None; ExplainedShare = None; MinVisibleShare = Scalor.Model.Track.defaultMinVisibleShare
      Threads = Environment.ProcessorCount; MinGtVisibility = 0.0; Backfill = false; Converged = Some Scalor.Model.Converged.defaults; FrameStep = 1; Crops = []
      Baseline = null; Resamples = 2000; BootstrapSeed = 1UL; IntervalMethod = Scalor.Metrics.Bootstrap.Bca }

[<Tests>]
let tests =
    testSequenced <| testList "EvalCommand" [
        testCase "eval --data scores its in-memory tracking as eval --gt --pred scores track's files, and adds the likelihood" <| fun () ->
            inTempDir "scalor-eval" <| fun dir ->
                let data = Path.Combine(dir, "data")
                let world = { Scalor.Worlds.World.defaultConfig with Length = 6 }
                let dataCmd : Parse.DataCommand =
                    { World = world; Sequences = 1; Seed = 1000001UL; Out = data; Split = "test"; MnistDir = null; WriteImages = true }
                Expect.equal (DataCommand.Run dataCmd) 0 "data succeeds"
                let tracked = Path.Combine(dir, "track")
                Expect.equal (TrackCommand.Run { trackCommand tracked with Input = data; Latents = false }) 0 "track succeeds"
                let files, memory = Path.Combine(dir, "files.json"), Path.Combine(dir, "memory.json")
                Expect.equal (EvalCommand.Run(evalCommand data (Path.Combine(tracked, "results")) null files)) 0 "eval --gt --pred succeeds"
                Expect.equal (EvalCommand.Run { evalCommand null null data memory with Baseline = Path.Combine(tracked, "results") }) 0 "eval --data succeeds"
                use a = JsonDocument.Parse(File.ReadAllText files)
                use b = JsonDocument.Parse(File.ReadAllText memory)
                let num (d: JsonDocument) (k: string) = d.RootElement.GetProperty(k).GetDouble()
                Expect.isGreaterThan (num a "num_pred") 12.0 "the default model tracks the LD objects"
                for k in [ "mota"; "idf1"; "hota"; "motp_dist"; "num_pred"; "tp"; "fp"; "fn"; "idsw"; "count_mae" ] do
                    Expect.floatClose Accuracy.veryHigh (num b k) (num a k) (sprintf "%s: in memory as from the files" k)
                Expect.equal (b.RootElement.GetProperty("sequences").GetProperty("seq-0001").GetProperty("mota").GetDouble()) (num a "mota")
                    "per-sequence keys, as eval --gt --pred writes them"
                Expect.isFalse (Directory.Exists(Path.Combine(data, "results"))) "eval --data writes no results beside the data"
                // Against track's files as the baseline: the same tracking, so no difference (one sequence: no interval).
                let baseline = b.RootElement.GetProperty "baseline"
                for k in [ "mota_difference"; "idf1_difference"; "hota_difference" ] do
                    Expect.equal (baseline.GetProperty(k).GetDouble()) 0.0 (sprintf "%s against the same tracking" k)
                Expect.isFalse (baseline.TryGetProperty("mota_difference_interval") |> fst) "one sequence is not resampled"
                // Windows of data with ground truth are track's to score: the error names the command that does.
                for crop, named in [ Scalor.IO.Crop.Centre, "--crop centre'"; Scalor.IO.Crop.Tiles(48, 0), "--crop tiles:48'" ] do
                    let e = try EvalCommand.Run { evalCommand null null data memory with Crops = [ crop ] } |> ignore; "" with :? UserError as x -> x.Message
                    Expect.stringContains e (sprintf "'track --input %s %s" data named) (sprintf "%A: a command track takes" crop)
                let mse, elbo, iw = num b "mse", num b "nll_elbo", num b "nll_iw"
                Expect.isTrue (mse > 0.0 && mse < 0.01) (sprintf "reconstruction MSE %g of a trained model" mse)
                Expect.isTrue (Double.IsFinite elbo && Double.IsFinite iw) "finite NLL estimates"
                // log-mean-exp of the importance weights is at least their mean (Jensen); within float error.
                Expect.isLessThanOrEqual iw (num b "nll_elbo" + 0.05) "the importance-weighted bound is no looser than the ELBO's"

        testCase "eval gives 95% intervals over sequences, and a paired comparison with --baseline" <| fun () ->
            inTempDir "scalor-eval-intervals" <| fun dir ->
                // 12 one-frame sequences of four objects: the tracker finds all four in the even ones and two in the odd
                // (pooled MOTA 0.75); the baseline finds all four everywhere.
                let gt, mine, best = Path.Combine(dir, "gt"), Path.Combine(dir, "mine"), Path.Combine(dir, "best")
                let line i = sprintf "1,%d,%d,0,4,4" i (20 * i)
                for d in [ mine; best ] do Directory.CreateDirectory d |> ignore
                for k in 0 .. 11 do
                    let name = sprintf "seq-%02d" k
                    Directory.CreateDirectory(Path.Combine(gt, name, "gt")) |> ignore
                    File.WriteAllText(Path.Combine(gt, name, "seqinfo.ini"), sprintf "[Sequence]\nname=%s\nseqLength=1\nobjectSize=2\n" name)
                    File.WriteAllLines(Path.Combine(gt, name, "gt", "gt.txt"), [ for i in 1 .. 4 -> line i + ",1,1,1" ])
                    File.WriteAllLines(Path.Combine(mine, name + ".txt"), [ for i in 1 .. (if k % 2 = 0 then 4 else 2) -> line i + ",1,-1,-1,-1" ])
                    File.WriteAllLines(Path.Combine(best, name + ".txt"), [ for i in 1 .. 4 -> line i + ",1,-1,-1,-1" ])
                let json = Path.Combine(dir, "eval.json")
                Expect.equal (EvalCommand.Run { evalCommand gt mine null json with Baseline = best }) 0 "eval succeeds"
                use d = JsonDocument.Parse(File.ReadAllText json)
                let pair (e: JsonElement) = e.[0].GetDouble(), e.[1].GetDouble()
                Expect.equal (d.RootElement.GetProperty("mota").GetDouble()) 0.75 "pooled"
                let lo, hi = pair (d.RootElement.GetProperty "mota_interval")
                Expect.isTrue (0.5 < lo && lo < 0.75 && 0.75 < hi && hi < 1.0) (sprintf "MOTA interval %g–%g around 0.75, inside the sequences' 0.5 and 1" lo hi)
                Expect.isTrue (d.RootElement.TryGetProperty("hota_interval") |> fst) "HOTA's too"
                Expect.equal (d.RootElement.GetProperty("interval").GetProperty("sequences").GetInt32()) 12 "how it was drawn"
                Expect.equal (d.RootElement.GetProperty("interval").GetProperty("method").GetString()) "bca" "and read"
                let b = d.RootElement.GetProperty "baseline"
                Expect.equal (b.GetProperty("mota").GetDouble(), b.GetProperty("mota_difference").GetDouble()) (1.0, -0.25) "the baseline's score and the difference"
                let dlo, dhi = pair (b.GetProperty "mota_difference_interval")
                Expect.isTrue (dlo < -0.25 && -0.25 < dhi && dhi < 0.0) (sprintf "every resample is worse than the baseline: %g to %g" dlo dhi)
                // Against itself: no difference in any resample.
                let self = Path.Combine(dir, "self.json")
                Expect.equal (EvalCommand.Run { evalCommand gt mine null self with Baseline = mine }) 0 "eval against itself"
                use s = JsonDocument.Parse(File.ReadAllText self)
                Expect.equal (pair (s.RootElement.GetProperty("baseline").GetProperty "idf1_difference_interval")) (0.0, 0.0) "no difference"
                let plain = Path.Combine(dir, "plain.json")
                Expect.equal (EvalCommand.Run { evalCommand gt mine null plain with Baseline = best; Resamples = 0 }) 0 "eval without resampling"
                use p = JsonDocument.Parse(File.ReadAllText plain)
                let pb = p.RootElement.GetProperty "baseline"
                Expect.equal (pb.GetProperty("mota_difference").GetDouble()) -0.25 "--resamples 0: the difference alone"
                Expect.isFalse (pb.TryGetProperty("mota_difference_interval") |> fst || p.RootElement.TryGetProperty("mota_interval") |> fst) "and no interval"
                // A baseline of other sequences is refused by name; too few sequences give no interval.
                File.Delete(Path.Combine(best, "seq-11.txt"))
                Expect.stringContains (refusalOf (fun () -> EvalCommand.Run { evalCommand gt mine null null with Baseline = best })).Message "seq-11" "names the missing file"
                for k in 3 .. 11 do Directory.Delete(Path.Combine(gt, sprintf "seq-%02d" k), true)
                let few = Path.Combine(dir, "few.json")
                Expect.equal (EvalCommand.Run(evalCommand gt mine null few)) 0 "eval of three sequences"
                use f = JsonDocument.Parse(File.ReadAllText few)
                Expect.isFalse (f.RootElement.TryGetProperty("mota_interval") |> fst) "three sequences are too few to resample"

        testCase "eval --data on footage without ground truth scores the likelihood of its clips: k per block of 10·k frames" <| fun () ->
            inTempDir "scalor-eval-footage" <| fun dir ->
                // 25 frames of a square moving right: with k = 2, one block of 20 frames (two clips: its even and its odd
                // frames); the last 5 frames are left out.
                let frames = Path.Combine(dir, "frames")
                Directory.CreateDirectory frames |> ignore
                for t in 0 .. 24 do
                    let img = Rgb(64, 64)
                    for y in 20 .. 29 do
                        for x in t .. t + 9 do
                            for c in 0 .. 2 do img.Pixels.[(y * 64 + x) * 3 + c] <- 230uy
                    img.SavePng(Path.Combine(frames, sprintf "%06d.png" t))
                let json = Path.Combine(dir, "k2.json")
                Expect.equal (EvalCommand.Run { evalCommand null null frames json with FrameStep = 2 }) 0 "eval succeeds"
                use d = JsonDocument.Parse(File.ReadAllText json)
                let num (k: string) = d.RootElement.GetProperty(k).GetDouble()
                Expect.equal (num "clips", num "clip_length", num "frame_step") (2.0, 10.0, 2.0) "two clips of 10 frames 2 apart"
                Expect.isTrue (num "mse" > 0.0 && num "mse" < 0.01) (sprintf "the default model reconstructs a moving square (MSE %g)" (num "mse"))
                Expect.isTrue (Double.IsFinite(num "nll_elbo") && num "nll_iw" <= num "nll_elbo" + 0.05) "finite NLL estimates, the importance-weighted one no looser"
                Expect.isFalse (d.RootElement.TryGetProperty("mota") |> fst) "no tracking scores without ground truth"
                let noTruth = refusalOf (fun () -> EvalCommand.Run { evalCommand null null frames null with FrameStep = 2; Baseline = dir })
                Expect.stringContains noTruth.Message "no ground truth" "nothing to compare two trackers on"
                let tooFew = refusalOf (fun () -> EvalCommand.Run { evalCommand null null frames null with FrameStep = 3 })
                Expect.stringContains tooFew.Message "30 frames" "a block of 10 frames 3 apart spans 30 of the 25"
                let windows = [ "32:32:0:16"; "32:32:32:16" ] |> List.map (fun w -> match Scalor.IO.Crop.parse w with Ok c -> c | Error e -> failtest e)
                let cropped = Path.Combine(dir, "cropped.json")
                Expect.equal (EvalCommand.Run { evalCommand null null frames cropped with FrameStep = 2; Crops = windows }) 0 "eval of two windows succeeds"
                use c = JsonDocument.Parse(File.ReadAllText cropped)
                Expect.equal (c.RootElement.GetProperty("clips").GetDouble()) 4.0 "each window is footage of its own: two clips each"
                Expect.notEqual (c.RootElement.GetProperty("mse").GetDouble()) (num "mse") "the windows, not the whole frames"
    ]
