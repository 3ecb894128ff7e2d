/// One sequence in the form every metric consumes (TrackEval's `data` dict): per frame, the ground-truth
/// and tracker ids present (contiguous 0-based ids over the sequence) and their pairwise similarity in
/// [0, 1]. A distance matrix rides along for the py-motmetrics-style MOTP (mean matched distance).
module Scalor.Metrics.Sequence

type FrameData =
    { GtIds: int[]
      TrackerIds: int[]
      /// [gt; tracker], in [0, 1].
      Similarity: float[,]
      /// [gt; tracker] distance in the matching's unit (pixels, or 1 − IoU); used only for `MotpDist`.
      Distance: float[,] }

type SequenceData =
    { Frames: FrameData[]
      NumGtIds: int
      NumTrackerIds: int }
    member s.NumGtDets = s.Frames |> Array.sumBy (fun f -> f.GtIds.Length)
    member s.NumTrackerDets = s.Frames |> Array.sumBy (fun f -> f.TrackerIds.Length)

exception DuplicateIdError of frame: int * side: string * id: int

/// Builds sequence data from arbitrary ids per frame, remapping them to 0-based contiguous ids in order of
/// value (as TrackEval does). A duplicate id within one frame is an error (TrackEval `_check_unique_ids`).
let build (frames: (int[] * int[] * float[,] * float[,])[]) : SequenceData =
    let gtAll = frames |> Array.collect (fun (g, _, _, _) -> g) |> Array.distinct |> Array.sort
    let trAll = frames |> Array.collect (fun (_, t, _, _) -> t) |> Array.distinct |> Array.sort
    let gtMap = gtAll |> Array.mapi (fun i id -> id, i) |> dict
    let trMap = trAll |> Array.mapi (fun i id -> id, i) |> dict
    let check side t (ids: int[]) =
        let seen = System.Collections.Generic.HashSet<int>()
        for id in ids do
            if not (seen.Add id) then raise (DuplicateIdError(t, side, id))
    { Frames =
        frames
        |> Array.mapi (fun t (g, tr, sim, dist) ->
            check "ground truth" t g
            check "tracker" t tr
            { GtIds = g |> Array.map (fun id -> gtMap.[id])
              TrackerIds = tr |> Array.map (fun id -> trMap.[id])
              Similarity = sim
              Distance = dist })
      NumGtIds = gtAll.Length
      NumTrackerIds = trAll.Length }
