/// The bootstrap over sequences: percentile and BCa intervals of a score, and the paired difference of two trackers.
module Scalor.Tests.Bootstrap

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Scalor.Metrics

let private approx (a: float) (b: float) msg = Expect.floatClose Accuracy.high a b msg

[<Tests>]
let tests =
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
