/// Progress lines where output is redirected: what a log of a long `track` shows, and that short worlds stay quiet.
module Scalor.Tests.FrameProgressTests

open Expecto
open Scalor.Host

let private linesOf (length: int) =
    let lines = ResizeArray<string>()
    let tick = FrameProgress.Lines("track", "clip", length, System.Action<string>(lines.Add))
    for _ in 1 .. length do tick.Invoke()
    List.ofSeq lines

[<Tests>]
let tests =
    testList "FrameProgress" [
        testCase "a long pass reports each tenth before its end, a short one nothing" <| fun () ->
            Expect.equal (linesOf 250) [ for k in 1 .. 9 -> sprintf "track: clip: %d/250 frames" (25 * k) ] "a line at every 25 of 250 frames, none at the end (the summary line says it)"
            Expect.isEmpty (linesOf (FrameProgress.LongSequence - 1)) "a world's sequence prints no progress"
            Expect.equal (List.length (linesOf 795)) 10 "795 frames: a line every 79, the tenth at 790"

        testCase "a pass of unknown length (a stream's) reports every thousand frames" <| fun () ->
            let lines = ResizeArray<string>()
            let tick = FrameProgress.Lines("track", "cam", 0, System.Action<string>(lines.Add))
            for _ in 1 .. 2500 do tick.Invoke()
            Expect.equal (List.ofSeq lines) [ "track: cam: 1000 frames"; "track: cam: 2000 frames" ] "the frames so far, no total"
    ]
