/// Counts in the commands' lines read as English: "1 frame", "0 frames", "2 boxes".
module Scalor.Tests.CountsTests

open Expecto
open Scalor.Host

[<Tests>]
let tests =
    testList "Counts" [
        testCase "one takes the singular; none and many the plural, regular or given" <| fun () ->
            Expect.equal [ for n in [ 0L; 1L; 2L; 1234L ] -> Counts.Of(n, "frame") ] [ "0 frames"; "1 frame"; "2 frames"; "1234 frames" ] "regular"
            Expect.equal [ for n in [ 1L; 3L ] -> Counts.Of(n, "box", "boxes") ] [ "1 box"; "3 boxes" ] "given"
    ]
