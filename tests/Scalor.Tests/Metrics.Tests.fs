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

        testList "Bootstrap" [
            let row f id x : MotFiles.Row = { Frame = f; Id = id; Box = { Left = x; Top = 0.0; Width = 4.0; Height = 4.0 }; Flag = 1.0; Class = 1; Visibility = 1.0 }
            /// A one-frame sequence of `total` objects 20 px apart, of which the tracker finds the first `found`.
            let sequence name total found =
                let gt = [| for i in 1 .. total -> row 1 i (20.0 * float i) |]
                Evaluate.evaluateRows name 1 None (Evaluate.Distance 2.0) 0.0 gt gt.[.. found - 1] "gt.txt" "pred.txt"
            let seeded (seed: int) = Random(seed)
            let randomSequences (rng: Random) n = Array.init n (fun i -> let t = rng.Next(1, 8) in sequence (sprintf "s%d" i) t (rng.Next(0, t + 1)))

            testCase "percentile: numpy's default quantiles of 0..100" <| fun () ->
                let v = Array.init 101 float
                let near (i: Bootstrap.Interval) lo hi msg = approx i.Low lo msg; approx i.High hi msg
                near (Bootstrap.percentile 0.9 v) 5.0 95.0 "the 5th and 95th"
                near (Bootstrap.percentile 0.95 v) 2.5 97.5 "between order statistics, linearly"
                near (Bootstrap.percentile 0.95 (Array.append v [| nan; nan |])) 2.5 97.5 "undefined values are left out"
                let none = Bootstrap.percentile 0.95 [| nan |]
                Expect.isTrue (Double.IsNaN none.Low && Double.IsNaN none.High) "nothing defined: no interval"
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "percentile: a narrower level lies inside a wider, within the values" <| fun (seed: int) ->
                let rng = seeded seed
                let v = Array.init (rng.Next(1, 40)) (fun _ -> rng.NextDouble() * 10.0 - 5.0)
                let l1 = 0.05 + 0.9 * rng.NextDouble()
                let l2 = l1 + (0.999 - l1) * rng.NextDouble()
                let a, b = Bootstrap.percentile l1 v, Bootstrap.percentile l2 v
                Expect.isTrue (a.Low <= a.High) "ordered"
                Expect.isTrue (b.Low <= a.Low + 1e-12 && a.High <= b.High + 1e-12) (sprintf "%g inside %g" l1 l2)
                Expect.isTrue (b.Low >= Array.min v - 1e-12 && b.High <= Array.max v + 1e-12) "within the values"
            testCase "draws: a function of the seed, indices into the sequences" <| fun () ->
                let a, b, c = Bootstrap.draws 1UL 50 7, Bootstrap.draws 1UL 50 7, Bootstrap.draws 2UL 50 7
                Expect.equal a b "the same seed draws the same"
                Expect.notEqual a c "another seed draws others"
                Expect.isTrue (a |> Array.forall (fun d -> d.Length = 7 && d |> Array.forall (fun i -> i >= 0 && i < 7))) "n indices in [0, n)"
                Expect.equal (a |> Array.concat |> Array.distinct |> Array.sort) [| 0 .. 6 |] "every sequence is drawn somewhere"
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 100 } "every sequence once: the scores eval reports" <| fun (seed: int) ->
                let rng = seeded seed
                let rs = randomSequences rng (rng.Next(2, 9))
                let s = Evaluate.summarise (List.ofArray rs)
                let all = [| 0 .. rs.Length - 1 |]
                approx (Bootstrap.mota rs all) s.Clear.Mota "MOTA"
                approx (Bootstrap.idf1 rs all) s.Identity.Idf1 "IDF1"
                approx (Bootstrap.hota rs all) s.Hota.Hota "HOTA"
            let methods = [ Bootstrap.Percentile; Bootstrap.Bca ]
            testCase "copies of one sequence: an interval of no width, at its score" <| fun () ->
                let rs = Array.init 12 (fun i -> sequence (sprintf "s%d" i) 4 3)
                for m in methods do
                    let i = Bootstrap.interval m 0.95 1UL 500 Bootstrap.mota rs
                    Expect.equal (i.Low, i.High) (0.75, 0.75) (sprintf "%A: every resample is the same" m)
            testCase "half perfect, half at 0.5: the interval holds the pooled 0.75, inside the extremes" <| fun () ->
                let rs = Array.init 12 (fun i -> sequence (sprintf "s%d" i) 4 (if i % 2 = 0 then 4 else 2))
                for m in methods do
                    let i = Bootstrap.interval m 0.95 1UL 2000 Bootstrap.mota rs
                    Expect.isTrue (0.5 < i.Low && i.Low < 0.75 && 0.75 < i.High && i.High < 1.0) (sprintf "%A: %A" m i)
                    Expect.equal (Bootstrap.interval m 0.95 1UL 2000 Bootstrap.mota rs) i "the same seed, the same interval"
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 50 } "paired: a tracker against itself differs by nothing; against a better one, by less than nothing" <| fun (seed: int) ->
                let rng = seeded seed
                let n = rng.Next(2, 15)
                let totals = Array.init n (fun _ -> rng.Next(2, 8))
                let worse = totals |> Array.mapi (fun i t -> sequence (sprintf "s%d" i) t (rng.Next(0, t)))
                let perfect = totals |> Array.mapi (fun i t -> sequence (sprintf "s%d" i) t t)
                for m in methods do
                    for _, statistic in Bootstrap.statistics do
                        Expect.equal (Bootstrap.difference m 0.95 3UL 200 statistic worse worse) { Low = 0.0; High = 0.0 } "itself"
                        let d = Bootstrap.difference m 0.95 3UL 200 statistic worse perfect
                        Expect.isTrue (d.High < 0.0) (sprintf "%A: every resample misses somewhere: %A" m d)
                    Expect.throwsT<ArgumentException> (fun () -> Bootstrap.difference m 0.95 3UL 10 Bootstrap.mota worse perfect.[1..] |> ignore) "other sequences"
            testCase "Φ: tabulated values, to double precision" <| fun () ->
                let close expected (actual: float) msg =
                    Expect.isTrue (abs (actual - expected) <= 1e-13 * max 1.0 (abs expected) || abs (actual / expected - 1.0) < 1e-11) (sprintf "%s: %.17g against %.17g" msg actual expected)
                close 0.5 (Bootstrap.normalCdf 0.0) "Φ(0)"
                close 0.158655253931457 (Bootstrap.normalCdf -1.0) "Φ(−1)"
                close 0.841344746068543 (Bootstrap.normalCdf 1.0) "Φ(1)"
                close 0.975 (Bootstrap.normalCdf 1.959963984540054) "Φ(1.96)"
                close 0.0013498980316301 (Bootstrap.normalCdf -3.0) "Φ(−3): the continued fraction's side"
                close 2.866515718791939e-7 (Bootstrap.normalCdf -5.0) "Φ(−5): a tail far out, to its relative precision"
                close 0.9997673709209645 (Bootstrap.normalCdf 3.5) "Φ(3.5)"
                close 1.959963984540054 (Bootstrap.normalQuantile 0.975) "Φ⁻¹(0.975)"
                close -1.6448536269514722 (Bootstrap.normalQuantile 0.05) "Φ⁻¹(0.05)"
                Expect.equal (Bootstrap.normalQuantile 0.0, Bootstrap.normalQuantile 1.0) (-infinity, infinity) "the ends"
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "Φ: increasing, symmetric, and Φ⁻¹ inverts it" <| fun (seed: int) ->
                let rng = seeded seed
                let z = rng.NextDouble() * 16.0 - 8.0
                let dz = rng.NextDouble() * 0.5 + 1e-6
                let f = Bootstrap.normalCdf
                Expect.isTrue (f (z + dz) >= f z) "increasing"
                Expect.isTrue (abs (f z + f -z - 1.0) < 1e-14) (sprintf "Φ(z) + Φ(−z) = 1 at %g" z)
                let p = rng.NextDouble() * (1.0 - 2e-12) + 1e-12
                Expect.isTrue (abs (f (Bootstrap.normalQuantile p) / p - 1.0) < 1e-10) (sprintf "Φ(Φ⁻¹(%g))" p)
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "BCa: with no bias and no acceleration, the percentile levels; bias moves both levels its way" <| fun (seed: int) ->
                let rng = seeded seed
                let level = 0.05 + 0.9 * rng.NextDouble()
                let lo, hi = Bootstrap.bcaLevels level 0.0 0.0
                Expect.isTrue (abs (lo - (1.0 - level) / 2.0) < 1e-12 && abs (hi - (1.0 + level) / 2.0) < 1e-12) (sprintf "%g: %g, %g" level lo hi)
                let z0 = rng.NextDouble() * 0.5 + 1e-3
                let up, down = Bootstrap.bcaLevels level z0 0.0, Bootstrap.bcaLevels level -z0 0.0
                Expect.isTrue (fst up > lo && snd up > hi && fst down < lo && snd down < hi) "z0 > 0 raises both, z0 < 0 lowers both"
                Expect.isTrue (abs (fst up - (1.0 - snd down)) < 1e-12) "mirrored"
                let a = rng.NextDouble() * 0.2 + 1e-3
                let acc = Bootstrap.bcaLevels level 0.0 a
                Expect.isTrue (fst acc > lo && snd acc > hi && fst acc < snd acc) "a > 0 (spread growing with the score) raises both"
            testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "acceleration of a mean: Σ(x − x̄)³ / (6 (Σ(x − x̄)²)^(3/2)), from its jackknife" <| fun (seed: int) ->
                let rng = seeded seed
                let x = Array.init (rng.Next(3, 30)) (fun _ -> -log (1.0 - rng.NextDouble()))
                let n, sum = x.Length, Array.sum x
                let jackknife = x |> Array.map (fun xi -> (sum - xi) / float (n - 1))
                let m = Array.average x
                let expected = (x |> Array.sumBy (fun v -> (v - m) ** 3.0)) / (6.0 * (x |> Array.sumBy (fun v -> (v - m) ** 2.0)) ** 1.5)
                Expect.isTrue (abs (Bootstrap.acceleration jackknife - expected) < 1e-9) (sprintf "%g against %g" (Bootstrap.acceleration jackknife) expected)
                Expect.equal (Bootstrap.acceleration (Array.create n 1.0)) 0.0 "no spread: none"
                Expect.equal (Bootstrap.acceleration (Array.append jackknife [| nan |])) (Bootstrap.acceleration jackknife) "undefined values left out"
            testCase "BCa: resamples even about the score read as the percentile interval" <| fun () ->
                let replicates = Array.init 201 (fun i -> float (i - 100))
                let even = Bootstrap.bca 0.95 0.0 replicates (Array.init 20 (fun i -> float (i % 2)))
                Expect.equal even (Bootstrap.percentile 0.95 replicates) "z0 = a = 0"
                let none = Bootstrap.bca 0.95 nan replicates [||]
                Expect.isTrue (Double.IsNaN none.Low && Double.IsNaN none.High) "an undefined score: no interval"
                let all = Bootstrap.bca 0.95 1000.0 replicates [||]
                Expect.isTrue (all.Low >= -100.0 && all.High <= 100.0 && all.Low <= all.High) "every resample below: the ends stay among the resamples"
            testCase "BCa: a MOTA near its ceiling leans away from 100%, and the interval's low end goes down" <| fun () ->
                // 50 sequences of four objects: 37 tracked perfectly, 6 with one missed and 7 with two (pooled MOTA 0.90).
                let rs = Array.init 50 (fun i -> sequence (sprintf "s%d" i) 4 (if i % 8 = 0 then 2 elif i % 8 = 4 then 3 else 4))
                let p = Bootstrap.interval Bootstrap.Percentile 0.95 1UL 2000 Bootstrap.mota rs
                let b = Bootstrap.interval Bootstrap.Bca 0.95 1UL 2000 Bootstrap.mota rs
                let score = Bootstrap.mota rs [| 0 .. 49 |]
                Expect.isTrue (b.Low < p.Low && b.High <= p.High) (sprintf "BCa %A against percentile %A" b p)
                Expect.isTrue (b.Low < score && score < b.High) "around the score"
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
