module Scalor.Tests.Metrics

open System
open System.IO
open Expecto
open FsCheck
open FsCheck.FSharp
open Scalor.Metrics

/// Frames in py-motmetrics' form (object ids, hypothesis ids, distances with NaN = may not pair), turned
/// into similarities so that every finite distance is within the 0.5 threshold, as in py-motmetrics.
let private fromDistances (frames: (int list * int list * float list list) list) =
    let dmax = frames |> List.collect (fun (_, _, d) -> List.concat d) |> List.filter (Double.IsNaN >> not) |> List.fold max 1e-9
    frames
    |> List.map (fun (g, h, d) ->
        let dist = Array2D.init g.Length h.Length (fun i j -> d.[i].[j])
        let sim = dist |> Array2D.map (fun x -> if Double.IsNaN x then 0.0 else Geometry.euclideanSimilarity (2.0 * dmax) x)
        (Array.ofList g, Array.ofList h, sim, dist))
    |> Array.ofList
    |> Sequence.build

/// TrackEval's dense test form: presence masks and similarities per timestep.
let private fromDense (gtPresent: int[][]) (trPresent: int[][]) (sim: float[,,]) =
    let steps = gtPresent.[0].Length
    [| for t in 0 .. steps - 1 do
         let g = [| for i in 0 .. gtPresent.Length - 1 do if gtPresent.[i].[t] = 1 then yield i |]
         let h = [| for j in 0 .. trPresent.Length - 1 do if trPresent.[j].[t] = 1 then yield j |]
         let s = Array2D.init g.Length h.Length (fun a b -> sim.[t, g.[a], h.[b]])
         yield (g, h, s, Array2D.map (fun x -> 1.0 - x) s) |]
    |> Sequence.build

let private clear data = Clear.evaluate 0.5 infinity data

let private noConfusion () =
    let sim = Array3D.zeroCreate<float> 5 2 2
    [| 0.; 0.; 0.; 1.; 1. |] |> Array.iteri (fun t v -> sim.[t, 0, 1] <- v)
    [| 1.; 1.; 0.; 0.; 0. |] |> Array.iteri (fun t v -> sim.[t, 1, 0] <- v)
    sim, [| [| 1; 1; 1; 1; 1 |]; [| 1; 1; 1; 0; 0 |] |], [| [| 1; 1; 1; 1; 0 |]; [| 1; 1; 1; 1; 1 |] |]

let private approx (a: float) (b: float) msg = Expect.floatClose Accuracy.high a b msg

[<Tests>]
let tests =
    testList "Metrics" [
        testList "Assignment" [
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "optimal on small matrices (brute force)" <| fun (seed: int) ->
                let rng = Random(seed)
                let n, m = rng.Next(1, 6), rng.Next(1, 6)
                let cost = Array2D.init n m (fun _ _ -> float (rng.Next(0, 20)) + rng.NextDouble())
                let pairs = Assignment.minimise cost
                let rec perms (rows: int list) (cols: int list) =
                    match rows with
                    | [] -> [ 0.0 ]
                    | r :: rest -> [ for c in cols do for s in perms rest (List.except [ c ] cols) -> cost.[r, c] + s ]
                let best =
                    if n <= m then perms [ 0 .. n - 1 ] [ 0 .. m - 1 ] |> List.min
                    else
                        let t = Array2D.init m n (fun i j -> cost.[j, i])
                        let rec permsT (rows: int list) (cols: int list) =
                            match rows with
                            | [] -> [ 0.0 ]
                            | r :: rest -> [ for c in cols do for s in permsT rest (List.except [ c ] cols) -> t.[r, c] + s ]
                        permsT [ 0 .. m - 1 ] [ 0 .. n - 1 ] |> List.min
                let rowsUnique = (pairs |> Array.map fst |> Array.distinct).Length = pairs.Length
                let colsUnique = (pairs |> Array.map snd |> Array.distinct).Length = pairs.Length
                pairs.Length = min n m && rowsUnique && colsUnique && abs (Assignment.total cost pairs - best) < 1e-9

            testCase "maximise picks the largest total" <| fun () ->
                let score = array2D [ [ 1.0; 2.0 ]; [ 3.0; 1.0 ] ]
                Expect.equal (Assignment.maximise score) [| (0, 1); (1, 0) |] "2 + 3"
        ]

        testList "py-motmetrics cases" [
            testCase "A: events (FP, MISS, MATCH, SWITCH, carry-forward)" <| fun () ->
                let data =
                    fromDistances [
                        [], [ 1; 2 ], []
                        [ 1; 2 ], [], [ []; [] ]
                        [ 1; 2 ], [ 1; 2 ], [ [ 1.0; 0.5 ]; [ 0.3; 1.0 ] ]
                        [ 1; 2 ], [ 1; 2 ], [ [ 0.2; nan ]; [ nan; 0.1 ] ]
                        [ 1; 2 ], [ 1; 2 ], [ [ 5.0; 1.0 ]; [ 1.0; 5.0 ] ]
                        [], [], [] ]
                let c = clear data
                Expect.equal (c.TP - c.IDSW, c.FP, c.FN, c.IDSW, c.TP) (4, 2, 2, 2, 6) "matches, FP, misses, switches, detections"
                Expect.equal (data.NumGtDets, data.NumTrackerDets, data.Frames.Length) (8, 8, 6) "objects, predictions, frames"
                let m = Clear.metrics c
                approx m.Mota 0.25 "MOTA = 1 - 6/8"
                approx m.MotpDist (11.1 / 6.0) "MOTP = 11.1/6"

            testCase "B: switches, ascend and migrate" <| fun () ->
                let data =
                    fromDistances [
                        [], [], []
                        [ 1; 2 ], [ 1; 2 ], [ [ 1.0; 0.0 ]; [ 0.0; 1.0 ] ]
                        [ 1; 2 ], [ 1; 2 ], [ [ 0.4; nan ]; [ nan; 0.4 ] ]
                        [ 1; 2 ], [ 1; 2 ], [ [ 0.0; 1.0 ]; [ 1.0; 0.0 ] ]
                        [ 1; 2 ], [ 2; 3 ], [ [ 1.0; 0.0 ]; [ 0.4; 0.7 ] ]
                        [ 1; 3 ], [ 2; 3 ], [ [ 1.0; 0.0 ]; [ 0.4; 0.7 ] ]
                        [], [], [] ]
                let c = clear data
                Expect.equal (c.TP - c.IDSW, c.IDSW, c.FP, c.FN, c.TP) (7, 3, 0, 0, 10) "matches, switches, FP, misses, detections"
                Expect.equal data.NumGtDets 10 "objects"
                let m = Clear.metrics c
                approx m.Mota 0.7 "MOTA"
                approx m.MotpDist 0.16 "MOTP"

            testCase "C: correct average (CLEAR MOT paper, figure 3)" <| fun () ->
                let data =
                    fromDistances [
                        for _ in 1 .. 4 -> [ 1; 2; 3; 4 ], [], [ []; []; []; [] ]
                        for _ in 1 .. 4 -> [ 4 ], [ 4 ], [ [ 0.0 ] ] ]
                approx (Clear.metrics (clear data)).Mota 0.2 "MOTA"

            testCase "D: max switch time" <| fun () ->
                let near = fromDistances [ [ 1; 2 ], [ 1; 2 ], [ [ 1.0; 0.5 ]; [ 0.3; 1.0 ] ]; [ 1; 2 ], [ 1; 2 ], [ [ 0.5; nan ]; [ nan; 0.5 ] ] ]
                let far =
                    fromDistances [
                        [ 1; 2 ], [ 1; 2 ], [ [ 1.0; 0.5 ]; [ 0.3; 1.0 ] ]
                        [], [], []
                        [], [], []
                        [], [], []
                        [ 1; 2 ], [ 1; 2 ], [ [ 0.5; nan ]; [ nan; 0.5 ] ] ]
                Expect.equal (Clear.evaluate 0.5 1.0 near).IDSW 2 "switch within one frame"
                Expect.equal (Clear.evaluate 0.5 1.0 far).IDSW 0 "four frames later: plain matches"
                Expect.equal (Clear.evaluate 0.5 infinity far).IDSW 2 "TrackEval default: any earlier match"

            testCase "E: distance matrices" <| fun () ->
                let a = [| (1.0, 2.0); (2.0, 2.0); (3.0, 2.0) |]
                let b = [| (0.0, 0.0); (1.0, 1.0) |]
                let d = Geometry.norm2Squared a b infinity
                Expect.equal d (array2D [ [ 5.0; 1.0 ]; [ 8.0; 2.0 ]; [ 13.0; 5.0 ] ]) "squared distances"
                let capped = Geometry.norm2Squared a b 5.0
                Expect.isTrue (Double.IsNaN capped.[1, 0] && Double.IsNaN capped.[2, 0] && capped.[2, 1] = 5.0) "NaN beyond max_d2, threshold kept"
                let box l t w h : Geometry.Box = { Left = l; Top = t; Width = w; Height = h }
                let objs = [| box 0.0 0.0 1.0 2.0 |]
                let hyps = [| box 0.0 0.0 1.0 2.0; box 0.0 0.0 1.0 1.0; box 1.0 1.0 1.0 1.0; box 0.5 0.0 1.0 1.0; box 0.0 1.0 1.0 1.0 |]
                let full = Geometry.iouDistance objs hyps 1.0
                for (j, e) in List.indexed [ 0.0; 0.5; 1.0; 0.8; 0.5 ] do approx full.[0, j] e (sprintf "1 - IoU %d" j)
                let cut = Geometry.iouDistance objs hyps 0.5
                Expect.isTrue (Double.IsNaN cut.[0, 2] && Double.IsNaN cut.[0, 3] && cut.[0, 4] = 0.5) "NaN beyond max_iou"
        ]

        testList "TrackEval cases" [
            testCase "G: no_confusion (CLEAR, identity, HOTA)" <| fun () ->
                let sim, gp, tp = noConfusion ()
                let data = fromDense gp tp sim
                let c = clear data
                Expect.equal (c.TP, c.FN, c.FP, c.IDSW) (4, 4, 5, 0) "CLEAR counts"
                approx (Clear.metrics c).Mota (1.0 - 9.0 / 8.0) "MOTA"
                let i = Identity.evaluate 0.5 data
                Expect.equal (i.IDTP, i.IDFN, i.IDFP) (4, 4, 5) "identity counts"
                let im = Identity.metrics i
                approx im.Idf1 (8.0 / 17.0) "IDF1"
                approx im.Idr 0.5 "IDR"
                approx im.Idp (4.0 / 9.0) "IDP"
                let h = Hota.metrics (Hota.evaluate data)
                approx h.DetA (4.0 / 13.0) "DetA"
                approx h.AssA 0.325 "AssA"
                approx h.Hota (sqrt 0.1) "HOTA = sqrt 0.1"
                approx h.LocA 1.0 "LocA"

            testCase "G: with_confusion" <| fun () ->
                let sim, gp, tp = noConfusion ()
                sim.[2, 0, 0] <- 1.0
                sim.[1, 1, 1] <- 1.0
                let data = fromDense gp tp sim
                let c = clear data
                Expect.equal (c.TP, c.FN, c.FP, c.IDSW) (5, 3, 4, 1) "CLEAR counts"
                approx (Clear.metrics c).Mota 0.0 "MOTA"
                approx (Identity.metrics (Identity.evaluate 0.5 data)).Idf1 (8.0 / 17.0) "IDF1"

            testCase "G: split_tracks" <| fun () ->
                let sim = Array3D.zeroCreate<float> 5 2 5
                let set g tr (vs: float[]) = vs |> Array.iteri (fun t v -> sim.[t, g, tr] <- v)
                set 0 0 [| 1.; 1.; 0.; 0.; 0. |]
                set 0 3 [| 0.; 0.; 0.; 1.; 1. |]
                set 1 1 [| 0.; 0.; 1.; 1.; 0. |]
                set 1 2 [| 0.; 0.; 0.; 0.; 1. |]
                set 1 4 [| 1.; 1.; 0.; 0.; 0. |]
                let gp = [| [| 1; 1; 0; 1; 1 |]; [| 1; 1; 1; 1; 1 |] |]
                let tp = [| [| 1; 1; 0; 0; 0 |]; [| 0; 0; 1; 1; 1 |]; [| 0; 0; 0; 0; 1 |]; [| 0; 0; 1; 1; 1 |]; [| 1; 1; 0; 0; 0 |] |]
                let data = fromDense gp tp sim
                let c = clear data
                Expect.equal (c.TP, c.FN, c.FP, c.IDSW) (9, 0, 2, 3) "CLEAR counts"
                approx (Clear.metrics c).Mota (1.0 - 5.0 / 9.0) "MOTA"
                let i = Identity.evaluate 0.5 data
                Expect.equal (i.IDTP, i.IDFN, i.IDFP) (4, 5, 7) "identity counts"
                approx (Identity.metrics i).Idf1 (8.0 / 20.0) "IDF1"
        ]

        testList "Edge cases" [
            let row f id l t : MotFiles.Row = { Frame = f; Id = id; Box = { Left = l; Top = t; Width = 4.0; Height = 4.0 }; Flag = 1.0; Class = 1; Visibility = 1.0 }
            let eval gt pr len px = Evaluate.evaluateRows "s" len None (Evaluate.Distance px) 0.0 gt pr "gt.txt" "pred.txt"

            testCase "empty frames are counted but add no events" <| fun () ->
                let r = eval [| row 1 1 0.0 0.0; row 3 1 1.0 0.0 |] [| row 1 7 0.0 0.0; row 3 7 1.0 0.0 |] 5 2.0
                Expect.equal (r.Clear.TP, r.Clear.FP, r.Clear.FN, r.Clear.IDSW, r.Clear.Frames) (2, 0, 0, 0, 5) "two matches over five frames"
                Expect.equal r.Clear.Frag 0 "an empty frame in between is not a fragmentation (TrackEval)"

            testCase "no ground truth: every prediction is a false positive" <| fun () ->
                let r = eval [||] [| row 1 1 0.0 0.0; row 2 1 0.0 0.0 |] 2 2.0
                Expect.equal r.Clear.FP 2 "FP"
                Expect.equal r.Identity.IDFP 2 "IDFP"
                let s = Evaluate.summarise [ r ]
                Expect.equal s.Clear.Mota 0.0 "TrackEval leaves MOTA at 0 for such a sequence"
                let other = eval [| row 1 1 0.0 0.0 |] [| row 1 1 0.0 0.0 |] 1 2.0
                let both = Evaluate.summarise [ r; other ]
                approx both.Clear.Mota ((1.0 - 2.0) / 1.0) "combined: the formula counts them"

            testCase "no predictions: everything missed" <| fun () ->
                let r = eval [| row 1 1 0.0 0.0; row 2 2 9.0 9.0 |] [||] 2 2.0
                Expect.equal (r.Clear.FN, r.Clear.ML, r.Identity.IDFN) (2, 2, 2) "FN, ML, IDFN"
                let s = Evaluate.summarise [ r ]
                Expect.equal s.Hota.Hota 0.0 "HOTA"
                Expect.equal s.Hota.LocA 1.0 "LocA"
                Expect.equal s.CountMae 1.0 "every frame misses all"

            testCase "a distance exactly at the threshold matches; just beyond does not" <| fun () ->
                let at = eval [| row 1 1 0.0 0.0 |] [| row 1 1 2.0 0.0 |] 1 2.0
                Expect.equal at.Clear.TP 1 "d = threshold is a match"
                let beyond = eval [| row 1 1 0.0 0.0 |] [| row 1 1 2.001 0.0 |] 1 2.0
                Expect.equal (beyond.Clear.TP, beyond.Clear.FP, beyond.Clear.FN) (0, 1, 1) "d > threshold is FP + FN"

            testCase "recall by frame pools each frame index over the sequences that reach it" <| fun () ->
                // a (2 frames): 1 of 2 found, then 1 of 1. b (3 frames): 1 of 1, no ground truth, 0 of 1.
                let a = eval [| row 1 1 0.0 0.0; row 1 2 9.0 9.0; row 2 1 0.0 0.0 |] [| row 1 1 0.0 0.0; row 2 1 0.0 0.0 |] 2 2.0
                let b = eval [| row 1 1 0.0 0.0; row 3 1 0.0 0.0 |] [| row 1 4 0.0 0.0; row 3 4 30.0 30.0 |] 3 2.0
                let both = (Evaluate.summarise [ a; b ]).RecallByFrame
                Expect.equal both.Length 3 "as long as the longest sequence"
                approx both.[0] (2.0 / 3.0) "frame 1"
                approx both.[1] 1.0 "frame 2: a alone has ground truth"
                approx both.[2] 0.0 "frame 3"
                Expect.isTrue (Double.IsNaN (Evaluate.summarise [ b ]).RecallByFrame.[1]) "no ground truth at an index: NaN"

            testCase "duplicate ids in a frame are a clear error" <| fun () ->
                let e = Expect.throwsC (fun () -> eval [| row 1 1 0.0 0.0 |] [| row 1 3 0.0 0.0; row 1 3 5.0 5.0 |] 1 2.0 |> ignore) id
                Expect.stringContains e.Message "pred.txt: frame 1 lists tracker id 3 twice" "names file, frame and id"

            testCase "count MAE is |pred - gt| / gt averaged over frames with ground truth" <| fun () ->
                let r = eval [| row 1 1 0.0 0.0; row 1 2 9.0 9.0; row 2 1 0.0 0.0 |] [| row 1 1 0.0 0.0; row 2 1 0.0 0.0; row 2 5 20.0 20.0 |] 3 2.0
                approx (Evaluate.summarise [ r ]).CountMae ((0.5 + 1.0) / 2.0) "frame 1: 1 of 2; frame 2: 2 for 1; frame 3 has no GT"

            testCase "distractor-matched tracker boxes are removed; flag-0 ground truth ignored" <| fun () ->
                let gt = [| row 1 1 0.0 0.0; { row 1 2 20.0 20.0 with Class = 8 }; { row 1 3 40.0 40.0 with Flag = 0.0 } |]
                let pr = [| row 1 1 0.0 0.0; row 1 2 20.0 20.0; row 1 3 40.0 40.0 |]
                let r = eval gt pr 1 2.0
                Expect.equal (r.Clear.TP, r.Clear.FP, r.Clear.FN) (1, 1, 0) "distractor match dropped; flag-0 GT box unmatched tracker is FP"

            testCase "ground truth below the visibility floor is ignored, with the boxes it matches" <| fun () ->
                let hidden f id l t = { row f id l t with Visibility = 0.1 }
                // Object 1 shows; 2 and 3 are nearly hidden, and only 2 is found. A box at (1, 0) is nearer to
                // the shown object 1 than to hidden 4 beside it, so CLEAR's matching gives it to 1 and it stays.
                let gt = [| row 1 1 0.0 0.0; hidden 1 2 20.0 20.0; hidden 1 3 40.0 40.0; hidden 1 4 3.5 0.0 |]
                let pr = [| row 1 1 1.0 0.0; row 1 2 20.0 20.0; row 1 3 60.0 0.0 |]
                let at v = Evaluate.evaluateRows "s" 1 None (Evaluate.Distance 2.0) v gt pr "gt.txt" "pred.txt"
                let all = at 0.0
                Expect.equal (all.Clear.TP, all.Clear.FP, all.Clear.FN) (2, 1, 2) "every row scored"
                let shown = at 0.5
                Expect.equal (shown.Clear.TP, shown.Clear.FP, shown.Clear.FN, shown.NumGt) (1, 1, 0, 1) "hidden rows and the box on 2 drop out; the far box stays an FP"
                let exact = at 0.1
                Expect.equal (exact.Clear.TP, exact.NumGt) (2, 4) "a row exactly at the floor counts"

            testCase "a track keeps its object when a hidden neighbour's box is dropped" <| fun () ->
                // Frame 1: tracks 1 and 2 on objects 1 and 2. Frame 2: object 2 slips under object 1, and track 1
                // is a little nearer to object 2 than to its own. By similarity alone track 1 would go to the
                // hidden object and be dropped, and track 2 would take object 1: an id switch. CLEAR's matching
                // keeps last frame's pair, so track 2's box on the hidden object is the one dropped.
                let gt = [| row 1 1 0.0 0.0; row 1 2 3.0 0.0; row 2 1 0.0 0.0; { row 2 2 1.0 0.0 with Visibility = 0.1 } |]
                let pr = [| row 1 1 0.0 0.0; row 1 2 3.0 0.0; row 2 1 0.9 0.0; row 2 2 0.1 0.0 |]
                let r = Evaluate.evaluateRows "s" 2 None (Evaluate.Distance 2.0) 0.5 gt pr "gt.txt" "pred.txt"
                Expect.equal (r.Clear.TP, r.Clear.FP, r.Clear.FN, r.Clear.IDSW) (3, 0, 0, 0) "no switch, nothing left over"

            testCase "gt.txt column 9 is the visibility; MOT15 and results have none" <| fun () ->
                let gt = MotFiles.parse "gt.txt" true [| "1,1,0,0,4,4,1,1,0.25"; "1,2,5,5,4,4,1,1,1" |]
                Expect.equal (gt |> Array.map (fun r -> r.Visibility)) [| 0.25; 1.0 |] "MOT16 column 9"
                let mot15 = MotFiles.parse "gt.txt" true [| "1,1,0,0,4,4,1,-1,-1,-1" |]
                Expect.equal mot15.[0].Visibility 1.0 "MOT15: world coordinates, no visibility"
                let res = MotFiles.parse "r.txt" false [| "1,1,0,0,4,4,0.3,-1,-1" |]
                Expect.equal res.[0].Visibility 1.0 "results: none"
        ]

        testList "Errors" [
            let box l t w h : Geometry.Box = { Left = l; Top = t; Width = w; Height = h }
            let row f id (b: Geometry.Box) : MotFiles.Row = { Frame = f; Id = id; Box = b; Flag = 1.0; Class = 1; Visibility = 1.0 }
            let eval view gt pr = Evaluate.evaluateRows "s" 1 view (Evaluate.Distance 4.0) 0.0 gt pr "gt.txt" "pred.txt"

            testCase "misses by how much another object's box shares theirs" <| fun () ->
                // Found: the object at (0, 0). Missed: one sharing half its box with it, one touching it at an
                // edge, one far from everything. The tracker reports the first alone.
                let gt = [| row 1 1 (box 0.0 0.0 10.0 10.0); row 1 2 (box 5.0 0.0 10.0 10.0); row 1 3 (box 0.0 10.0 10.0 10.0); row 1 4 (box 40.0 40.0 10.0 10.0) |]
                let r = eval None gt [| row 1 9 (box 0.0 0.0 10.0 10.0) |]
                Expect.equal (r.Clear.TP, r.Clear.FN) (1, 3) "one found, three missed"
                Expect.equal (r.Errors.MissOverlapped, r.Errors.MissTouching, r.Errors.MissAlone) (1, 1, 1) "half shared; edge; alone"

            testCase "false positives: near a found object, partly out of view, elsewhere" <| fun () ->
                let gt = [| row 1 1 (box 20.0 20.0 10.0 10.0) |]
                let pr = [| row 1 1 (box 20.0 20.0 10.0 10.0); row 1 2 (box 21.0 20.0 10.0 10.0); row 1 3 (box -6.0 30.0 10.0 10.0); row 1 4 (box 45.0 5.0 10.0 10.0) |]
                let r = eval (Some(64.0, 64.0)) gt pr
                Expect.equal (r.Clear.TP, r.Clear.FP) (1, 3) "one match, three false positives"
                Expect.equal (r.Errors.FalseNearFound, r.Errors.FalsePartlyOut, r.Errors.FalseElsewhere) (1, 1, 1) "one of each"
                let unknownView = eval None gt pr
                Expect.equal (unknownView.Errors.FalsePartlyOut, unknownView.Errors.FalseElsewhere) (0, 2) "no view: nothing is partly out"
                // A mask box ends at the view's edge: touching the border counts, half a pixel inside does not.
                let edge = eval (Some(64.0, 64.0)) gt [| pr.[0]; row 1 5 (box 54.0 40.0 10.0 10.0); row 1 6 (box 40.0 0.6 10.0 10.0) |]
                Expect.equal (edge.Errors.FalsePartlyOut, edge.Errors.FalseElsewhere) (1, 1) "right edge at 64: at the border; top at 0.6: inside"

            testCase "coveredShare is the largest share one other box covers" <| fun () ->
                let a = box 0.0 0.0 10.0 10.0
                approx (Errors.coveredShare a [ box 5.0 0.0 10.0 10.0; box 0.0 8.0 10.0 10.0 ]) 0.5 "half from the first, a fifth from the second"
                approx (Errors.coveredShare a []) 0.0 "no others"
                approx (Errors.coveredShare a [ box -5.0 -5.0 30.0 30.0 ]) 1.0 "inside a larger box"

            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "every miss and false positive is in exactly one class" <| fun (seed: int) ->
                let rng = Random(seed)
                let frames = rng.Next(1, 6)
                let boxes id0 =
                    [| for f in 1 .. frames do
                         for k in 0 .. rng.Next(0, 7) - 1 do
                             yield row f (id0 + k) (box (rng.NextDouble() * 70.0 - 8.0) (rng.NextDouble() * 70.0 - 8.0) (2.0 + rng.NextDouble() * 10.0) (2.0 + rng.NextDouble() * 10.0)) |]
                let view = if rng.Next 2 = 0 then None else Some(64.0, 64.0)
                let r = Evaluate.evaluateRows "s" frames view (Evaluate.Distance(1.0 + rng.NextDouble() * 6.0)) 0.0 (boxes 1) (boxes 100) "gt.txt" "pred.txt"
                Errors.misses r.Errors = r.Clear.FN && Errors.falsePositives r.Errors = r.Clear.FP
        ]

        testList "MOT files" [
            let write (text: string) =
                let p = Path.GetTempFileName()
                File.WriteAllText(p, text)
                p
            let fails (text: string) (expected: string) =
                let p = write text
                let e = Expect.throwsC (fun () -> MotFiles.read p false |> ignore) id
                Expect.stringContains e.Message (p + ":") "names the file"
                Expect.stringContains e.Message expected "says what is wrong"
            testCase "wrong column count" <| fun () -> fails "1,1,0,0,1,1,1,-1,-1,-1\n1,2,3\n" ":2: expected 6 to 10"
            testCase "non-numeric field" <| fun () -> fails "1,1,zero,0,1,1,1,-1,-1,-1\n" ":1: column 3 is not a number"
            testCase "frame 0" <| fun () -> fails "0,1,0,0,1,1,1,-1,-1,-1\n" "frames are 1-based"
            testCase "missing seqinfo" <| fun () ->
                let e = Expect.throwsC (fun () -> MotFiles.readSeqInfo "/nonexistent/seqinfo.ini" |> ignore) id
                Expect.stringContains e.Message "seqinfo.ini" "names it"
            testCase "9-column ground truth reads class and flag" <| fun () ->
                let rows = MotFiles.read (write "1,4,10,20,5,6,0,7,0.5\n") true
                Expect.equal (rows.[0].Id, rows.[0].Flag, rows.[0].Class) (4, 0.0, 7) "id, flag, class"
        ]

        testList "Folders" [
            testCase "evaluates a generated dataset against its own truth: perfect scores; missing results named" <| fun () ->
                let root = Directory.CreateTempSubdirectory("scalor-eval").FullName
                let gtDir, predDir = Path.Combine(root, "gt"), Path.Combine(root, "pred")
                let w = Scalor.Worlds.World.create Scalor.Worlds.World.defaultConfig None
                for i in 0 .. 1 do
                    let s = Scalor.Worlds.World.sequence w (Scalor.Worlds.World.sequenceSeed 1UL i)
                    let name = sprintf "seq-%d" i
                    Directory.CreateDirectory(Path.Combine(gtDir, name, "gt")) |> ignore
                    let lines (idOffset: int) cols =
                        s.Truth |> Array.map (fun b -> sprintf "%d,%d,%g,%g,%g,%g,%s" (b.Frame + 1) (b.Track + idOffset) b.Left b.Top b.Width b.Height cols)
                    File.WriteAllLines(Path.Combine(gtDir, name, "gt", "gt.txt"), lines 0 "1,1,1")
                    File.WriteAllText(Path.Combine(gtDir, name, "seqinfo.ini"), sprintf "[Sequence]\nname=%s\nseqLength=%d\nobjectSize=10\n" name s.Length)
                    Directory.CreateDirectory predDir |> ignore
                    File.WriteAllLines(Path.Combine(predDir, name + ".txt"), lines 50 "1,-1,-1,-1")
                let results = Evaluate.evaluateFolders gtDir predDir false None 0.0
                Expect.equal results.Length 2 "two sequences"
                let s = Evaluate.summarise results
                Expect.equal (s.Clear.Mota, s.Identity.Idf1, s.Hota.Hota, s.CountMae) (1.0, 1.0, 1.0, 0.0) "perfect"
                // Rows held in memory (`eval --data`) score as the same rows read from the folder; here sequence 1's
                // rows are dropped, so the in-memory scores must differ from the folder's where they should.
                let inMemory =
                    Evaluate.evaluateSequences gtDir (fun name ->
                        let rows = MotFiles.read (Path.Combine(predDir, name + ".txt")) false
                        name, (if name = "seq-1" then [||] else rows)) false None 0.0
                Expect.equal (inMemory |> List.map (fun r -> r.Name)) [ "seq-0"; "seq-1" ] "both sequences, in order"
                Expect.equal (Evaluate.summarise [ inMemory.[0] ]).Clear.Mota 1.0 "sequence 0 as from the folder"
                Expect.equal (Evaluate.summarise [ inMemory.[1] ]).Clear.Recall 0.0 "sequence 1 scored on the rows given"
                File.Delete(Path.Combine(predDir, "seq-1.txt"))
                let e = Expect.throwsC (fun () -> Evaluate.evaluateFolders gtDir predDir false None 0.0 |> ignore) id
                Expect.stringContains e.Message "seq-1.txt" "names the missing file"
        ]
    ]
