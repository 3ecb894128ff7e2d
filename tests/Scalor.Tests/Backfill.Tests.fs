module Scalor.Tests.Backfill

open System
open Expecto
open Scalor.Metrics
open Scalor.Metrics.MotFiles
open Scalor.Model

let private row frame id (l, t, w, h) =
    { Frame = frame; Id = id; Box = { Left = l; Top = t; Width = w; Height = h }; Flag = 0.9; Class = 1; Visibility = 1.0 }

/// A track of `id` over `frames`, its box moving 2 px right per frame from `x0`.
let private track id frames x0 y =
    [| for t in frames -> row t id (x0 + 2.0 * float t, y, 8.0, 8.0) |]

/// Forward and backward results of one random sequence: up to four objects 20 px apart moving right, each
/// followed by the forward pass from a random frame to the end and by the backward pass from the start to a random
/// frame, boxes jittered by a pixel, rows dropped now and then, and now and then a second forward track on an
/// object (a copy); so that matches, gaps, copies and near-duplicates all occur.
let private worldOf (seed: int) =
    let rng = Random seed
    let length = 3 + rng.Next 6
    let objects = [| for k in 0 .. rng.Next 4 -> 20.0 * float k + float (rng.Next 3), float (rng.Next 40) |]
    let span first last id (x, y) =
        [| for t in first .. last do
             if rng.NextDouble() > 0.1 then
                 yield row t id (x + 2.0 * float t + float (rng.Next 2), y + float (rng.Next 2), 7.0 + float (rng.Next 2), 8.0) |]
    let ids () = Array.init 12 id |> Array.sortBy (fun _ -> rng.Next())
    let fi, bi = ids (), ids ()
    let forward =
        [| for k, o in Array.indexed objects do
             if rng.NextDouble() < 0.8 then yield! span (1 + rng.Next length) length (fi.[k] + 1) o
             if rng.NextDouble() < 0.3 then yield! span (1 + rng.Next length) length (fi.[k + 6] + 1) o |]
    let backward =
        [| for k, o in Array.indexed objects do
             if rng.NextDouble() < 0.8 then yield! span 1 (1 + rng.Next length) (bi.[k] + 1) o |]
    forward, backward

[<Tests>]
let tests =
    testList "Backfill" [
        testCase "a track found late is extended back to where the backward pass first saw its object" <| fun () ->
            // The forward pass finds object A only at frame 4; the backward pass followed it from the end to frame 1.
            let forward = Array.append (track 1 [ 1 .. 6 ] 0.0 40.0) (track 7 [ 4 .. 6 ] 10.0 10.0)
            let backward = Array.append (track 3 [ 1 .. 6 ] 10.0 10.0) (track 4 [ 1 .. 6 ] 0.0 40.0)
            let out = Backfill.extend Backfill.defaults forward backward
            let a = out |> Array.filter (fun r -> r.Id = 7)
            Expect.equal (a |> Array.map (fun r -> r.Frame)) [| 1 .. 6 |] "track 7 now spans every frame"
            Expect.equal (a |> Array.map (fun r -> r.Box)) (track 7 [ 1 .. 6 ] 10.0 10.0 |> Array.map (fun r -> r.Box)) "with the backward pass's boxes"
            Expect.equal out.Length (forward.Length + 3) "three boxes added, nothing else"

        testCase "a late copy of a tracked object is not extended" <| fun () ->
            // Track 2 is a second track on object A from frame 4, which track 1 follows from frame 1. The backward pass
            // boxes A a pixel off track 1's (IoU 0.78: no duplicate by box), but track 1 follows that backward track, so
            // extending the copy would double A.
            let forward = Array.append (track 1 [ 1 .. 6 ] 9.0 10.0) (track 2 [ 4 .. 6 ] 10.0 10.0)
            let backward = track 5 [ 1 .. 6 ] 10.0 10.0
            Expect.equal (Backfill.extend Backfill.defaults forward backward) (forward |> Array.sortBy (fun r -> r.Frame, r.Id)) "unchanged"
            let unguarded = Backfill.extend { Backfill.defaults with SameObjectIou = infinity } forward backward
            Expect.equal unguarded.Length (forward.Length + 3) "without the same-object test the copy would be extended"

        testCase "two objects that part: the second extension stops where it would copy the first's box" <| fun () ->
            // A and B lie on one another at frames 1 and 2 and part from frame 3; the forward pass finds both at frame 3
            // only. Backwards, both tracks reach frame 1, with the same box there.
            let path dx = [| for t in 1 .. 6 -> 20.0 + (if t < 3 then 0.0 else dx * float (t - 2)) |]
            let rowsOf id dx frames = [| for t in frames -> row t id ((path dx).[t - 1], 10.0, 8.0, 8.0) |]
            let forward = Array.append (rowsOf 2 5.0 [ 3 .. 6 ]) (rowsOf 3 -5.0 [ 3 .. 6 ])
            let backward = Array.append (rowsOf 8 5.0 [ 1 .. 6 ]) (rowsOf 9 -5.0 [ 1 .. 6 ])
            let out = Backfill.extend Backfill.defaults forward backward
            Expect.equal (out.Length - forward.Length) 2 "track 2 gets frames 1 and 2, track 3 nothing"
            Expect.equal (out |> Array.filter (fun r -> r.Frame < 3) |> Array.map (fun r -> r.Id) |> Array.distinct) [| 2 |] "the better pair (ties: lower id) goes first"
            let unguarded = Backfill.extend { Backfill.defaults with MaxDuplicateIou = 1.0 } forward backward
            Expect.equal (unguarded.Length - forward.Length) 4 "without the duplicate test both would be extended"

        testCase "a backward track extends one forward track" <| fun () ->
            // Tracks 2 and 3 both match backward track 9 (IoU 1 and 0.78), with the other guards off.
            let forward = Array.append (track 2 [ 3 .. 6 ] 10.0 10.0) (track 3 [ 3 .. 6 ] 11.0 10.0)
            let backward = track 9 [ 1 .. 6 ] 10.0 10.0
            let o = { Backfill.defaults with MaxDuplicateIou = 1.0; SameObjectIou = infinity }
            let out = Backfill.extend o forward backward
            Expect.equal (out |> Array.filter (fun r -> r.Frame < 3) |> Array.map (fun r -> r.Id)) [| 2; 2 |] "only the best match, track 2"

        testCase "tracks that start at frame 1, or match nothing, are left as they are" <| fun () ->
            let forward = Array.append (track 1 [ 1 .. 6 ] 0.0 0.0) (track 2 [ 3 .. 6 ] 0.0 40.0)
            let backward = track 9 [ 1 .. 6 ] 30.0 20.0
            Expect.equal (Backfill.extend Backfill.defaults forward backward) (forward |> Array.sortBy (fun r -> r.Frame, r.Id)) "unchanged"
            Expect.equal (Backfill.extend Backfill.defaults forward [||]) (forward |> Array.sortBy (fun r -> r.Frame, r.Id)) "no backward pass"

        testCase "one shared frame is too weak a link" <| fun () ->
            let forward = track 1 [ 6 .. 6 ] 0.0 0.0
            let backward = track 2 [ 1 .. 6 ] 0.0 0.0
            Expect.equal (Backfill.extend Backfill.defaults forward backward).Length 1 "MinCommonFrames = 2"
            Expect.equal (Backfill.extend { Backfill.defaults with MinCommonFrames = 1 } forward backward).Length 6 "with 1 it links"

        testCase "reversing frames twice is the identity" <| fun () ->
            let rows = fst (worldOf 3)
            Expect.equal (rows |> Backfill.reverseFrames 10 |> Backfill.reverseFrames 10) rows "involution"
            Expect.isTrue (rows |> Backfill.reverseFrames 10 |> Array.forall (fun r -> r.Frame >= 1 && r.Frame <= 10)) "frames stay in 1..10 (worlds are at most 8 frames long)"

        testCase "the random results below exercise the extension" <| fun () ->
            // Otherwise the property could hold by never adding anything.
            let extended =
                [ 0 .. 299 ] |> List.filter (fun seed ->
                    let forward, backward = worldOf seed
                    (Backfill.extend Backfill.defaults forward backward).Length > forward.Length)
            Expect.isGreaterThan extended.Length 60 "seeds where something is added"

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "stretches of a long video far apart in time are extended as each alone" <| fun (a: int) (b: int) ->
            // Tracks meet only where their frames do (`Spans`): what one stretch adds cannot depend on another.
            let later (rows: Row[]) = rows |> Array.map (fun r -> { r with Frame = r.Frame + 1000; Id = r.Id + 100 })
            let fa, ba = worldOf a
            let fb, bb = worldOf b
            let both = Backfill.extend Backfill.defaults (Array.append fa (later fb)) (Array.append ba (later bb))
            Expect.equal both (Array.append (Backfill.extend Backfill.defaults fa ba) (later (Backfill.extend Backfill.defaults fb bb))) "the two stretches' extensions, one after the other"

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "only adds: before a track's first frame, contiguously, backward boxes, no copies" <| fun (seed: int) ->
            let forward, backward = worldOf seed
            let o = Backfill.defaults
            let out = Backfill.extend o forward backward
            let key (r: Row) = r.Frame, r.Id, r.Box
            let before = forward |> Array.map key |> set
            // Every forward row is kept, unchanged; ids are the forward pass's.
            Expect.isTrue (Set.isSubset before (out |> Array.map key |> set)) "forward rows kept"
            Expect.equal (out |> Array.map (fun r -> r.Id) |> set) (forward |> Array.map (fun r -> r.Id) |> set) "no new ids"
            Expect.equal out (out |> Array.sortBy (fun r -> r.Frame, r.Id)) "sorted by frame, then id"
            let added = out |> Array.filter (fun r -> not (before.Contains(key r)))
            for id, rows in added |> Array.groupBy (fun r -> r.Id) do
                let birth = forward |> Array.filter (fun r -> r.Id = id) |> Array.map (fun r -> r.Frame) |> Array.min
                let frames = rows |> Array.map (fun r -> r.Frame) |> Array.sortDescending
                Expect.equal frames [| birth - 1 .. -1 .. birth - frames.Length |] "contiguous, ending at the frame before the track's first"
                // All of one track's boxes come from one backward track, frame for frame.
                let sources =
                    backward
                    |> Array.groupBy (fun r -> r.Id)
                    |> Array.filter (fun (_, b) -> rows |> Array.forall (fun a -> b |> Array.exists (fun r -> r.Frame = a.Frame && r.Box = a.Box)))
                Expect.isNonEmpty sources "a backward track holds every added box"
            for a in added do
                for r in out do
                    if r.Frame = a.Frame && r <> a then
                        Expect.isLessThanOrEqual (Geometry.iou a.Box r.Box) o.MaxDuplicateIou "no added box copies another of its frame"
            // Nothing is added for tracks the forward pass starts at frame 1.
            let starters = forward |> Array.groupBy (fun r -> r.Id) |> Array.filter (fun (_, rs) -> rs |> Array.exists (fun r -> r.Frame = 1)) |> Array.map fst |> set
            Expect.isTrue (added |> Array.forall (fun r -> not (starters.Contains r.Id))) "tracks from frame 1 untouched"
    ]
