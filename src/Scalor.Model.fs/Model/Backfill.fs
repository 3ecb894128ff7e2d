/// Offline completion of online tracks: a second pass of the same model over the sequence played backwards
/// extends each track that the forward pass starts late back to where the backward pass first saw the object.
///
/// Why: SCALOR tracks online, and its discovery misses an object of a crowded frame until the objects move apart
/// (recall by frame rises from about 88% at the first frame to 98% at the last on dSprites LD, README "Held-out
/// results"). Played backwards, those late frames come first: the backward pass has followed the object since the
/// end of the sequence and carries it through the frames where the forward pass had not found it yet. Nothing
/// here changes the model or its objective: both passes are the model's own inference; this only joins their
/// boxes. It needs the whole sequence (or window) before it reports, so it is for files, not live streams.
module Scalor.Model.Backfill

open System.Collections.Generic
open Scalor.Metrics
open Scalor.Metrics.MotFiles

type Options =
    { /// A backward track is the same object as a forward track when their boxes' IoU, averaged over the frames
      /// both report, reaches this.
      MinMatchIou: float
      /// ...and both report it in at least this many frames (one shared frame is too weak a link: objects
      /// cross).
      MinCommonFrames: int
      /// A box to be added that overlaps a box already in its frame by more than this IoU is a copy of that
      /// object: the extension stops there.
      MaxDuplicateIou: float
      /// The extension also stops at a frame where another forward track follows the backward track's object:
      /// one whose boxes meet the backward track's at this mean IoU over the frames both report. Otherwise a
      /// late copy of a tracked object (two tracks that met on one object and stayed together, the commonest
      /// false positive of long sequences) would be extended too, doubling the copy.
      SameObjectIou: float }

/// Chosen on validation worlds (seed 3000001; dSprites VLD, LD, MD, LD length 20 and MNIST VLD with their
/// models; docs/training-history.md): a match IoU of 0.3 read at least as high as 0.5 on every world (at most
/// 0.2 point higher); a duplicate IoU of 0.9 above 0.7 on all worlds but LD length 20; the same-object test at
/// 0.5 gained there (+0.5 point) and lost nowhere, at 0.3 it gained more there and on VLD but lost on LD, MD and
/// MNIST VLD.
let defaults = { MinMatchIou = 0.3; MinCommonFrames = 2; MaxDuplicateIou = 0.9; SameObjectIou = 0.5 }

/// Results of a pass over the reversed sequence (its frame t of `length`), in the original frame order.
let reverseFrames (length: int) (rows: Row[]) =
    rows |> Array.map (fun r -> { r with Frame = length + 1 - r.Frame })

let private tracksOf (rows: Row[]) =
    rows
    |> Array.groupBy (fun r -> r.Id)
    |> Array.map (fun (id, rs) -> id, (rs |> Array.map (fun r -> r.Frame, r) |> Map.ofArray))
    |> Map.ofArray

/// A track's first frame.
let private first (track: Map<int, Row>) = (Seq.head track).Key

/// The tracks whose span (first to last frame) holds each frame: the only ones that can share that frame with
/// another track. Ids in ascending order at each frame.
type private Spans(tracks: Map<int, Map<int, Row>>) =
    let at = Dictionary<int, List<int>>()
    do
        for KeyValue(id, rows) in tracks do
            for t in first rows .. (Seq.last rows).Key do
                match at.TryGetValue t with
                | true, l -> l.Add id
                | _ -> at.[t] <- List<int>([ id ])
    /// The tracks that span frame `t`.
    member _.At(t: int) : seq<int> = match at.TryGetValue t with | true, l -> l | _ -> Seq.empty
    /// The tracks that span any frame from `a` to `b`.
    member s.Within(a: int, b: int) : HashSet<int> = HashSet<int>(seq { for t in a .. b do yield! s.At t })

/// Mean IoU of two tracks' boxes over the frames both report; None below `MinCommonFrames` such frames.
let private meanIou (o: Options) (a: Map<int, Row>) (b: Map<int, Row>) =
    let common = a |> Seq.filter (fun kv -> b.ContainsKey kv.Key) |> Seq.toArray
    if common.Length < o.MinCommonFrames then None
    else Some(common |> Array.averageBy (fun kv -> Geometry.iou kv.Value.Box b.[kv.Key].Box))

/// The pairs (forward id, backward id, mean IoU) that may be one object: the forward track starts after frame 1,
/// the backward track reaches an earlier frame, and they share at least `MinCommonFrames` frames with a mean IoU
/// of at least `MinMatchIou`. Best first; ties by ids, so the result does not depend on row order.
let private candidatesOf (o: Options) (f: Map<int, Map<int, Row>>) (b: Map<int, Map<int, Row>>) =
    // A backward track that begins before a forward track shares a frame with it only if it is still there at the
    // forward track's birth: looking those up by frame keeps a long video's pairs to the tracks that meet, where
    // trying every pair grew with the square of its length (16,000 frames: 45 s).
    let spanning = Spans b
    [| for KeyValue(i, fi) in f do
         let birth = first fi
         if birth > 1 then
             for j in spanning.At birth do
                 let bj = b.[j]
                 if first bj < birth then
                     match meanIou o fi bj with
                     | Some mean when mean >= o.MinMatchIou -> yield i, j, mean
                     | _ -> () |]
    |> Array.sortBy (fun (i, j, m) -> -m, i, j)

let candidates (o: Options) (forward: Row[]) (backward: Row[]) = candidatesOf o (tracksOf forward) (tracksOf backward)

/// One row `extendWithSources` adds: at `Frame`, forward track `Id` takes the box of backward track `From`.
type Added = { Frame: int; Id: int; From: int }

/// `extend`, and where each added row came from (in the order they were added), so that a caller holding more
/// than rows per object (the ONNX runtime's tracked objects) can carry the backward pass's object over.
let extendWithSources (o: Options) (forward: Row[]) (backward: Row[]) : Row[] * Added[] =
    let f, b = tracksOf forward, tracksOf backward
    // Every box of a frame with its track's id, added ones included.
    let byFrame = Dictionary<int, List<int * Geometry.Box>>()
    let boxesAt t =
        match byFrame.TryGetValue t with
        | true, l -> l
        | _ ->
            let l = List<int * Geometry.Box>()
            byFrame.[t] <- l
            l
    for r in forward do (boxesAt r.Frame).Add((r.Id, r.Box))
    let forwardSpans = Spans f
    let usedF, usedB = HashSet<int>(), HashSet<int>()
    let added = List<Row>()
    let sources = List<Added>()
    for i, j, _ in candidatesOf o f b do
        if not (usedF.Contains i || usedB.Contains j) then
            usedF.Add i |> ignore
            usedB.Add j |> ignore
            let bj = b.[j]
            // The forward tracks (as the forward pass reported them) that follow this backward track's object.
            let followers =
                HashSet<int>(forwardSpans.Within(first bj, (Seq.last bj).Key)
                             |> Seq.filter (fun k -> k <> i && (match meanIou o f.[k] bj with Some m -> m >= o.SameObjectIou | None -> false)))
            let mutable t = first f.[i] - 1
            let mutable go = true
            while go && t >= 1 do
                let free (r: Row) =
                    boxesAt t |> Seq.forall (fun (k, x) ->
                        Geometry.iou x r.Box <= o.MaxDuplicateIou && not (followers.Contains k))
                match bj.TryFind t with
                | Some r when free r ->
                    added.Add { r with Id = i }
                    sources.Add { Frame = t; Id = i; From = j }
                    (boxesAt t).Add((i, r.Box))
                    t <- t - 1
                | _ -> go <- false
    Array.append forward (added.ToArray()) |> Array.sortBy (fun r -> r.Frame, r.Id), sources.ToArray()

/// Forward results with each late-starting track extended backwards by the backward track matched to it (one
/// to one, best mean IoU first), frame by frame from its first frame down, for as long as the backward track
/// reports the object, its box is no copy of a box already in that frame (`MaxDuplicateIou`) and no other forward
/// track that follows the same object is in that frame (`SameObjectIou`). The forward rows are kept as they are;
/// an added row has the forward track's id and the backward pass's box and confidence. Sorted by frame, then id.
let extend (o: Options) (forward: Row[]) (backward: Row[]) : Row[] = fst (extendWithSources o forward backward)
