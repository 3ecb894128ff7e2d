/// Scores tracker output against ground truth, per sequence and combined: CLEAR MOT, identity, HOTA and
/// the paper's Count-MAE. Preprocessing follows TrackEval's MOTChallenge dataset: ground-truth rows flagged
/// 0 are dropped, and tracker boxes matched (IoU ≥ 0.5) to distractor classes are removed before scoring.
module Scalor.Metrics.Evaluate

open System.IO
open Scalor.Metrics.Geometry
open Scalor.Metrics.MotFiles

type Matching =
    /// Box IoU at least this (MOTChallenge: 0.5).
    | Iou of minIou: float
    /// Centre distance at most this many pixels (the paper: twice the object size).
    | Distance of pixels: float

type SequenceResult =
    { Name: string
      Clear: Clear.Counts
      Identity: Identity.Counts
      Hota: Hota.Counts
      /// Each miss and false positive of `Clear`, by cause.
      Errors: Errors.Counts
      /// Σ over frames with ground truth of |#pred − #gt| / #gt, and the number of such frames.
      CountErrorSum: float
      CountFrames: int
      /// Per frame of the sequence: CLEAR's true positives and the ground-truth rows scored.
      FoundByFrame: int[]
      GtByFrame: int[]
      NumGt: int
      NumPred: int }

type Summary =
    { Clear: Clear.Metrics
      ClearCounts: Clear.Counts
      Identity: Identity.Metrics
      Hota: Hota.Metrics
      Errors: Errors.Counts
      CountMae: float
      /// Recall at each frame index (0-based) over the sequences that reach it: where in a sequence objects
      /// are missed (a crowded first frame is discovered only as objects separate). NaN without ground truth.
      RecallByFrame: float[]
      NumGt: int
      NumPred: int }

/// Ground-truth classes TrackEval treats as distractors on MOT16/17 (person on vehicle, static person,
/// distractor, reflection).
let distractorClasses = set [ 2; 7; 8; 12 ]

exception EvalError of string

/// `xs` without the elements at the indices in `drop`.
let private without (drop: Set<int>) (xs: 'a[]) = xs |> Array.indexed |> Array.filter (fun (j, _) -> not (drop.Contains j)) |> Array.map snd

let private similarityAndDistance (matching: Matching) (gt: Box[]) (tr: Box[]) =
    match matching with
    | Iou _ ->
        let sim = Array2D.init gt.Length tr.Length (fun i j -> iou gt.[i] tr.[j])
        sim, Array2D.map (fun s -> 1.0 - s) sim
    | Distance px ->
        let dist = Array2D.init gt.Length tr.Length (fun i j -> centreDistance gt.[i] tr.[j])
        Array2D.map (euclideanSimilarity (2.0 * px)) dist, dist

/// Evaluates one sequence from parsed rows. `view`: the frame's width and height, when known (`Errors`).
/// `minVisibility`: ground-truth rows less visible than this are ignored, and so are the tracker boxes the
/// sequence's own matching assigns to them (neither TP nor FP, as distractors); 0 scores every row.
/// `gtPath`/`predPath` only name files in errors.
let evaluateRows (name: string) (length: int) (view: (float * float) option) (matching: Matching) (minVisibility: float) (gtRows: Row[]) (predRows: Row[]) (gtPath: string) (predPath: string) =
    let threshold = match matching with Iou m -> m | Distance _ -> 0.5
    for r in gtRows do
        if r.Frame > length then raise (EvalError(sprintf "%s: frame %d beyond seqLength %d" gtPath r.Frame length))
    for r in predRows do
        if r.Frame > length then raise (EvalError(sprintf "%s: frame %d beyond the sequence's %d frames" predPath r.Frame length))
    let gtBy = gtRows |> Array.groupBy (fun r -> r.Frame) |> dict
    let prBy = predRows |> Array.groupBy (fun r -> r.Frame) |> dict
    let get (d: System.Collections.Generic.IDictionary<int, Row[]>) t = match d.TryGetValue t with | true, v -> v | _ -> [||]
    let frames =
        [| for t in 1 .. length do
             let gtAll = get gtBy t
             let mutable pred = get prBy t
             // Tracker boxes on distractors are neither TP nor FP.
             if gtAll |> Array.exists (fun r -> distractorClasses.Contains r.Class) && pred.Length > 0 then
                 // As TrackEval: scores under 0.5 are zeroed before the assignment, not only filtered after it.
                 let sim =
                     Array2D.init gtAll.Length pred.Length (fun i j ->
                         let v = iou gtAll.[i].Box pred.[j].Box
                         if v < 0.5 - eps then 0.0 else v)
                 let drop =
                     Assignment.maximise sim
                     |> Array.filter (fun (i, j) -> sim.[i, j] > 0.0 && distractorClasses.Contains gtAll.[i].Class)
                     |> Array.map snd
                     |> set
                 pred <- without drop pred
             yield gtAll |> Array.filter (fun r -> r.Flag <> 0.0 && r.Class = 1), pred |]
    let build (frames: (Row[] * Row[])[]) =
        let perFrame =
            frames |> Array.map (fun (gt, pred) ->
                let gtBoxes, predBoxes = gt |> Array.map (fun r -> r.Box), pred |> Array.map (fun r -> r.Box)
                let sim, dist = similarityAndDistance matching gtBoxes predBoxes
                (gt |> Array.map (fun r -> r.Id), pred |> Array.map (fun r -> r.Id), sim, dist), (gtBoxes, predBoxes))
        let data =
            try Sequence.build (perFrame |> Array.map fst)
            with Sequence.DuplicateIdError(t, side, id) ->
                raise (EvalError(sprintf "%s: frame %d lists %s id %d twice" (if side = "tracker" then predPath else gtPath) (t + 1) side id))
        data, perFrame |> Array.map snd
    let hidden (r: Row) = r.Visibility < minVisibility - eps
    let frames =
        if not (frames |> Array.exists (fst >> Array.exists hidden)) then frames
        else
            // CLEAR's own matching over every considered row decides which boxes found a hidden object, so its
            // preference for last frame's pairs keeps a track on its object when a hidden neighbour is dropped.
            let data, _ = build frames
            let _, matches = Clear.evaluateMatched threshold infinity data
            Array.map2 (fun (gt: Row[], pred: Row[]) (m: (int * int)[]) ->
                let drop = m |> Array.filter (fun (i, _) -> hidden gt.[i]) |> Array.map snd |> set
                gt |> Array.filter (hidden >> not), without drop pred)
                frames matches
    let data, boxes = build frames
    let countErr, countFrames =
        data.Frames |> Array.fold (fun (s, n) f ->
            let g, p = f.GtIds.Length, f.TrackerIds.Length
            if g = 0 then (s, n) else (s + abs (float p - float g) / float g, n + 1)) (0.0, 0)
    let clear, matches = Clear.evaluateMatched threshold infinity data
    let errors =
        Array.map3 (fun (gtBoxes, predBoxes) (f: Sequence.FrameData) m -> Errors.classify threshold view gtBoxes predBoxes f.Similarity m) boxes data.Frames matches
        |> Array.fold Errors.add Errors.zero
    { Name = name
      Clear = clear
      Identity = Identity.evaluate threshold data
      Hota = Hota.evaluate data
      Errors = errors
      CountErrorSum = countErr
      CountFrames = countFrames
      FoundByFrame = matches |> Array.map Array.length
      GtByFrame = data.Frames |> Array.map (fun f -> f.GtIds.Length)
      NumGt = data.NumGtDets
      NumPred = data.NumTrackerDets }

/// Per-sequence summary (TrackEval's sequence-level fields) and the combination of several sequences.
let summarise (results: SequenceResult list) : Summary =
    let clearCounts =
        match results with
        | [ one ] -> one.Clear
        | many -> many |> List.fold (fun acc r -> Clear.add acc r.Clear) Clear.zero
    let frames = results |> List.sumBy (fun r -> r.CountFrames)
    { Clear = Clear.metrics clearCounts
      ClearCounts = clearCounts
      Identity = results |> List.fold (fun acc r -> Identity.add acc r.Identity) Identity.zero |> Identity.metrics
      Hota = Hota.metrics (match results with [ one ] -> one.Hota | many -> Hota.combine (many |> List.map (fun r -> r.Hota)))
      Errors = results |> List.fold (fun acc r -> Errors.add acc r.Errors) Errors.zero
      CountMae = (if frames = 0 then nan else (results |> List.sumBy (fun r -> r.CountErrorSum)) / float frames)
      RecallByFrame =
        let longest = results |> List.fold (fun m r -> max m r.GtByFrame.Length) 0
        let sumAt t (f: SequenceResult -> int[]) = results |> List.sumBy (fun r -> let a = f r in if t < a.Length then a.[t] else 0)
        Array.init longest (fun t ->
            let gt = sumAt t (fun r -> r.GtByFrame)
            if gt = 0 then nan else float (sumAt t (fun r -> r.FoundByFrame)) / float gt)
      NumGt = results |> List.sumBy (fun r -> r.NumGt)
      NumPred = results |> List.sumBy (fun r -> r.NumPred) }

/// Evaluates every sequence folder of `gtDir` (those with gt/gt.txt) against the tracker rows
/// `predictions name` gives for it, with the path or label its messages name: a results folder
/// (`evaluateFolders`), or results held in memory (`eval --data`, which needs no folder to write them to).
/// `threshold`: None for the default (distance: 2 × objectSize from seqinfo.ini; IoU: 0.5). `minVisibility`:
/// see `evaluateRows`.
let evaluateSequences (gtDir: string) (predictions: string -> string * Row[]) (byIou: bool) (threshold: float option) (minVisibility: float) : SequenceResult list =
    if not (Directory.Exists gtDir) then raise (EvalError(sprintf "%s: ground-truth folder not found" gtDir))
    let seqDirs =
        Directory.GetDirectories gtDir
        |> Array.filter (fun d -> File.Exists(Path.Combine(d, "gt", "gt.txt")))
        |> Array.sort
    if seqDirs.Length = 0 then raise (EvalError(sprintf "%s: no <seq>/gt/gt.txt below this folder" gtDir))
    [ for d in seqDirs do
        let name = Path.GetFileName d
        let info = readSeqInfo (Path.Combine(d, "seqinfo.ini"))
        let matching =
            match byIou, threshold with
            | true, t -> Iou(defaultArg t 0.5)
            | false, Some px -> Distance px
            | false, None ->
                match info.ObjectSize with
                | Some s -> Distance(2.0 * s)
                | None -> raise (EvalError(sprintf "%s: no objectSize for the default distance threshold; pass --threshold or --match iou" (Path.Combine(d, "seqinfo.ini"))))
        let gtPath = Path.Combine(d, "gt", "gt.txt")
        let predPath, predRows = predictions name
        let view = if info.Width > 0 && info.Height > 0 then Some(float info.Width, float info.Height) else None
        yield evaluateRows name info.Length view matching minVisibility (read gtPath true) predRows gtPath predPath ]

/// Evaluates every sequence folder of `gtDir` (those with gt/gt.txt) against `predDir/<seq>.txt`
/// (`evaluateSequences`).
let evaluateFolders (gtDir: string) (predDir: string) (byIou: bool) (threshold: float option) (minVisibility: float) : SequenceResult list =
    // Checked as each sequence asks for its rows, so a missing ground-truth folder is still named first.
    let fromFolder name =
        if not (Directory.Exists predDir) then raise (EvalError(sprintf "%s: results folder not found" predDir))
        // `track` names its files by `Crop.fileStem`; results written elsewhere may keep the sequence's own name.
        let stemmed = Scalor.IO.Crop.sequenceFile predDir name ".txt"
        let predPath = if File.Exists stemmed then stemmed else Path.Combine(predDir, name + ".txt")
        if not (File.Exists predPath) then raise (EvalError(sprintf "%s: results file not found for sequence %s" predPath name))
        predPath, read predPath false
    evaluateSequences gtDir fromFolder byIou threshold minVisibility
