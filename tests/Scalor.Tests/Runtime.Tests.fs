module Scalor.Tests.Runtime

open System
open System.Reactive.Linq
open System.Threading
open Expecto
open Scalor.Runtime
open Scalor.Worlds

[<Tests>]
let tests =
    testList "Runtime.FrameSources" [
        testCase "a generated world streams its frames in order, equal to the generator's" <| fun () ->
            let w = World.create { World.defaultConfig with Length = 3 } None
            let frames = FrameSources.FromWorld(w, 9UL, 2).ToList().Wait() |> Seq.toArray
            Expect.equal frames.Length 6 "2 sequences × 3 frames"
            Expect.equal [ for f in frames -> f.Sequence, f.Index ] [ "seq-0001", 0; "seq-0001", 1; "seq-0001", 2; "seq-0002", 0; "seq-0002", 1; "seq-0002", 2 ] "order"
            let s = World.sequence w (World.sequenceSeed 9UL 1)
            Expect.equal frames.[4].Rgb s.Frames.[64 * 64 * 3 .. 2 * 64 * 64 * 3 - 1] "same pixels as the generator"

        testCase "disposing the subscription stops the work" <| fun () ->
            let w = World.create { World.defaultConfig with Length = 10 } None
            let mutable seen = 0
            let sub = FrameSources.FromWorld(w, 1UL, 100000).Subscribe(fun _ -> Interlocked.Increment(&seen) |> ignore)
            Thread.Sleep 200
            sub.Dispose()
            let atStop = seen
            Thread.Sleep 300
            Expect.isLessThan (seen - atStop) 20 "at most the frame in flight after disposal"
            Expect.isLessThan seen 1000000 "did not run to the end"
    ]
