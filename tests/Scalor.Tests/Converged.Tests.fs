module Scalor.Tests.Converged

open System
open Expecto
open Scalor.Metrics
open Scalor.Model

/// A z_where of half-extents 0.2 centred at (tx, ty).
let private at (tx: float32) (ty: float32) = [| 0.2f; 0.2f; tx; ty |]

let private rule = { Converged.defaults with MinIou = 0.7; Frames = 3 }

/// Steps `frames` from the empty state; the retired ids of each frame.
let private run (r: Converged.Rule) (frames: (int64 * float32[])[] list) =
    frames
    |> List.mapFold (fun state objects -> let next, retired = Converged.step r state objects in retired, next) Converged.empty
    |> fst

/// Steps `frames` from the empty state; the state after each frame.
let private states (r: Converged.Rule) (frames: (int64 * float32[])[] list) =
    frames |> List.scan (fun state objects -> fst (Converged.step r state objects)) Converged.empty |> List.tail

/// 2 follows an object moving right 0.1 a frame (0.05 of the frame's side) until it drifts onto 5, which stands
/// still, in frame 2; the two coincide from then, and at frame 4 (the rule's third) 2 is retired. Where 2's object
/// goes on, `found f` gives the track that finds it (id 9), if it is there in frame f.
let private drift (found: int -> float32[] option) =
    [ for f in 0 .. 9 ->
          [| yield 5L, at (if f >= 2 then 0.01f else 0f) 0f
             if f < 2 then yield 2L, at (-0.6f + 0.1f * float32 f) 0f
             elif f <= 4 then yield 2L, at 0f 0f
             match found f with
             | Some w -> yield 9L, w
             | None -> () |] ]

/// Where 2's object is in frame f.
let private object2 f = at (-0.6f + 0.1f * float32 f) 0f

/// A box's centre in the unit square, as `step` keeps it.
let private centreOf (where: float32[]) =
    let b = Converged.boxOf where
    b.Left + b.Width / 2.0, b.Top + b.Height / 2.0

[<Tests>]
let tests =
    testList "Converged" [
        testCase "two tracks on one object with no motion before to tell them apart: the younger is retired at the rule's frame, not before" <| fun () ->
            let together = [| 9L, at 0.01f 0f; 5L, at 0f 0f |]
            Expect.equal (run rule [ together; together; together ]) [ Set.empty; Set.empty; Set.singleton 9L ] "retired at the third frame"
            Expect.equal (run { rule with Frames = 1 } [ together ]) [ Set.singleton 9L ] "at once with one frame"

        testCase "a run that breaks starts again: objects that cross are kept" <| fun () ->
            let together = [| 5L, at 0f 0f; 9L, at 0f 0f |]
            let apart = [| 5L, at 0f 0f; 9L, at 0.5f 0f |]
            let retired = run rule [ together; together; apart; together; together; together ]
            Expect.equal retired [ Set.empty; Set.empty; Set.empty; Set.empty; Set.empty; Set.singleton 9L ] "three in a row after the break"

        testCase "boxes that overlap less than the IoU never coincide" <| fun () ->
            // Half-extent 0.2 (width 0.2 of the unit square): 0.05 apart is IoU 0.6.
            let near = [| 5L, at 0f 0f; 9L, at 0.1f 0f |]
            Expect.isLessThan (Geometry.iou (Converged.boxOf (snd near.[0])) (Converged.boxOf (snd near.[1]))) 0.7 "the premise: below 0.7"
            Expect.isTrue (run rule (List.replicate 10 near) |> List.forall Set.isEmpty) "never retired"
            Expect.equal (run { rule with MinIou = 0.5 } (List.replicate 3 near)) [ Set.empty; Set.empty; Set.singleton 9L ] "at 0.5 they coincide"

        testCase "of several tracks on one object the oldest stays; objects elsewhere are left alone" <| fun () ->
            let frame = [| 8L, at 0f 0f; 3L, at 0f 0f; 7L, at 0.02f 0f; 4L, at 0.6f 0.6f |]
            Expect.equal (run { rule with Frames = 1 } [ frame ]) [ set [ 7L; 8L ] ] "3 stays, 4 is elsewhere"

        testCase "an older track that drifts onto an object a younger one follows is retired, not the younger" <| fun () ->
            // 2 moves right onto 5, which stays put; from the third frame they coincide, and 5 follows on.
            let frames = [ [| 2L, at -0.3f 0f; 5L, at 0f 0f |]; [| 2L, at -0.15f 0f; 5L, at 0f 0f |] ] @ List.replicate 3 [| 2L, at 0f 0f; 5L, at 0.01f 0f |]
            Expect.equal (run rule frames) [ Set.empty; Set.empty; Set.empty; Set.empty; Set.singleton 2L ] "the one that came from elsewhere"

        testCase "a track that comes onto a moving object from the side is retired, the one that moved with it stays" <| fun () ->
            // The object moves right 0.1 a frame and 2 with it; 5 comes down onto it, then both follow it.
            let frames =
                [ for f in 0 .. 5 ->
                      let x = -0.3f + 0.1f * float32 f
                      [| 2L, at x 0f; 5L, at (if f < 2 then x else x + 0.01f) (if f < 2 then -0.3f + 0.15f * float32 f else 0f) |] ]
            Expect.equal (run rule frames) [ Set.empty; Set.empty; Set.empty; Set.empty; Set.singleton 5L; Set.empty ] "5 came from the side"
            // The same with the ids swapped: the motion decides, not the age.
            let swapped = frames |> List.map (Array.map (fun (id, w) -> (if id = 2L then 5L else 2L), w))
            Expect.equal (run rule swapped) [ Set.empty; Set.empty; Set.empty; Set.empty; Set.singleton 2L; Set.empty ] "now 2 came from the side"

        testCase "a retired track that had drifted off its object hands its id to the track that finds that object again" <| fun () ->
            let r = { rule with HandOver = 3; HandOverDistance = 0.05 }
            Expect.equal (run r (drift (fun _ -> None))).[4] (Set.singleton 2L) "the premise: 2 came from elsewhere and is retired at frame 4"
            // Found during the run (frame 3), on the object: reported as 2 from the frame 2 is retired.
            let during = states r (drift (fun f -> if f >= 3 then Some (object2 f) else None))
            Expect.equal [ for s in during -> Converged.reportedId s 9L ] [ 9L; 9L; 9L; 9L; 2L; 2L; 2L; 2L; 2L; 2L ] "9 takes 2's id"
            Expect.isEmpty during.[4].Lost "the id is taken once"
            // Found two frames after, on the object.
            Expect.equal [ for s in states r (drift (fun f -> if f >= 6 then Some (object2 f) else None)) -> Converged.reportedId s 9L ]
                [ 9L; 9L; 9L; 9L; 9L; 9L; 2L; 2L; 2L; 2L ] "two frames after"
            // Found beyond the window (3 frames after retirement).
            Expect.isTrue (states r (drift (fun f -> if f >= 8 then Some (object2 f) else None)) |> List.forall (fun s -> Converged.reportedId s 9L = 9L)) "too late"
            Expect.isEmpty (states r (drift (fun _ -> None))).[8].Lost "forgotten after the window"
            // Found away from where the object went: the moving object is not there.
            Expect.isTrue (states r (drift (fun f -> if f >= 5 then Some (at 0.6f 0.6f) else None)) |> List.forall (fun s -> Converged.reportedId s 9L = 9L)) "too far"
            // A track that was there before the run is not a rediscovery.
            Expect.isTrue (states r (drift (fun f -> Some (at 0.6f (0.6f - 0.05f * float32 f)))) |> List.forall (fun s -> Converged.reportedId s 9L = 9L)) "tracked all along"
            // No hand-over with a window of 0.
            Expect.isTrue (states { r with HandOver = 0 } (drift (fun f -> if f >= 3 then Some (object2 f) else None)) |> List.forall (fun s -> s.Ids.IsEmpty && s.Lost.IsEmpty)) "window 0"

        testCase "valid rules: an IoU in (0, 1], at least one frame, a window of 0 frames or more, a positive distance" <| fun () ->
            Expect.isTrue (Converged.isValid Converged.defaults) "the defaults"
            Expect.isTrue (Converged.isValid { rule with HandOver = 0 }) "no hand-over"
            for bad in [ { rule with MinIou = 0.0 }; { rule with MinIou = 1.5 }; { rule with MinIou = nan }; { rule with Frames = 0 }
                         { rule with HandOver = -1 }; { rule with HandOverDistance = 0.0 }; { rule with HandOverDistance = nan }; { rule with HandOverDistance = infinity } ] do
                Expect.isFalse (Converged.isValid bad) (sprintf "%A" bad)

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "every retired track coincides with a survivor; with no motion known the oldest stays; runs name only survivors that coincide and count on; the last frame's centres and shifts are kept; with one frame the survivors are apart" <| fun (seed: int) ->
            let rng = Random(seed)
            // Few positions and sizes, so that tracks coincide often.
            let spots = [| -0.5f; -0.48f; 0f; 0.03f; 0.1f; 0.5f |]
            let pick () = spots.[rng.Next spots.Length]
            let objects =
                [| for id in Seq.take (rng.Next(0, 8)) (Seq.initInfinite (fun i -> int64 (3 * i + rng.Next(1, 3)))) ->
                       id, [| (if rng.Next 2 = 0 then 0.2f else 0.24f); 0.2f; pick (); pick () |] |]
            let ids = objects |> Array.map fst
            let moves = rng.Next 2 = 0
            let shift () = if moves && rng.Next 3 > 0 then Some (rng.NextDouble() - 0.5, rng.NextDouble() - 0.5) else None
            let point () = rng.NextDouble(), rng.NextDouble()
            let seen () : Converged.Seen = { Centre = point (); Shift = shift (); Frames = rng.Next(1, 6) }
            // Retired tracks of earlier frames have ids no track of this frame has (ids are never reused).
            let lost =
                [ for i in 1 .. rng.Next(0, 4) ->
                      ({ Id = -int64 i; Partner = (if ids.Length > 0 then ids.[rng.Next ids.Length] else 0L)
                         Centre = point (); Shift = ((rng.NextDouble() - 0.5) / 10.0, (rng.NextDouble() - 0.5) / 10.0)
                         Elapsed = rng.Next(1, 8); Since = rng.Next(0, 3) } : Converged.Lost) ]
            let prior : Converged.State =
                { Runs =
                    Map.ofList [ for a in ids do
                                     for b in ids do
                                         if a < b && rng.Next 3 = 0 then
                                             yield (a, b), { Converged.Length = rng.Next(1, 5); Converged.Start = point ()
                                                             Converged.Before = (if rng.Next 3 > 0 then Some (seen ()) else None), (if rng.Next 3 > 0 then Some (seen ()) else None) } ]
                  Last = Map.ofList [ for a in ids do if rng.Next 4 > 0 then yield a, seen () ]
                  Lost = lost
                  Ids = Map.ofList [ for a in ids do if rng.Next 5 = 0 then yield a, -100L - a ] }
            let r = { Converged.MinIou = [| 0.5; 0.7; 0.9 |].[rng.Next 3]; Converged.Frames = rng.Next(1, 4)
                      Converged.HandOver = rng.Next(0, 4); Converged.HandOverDistance = [| 0.05; 0.25; 1.5 |].[rng.Next 3] }
            let next, retired = Converged.step r prior (Array.rev objects)
            let whereOf = Map.ofArray objects
            let coincide a b = Geometry.iou (Converged.boxOf whereOf.[a]) (Converged.boxOf whereOf.[b]) >= r.MinIou
            Expect.isTrue (Set.isSubset retired (set ids)) "only the frame's tracks"
            for y in retired do
                Expect.isTrue (ids |> Array.exists (fun x -> x <> y && not (retired.Contains x) && coincide x y)) (sprintf "%d has a survivor on its object" y)
            if not moves && ids.Length > 0 then Expect.isFalse (retired.Contains (Array.min ids)) "with no motion known the oldest stays"
            for KeyValue((a, b), run) in next.Runs do
                Expect.isTrue (a < b && coincide a b && not (retired.Contains a || retired.Contains b)) (sprintf "run (%d, %d)" a b)
                match prior.Runs.TryFind((a, b)) with
                | Some before -> Expect.equal run { before with Length = before.Length + 1 } "a run counts on from the last frame's"
                | None -> Expect.equal (run.Length, run.Before) (1, (prior.Last.TryFind a, prior.Last.TryFind b)) "a new run starts with each track as it was before it"
            for a in ids do
                for b in ids do
                    if a < b && coincide a b && not (retired.Contains a || retired.Contains b) then
                        Expect.isTrue (next.Runs.ContainsKey(a, b)) (sprintf "surviving pair (%d, %d) carries its run" a b)
            Expect.equal (next.Last |> Map.keys |> Set.ofSeq) (Set.difference (set ids) retired) "the survivors' centres are kept"
            for KeyValue(id, seen) in next.Last do
                let cx, cy = centreOf whereOf.[id]
                Expect.equal seen.Centre (cx, cy) "the centre"
                let before = prior.Last.TryFind id
                Expect.equal seen.Shift (before |> Option.map (fun b -> cx - fst b.Centre, cy - snd b.Centre)) "the shift from the last frame's centre, if it was there"
                Expect.equal seen.Frames (1 + (before |> Option.map (fun b -> b.Frames) |> Option.defaultValue 0)) "frames in a row"
            // The hand-over: survivors keep the ids they were handed; a new one comes from a retired track, once; the
            // reported ids stay distinct; what is left is within the window.
            let survivors = Set.difference (set ids) retired
            Expect.isTrue (next.Ids |> Map.forall (fun k _ -> survivors.Contains k)) "only survivors carry a handed id"
            for KeyValue(k, v) in prior.Ids do
                if survivors.Contains k then Expect.equal (next.Ids.TryFind k) (Some v) "a handed id is kept"
            let newly = next.Ids |> Map.filter (fun k _ -> not (prior.Ids.ContainsKey k)) |> Map.toList
            let from = (lost |> List.map (fun l -> l.Id)) @ (retired |> Set.toList |> List.map (Converged.reportedId prior))
            for k, v in newly do
                Expect.contains from v (sprintf "%d took the id of a retired track" k)
            Expect.equal (newly |> List.map snd |> List.distinct |> List.length) newly.Length "each id is taken once"
            let reported = survivors |> Seq.map (Converged.reportedId next) |> List.ofSeq
            Expect.equal (List.distinct reported |> List.length) reported.Length "the reported ids are distinct"
            Expect.isTrue (next.Lost |> List.forall (fun l -> l.Since <= r.HandOver && not (newly |> List.exists (fun (_, v) -> v = l.Id)))) "the lost left are within the window and untaken"
            if r.HandOver = 0 then Expect.isEmpty newly "no hand-over with a window of 0"
            if r.Frames = 1 then
                for a in ids do
                    for b in ids do
                        if a < b && not (retired.Contains a || retired.Contains b) then Expect.isFalse (coincide a b) (sprintf "%d and %d survive apart" a b)
    ]
