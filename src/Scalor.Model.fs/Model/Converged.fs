/// Online tracking's one rule beyond the model: two tracks whose boxes have coincided for several frames in a row
/// follow one object, and one of them is retired (its slot freed, as if its presence had dropped to 0): the one that
/// came onto the object from elsewhere, by its motion (`step`). Its id passes to the track that finds the object
/// it had left again (`Rule.HandOver`).
///
/// Why: SCALOR's propagation has nothing that keeps two tracks apart. When objects cross, or a copy of an object
/// slips past discovery's rejection, two tracks can settle on the same object; the second one draws under the
/// first, so the reconstruction (and the ELBO) barely notices it, and both are propagated for good. Over long
/// sequences these copies pile up: on 10 held-out dSprites LD sequences of 300 frames the default model reads MOTA
/// 54.6% without this rule and 92.8% with it (88.3% and 90.2% on 20 frames), the difference almost all false
/// positives beside a tracked object (README "Tracking"). Objects in the worlds' own ground truth do not overlap
/// like that for long (two distinct objects' boxes stayed above 0.7 IoU for at most 2 frames in a row over 3,000
/// frames), so a run of frames tells a copy from a crossing. Nothing here changes the model or its objective;
/// `--converged off` (None) tracks as the official code does.
module Scalor.Model.Converged

open Scalor.Metrics

type Rule =
    { /// Two tracks coincide in a frame when their glimpse boxes (z_where) overlap at least this much (IoU).
      MinIou: float
      /// ...and one is retired at the frame where they have coincided this many frames in a row.
      Frames: int
      /// A retired track's id passes to a track that appeared since the frame before its run, up to this many frames
      /// after it was retired (0: never), ...
      HandOver: int
      /// ...whose centre lies within this distance (the frame's side is 1) of where the retired track's motion
      /// before its run would have carried it.
      HandOverDistance: float }

/// Chosen on validation worlds (README "Tracking"; docs/training-history.md, "Converged tracks"): shorter runs lost
/// on MD, whose crowded objects pass each other closely for a few frames. Of hand-over windows of 5, 10 and 20
/// frames and distances of 0.2 to 0.35, 5 frames within a quarter of the frame's side (16 pixels of 64) read the
/// highest IDF1 and HOTA over two validation sets of 300-frame sequences; every one read within a point of it.
let defaults = { MinIou = 0.7; Frames = 5; HandOver = 5; HandOverDistance = 0.25 }

/// Whether a rule is one `step` can apply: an IoU in (0, 1], at least one frame, a window of 0 frames or more and a
/// positive distance.
let isValid (r: Rule) =
    r.MinIou > 0.0 && r.MinIou <= 1.0 && r.Frames >= 1 && r.HandOver >= 0 && r.HandOverDistance > 0.0
    && not (System.Double.IsInfinity r.HandOverDistance)

/// A track in a frame: its box centre (unit square), its shift from the frame before (None: it was not in it), and
/// the frames it has been tracked in a row, that one included.
type Seen =
    { Centre: float * float
      Shift: (float * float) option
      Frames: int }

/// A pair's run: frames in a row in which its tracks' boxes coincided.
type Run =
    { /// How many frames in a row, the last one included.
      Length: int
      /// The pair's mean box centre in the run's first frame (unit square).
      Start: float * float
      /// Each track (older, younger) in the frame before the run; None: it was not in it, a new discovery say.
      Before: Seen option * Seen option }

/// A retired track whose own object may still be out there: it had drifted onto its partner's, and the object it
/// left is found again by discovery, often while the pair still coincides.
type Lost =
    { /// The id it was reported under.
      Id: int64
      /// The track it coincided with, which stays on the object they shared.
      Partner: int64
      /// Its centre in the frame before its run, and its shift into that frame.
      Centre: float * float
      Shift: float * float
      /// Frames since that frame: how far its motion is carried, and the most frames a track that takes its id may
      /// have been tracked before this one (it appeared then or later).
      Elapsed: int
      /// Frames since it was retired (0 in the frame it was).
      Since: int }

/// What `step` carries from frame to frame.
type State =
    { /// The pairs (older id, younger id) whose boxes coincided in the last frame.
      Runs: Map<int64 * int64, Run>
      /// Each track of the last frame.
      Last: Map<int64, Seen>
      /// Retired tracks whose id may still pass on (`Rule.HandOver`).
      Lost: Lost list
      /// The id each track that took a retired track's id is reported under.
      Ids: Map<int64, int64> }

let empty = { Runs = Map.empty; Last = Map.empty; Lost = []; Ids = Map.empty }

/// The id a track is reported under, given the ids handed on (`State.Ids`): its own, or the retired track's it took.
let reportedUnder (handed: Map<int64, int64>) (id: int64) = handed.TryFind id |> Option.defaultValue id

/// The id a track is reported under: its own, or the retired track's it took (`Rule.HandOver`).
let reportedId (state: State) (id: int64) = reportedUnder state.Ids id

/// A z_where (sx, sy, tx, ty) as a box; IoU does not depend on the frame's size, so the unit square will do.
let boxOf (where: float32[]) =
    let l, t, w, h = Track.box where 1 1
    { Geometry.Left = l; Geometry.Top = t; Geometry.Width = w; Geometry.Height = h }

/// Between two points of the unit square.
let private distance (ax: float, ay: float) (bx: float, by: float) = sqrt ((ax - bx) * (ax - bx) + (ay - by) * (ay - by))

/// How far a track's motion before the run (`before`) is from the pair's mean motion per frame over the run, which
/// ends at `now` (the pair's mean centre); a track with no motion before (a new discovery) is infinitely far.
let private mismatch (run: Run) (now: float * float) (before: Seen option) =
    match before |> Option.bind (fun s -> s.Shift) with
    | None -> infinity
    | Some (dx, dy) ->
        let n = float (max 1 (run.Length - 1))
        distance (dx, dy) ((fst now - fst run.Start) / n, (snd now - snd run.Start) / n)

/// The ids of retired tracks handed on this frame: `lost` (aged to this frame) against the frame's surviving
/// `tracks` (id, centre, frames tracked), nearest pairs first, each at most once. A track takes an id when it
/// appeared since the frame before the lost track's run (so it is not a track that was elsewhere all along), is not
/// the partner, has no handed id yet, and lies within the rule's distance of where the lost track's motion before
/// the run would have carried it by now.
let private handOver (rule: Rule) (handed: Map<int64, int64>) (lost: Lost[]) (tracks: (int64 * (float * float) * int)[]) =
    let candidates =
        [| for i, l in Array.indexed lost do
               let carried = fst l.Centre + float l.Elapsed * fst l.Shift, snd l.Centre + float l.Elapsed * snd l.Shift
               for id, centre, frames in tracks do
                   if frames - 1 <= l.Elapsed && id <> l.Partner && not (handed.ContainsKey id) then
                       let d = distance centre carried
                       if d <= rule.HandOverDistance then yield d, id, i |]
        |> Array.sort
    let taken, used =
        candidates
        |> Array.fold (fun (taken: Map<int64, int64>, used: Set<int>) (_, id, i) ->
            if taken.ContainsKey id || used.Contains i then taken, used
            else taken.Add(id, lost.[i].Id), used.Add i) (Map.empty, Set.empty)
    taken, lost |> Array.indexed |> Array.filter (fun (i, _) -> not (used.Contains i)) |> Array.map snd |> List.ofArray

/// One frame: `objects` are the frame's live present tracks (id, z_where). Returns the state carried to the next
/// frame and the ids to retire now, one of each pair whose run reached `rule.Frames`: the track whose motion just
/// before the run differs more from the pair's motion during it, the one that came onto the object from elsewhere
/// (or was discovered on it); on a tie, the younger (larger id: ids grow with discovery). Retiring the younger
/// alone cost identities where a track lost its own object and drifted onto one an older track already followed:
/// on 10 validation LD sequences of 300 frames this choice reads IDF1 74.6% against 72.8%, with 296 id switches
/// against 351 (docs/training-history.md, "Converged tracks"). A retired track's pairs end with it; pairs are
/// taken oldest first, and one with a track already retired this frame is left.
///
/// The object a retired track had followed before it drifted is usually found again by discovery within a few
/// frames, under a new id: of the 295 id switches a script counted on those sequences, 123 were. So a retired track's
/// id passes to a track that appeared since the frame before its run, near where its motion before the run would
/// have carried it (`Rule.HandOver`, `reportedId`): IDF1 74.6% → 80.5% there (docs/training-history.md).
let step (rule: Rule) (state: State) (objects: (int64 * float32[])[]) : State * Set<int64> =
    let objects = objects |> Array.sortBy fst
    let boxes = objects |> Array.map (fun (_, w) -> boxOf w)
    let centres = boxes |> Array.map Geometry.centre
    let coincide =
        [| for i in 0 .. objects.Length - 1 do
               for j in i + 1 .. objects.Length - 1 do
                   if Geometry.iou boxes.[i] boxes.[j] >= rule.MinIou then
                       let older, younger = fst objects.[i], fst objects.[j]
                       let mean = (fst centres.[i] + fst centres.[j]) / 2.0, (snd centres.[i] + snd centres.[j]) / 2.0
                       let run =
                           match state.Runs.TryFind((older, younger)) with
                           | Some r -> { r with Length = r.Length + 1 }
                           | None -> { Length = 1; Start = mean; Before = state.Last.TryFind older, state.Last.TryFind younger }
                       yield (older, younger), run, mean |]
    // Each retired track with its partner, the run and the track's frame before it.
    let retiredWith =
        coincide
        |> Array.fold (fun (gone: (int64 * int64 * Run * Seen option) list) ((older, younger), run, mean) ->
            let isGone id = gone |> List.exists (fun (g, _, _, _) -> g = id)
            if run.Length < rule.Frames || isGone older || isGone younger then gone
            else
                let o, y = mismatch run mean (fst run.Before), mismatch run mean (snd run.Before)
                if o > y then (older, younger, run, fst run.Before) :: gone else (younger, older, run, snd run.Before) :: gone) []
    let retired = retiredWith |> List.map (fun (id, _, _, _) -> id) |> Set.ofList
    let runs =
        coincide
        |> Array.filter (fun ((a, b), _, _) -> not (retired.Contains a || retired.Contains b))
        |> Array.map (fun (key, run, _) -> key, run)
        |> Map.ofArray
    let survivors =
        Array.zip objects centres
        |> Array.filter (fun ((id, _), _) -> not (retired.Contains id))
        |> Array.map (fun ((id, _), (x, y)) ->
            let before = state.Last.TryFind id
            id, { Centre = (x, y); Shift = before |> Option.map (fun b -> x - fst b.Centre, y - snd b.Centre); Frames = 1 + (before |> Option.map (fun b -> b.Frames) |> Option.defaultValue 0) })
    let ids = survivors |> Array.choose (fun (id, _) -> state.Ids.TryFind id |> Option.map (fun r -> id, r)) |> Map.ofArray
    let ids, lost =
        if rule.HandOver = 0 then ids, []
        else
            let aged =
                state.Lost
                |> List.map (fun l -> { l with Elapsed = l.Elapsed + 1; Since = l.Since + 1 })
                |> List.filter (fun l -> l.Since <= rule.HandOver)
            // The frames before a run are known only for a track that was in the two frames before it.
            let fresh =
                retiredWith
                |> List.rev
                |> List.choose (fun (id, partner, run, before) ->
                    match before with
                    | Some { Centre = c; Shift = Some shift } ->
                        Some { Id = reportedId state id; Partner = partner; Centre = c; Shift = shift; Elapsed = run.Length; Since = 0 }
                    | _ -> None)
            let taken, left = handOver rule ids (Array.ofList (aged @ fresh)) (survivors |> Array.map (fun (id, s) -> id, s.Centre, s.Frames))
            Map.fold (fun (m: Map<int64, int64>) k v -> m.Add(k, v)) ids taken, left
    { Runs = runs; Last = Map.ofArray survivors; Lost = lost; Ids = ids }, retired

/// `o` with the slots of image 0 whose ids are in `retired` emptied (mask and presence 0): the next frame's
/// propagation gives an empty slot presence 0, and compaction drops it. Tracking steps one image at a time.
let retire (retired: Set<int64>) (o: Scalor.Objects) =
    if retired.IsEmpty || o.Slots = 0L then o
    else
        if o.Ids.shape.[0] <> 1L then invalidArg (nameof o) "retire empties slots of one image (a batch of 1)"
        let keep = o.Ids.[0L].cpu().data<int64>().ToArray() |> Array.map (fun id -> if retired.Contains id then 0f else 1f)
        use k = TorchSharp.torch.tensor(keep, device = o.Mask.device).view(1L, -1L)
        { o with Mask = o.Mask * k; Pres = o.Pres * k.unsqueeze(2L) }
