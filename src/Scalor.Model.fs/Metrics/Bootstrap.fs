/// How far a score over a few dozen sequences would move on other sequences drawn the same way: the percentile
/// bootstrap over sequences (Efron & Tibshirani 1993, ch. 13). The sequence is the unit resampled because a
/// sequence's objects, frames and errors are not independent of each other (one hard meeting costs misses in
/// several frames), while generated sequences are (each has its own seed). Two trackers scored on the same sequences
/// are compared by resampling both with the same draws (paired), so what they share, which sequences happened to be
/// hard, cancels. Pure: the draws are a function of the seed, so an interval printed once reads the same again.
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

/// The seed of the draws when none is given.
let defaultSeed = 1UL

/// `resamples` draws of `n` indices into the sequences, each with replacement.
let draws (seed: uint64) (resamples: int) (n: int) : int[][] =
    if resamples < 1 || n < 1 then invalidArg "resamples" "draws needs at least one resample of at least one sequence"
    // Its own stream of the seed, so that the same seed elsewhere (a world's) draws other numbers.
    let rng = Scalor.Worlds.Rng.Stream(Scalor.Worlds.Rng.derive seed 0xB0075UL)
    Array.init resamples (fun _ -> Array.init n (fun _ -> rng.Int(0, n - 1)))

/// The central `level` interval of `values`: their quantiles at (1 − level)/2 and (1 + level)/2, linear between
/// order statistics (Hyndman & Fan's type 7, numpy's default). Undefined values (NaN) are left out.
let percentile (level: float) (values: float[]) : Interval =
    if not (level > 0.0 && level < 1.0) then invalidArg "level" "a level in (0, 1)"
    let v = values |> Array.filter (System.Double.IsNaN >> not) |> Array.sort
    if v.Length = 0 then { Low = nan; High = nan }
    else
        let quantile p =
            let h = p * float (v.Length - 1)
            let i = int (floor h)
            if i >= v.Length - 1 then v.[v.Length - 1] else v.[i] + (h - float i) * (v.[i + 1] - v.[i])
        let tail = (1.0 - level) / 2.0
        { Low = quantile tail; High = quantile (1.0 - tail) }

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

/// The `level` interval of `statistic` over `results`, from `resamples` draws of the seed.
let interval (level: float) (seed: uint64) (resamples: int) (statistic: Statistic) (results: SequenceResult[]) =
    draws seed resamples results.Length |> Array.map (statistic results) |> percentile level

/// The `level` interval of `statistic(a) − statistic(b)`, for two trackers' results on the same sequences in the same
/// order: each resample picks the same sequences for both.
let difference (level: float) (seed: uint64) (resamples: int) (statistic: Statistic) (a: SequenceResult[]) (b: SequenceResult[]) =
    if a.Length <> b.Length then invalidArg "b" "the two trackers' results must be of the same sequences"
    draws seed resamples a.Length |> Array.map (fun p -> statistic a p - statistic b p) |> percentile level
