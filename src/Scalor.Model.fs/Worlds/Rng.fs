/// Deterministic random numbers for data generation. Every generator in Scalor is a pure function of a seed:
/// the same seed gives the same bytes on every machine and .NET version (System.Random's algorithm is not
/// a documented contract, so it is not used for data).
module Scalor.Worlds.Rng

/// SplitMix64 step: turns any 64-bit seed (including 0 and small consecutive integers) into well-mixed state.
let inline private splitMix (x: uint64) =
    let z = x + 0x9E3779B97F4A7C15UL
    let z = (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
    let z = (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
    z ^^^ (z >>> 31)

/// Derives an independent stream seed from a parent seed and a label (sequence index, object index, ...).
let derive (seed: uint64) (label: uint64) = splitMix (splitMix seed ^^^ (label * 0xD1B54A32D192ED03UL + 1UL))

/// xoshiro256** generator. Mutable by nature; each one is owned by a single generation call, so the
/// functions built on it stay pure functions of their seed.
type Stream(seed: uint64) =
    let mutable s0 = splitMix seed
    let mutable s1 = splitMix (s0 + 1UL)
    let mutable s2 = splitMix (s1 + 2UL)
    let mutable s3 = splitMix (s2 + 3UL)

    member _.NextUInt64() =
        let result = (System.Numerics.BitOperations.RotateLeft(s1 * 5UL, 7)) * 9UL
        let t = s1 <<< 17
        s2 <- s2 ^^^ s0
        s3 <- s3 ^^^ s1
        s1 <- s1 ^^^ s2
        s0 <- s0 ^^^ s3
        s2 <- s2 ^^^ t
        s3 <- System.Numerics.BitOperations.RotateLeft(s3, 45)
        result

    /// Uniform in [0, 1) with 53 random bits.
    member this.Uniform() = float (this.NextUInt64() >>> 11) * (1.0 / 9007199254740992.0)

    /// Uniform in [lo, hi).
    member this.Uniform(lo: float, hi: float) = lo + (hi - lo) * this.Uniform()

    /// Uniform integer in [lo, hi] (inclusive), by rejection so every value is equally likely.
    member this.Int(lo: int, hi: int) =
        if hi < lo then invalidArg "hi" "empty range"
        let range = uint64 (hi - lo) + 1UL
        let limit = System.UInt64.MaxValue - (System.UInt64.MaxValue % range)
        let mutable v = this.NextUInt64()
        while v >= limit do v <- this.NextUInt64()
        lo + int (v % range)

    member this.Bernoulli(p: float) = this.Uniform() < p

    /// Standard normal by Box-Muller (one of the pair is used; simplicity over speed, it is not on a hot path).
    member this.Normal() =
        let u1 = 1.0 - this.Uniform()
        let u2 = this.Uniform()
        sqrt (-2.0 * log u1) * cos (2.0 * System.Math.PI * u2)
