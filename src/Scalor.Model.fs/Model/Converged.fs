/// Online tracking's one rule beyond the model: two tracks whose boxes have coincided for several frames in a row
/// follow one object, and the younger is retired (its slot freed, as if its presence had dropped to 0).
///
/// Why: SCALOR's propagation has nothing that keeps two tracks apart. When objects cross, or a copy of an object
/// slips past discovery's rejection, two tracks can settle on the same object; the second one draws under the
/// first, so the reconstruction (and the ELBO) barely notices it, and both are propagated for good. Over long
/// sequences these copies pile up: on 10 held-out dSprites LD sequences of 300 frames the default model reads MOTA
/// 54.6% without this rule and 92.6% with it (88.3% and 90.2% on 20 frames), the difference almost all false
/// positives beside a tracked object (README "Tracking"). Objects in the worlds' own ground truth do not overlap
/// like that for long (two distinct objects' boxes stayed above 0.7 IoU for at most 2 frames in a row over 3,000
/// frames), so a run of frames tells a copy from a crossing. Nothing here changes the model or its objective;
/// `--converged off` (None) tracks as the official code does.
module Scalor.Model.Converged

open Scalor.Metrics

type Rule =
    { /// Two tracks coincide in a frame when their glimpse boxes (z_where) overlap at least this much (IoU).
      MinIou: float
      /// ...and the younger is retired at the frame where they have coincided this many frames in a row.
      Frames: int }

/// Chosen on validation worlds (README "Tracking"; docs/training-history.md, "Converged tracks"): shorter runs lost
/// on MD, whose crowded objects pass each other closely for a few frames.
let defaults = { MinIou = 0.7; Frames = 5 }

/// Whether a rule is one `step` can apply: an IoU in (0, 1] and at least one frame.
let isValid (r: Rule) = r.MinIou > 0.0 && r.MinIou <= 1.0 && r.Frames >= 1

/// For each pair of tracks (older id, younger id) that coincided in the last frame, how many frames in a row.
type Runs = Map<int64 * int64, int>

let noRuns: Runs = Map.empty

/// A z_where (sx, sy, tx, ty) as a box; IoU does not depend on the frame's size, so the unit square will do.
let boxOf (where: float32[]) =
    let l, t, w, h = Track.box where 1 1
    { Geometry.Left = l; Geometry.Top = t; Geometry.Width = w; Geometry.Height = h }

/// One frame: `objects` are the frame's live present tracks (id, z_where). Returns the runs carried to the next
/// frame and the ids to retire now, each the younger (larger id: ids grow with discovery) of a pair whose run
/// reached `rule.Frames`. A retired track's pairs end with it, and of a group on one object the oldest stays.
let step (rule: Rule) (runs: Runs) (objects: (int64 * float32[])[]) : Runs * Set<int64> =
    let objects = objects |> Array.sortBy fst
    let boxes = objects |> Array.map (fun (_, w) -> boxOf w)
    let coincide =
        [| for i in 0 .. objects.Length - 1 do
               for j in i + 1 .. objects.Length - 1 do
                   if Geometry.iou boxes.[i] boxes.[j] >= rule.MinIou then
                       let key = fst objects.[i], fst objects.[j]
                       yield key, 1 + (runs.TryFind key |> Option.defaultValue 0) |]
    // Oldest pairs first: the younger of a pair is retired only while the older is not.
    let retired =
        coincide
        |> Array.fold (fun (gone: Set<int64>) ((older, younger), n) ->
            if n >= rule.Frames && not (gone.Contains older) then gone.Add younger else gone) Set.empty
    let next =
        coincide
        |> Array.filter (fun ((a, b), _) -> not (retired.Contains a || retired.Contains b))
        |> Map.ofArray
    next, retired

/// `o` with the slots of image 0 whose ids are in `retired` emptied (mask and presence 0): the next frame's
/// propagation gives an empty slot presence 0, and compaction drops it. Tracking steps one image at a time.
let retire (retired: Set<int64>) (o: Scalor.Objects) =
    if retired.IsEmpty || o.Slots = 0L then o
    else
        if o.Ids.shape.[0] <> 1L then invalidArg (nameof o) "retire empties slots of one image (a batch of 1)"
        let keep = o.Ids.[0L].cpu().data<int64>().ToArray() |> Array.map (fun id -> if retired.Contains id then 0f else 1f)
        use k = TorchSharp.torch.tensor(keep, device = o.Mask.device).view(1L, -1L)
        { o with Mask = o.Mask * k; Pres = o.Pres * k.unsqueeze(2L) }
