/// NativeSafe: blocks of libtorch work with the collector held off; every block is counted once and never fails
/// for the region's sake, also when blocks on other threads end the region first.
module Scalor.Tests.NativeSafe

open System
open System.Runtime
open System.Threading.Tasks
open Expecto
open Scalor.Host

[<Tests>]
let tests =
    // Sequenced (Main.fs runs every test one at a time; this list says so itself, since it depends on it): the
    // counters are process-wide, and other tests' training steps use them too.
    testSequenced <| testList "NativeSafe" [
        testCase "a block returns its result; one that allocates past the budget still runs to the end" <| fun () ->
            let held, broken = NativeSafe.Held, NativeSafe.Broken
            Expect.equal (NativeSafe.Run(fun () -> 41 + 1)) 42 "the block's value"
            // 300 MB of arrays kept alive: more than the 240 MB budget, so the region ends early.
            let big = NativeSafe.Run(fun () -> List.init 300 (fun _ -> Array.zeroCreate<byte> (1 <<< 20)) |> List.sumBy _.Length)
            Expect.equal big (300 <<< 20) "the large block's value"
            Expect.equal (NativeSafe.Held + NativeSafe.Broken - held - broken) 2 "each block counted once"
            Expect.isGreaterThanOrEqual (NativeSafe.Broken - broken) 1 "the large block ended its region early"
            Expect.notEqual GCSettings.LatencyMode GCLatencyMode.NoGCRegion "no region left open"

        testCase "a block inside a block runs in the enclosing region and leaves it to the enclosing block" <| fun () ->
            let held, broken = NativeSafe.Held, NativeSafe.Broken
            let inner, stillHeld =
                NativeSafe.Run(fun () ->
                    let v = NativeSafe.Run(fun () -> GCSettings.LatencyMode)
                    v, GCSettings.LatencyMode)
            Expect.equal inner GCLatencyMode.NoGCRegion "the inner block runs in the region"
            Expect.equal stillHeld GCLatencyMode.NoGCRegion "the inner block neither ended it nor collected"
            Expect.equal (NativeSafe.Held - held, NativeSafe.Broken - broken) (1, 1) "the outer block held it; the inner had none of its own"
            Expect.notEqual GCSettings.LatencyMode GCLatencyMode.NoGCRegion "no region left open"

        testCase "an exception in a block propagates and leaves no region open" <| fun () ->
            Expect.throwsT<InvalidOperationException> (fun () -> NativeSafe.Run(fun () -> invalidOp "inside") |> ignore) "the block's own exception"
            Expect.notEqual GCSettings.LatencyMode GCLatencyMode.NoGCRegion "no region left open"

        testCase "blocks on four threads at once: none throws, each is counted once, no region is left open" <| fun () ->
            let held, broken = NativeSafe.Held, NativeSafe.Broken
            let work () =
                Task.Run(fun () ->
                    [ for i in 1..25 -> NativeSafe.Run(fun () -> Array.init 1000 (fun j -> string (i * j)) |> Array.length) ] |> List.sum)
            let sums = Task.WhenAll(Array.init 4 (fun _ -> work ())).Result
            Expect.equal sums (Array.create 4 25000) "every block's value"
            Expect.equal (NativeSafe.Held + NativeSafe.Broken - held - broken) 100 "each block counted once"
            Expect.notEqual GCSettings.LatencyMode GCLatencyMode.NoGCRegion "no region left open"
    ]
