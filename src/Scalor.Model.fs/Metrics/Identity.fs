/// Identity metrics (Ristani et al. 2016) as TrackEval's `identity.py`: one global minimum-cost bipartite
/// matching of ground-truth ids to tracker ids, each side padded with "unmatched" dummies.
module Scalor.Metrics.Identity

open Scalor.Metrics.Sequence

type Counts = { IDTP: int; IDFN: int; IDFP: int }

let zero = { IDTP = 0; IDFN = 0; IDFP = 0 }
let add a b = { IDTP = a.IDTP + b.IDTP; IDFN = a.IDFN + b.IDFN; IDFP = a.IDFP + b.IDFP }

type Metrics = { Idf1: float; Idp: float; Idr: float }

let evaluate (threshold: float) (data: SequenceData) : Counts =
    let gtDets, trDets = data.NumGtDets, data.NumTrackerDets
    if trDets = 0 then { zero with IDFN = gtDets }
    elif gtDets = 0 then { zero with IDFP = trDets }
    else
        let ng, nt = data.NumGtIds, data.NumTrackerIds
        let potential = Array2D.zeroCreate<float> ng nt
        let gtCount = Array.zeroCreate<float> ng
        let trCount = Array.zeroCreate<float> nt
        for f in data.Frames do
            for i in 0 .. f.GtIds.Length - 1 do
                for j in 0 .. f.TrackerIds.Length - 1 do
                    if f.Similarity.[i, j] >= threshold then
                        potential.[f.GtIds.[i], f.TrackerIds.[j]] <- potential.[f.GtIds.[i], f.TrackerIds.[j]] + 1.0
            for g in f.GtIds do gtCount.[g] <- gtCount.[g] + 1.0
            for tr in f.TrackerIds do trCount.[tr] <- trCount.[tr] + 1.0
        let size = ng + nt
        let fn = Array2D.zeroCreate<float> size size
        let fp = Array2D.zeroCreate<float> size size
        // Forbidden: a dummy row for a real tracker other than its own; a dummy column likewise.
        for r in ng .. size - 1 do
            for c in 0 .. nt - 1 do fp.[r, c] <- 1e10
        for r in 0 .. ng - 1 do
            for c in nt .. size - 1 do fn.[r, c] <- 1e10
        for g in 0 .. ng - 1 do
            for c in 0 .. nt - 1 do fn.[g, c] <- gtCount.[g]
            fn.[g, nt + g] <- gtCount.[g]
        for tr in 0 .. nt - 1 do
            for r in 0 .. ng - 1 do fp.[r, tr] <- trCount.[tr]
            fp.[tr + ng, tr] <- trCount.[tr]
        for g in 0 .. ng - 1 do
            for tr in 0 .. nt - 1 do
                fn.[g, tr] <- fn.[g, tr] - potential.[g, tr]
                fp.[g, tr] <- fp.[g, tr] - potential.[g, tr]
        let pairs = Assignment.minimise (Array2D.init size size (fun r c -> fn.[r, c] + fp.[r, c]))
        let idfn = pairs |> Array.sumBy (fun (r, c) -> fn.[r, c])
        let idfp = pairs |> Array.sumBy (fun (r, c) -> fp.[r, c])
        let idfn, idfp = int (round idfn), int (round idfp)
        { IDTP = int (Array.sum gtCount) - idfn; IDFN = idfn; IDFP = idfp }

let metrics (c: Counts) : Metrics =
    let tp, fn, fp = float c.IDTP, float c.IDFN, float c.IDFP
    { Idr = tp / max 1.0 (tp + fn)
      Idp = tp / max 1.0 (tp + fp)
      Idf1 = tp / max 1.0 (tp + 0.5 * fp + 0.5 * fn) }
