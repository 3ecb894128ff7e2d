module Scalor.Tests.Worlds

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Scalor.Worlds
open Scalor.Worlds.World

let private cfgArb =
    gen {
        let! d = Gen.elements densities
        let! bg = Gen.elements [ NoBackground; StaticBackground; DynamicBackground ]
        let! variant = Gen.elements [ Standard; DenseDiscovery; Overlap ]
        let! len = Gen.choose (1, 14)
        return { defaultConfig with Density = d; Background = bg; Variant = variant; Length = len }
    }
    |> Arb.fromGen

let private config = { FsCheckConfig.defaultConfig with maxTest = 40; arbitrary = [] }

/// A tiny synthetic digit set: vertical bars of varying width, enough to exercise the MNIST path.
let fakeDigits count =
    let rows, cols = 28, 28
    let images = Array.zeroCreate<byte> (count * rows * cols)
    for i in 0 .. count - 1 do
        for y in 4 .. 23 do
            for x in 12 - i % 5 .. 15 + i % 5 do images.[i * rows * cols + y * cols + x] <- 255uy
    ({ Images = images; Labels = Array.init count (fun i -> byte (i % 10)); Count = count; Rows = rows; Cols = cols }: Idx.Digits)

let private gen (cfg: WorldConfig) seed = sequence (create cfg None) seed

[<Tests>]
let tests =
    testList "Worlds" [
        testPropertyWithConfig config "same seed gives identical data" <| fun (seed: uint64) ->
            Prop.forAll cfgArb (fun cfg ->
                let a, b = gen cfg seed, gen cfg seed
                a.Frames = b.Frames && a.Truth = b.Truth && a.ObjectCount = b.ObjectCount)

        testCase "different seeds give different data" <| fun () ->
            let a, b = gen defaultConfig 1UL, gen defaultConfig 2UL
            Expect.notEqual a.Frames b.Frames "frames differ"

        testPropertyWithConfig config "ids unique within a frame, boxes inside the view" <| fun (seed: uint64) ->
            Prop.forAll cfgArb (fun cfg ->
                let s = gen cfg seed
                let perFrame = s.Truth |> Array.groupBy (fun b -> b.Frame)
                let unique = perFrame |> Array.forall (fun (_, bs) -> (bs |> Array.distinctBy (fun b -> b.Track)).Length = bs.Length)
                let inside =
                    s.Truth |> Array.forall (fun b ->
                        b.Left >= 0f && b.Top >= 0f && b.Width > 0f && b.Height > 0f
                        && b.Left + b.Width <= float32 s.ViewSize && b.Top + b.Height <= float32 s.ViewSize)
                // Listing counts the box's share in view; visibility (MOT16's) also counts occlusion.
                let visibleEnough = s.Truth |> Array.forall (fun b -> float (b.Width * b.Height / (b.Size * b.Size)) >= cfg.MinVisibleFraction - 1e-6)
                let share = s.Truth |> Array.forall (fun b -> b.Visibility >= 0f && b.Visibility <= 1f + 1e-5f)
                unique && inside && visibleEnough && share)

        testCase "visibility: 1 for a lone object in view, occlusion lowers it in crowds" <| fun () ->
            let lone = create { defaultConfig with ObjectCount = Some(1, 1); Length = 20 } None
            let rows = Array.init 30 (fun i -> (sequence lone (sequenceSeed 21UL i)).Truth) |> Array.concat
            let whole, cut = rows |> Array.partition (fun b -> b.Width = b.Size && b.Height = b.Size)
            Expect.isGreaterThan whole.Length 100 "lone objects fully in view"
            for b in whole do
                Expect.floatClose Accuracy.medium (float b.Visibility) 1.0 "nothing covers a lone object in view"
            Expect.isNonEmpty cut "some leave the view"
            for b in cut do
                Expect.isLessThanOrEqual b.Visibility (1f + 1e-5f) "a cut object shows at most all of its ink"
            Expect.isTrue (cut |> Array.exists (fun b -> b.Visibility < 0.99f)) "the border cuts ink"
            let crowdWorld = create { defaultConfig with Density = md } None
            let crowd = Array.init 20 (fun i -> (sequence crowdWorld (sequenceSeed 22UL i)).Truth) |> Array.concat
            let inView = crowd |> Array.filter (fun b -> b.Width = b.Size && b.Height = b.Size)
            let hidden = inView |> Array.filter (fun b -> b.Visibility < 0.5f)
            // MD covers about a third of the view, so objects fully in view are often partly covered.
            Expect.isTrue (hidden.Length > 0 && hidden.Length < inView.Length / 2) (sprintf "%d of %d objects in view under half visible" hidden.Length inView.Length)
            Expect.isLessThan (inView |> Array.averageBy (fun b -> float b.Visibility)) 0.99 "occlusion counts"

        testPropertyWithConfig config "a track id is one continuous episode of one object" <| fun (seed: uint64) ->
            Prop.forAll cfgArb (fun cfg ->
                let s = gen cfg seed
                s.Truth
                |> Array.groupBy (fun b -> b.Track)
                |> Array.forall (fun (_, bs) ->
                    let frames = bs |> Array.map (fun b -> b.Frame) |> Array.sort
                    let oneObject = (bs |> Array.distinctBy (fun b -> b.Object)).Length = 1
                    let contiguous = frames.[frames.Length - 1] - frames.[0] + 1 = frames.Length
                    oneObject && contiguous))

        testPropertyWithConfig config "no frame holds more ground-truth rows than mostObjects, whatever the variant" <| fun (seed: uint64) ->
            Prop.forAll cfgArb (fun cfg ->
                let s = gen cfg seed
                let most = mostObjects cfg
                s.ObjectCount <= most
                && (s.Truth |> Array.countBy (fun b -> b.Frame) |> Array.forall (fun (_, rows) -> rows <= most)))

        testCase "mostObjects: dense discovery's three key frames hold up to 45 objects, more than LD's own count" <| fun () ->
            let dense = { defaultConfig with Variant = DenseDiscovery }
            Expect.equal (mostObjects dense) 45 "15 at each of frames 0, 4 and 8"
            Expect.equal (mostObjects { dense with Length = 5 }) 30 "frame 8 is not in a 5-frame sequence"
            Expect.equal (mostObjects defaultConfig) ld.MaxObjects "a standard LD world: LD's most"
            let counts = [ for i in 0 .. 19 -> (gen { dense with Length = 12 } (sequenceSeed 12UL i)).ObjectCount ]
            Expect.isGreaterThan (List.max counts) ld.MaxObjects "dense discovery does hold more than LD's most"

        testCase "object counts per sequence stay in the preset's range" <| fun () ->
            for d in densities do
                let w = create { defaultConfig with Density = d } None
                for i in 0 .. 49 do
                    let s = sequence w (sequenceSeed 11UL i)
                    Expect.isTrue (s.ObjectCount >= d.MinObjects && s.ObjectCount <= d.MaxObjects)
                        (sprintf "%s: %d objects" d.Name s.ObjectCount)
                    Expect.isTrue (visibleCounts s |> Array.forall (fun c -> c <= s.ObjectCount)) "visible ≤ objects"

        testCase "average visible objects within 15% of the paper's, every preset" <| fun () ->
            for d in densities do
                let w = create { defaultConfig with Density = d } None
                let avg = Array.init 300 (fun i -> visibleCounts (sequence w (sequenceSeed 5UL i)) |> Array.averageBy float) |> Array.average
                Expect.isLessThan (abs (avg - d.AvgVisible) / d.AvgVisible) 0.15
                    (sprintf "%s: measured %.2f, paper %.1f" d.Name avg d.AvgVisible)

        testCase "objects leave the view completely and re-enter" <| fun () ->
            let w = create { defaultConfig with Length = 60 } None
            let mutable reentries = 0
            for i in 0 .. 19 do
                let s = sequence w (sequenceSeed 9UL i)
                for o in 0 .. s.ObjectCount - 1 do
                    let frames = s.Truth |> Array.filter (fun b -> b.Object = o) |> Array.map (fun b -> b.Frame)
                    let tracks = s.Truth |> Array.filter (fun b -> b.Object = o) |> Array.map (fun b -> b.Track) |> Array.distinct
                    if tracks.Length > 1 then
                        // Between episodes the object is not listed; and its centre passed outside the view.
                        reentries <- reentries + 1
                        Expect.isTrue (frames.Length < s.Length) "not listed while away"
            Expect.isGreaterThan reentries 20 "re-entries happen often"

        testCase "an object away from the view is fully invisible at times" <| fun () ->
            let w = create { defaultConfig with Length = 60 } None
            let s = sequence w (sequenceSeed 3UL 0)
            // Some object is absent from the truth in a frame after it was present: it left the view.
            let away =
                [ for o in 0 .. s.ObjectCount - 1 do
                    let fr = s.Truth |> Array.filter (fun b -> b.Object = o) |> Array.map (fun b -> b.Frame) |> Set.ofArray
                    if not fr.IsEmpty && fr.Count < s.Length then yield o ]
            Expect.isNonEmpty away "some object leaves"

        testCase "re-entry keeps the first id when configured" <| fun () ->
            let cfg = { defaultConfig with Length = 60; NewIdOnReentry = false }
            let s = gen cfg 3UL
            let idsPerObject = s.Truth |> Array.groupBy (fun b -> b.Object) |> Array.map (fun (_, bs) -> (bs |> Array.distinctBy (fun b -> b.Track)).Length)
            Expect.allEqual idsPerObject 1 "one id per object"

        testCase "dynamic background changes between frames, static does not" <| fun () ->
            let frameBytes = 64 * 64 * 3
            let emptyWorld bg = { defaultConfig with Background = bg; ObjectCount = Some(0, 0); Length = 4 }
            let frame (s: Sequence) t = s.Frames.[t * frameBytes .. (t + 1) * frameBytes - 1]
            let st = gen (emptyWorld StaticBackground) 4UL
            let dy = gen (emptyWorld DynamicBackground) 4UL
            let none = gen (emptyWorld NoBackground) 4UL
            for t in 1 .. 3 do
                Expect.equal (frame st t) (frame st 0) "static background identical across frames"
                Expect.notEqual (frame dy t) (frame dy (t - 1)) "dynamic background changes every frame"
            Expect.isTrue (frame st 0 |> Array.exists (fun b -> b > 0uy)) "static background is not black"
            Expect.isTrue (none.Frames |> Array.forall (fun b -> b = 0uy)) "no background is black"

        testCase "dense discovery introduces 10-15 objects at steps 1, 5 and 9" <| fun () ->
            let s = gen { defaultConfig with Variant = DenseDiscovery; Length = 12 } 8UL
            let firstSeen = s.Truth |> Array.groupBy (fun b -> b.Object) |> Array.map (fun (_, bs) -> (bs |> Array.minBy (fun b -> b.Frame)).Frame)
            let births = firstSeen |> Array.countBy id |> Map.ofArray
            for key in [ 0; 4; 8 ] do
                Expect.isTrue (births.ContainsKey key && births.[key] >= 10 && births.[key] <= 15) (sprintf "births at %d: %A" key births)
            Expect.isTrue (births |> Map.forall (fun k _ -> k = 0 || k = 4 || k = 8)) "no births elsewhere"

        testCase "mnist world draws only the requested classes" <| fun () ->
            let digits = fakeDigits 50
            let pool = digitPool digits [| 6 .. 9 |]
            Expect.isTrue (pool.Indices |> Array.forall (fun i -> digits.Labels.[i] >= 6uy)) "classes 6-9 only"
            let w = create { defaultConfig with Kind = Mnist; DigitClasses = [| 6 .. 9 |] } (Some pool)
            let s = sequence w 1UL
            Expect.isTrue (s.Frames |> Array.exists (fun b -> b > 0uy)) "digits drawn"

        testCase "mnist world without digits is a clear error" <| fun () ->
            Expect.throwsT<WorldConfigError> (fun () -> create { defaultConfig with Kind = Mnist } None |> ignore) "needs digits"
    ]
