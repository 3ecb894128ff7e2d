/// Why the CLEAR errors happened: each miss and each false positive of the CLEAR matching put in one class
/// by the geometry of its frame, so a user sees whether a tracker loses objects in crowds, reports extra
/// tracks on or beside objects it already follows, or reports objects at the border that the ground truth
/// does not list. Counts only; MOTA and the rest are unchanged.
module Scalor.Metrics.Errors

open Scalor.Metrics.Geometry

/// A miss whose box shares more than this part of its area with one other ground-truth box is `Overlapped`.
let overlapShare = 0.3

/// Additive counts; each FN and each FP of CLEAR is in exactly one class.
type Counts =
    { /// Misses sharing more than `overlapShare` of their box with another ground-truth box: in a crowd. Worlds
      /// list an object in view however covered it is, but few such misses are hidden: their visibility column
      /// says how much shows (`eval --min-gt-visibility`; on held-out MD 183 of 1,477 misses show under half).
      MissOverlapped: int
      /// Misses whose box touches another ground-truth box, sharing at most `overlapShare`.
      MissTouching: int
      /// Misses with no other ground-truth box touching theirs.
      MissAlone: int
      /// False positives close enough to match an object (within the matching's threshold) that another
      /// tracked box is matched to in the same frame. Under IoU matching this is a second track on a found
      /// object; under the paper's centre distance (two object sizes) it may also be a track beside one.
      FalseNearFound: int
      /// Other false positives whose box reaches the view's border (to within half a pixel) or beyond: mostly
      /// objects entering or leaving, which the ground truth lists only while half of their box is in view.
      /// The border, not only beyond it, as mask boxes (`track --boxes mask`) end at the view's edge.
      FalsePartlyOut: int
      /// The remaining false positives.
      FalseElsewhere: int }

let zero = { MissOverlapped = 0; MissTouching = 0; MissAlone = 0; FalseNearFound = 0; FalsePartlyOut = 0; FalseElsewhere = 0 }

let add a b =
    { MissOverlapped = a.MissOverlapped + b.MissOverlapped; MissTouching = a.MissTouching + b.MissTouching
      MissAlone = a.MissAlone + b.MissAlone; FalseNearFound = a.FalseNearFound + b.FalseNearFound
      FalsePartlyOut = a.FalsePartlyOut + b.FalsePartlyOut; FalseElsewhere = a.FalseElsewhere + b.FalseElsewhere }

let misses c = c.MissOverlapped + c.MissTouching + c.MissAlone
let falsePositives c = c.FalseNearFound + c.FalsePartlyOut + c.FalseElsewhere

/// The largest share of `a`'s area that one box of `others` covers (0 for an empty box).
let coveredShare (a: Box) (others: Box seq) =
    let area = a.Width * a.Height
    if area <= 0.0 then 0.0
    else
        others |> Seq.fold (fun best b -> max best (intersection a b / area)) 0.0

let private touches (a: Box) (b: Box) =
    a.Left <= b.Left + b.Width && b.Left <= a.Left + a.Width && a.Top <= b.Top + b.Height && b.Top <= a.Top + a.Height

/// Whether `b` reaches to within half a pixel of the border of a `width` × `height` view, or beyond it.
let partlyOut (width: float, height: float) (b: Box) =
    b.Left < 0.5 || b.Top < 0.5 || b.Left + b.Width > width - 0.5 || b.Top + b.Height > height - 0.5

/// Classifies one frame's errors. `sim` [gt; tracker] is the matching's similarity and `threshold` the least
/// similarity of a match (as CLEAR's); `matches` are CLEAR's (gt index, tracker index) pairs of this frame;
/// `view` the frame size, when known (without it no false positive is `FalsePartlyOut`).
let classify (threshold: float) (view: (float * float) option) (gt: Box[]) (tr: Box[]) (sim: float[,]) (matches: (int * int)[]) =
    let gtMatched = Array.zeroCreate<bool> gt.Length
    let trMatched = Array.zeroCreate<bool> tr.Length
    for (i, j) in matches do
        gtMatched.[i] <- true
        trMatched.[j] <- true
    let mutable c = zero
    for i in 0 .. gt.Length - 1 do
        if not gtMatched.[i] then
            let others = gt |> Seq.indexed |> Seq.filter (fun (k, _) -> k <> i) |> Seq.map snd
            if coveredShare gt.[i] others > overlapShare then c <- { c with MissOverlapped = c.MissOverlapped + 1 }
            elif others |> Seq.exists (touches gt.[i]) then c <- { c with MissTouching = c.MissTouching + 1 }
            else c <- { c with MissAlone = c.MissAlone + 1 }
    for j in 0 .. tr.Length - 1 do
        if not trMatched.[j] then
            // As CLEAR compares similarities with the threshold.
            let duplicate = Seq.init gt.Length id |> Seq.exists (fun i -> gtMatched.[i] && sim.[i, j] >= threshold - eps)
            if duplicate then c <- { c with FalseNearFound = c.FalseNearFound + 1 }
            elif view |> Option.exists (fun v -> partlyOut v tr.[j]) then c <- { c with FalsePartlyOut = c.FalsePartlyOut + 1 }
            else c <- { c with FalseElsewhere = c.FalseElsewhere + 1 }
    c
