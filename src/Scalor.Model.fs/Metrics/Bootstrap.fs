/// How far a score over a few dozen sequences would move on other sequences drawn the same way: the bootstrap over
/// sequences (Efron & Tibshirani 1993), read off as a bias-corrected and accelerated interval (ch. 14) or as the
/// resamples' plain percentiles (ch. 13). The sequence is the unit resampled because a sequence's objects, frames and
/// errors are not independent of each other (one hard meeting costs misses in several frames), while generated
/// sequences are (each has its own seed). Two trackers scored on the same sequences are compared by resampling both
/// with the same draws (paired), so what they share, which sequences happened to be hard, cancels. Pure: the draws
/// are a function of the seed, so an interval printed once reads the same again.
module Scalor.Metrics.Bootstrap

open Scalor.Metrics.Evaluate

/// A two-sided interval; NaN ends when no resample gave a defined score.
type Interval = { Low: float; High: float }

/// The fewest sequences an interval is given for: resampling fewer repeats a handful of them, and the percentile
/// interval comes out narrower than the spread it stands for.
let minSequences = 10

/// Resamples when none are asked for: the ends of a 95% interval over 50 sequences then move by a few tenths of a
/// point from one seed to another (README, "Evaluation"), against a width of several points.
let defaultResamples = 2000

/// The fewest resamples an interval is read from: a 95% interval's ends are the resamples' 2.5% and 97.5% quantiles,
/// or further out where BCa moves them, so fewer leave a handful of resamples beyond each end, and the ends are
/// whichever few those happened to be (one resample gives an interval of no width). Efron & Tibshirani advise
/// 1,000 or more for intervals; 200 keeps five beyond each end of a percentile interval.
let minResamples = 200

/// The seed of the draws when none is given.
let defaultSeed = 1UL

/// `resamples` draws of `n` indices into the sequences, each with replacement.
let draws (seed: uint64) (resamples: int) (n: int) : int[][] =
    if resamples < 1 || n < 1 then invalidArg "resamples" "draws needs at least one resample of at least one sequence"
    // Its own stream of the seed, so that the same seed elsewhere (a world's) draws other numbers.
    let rng = Scalor.Worlds.Rng.Stream(Scalor.Worlds.Rng.derive seed 0xB0075UL)
    Array.init resamples (fun _ -> Array.init n (fun _ -> rng.Int(0, n - 1)))

/// How an interval is read off the resamples.
type Method =
    /// Their quantiles at (1 − level)/2 and (1 + level)/2 (Efron & Tibshirani, ch. 13). Right when the score's
    /// resamples spread evenly about it; too short on the side the spread leans to otherwise.
    | Percentile
    /// Bias-corrected and accelerated (Efron 1987; Efron & Tibshirani, ch. 14): the quantiles at levels moved by
    /// how far the resamples sit off the score (z0) and how fast the score's spread changes with its value (the
    /// acceleration, from the jackknife over sequences). Why: a MOTA near its ceiling (VLD, MNIST VLD: a few dozen
    /// errors over 50 sequences) has resamples that lean away from 100%, and the percentile interval's low end was
    /// then about half a point too high on 50 held-out sequences (README, "Evaluation"). Where they spread evenly, z0 and the acceleration are
    /// near 0 and it reads as the percentile interval (exactly so at 0).
    | Bca

/// The `p`-quantile of sorted `v` (not empty), linear between order statistics (Hyndman & Fan's type 7, numpy's
/// default).
let private quantile (v: float[]) (p: float) =
    let h = (min 1.0 (max 0.0 p)) * float (v.Length - 1)
    let i = int (floor h)
    if i >= v.Length - 1 then v.[v.Length - 1] else v.[i] + (h - float i) * (v.[i + 1] - v.[i])

let private defined (values: float[]) = values |> Array.filter (System.Double.IsNaN >> not)

let private checkLevel (level: float) = if not (level > 0.0 && level < 1.0) then invalidArg "level" "a level in (0, 1)"

/// The central `level` interval of `values`: their quantiles at (1 − level)/2 and (1 + level)/2, linear between
/// order statistics (Hyndman & Fan's type 7, numpy's default). Undefined values (NaN) are left out.
let percentile (level: float) (values: float[]) : Interval =
    checkLevel level
    let v = defined values |> Array.sort
    if v.Length = 0 then { Low = nan; High = nan }
    else
        let tail = (1.0 - level) / 2.0
        { Low = quantile v tail; High = quantile v (1.0 - tail) }

/// erfc(x) for x ≥ 0: the Maclaurin series of erf below 3, the continued fraction of erfc (Lentz's method) above,
/// each to about double precision there.
let private erfcPositive (x: float) =
    if x < 3.0 then
        // erf x = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)); terms fall below 1e-17 of the sum by n = 60 for x < 3.
        let mutable term, sum, n = x, x, 0
        while abs term > 1e-17 * abs sum && n < 200 do
            n <- n + 1
            term <- -term * x * x / float n
            sum <- sum + term / float (2 * n + 1)
        1.0 - 2.0 / sqrt System.Math.PI * sum
    else
        // erfc x = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))).
        let tiny = 1e-300
        let mutable f = x
        let mutable c, d = x, 0.0
        let mutable k = 1
        let mutable go = true
        while go && k < 500 do
            let a = float k / 2.0
            d <- x + a * d
            d <- (if abs d < tiny then tiny else d)
            c <- x + a / c
            c <- (if abs c < tiny then tiny else c)
            d <- 1.0 / d
            let delta = c * d
            f <- f * delta
            go <- abs (delta - 1.0) > 1e-16
            k <- k + 1
        exp (-x * x) / sqrt System.Math.PI / f

/// Φ, the standard normal distribution function.
let normalCdf (z: float) =
    if System.Double.IsNaN z then nan
    elif z >= 0.0 then 1.0 - 0.5 * erfcPositive (z / sqrt 2.0)
    else 0.5 * erfcPositive (-z / sqrt 2.0)

/// Φ⁻¹ on (0, 1) (±∞ at 0 and 1): by bisection on `normalCdf`, to the last bit that moves it.
let normalQuantile (p: float) =
    if System.Double.IsNaN p || p < 0.0 || p > 1.0 then invalidArg "p" "a probability in [0, 1]"
    elif p = 0.0 then -infinity
    elif p = 1.0 then infinity
    else
        let mutable lo, hi = -40.0, 40.0
        for _ in 1 .. 200 do
            let mid = (lo + hi) / 2.0
            if normalCdf mid < p then lo <- mid else hi <- mid
        (lo + hi) / 2.0

/// The acceleration of a score from its jackknife values (the score with each sequence left out in turn):
/// Σ (m − θᵢ)³ / (6 (Σ (m − θᵢ)²)^(3/2)), m their mean (Efron & Tibshirani, ch. 14). Undefined values are left
/// out; 0 when fewer than two are defined or they do not differ.
let acceleration (jackknife: float[]) =
    let v = defined jackknife
    if v.Length < 2 then 0.0
    else
        let m = Array.average v
        let s2 = v |> Array.sumBy (fun x -> (m - x) ** 2.0)
        if s2 = 0.0 then 0.0 else (v |> Array.sumBy (fun x -> (m - x) ** 3.0)) / (6.0 * s2 ** 1.5)

/// The levels of the resamples' quantiles that bound the BCa interval: Φ(z0 + (z0 + z)/(1 − a(z0 + z))) at z =
/// Φ⁻¹((1 ∓ level)/2) (Efron & Tibshirani, ch. 14). With z0 = a = 0 they are the percentile interval's. Where the
/// acceleration bends the map past its pole (1 − a(z0 + z) ≤ 0, far outside the values scores give) the level is
/// the end it was heading for.
let bcaLevels (level: float) (z0: float) (a: float) =
    checkLevel level
    let adjust (z: float) =
        let w = z0 + z
        let denominator = 1.0 - a * w
        if denominator <= 0.0 then (if w > 0.0 then 1.0 else 0.0) else normalCdf (z0 + w / denominator)
    let z = normalQuantile ((1.0 + level) / 2.0)
    adjust (-z), adjust z

/// The BCa `level` interval of a score `estimate` from its resamples `replicates` and jackknife values. z0 is
/// Φ⁻¹ of the share of defined resamples below the estimate (ties count half), kept within half a resample of 0
/// and 1 so that it stays finite. NaN when the estimate or every resample is undefined.
let bca (level: float) (estimate: float) (replicates: float[]) (jackknife: float[]) : Interval =
    checkLevel level
    let v = defined replicates |> Array.sort
    if System.Double.IsNaN estimate || v.Length = 0 then { Low = nan; High = nan }
    else
        let below = v |> Array.sumBy (fun x -> if x < estimate then 1.0 elif x = estimate then 0.5 else 0.0)
        let b = float v.Length
        let z0 = normalQuantile (min (1.0 - 0.5 / b) (max (0.5 / b) (below / b)))
        let lo, hi = bcaLevels level z0 (acceleration jackknife)
        { Low = quantile v lo; High = quantile v hi }

/// A score of the sequences at `picked` (a sequence picked twice counts twice), combined as `summarise` combines
/// several: counts summed, HOTA's association weighted by its true positives.
type Statistic = SequenceResult[] -> int[] -> float

let mota: Statistic =
    fun results picked -> (picked |> Array.fold (fun acc i -> Clear.add acc results.[i].Clear) Clear.zero |> Clear.metrics).Mota

let idf1: Statistic =
    fun results picked -> (picked |> Array.fold (fun acc i -> Identity.add acc results.[i].Identity) Identity.zero |> Identity.metrics).Idf1

let hota: Statistic =
    fun results picked -> (picked |> Array.map (fun i -> results.[i].Hota) |> List.ofArray |> Hota.combine |> Hota.metrics).Hota

/// The scores `eval` gives intervals for, by their JSON names.
let statistics = [ "mota", mota; "idf1", idf1; "hota", hota ]

/// The interval `method` gives for `score` (of the sequences picked) over `n` sequences, from `resamples` draws of
/// the seed.
let private over (method: Method) (level: float) (seed: uint64) (resamples: int) (n: int) (score: int[] -> float) =
    let replicates = draws seed resamples n |> Array.map score
    match method with
    | Percentile -> percentile level replicates
    | Bca ->
        let all = Array.init n id
        let jackknife = Array.init n (fun left -> score (Array.append all.[.. left - 1] all.[left + 1 ..]))
        bca level (score all) replicates jackknife

/// The `level` interval of `statistic` over `results`, from `resamples` draws of the seed, read by `method`.
let interval (method: Method) (level: float) (seed: uint64) (resamples: int) (statistic: Statistic) (results: SequenceResult[]) =
    over method level seed resamples results.Length (statistic results)

/// The `level` interval of `statistic(a) − statistic(b)`, for two trackers' results on the same sequences in the same
/// order: each resample (and each jackknife value) picks the same sequences for both.
let difference (method: Method) (level: float) (seed: uint64) (resamples: int) (statistic: Statistic) (a: SequenceResult[]) (b: SequenceResult[]) =
    if a.Length <> b.Length then invalidArg "b" "the two trackers' results must be of the same sequences"
    over method level seed resamples a.Length (fun p -> statistic a p - statistic b p)

/// How a method is named on the command line and in the JSON (`interval.method`).
let methodName (m: Method) = match m with Percentile -> "percentile" | Bca -> "bca"

/// The method `eval` and `track` use unless told otherwise.
let defaultMethod = Bca
