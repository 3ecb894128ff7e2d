/// HOTA (Luiten et al., IJCV 2021) as TrackEval's `hota.py`: a soft global alignment score per id pair,
/// per-frame Hungarian on alignment × similarity, then detection and association accuracy at 19
/// localisation thresholds α = 0.05 … 0.95, averaged.
module Scalor.Metrics.Hota

open Scalor.Metrics.Sequence

let private eps = Scalor.Metrics.Geometry.eps

let alphas = Array.init 19 (fun i -> 0.05 * float (i + 1))

/// Per-α accumulators. Sequences combine by summing TP/FN/FP and averaging the association and
/// localisation terms weighted by TP.
type Counts =
    { TP: float[]
      FN: float[]
      FP: float[]
      AssA: float[]
      AssRe: float[]
      AssPr: float[]
      LocA: float[] }

type Metrics =
    { Hota: float
      DetA: float
      AssA: float
      DetRe: float
      DetPr: float
      AssRe: float
      AssPr: float
      LocA: float
      /// HOTA and LocA at α = 0.05.
      Hota0: float
      LocA0: float }

let private zeros () = Array.zeroCreate<float> alphas.Length

let evaluate (data: SequenceData) : Counts =
    let na = alphas.Length
    let gtDets, trDets = data.NumGtDets, data.NumTrackerDets
    if trDets = 0 then
        { TP = zeros (); FN = Array.create na (float gtDets); FP = zeros (); AssA = zeros (); AssRe = zeros (); AssPr = zeros (); LocA = Array.create na 1.0 }
    elif gtDets = 0 then
        { TP = zeros (); FN = zeros (); FP = Array.create na (float trDets); AssA = zeros (); AssRe = zeros (); AssPr = zeros (); LocA = Array.create na 1.0 }
    else
        let ng, nt = data.NumGtIds, data.NumTrackerIds
        let potential = Array2D.zeroCreate<float> ng nt
        let gtCount = Array.zeroCreate<float> ng
        let trCount = Array.zeroCreate<float> nt
        for f in data.Frames do
            let rows, cols = f.GtIds.Length, f.TrackerIds.Length
            let rowSum = Array.init rows (fun i -> Seq.sum (seq { for j in 0 .. cols - 1 -> f.Similarity.[i, j] }))
            let colSum = Array.init cols (fun j -> Seq.sum (seq { for i in 0 .. rows - 1 -> f.Similarity.[i, j] }))
            for i in 0 .. rows - 1 do
                for j in 0 .. cols - 1 do
                    let s = f.Similarity.[i, j]
                    let denom = rowSum.[i] + colSum.[j] - s
                    if denom > eps then
                        potential.[f.GtIds.[i], f.TrackerIds.[j]] <- potential.[f.GtIds.[i], f.TrackerIds.[j]] + s / denom
            for g in f.GtIds do gtCount.[g] <- gtCount.[g] + 1.0
            for tr in f.TrackerIds do trCount.[tr] <- trCount.[tr] + 1.0
        let alignment = Array2D.init ng nt (fun g tr -> potential.[g, tr] / (gtCount.[g] + trCount.[tr] - potential.[g, tr]))
        let matchCounts = Array.init na (fun _ -> Array2D.zeroCreate<float> ng nt)
        let tp, fn, fp, loc = zeros (), zeros (), zeros (), zeros ()
        for f in data.Frames do
            let rows, cols = f.GtIds.Length, f.TrackerIds.Length
            if rows = 0 then for a in 0 .. na - 1 do fp.[a] <- fp.[a] + float cols
            elif cols = 0 then for a in 0 .. na - 1 do fn.[a] <- fn.[a] + float rows
            else
                let score = Array2D.init rows cols (fun i j -> alignment.[f.GtIds.[i], f.TrackerIds.[j]] * f.Similarity.[i, j])
                let pairs = Assignment.maximise score
                for a in 0 .. na - 1 do
                    let kept = pairs |> Array.filter (fun (i, j) -> f.Similarity.[i, j] >= alphas.[a] - eps)
                    let k = float kept.Length
                    tp.[a] <- tp.[a] + k
                    fn.[a] <- fn.[a] + float rows - k
                    fp.[a] <- fp.[a] + float cols - k
                    for (i, j) in kept do
                        loc.[a] <- loc.[a] + f.Similarity.[i, j]
                        let g, tr = f.GtIds.[i], f.TrackerIds.[j]
                        matchCounts.[a].[g, tr] <- matchCounts.[a].[g, tr] + 1.0
        let assA, assRe, assPr = zeros (), zeros (), zeros ()
        for a in 0 .. na - 1 do
            let mc = matchCounts.[a]
            let mutable sA, sRe, sPr = 0.0, 0.0, 0.0
            for g in 0 .. ng - 1 do
                for tr in 0 .. nt - 1 do
                    let m = mc.[g, tr]
                    if m > 0.0 then
                        sA <- sA + m * (m / max 1.0 (gtCount.[g] + trCount.[tr] - m))
                        sRe <- sRe + m * (m / max 1.0 gtCount.[g])
                        sPr <- sPr + m * (m / max 1.0 trCount.[tr])
            assA.[a] <- sA / max 1.0 tp.[a]
            assRe.[a] <- sRe / max 1.0 tp.[a]
            assPr.[a] <- sPr / max 1.0 tp.[a]
        { TP = tp; FN = fn; FP = fp; AssA = assA; AssRe = assRe; AssPr = assPr
          LocA = Array.init na (fun a -> max 1e-10 loc.[a] / max 1e-10 tp.[a]) }

/// TrackEval `combine_sequences`.
let combine (all: Counts list) : Counts =
    let na = alphas.Length
    let sumOf (pick: Counts -> float[]) = Array.init na (fun a -> all |> List.sumBy (fun c -> (pick c).[a]))
    let tp = sumOf (fun c -> c.TP)
    let weighted (pick: Counts -> float[]) = Array.init na (fun a -> (all |> List.sumBy (fun c -> (pick c).[a] * c.TP.[a])) / max 1.0 tp.[a])
    { TP = tp; FN = sumOf (fun c -> c.FN); FP = sumOf (fun c -> c.FP)
      AssA = weighted (fun c -> c.AssA); AssRe = weighted (fun c -> c.AssRe); AssPr = weighted (fun c -> c.AssPr)
      LocA = Array.init na (fun a -> max 1e-10 (all |> List.sumBy (fun c -> c.LocA.[a] * c.TP.[a])) / max 1e-10 tp.[a]) }

let metrics (c: Counts) : Metrics =
    let na = alphas.Length
    let detRe = Array.init na (fun a -> c.TP.[a] / max 1.0 (c.TP.[a] + c.FN.[a]))
    let detPr = Array.init na (fun a -> c.TP.[a] / max 1.0 (c.TP.[a] + c.FP.[a]))
    let detA = Array.init na (fun a -> c.TP.[a] / max 1.0 (c.TP.[a] + c.FN.[a] + c.FP.[a]))
    let hota = Array.init na (fun a -> sqrt (detA.[a] * c.AssA.[a]))
    { Hota = Array.average hota; DetA = Array.average detA; AssA = Array.average c.AssA
      DetRe = Array.average detRe; DetPr = Array.average detPr
      AssRe = Array.average c.AssRe; AssPr = Array.average c.AssPr; LocA = Array.average c.LocA
      Hota0 = hota.[0]; LocA0 = c.LocA.[0] }
