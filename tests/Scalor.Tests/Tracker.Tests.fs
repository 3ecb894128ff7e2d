module Scalor.Tests.Tracker

open System
open Expecto
open TorchSharp
open Scalor.Model

/// A held-out LD sequence's frames as RGB bytes.
let private framesOf (seed: uint64) =
    let w = Scalor.Worlds.World.create Scalor.Worlds.World.defaultConfig None
    let s = Scalor.Worlds.World.sequence w (Scalor.Worlds.World.sequenceSeed seed 0)
    let n = s.ViewSize * s.ViewSize * 3
    [ for t in 0 .. s.Length - 1 -> s.Frames.[t * n .. (t + 1) * n - 1] ]

let private describe (objects: Track.TrackedObject[]) =
    [ for o in objects -> o.Id, o.New, o.Where, o.Presence, o.Visible, o.MaskBox ]

[<Tests>]
let tests =
    testSequenced <| testList "Tracker" [
        testCase "reports what the step reports, frame by frame, New flags too; inspect sees each frame; Reset starts afresh" <| fun () ->
            let struct (nets: Scalor.Nets, share) = Scalor.Host.Checkpoints.LoadForInference(null, None)
            let frames = framesOf 1000001UL
            // The same frames through the library's pieces, as the tracker is meant to put them together.
            let opts = Track.tracking nets.Config share
            let floor = Track.minVisiblePixels nets.Config Track.defaultMinVisibleShare
            let mutable state = Track.initial nets 1L
            let mutable seen = Set.empty
            let byHand =
                [ for rgb in frames do
                    let next, f = Track.step nets opts state (Tracker.toTensor rgb nets.Config.ImageSize)
                    state <- next
                    let present = Track.objectsOf f.Objects (Track.renderingOf nets.Config f) 0L 0.5f seen
                    seen <- present |> Array.map (fun o -> o.Id) |> Set.ofArray
                    yield describe (Track.reported floor present) ]
            // The pieces by hand have no rule for converged tracks (tested with the runtimes, Export.Tests).
            use tracker = new Tracker.Tracker(nets, share, 0.5f, Track.defaultMinVisibleShare, None)
            let views = Collections.Generic.List<int * int64[]>()
            let first = [ for rgb in frames -> describe (tracker.Step(rgb, fun v -> views.Add(v.Reported.Length, (if v.IdsBefore.numel() = 0L then [||] else v.IdsBefore.data<int64>().ToArray())))) ]
            Expect.equal first byHand "the tracker's objects are the step's"
            Expect.equal tracker.Frames frames.Length "frames counted"
            Expect.isGreaterThan (first |> List.sumBy List.length) 20 "objects to compare"
            // New (discovered this frame) is the step's by hand above; both kinds occur.
            let all = first |> List.concat
            let news = all |> List.filter (fun (_, isNew, _, _, _, _) -> isNew) |> List.length
            Expect.isTrue (news > 0 && news < all.Length) (sprintf "%d of %d reported objects new" news all.Length)
            Expect.equal (views |> Seq.map fst |> List.ofSeq) (first |> List.map List.length) "inspect sees each frame's reported objects"
            Expect.isEmpty (snd views.[0]) "nothing tracked before the first frame"
            tracker.Reset()
            Expect.equal tracker.Frames 0 "reset"
            let again = [ for rgb in frames -> describe (tracker.Step rgb) ]
            Expect.equal again first "after Reset the same sequence tracks the same, ids from 1 again"

        testCase "Capacity bounds the objects held at once; Live counts the slots taken, reported or not" <| fun () ->
            let struct (nets: Scalor.Nets, share) = Scalor.Host.Checkpoints.LoadForInference(null, None)
            let frames = framesOf 1000001UL
            let lives (tracker: Tracker.Tracker) =
                [ for rgb in frames ->
                    let reported = tracker.Step rgb
                    reported.Length, tracker.Live ]
            use roomy = new Tracker.Tracker(nets, share)
            use tight = new Tracker.Tracker(Scalor.withCapacity 3 nets, share)
            Expect.equal (roomy.Capacity, tight.Capacity) (nets.Config.Capacity, 3) "the config's slots"
            let wide, narrow = lives roomy, lives tight
            for reported, live in wide @ narrow do
                Expect.isLessThanOrEqual reported live "every reported object holds a slot"
            Expect.isTrue (narrow |> List.forall (fun (_, live) -> live <= 3)) "never more than the capacity"
            Expect.isTrue (narrow |> List.exists (fun (_, live) -> live = 3)) "the world holds more objects than three slots"
            Expect.isTrue (wide |> List.exists (fun (_, live) -> live > 3)) "with the config's slots the same frames hold more"
            Expect.isTrue (wide |> List.forall (fun (_, live) -> live < nets.Config.Capacity)) "an LD world never fills 128 slots"
            tight.Reset()
            Expect.equal tight.Live 0 "Reset frees every slot"

        testCase "a frame of the wrong size is an ArgumentException that says the size; a disposed tracker refuses to step" <| fun () ->
            let nets = Scalor.create { Config.toy64 with BatchSize = 1 } 3L
            let tracker = new Tracker.Tracker(nets, Discovery.defaultDuplicateShare)
            let e = Expect.throwsC (fun () -> tracker.Step(Array.zeroCreate 100) |> ignore) id
            Expect.isTrue (e :? ArgumentException) "ArgumentException"
            Expect.stringContains e.Message "64×64" "says what the model takes"
            tracker.Step(Array.zeroCreate (64 * 64 * 3)) |> ignore
            (tracker :> IDisposable).Dispose()
            Expect.throwsT<ObjectDisposedException> (fun () -> tracker.Step(Array.zeroCreate (64 * 64 * 3)) |> ignore) "disposed"
    ]
