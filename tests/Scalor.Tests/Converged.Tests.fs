module Scalor.Tests.Converged

open System
open Expecto
open Scalor.Metrics
open Scalor.Model

/// A z_where of half-extents 0.2 centred at (tx, ty).
let private at (tx: float32) (ty: float32) = [| 0.2f; 0.2f; tx; ty |]

let private rule = { Converged.MinIou = 0.7; Converged.Frames = 3 }

/// Steps `frames` from the empty state; the retired ids of each frame.
let private run (r: Converged.Rule) (frames: (int64 * float32[])[] list) =
    frames
    |> List.mapFold (fun state objects -> let next, retired = Converged.step r state objects in retired, next) Converged.empty
    |> fst

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

        testCase "valid rules: an IoU in (0, 1] and at least one frame" <| fun () ->
            Expect.isTrue (Converged.isValid Converged.defaults) "the defaults"
            for bad in [ { rule with MinIou = 0.0 }; { rule with MinIou = 1.5 }; { rule with MinIou = nan }; { rule with Frames = 0 } ] do
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
            let prior : Converged.State =
                { Runs =
                    Map.ofList [ for a in ids do
                                     for b in ids do
                                         if a < b && rng.Next 3 = 0 then
                                             yield (a, b), { Converged.Length = rng.Next(1, 5); Converged.Start = point (); Converged.Before = shift (), shift () } ]
                  Last = Map.ofList [ for a in ids do if rng.Next 4 > 0 then yield a, (point (), shift ()) ] }
            let r = { Converged.MinIou = [| 0.5; 0.7; 0.9 |].[rng.Next 3]; Converged.Frames = rng.Next(1, 4) }
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
                | None ->
                    let shiftOf id = prior.Last.TryFind id |> Option.bind snd
                    Expect.equal (run.Length, run.Before) (1, (shiftOf a, shiftOf b)) "a new run starts with each track's shift before it"
            for a in ids do
                for b in ids do
                    if a < b && coincide a b && not (retired.Contains a || retired.Contains b) then
                        Expect.isTrue (next.Runs.ContainsKey(a, b)) (sprintf "surviving pair (%d, %d) carries its run" a b)
            Expect.equal (next.Last |> Map.keys |> Set.ofSeq) (Set.difference (set ids) retired) "the survivors' centres are kept"
            for KeyValue(id, ((x, y), s)) in next.Last do
                let cx, cy = centreOf whereOf.[id]
                Expect.equal (x, y) (cx, cy) "the centre"
                let expected = prior.Last.TryFind id |> Option.map (fun ((px, py), _) -> cx - px, cy - py)
                Expect.equal s expected "the shift from the last frame's centre, if it was there"
            if r.Frames = 1 then
                for a in ids do
                    for b in ids do
                        if a < b && not (retired.Contains a || retired.Contains b) then Expect.isFalse (coincide a b) (sprintf "%d and %d survive apart" a b)
    ]
