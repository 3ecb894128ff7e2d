/// CLEAR MOT (Bernardin & Stiefelhagen 2008) exactly as TrackEval's `clear.py`, quirks included:
/// a continuation bonus of 1000 for the pair matched at the previous timestep; frames where either side is
/// empty skip the state update (so they are transparent to the bonus and to Frag); MT > 0.8 strictly.
module Scalor.Metrics.Clear

open Scalor.Metrics.Sequence

let private eps = Scalor.Metrics.Geometry.eps

/// Additive counts; sequences combine by summing them.
type Counts =
    { TP: int
      FN: int
      FP: int
      IDSW: int
      MT: int
      PT: int
      ML: int
      Frag: int
      /// Σ similarity of matched pairs (TrackEval MOTP numerator).
      SimSum: float
      /// Σ distance of matched pairs (py-motmetrics MOTP numerator).
      DistSum: float
      Frames: int
      /// TrackEval returns early, without final fields, when one side has no detections at all.
      Early: bool }

let zero = { TP = 0; FN = 0; FP = 0; IDSW = 0; MT = 0; PT = 0; ML = 0; Frag = 0; SimSum = 0.0; DistSum = 0.0; Frames = 0; Early = false }

let add a b =
    { TP = a.TP + b.TP; FN = a.FN + b.FN; FP = a.FP + b.FP; IDSW = a.IDSW + b.IDSW
      MT = a.MT + b.MT; PT = a.PT + b.PT; ML = a.ML + b.ML; Frag = a.Frag + b.Frag
      SimSum = a.SimSum + b.SimSum; DistSum = a.DistSum + b.DistSum; Frames = a.Frames + b.Frames; Early = false }

type Metrics =
    { Mota: float
      Moda: float
      /// Mean similarity of true positives (TrackEval MOTP; higher is better).
      MotpSim: float
      /// Mean distance of true positives (py-motmetrics MOTP; lower is better).
      MotpDist: float
      Recall: float
      Precision: float
      Mtr: float
      Ptr: float
      Mlr: float
      Smota: float }

/// `threshold`: minimum similarity of a true positive (0.5). `maxSwitchTime`: a changed tracker id counts
/// as a switch only if the object was last matched at most this many frames ago (py-motmetrics option;
/// TrackEval has none, so the default is infinity). Also returns each frame's matches as (gt index, tracker
/// index) pairs into that frame's `GtIds` and `TrackerIds`, for `Errors.classify`.
let evaluateMatched (threshold: float) (maxSwitchTime: float) (data: SequenceData) : Counts * (int * int)[][] =
    let gtDets, trDets = data.NumGtDets, data.NumTrackerDets
    let frames = data.Frames.Length
    let matchesOf = Array.create frames [||]
    if trDets = 0 then { zero with FN = gtDets; ML = data.NumGtIds; Frames = frames; Early = true }, matchesOf
    elif gtDets = 0 then { zero with FP = trDets; Frames = frames; Early = true }, matchesOf
    else
        let n = data.NumGtIds
        let idCount = Array.zeroCreate<int> n
        let matchedCount = Array.zeroCreate<int> n
        let fragCount = Array.zeroCreate<int> n
        let prevTracker = Array.create n -1 // last matched tracker at any earlier time (for IDSW)
        let prevMatchFrame = Array.create n -1
        let prevStep = Array.create n -1 // tracker matched at the previous (non-skipped) timestep
        let mutable c = { zero with Frames = frames }
        for t in 0 .. frames - 1 do
            let f = data.Frames.[t]
            let ng, nt = f.GtIds.Length, f.TrackerIds.Length
            if ng = 0 then c <- { c with FP = c.FP + nt }
            elif nt = 0 then
                c <- { c with FN = c.FN + ng }
                for g in f.GtIds do idCount.[g] <- idCount.[g] + 1
            else
                let score =
                    Array2D.init ng nt (fun i j ->
                        let sim = f.Similarity.[i, j]
                        if sim < threshold - eps then 0.0
                        else (if prevStep.[f.GtIds.[i]] = f.TrackerIds.[j] then 1000.0 else 0.0) + sim)
                let matches = Assignment.maximise score |> Array.filter (fun (i, j) -> score.[i, j] > eps)
                matchesOf.[t] <- matches
                let mutable idsw = 0
                for (i, j) in matches do
                    let g, tr = f.GtIds.[i], f.TrackerIds.[j]
                    if prevTracker.[g] >= 0 && prevTracker.[g] <> tr && float (t - prevMatchFrame.[g]) <= maxSwitchTime then
                        idsw <- idsw + 1
                for g in f.GtIds do idCount.[g] <- idCount.[g] + 1
                let notPrev = Array.init n (fun g -> prevStep.[g] < 0)
                System.Array.Fill(prevStep, -1)
                let mutable simSum, distSum = 0.0, 0.0
                for (i, j) in matches do
                    let g, tr = f.GtIds.[i], f.TrackerIds.[j]
                    matchedCount.[g] <- matchedCount.[g] + 1
                    prevTracker.[g] <- tr
                    prevMatchFrame.[g] <- t
                    prevStep.[g] <- tr
                    simSum <- simSum + f.Similarity.[i, j]
                    distSum <- distSum + f.Distance.[i, j]
                for g in 0 .. n - 1 do
                    if notPrev.[g] && prevStep.[g] >= 0 then fragCount.[g] <- fragCount.[g] + 1
                let k = matches.Length
                c <- { c with TP = c.TP + k; FN = c.FN + ng - k; FP = c.FP + nt - k; IDSW = c.IDSW + idsw
                              SimSum = c.SimSum + simSum; DistSum = c.DistSum + distSum }
        let ratios = [| for g in 0 .. n - 1 do if idCount.[g] > 0 then yield float matchedCount.[g] / float idCount.[g] |]
        let mt = ratios |> Array.filter (fun r -> r > 0.8) |> Array.length
        let pt = (ratios |> Array.filter (fun r -> r >= 0.2) |> Array.length) - mt
        let frag = fragCount |> Array.sumBy (fun x -> if x > 0 then x - 1 else 0)
        { c with MT = mt; PT = pt; ML = n - mt - pt; Frag = frag }, matchesOf

let evaluate (threshold: float) (maxSwitchTime: float) (data: SequenceData) : Counts =
    evaluateMatched threshold maxSwitchTime data |> fst

let private safe (x: float) = max 1.0 x

/// Final fields. Per sequence, an early return leaves them at zero (TrackEval: MOTA stays 0, MLR = 1);
/// combined counts (Early = false) always get the formulas.
let metrics (c: Counts) : Metrics =
    if c.Early then
        { Mota = 0.0; Moda = 0.0; MotpSim = 0.0; MotpDist = 0.0; Recall = 0.0; Precision = 0.0
          Mtr = 0.0; Ptr = 0.0; Mlr = 1.0; Smota = 0.0 }
    else
        let tp, fn, fp, idsw = float c.TP, float c.FN, float c.FP, float c.IDSW
        let ids = float (c.MT + c.PT + c.ML)
        { Mota = (tp - fp - idsw) / safe (tp + fn)
          Moda = (tp - fp) / safe (tp + fn)
          MotpSim = c.SimSum / safe tp
          MotpDist = (if c.TP = 0 then nan else c.DistSum / tp)
          Recall = tp / safe (tp + fn)
          Precision = tp / safe (tp + fp)
          Mtr = float c.MT / safe ids
          Ptr = float c.PT / safe ids
          Mlr = float c.ML / safe ids
          Smota = (c.SimSum - fp - idsw) / safe (tp + fn) }
