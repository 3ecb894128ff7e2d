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

        testCase "a folder of images streams every frame, or every k-th under the input's frame index" <| fun () ->
            let dir = IO.Directory.CreateTempSubdirectory("scalor-frames").FullName
            try
                for t in 0 .. 6 do
                    // The right half one brighter: a crop of it shows so.
                    let img = Scalor.Host.Rgb(128, 64)
                    Array.Fill(img.Pixels, byte (10 * t + 5))
                    for y in 0 .. 63 do for x in 64 .. 127 do img.Set(x, y, (byte (10 * t + 6), 0uy, 0uy))
                    img.SavePng(IO.Path.Combine(dir, sprintf "%03d.png" t))
                let read step crop =
                    let frames = match crop with Some c -> FrameSources.FromPath(dir, 64, step, c) | None -> FrameSources.FromPath(dir, 64, step)
                    frames.ToList().Wait() |> Seq.map (fun f -> f.Index, int f.Rgb.[0]) |> List.ofSeq
                Expect.equal (read 1 None) [ for t in 0 .. 6 -> t, 10 * t + 5 ] "every frame, in name order"
                Expect.equal (read 3 None) [ 0, 5; 3, 35; 6, 65 ] "frames 0, 3 and 6, named so"
                Expect.equal (read 3 (Some(Scalor.IO.Crop.Window { Width = 64; Height = 64; Left = 64; Top = 0 }))) [ 0, 6; 3, 36; 6, 66 ] "the right half's window"
                // A video beside the images changes nothing: a folder with images is a sequence of them.
                IO.File.WriteAllText(IO.Path.Combine(dir, "clip.mp4"), "not decoded")
                Expect.equal (read 1 None) [ for t in 0 .. 6 -> t, 10 * t + 5 ] "the images, the video aside"
            finally IO.Directory.Delete(dir, true)

        testCase "a folder of videos is a sequence per video; two of one name are refused before any is decoded" <| fun () ->
            let dir = IO.Directory.CreateTempSubdirectory("scalor-videos").FullName
            try
                for name in [ "b.avi"; "a.mp4"; "b.mkv"; "notes.txt" ] do IO.File.WriteAllText(IO.Path.Combine(dir, name), "not decoded")
                let e = Expect.throwsC (fun () -> Inputs.Open(dir, 64, ref null) |> ignore) id
                Expect.stringContains e.Message "holds videos of one name, b.avi and b.mkv" "named, with the remedy"
                Expect.isTrue (e :? IO.InvalidDataException) "a data error (one line, exit 1)"
                IO.File.Delete(IO.Path.Combine(dir, "b.mkv"))
                // Without ffmpeg (CI) the first video's probe says ffprobe is missing; with it, that it cannot read a.mp4.
                let e = Expect.throwsC (fun () -> Inputs.Open(dir, 64, ref null) |> ignore) id
                Expect.isTrue (e.Message.Contains "a.mp4: not a readable video" || e.Message.Contains "ffprobe is not installed")
                    (sprintf "the videos are read, the first in name order first: %s" e.Message)
                IO.File.Delete(IO.Path.Combine(dir, "a.mp4"))
                IO.File.Delete(IO.Path.Combine(dir, "b.avi"))
                let e = Expect.throwsC (fun () -> Inputs.Open(dir, 64, ref null) |> ignore) id
                Expect.stringContains e.Message "no images (png, jpg, bmp) or videos in" "nothing to read"
            finally IO.Directory.Delete(dir, true)

        testCase "a decoder that reports much is read as it runs: its frames come, and what it said is said once they end" <| fun () ->
            // A damaged video makes ffmpeg write a line for every damaged block before and between its frames: here
            // about 100 kB of them, more than a pipe holds, then three frames of 10 bytes. Left unread they blocked
            // the decoder, and with it the frames, for good.
            let decoder = "i=0; while [ $i -lt 5000 ]; do echo \"damaged block $i\" >&2; i=$((i+1)); done; head -c 30 /dev/zero"
            let said = Collections.Generic.List<string>()
            let read = Tasks.Task.Run(fun () -> Seq.length (Inputs.FromDecoder("damaged.avi", "sh", [| "-c"; decoder |], 10, Action<string> said.Add)))
            Expect.isTrue (read.Wait(TimeSpan.FromSeconds 60.0)) "the frames came (no wait on a full pipe)"
            Expect.equal read.Result 3 "three frames of 10 bytes"
            Expect.equal (List.ofSeq said) [ "damaged.avi: sh reported 5000 lines of decoding errors and filled in what it could not decode (the first: damaged block 0)" ] "said once, with the first line"
            let frames = Seq.length (Inputs.FromDecoder("cut.avi", "sh", [| "-c"; "head -c 25 /dev/zero; echo 'truncated packet' >&2; exit 1" |], 10, Action<string> said.Add))
            Expect.equal (frames, said.[1]) (2, "cut.avi: sh stopped after 2 frames (exit code 1: truncated packet); the frames before are used") "a decoder that fails after some frames leaves them"
            let e = Expect.throwsC (fun () -> Seq.length (Inputs.FromDecoder("none.avi", "sh", [| "-c"; "echo 'moov atom not found' >&2; exit 1" |], 10)) |> ignore) id
            Expect.isTrue (e :? IO.InvalidDataException) "one that gives no frame is unreadable"
            Expect.equal e.Message "none.avi: not a readable video (moov atom not found)" "in its own words"
            let quiet = Collections.Generic.List<string>()
            Expect.equal (Seq.length (Inputs.FromDecoder("fine.avi", "sh", [| "-c"; "head -c 20 /dev/zero" |], 10, Action<string> quiet.Add)), quiet.Count) (2, 0) "a quiet decoder: its frames, nothing said"

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

/// The tracking stream operator with a stand-in step (so the policies are tested without a model), then once
/// with an exported model end to end.
[<Tests>]
let streamTests =
    let ints (n: int) = Observable.Range(0, n)
    /// 100 items into a 2-item buffer before a slow step: what comes out, after the checks every policy obeys.
    let dropping (policy: Overflow) =
        let dropped = Collections.Concurrent.ConcurrentBag<int>()
        let out =
            (ints 100).Process((fun i -> Thread.Sleep 2; i), StreamOptions(2, policy), (fun i -> dropped.Add i)).ToList().Wait() |> Seq.toList
        Expect.isLessThan out.Length 100 "some items were dropped"
        Expect.equal (out.Length + dropped.Count) 100 "every item either delivered or reported dropped"
        Expect.equal out (List.sort out) "delivered in order"
        out
    testList "Runtime.TrackingStream" [
        testCase "order is kept: items come out in the order they went in" <| fun () ->
            let rnd = Random(3)
            let out =
                (ints 200).Process((fun i -> (if rnd.Next(10) = 0 then Thread.Sleep 1); i * 2), StreamOptions(4, Overflow.Block)).ToList().Wait()
                |> Seq.toList
            Expect.equal out [ for i in 0 .. 199 -> i * 2 ] "every item, in order"

        testCase "block: a fast producer waits for room, nothing is lost, the buffer never holds more than its size" <| fun () ->
            let mutable produced = 0
            let mutable consumed = 0
            let mutable maxAhead = 0
            let source =
                Observable.Create<int>(fun (o: IObserver<int>) ->
                    for i in 0 .. 39 do
                        o.OnNext i
                        Interlocked.Increment(&produced) |> ignore
                    o.OnCompleted()
                    Reactive.Disposables.Disposable.Empty)
            let step i =
                maxAhead <- max maxAhead (Volatile.Read(&produced) - consumed)
                Thread.Sleep 3
                consumed <- consumed + 1
                i
            let out = source.SubscribeOn(Reactive.Concurrency.TaskPoolScheduler.Default).Process(step, StreamOptions(3, Overflow.Block)).ToList().Wait() |> Seq.toList
            Expect.equal out [ 0 .. 39 ] "all 40 delivered in order"
            // Buffered (3) + the one being processed + the one whose write just returned.
            Expect.isLessThanOrEqual maxAhead 5 "the producer was held back"

        testCase "drop oldest: a slow consumer sees the newest items, in order, and drops are reported" <| fun () ->
            let out = dropping Overflow.DropOldest
            Expect.equal (List.last out) 99 "the newest item survives"

        testCase "drop newest: arrivals into a full buffer are dropped, the first ones survive" <| fun () ->
            let out = dropping Overflow.DropNewest
            Expect.equal (List.head out) 0 "the first item survives"

        testCase "cancellation: disposing the subscription stops the work" <| fun () ->
            let mutable steps = 0
            let endless = Observable.Interval(TimeSpan.FromMilliseconds 1.0)
            let sub = endless.Process((fun i -> Interlocked.Increment(&steps) |> ignore; i), StreamOptions(4, Overflow.DropOldest)).Subscribe(fun _ -> ())
            Thread.Sleep 150
            sub.Dispose()
            Thread.Sleep 50
            let atStop = Volatile.Read(&steps)
            Expect.isGreaterThan atStop 0 "it was working"
            Thread.Sleep 200
            Expect.isLessThanOrEqual (Volatile.Read(&steps) - atStop) 1 "no work after disposal (at most the step in flight)"

        testCase "cancellation: after disposal no buffered item is stepped, only the one in flight finishes" <| fun () ->
            let mutable steps = 0
            use entered = new ManualResetEventSlim()
            use gate = new ManualResetEventSlim()
            let step i =
                Interlocked.Increment(&steps) |> ignore
                entered.Set()
                gate.Wait()
                i
            // Range pushes all ten at once, so while the first step waits on the gate the buffer is full.
            let sub = (ints 10).Process(step, StreamOptions(4, Overflow.DropOldest)).Subscribe(fun _ -> ())
            Expect.isTrue (entered.Wait 5000) "a step started"
            sub.Dispose()
            gate.Set()
            Thread.Sleep 200
            Expect.equal (Volatile.Read(&steps)) 1 "the step in flight, and none of the four buffered items"

        testCase "a bad item ends the stream with its error, after the good ones; the process goes on" <| fun () ->
            let received = Collections.Generic.List<int>()
            let mutable error: exn = null
            use finished = new ManualResetEventSlim()
            let step i = if i = 3 then raise (ArgumentException "bad frame 3") else i
            use _ =
                (ints 10).Process(step).Subscribe(
                    (fun i -> received.Add i), (fun e -> error <- e; finished.Set()), (fun () -> finished.Set()))
            Expect.isTrue (finished.Wait 5000) "ended"
            Expect.equal (List.ofSeq received) [ 0; 1; 2 ] "the items before the bad one"
            Expect.isNotNull error "an error, not a completion"
            Expect.stringContains error.Message "bad frame 3" "the step's own error"

        testCase "an error of the source arrives after the items buffered before it" <| fun () ->
            let source = Observable.Concat(ints 5, Observable.Throw<int>(InvalidOperationException "source failed"))
            let received = Collections.Generic.List<int>()
            let mutable error: exn = null
            use finished = new ManualResetEventSlim()
            use _ = source.Process((fun i -> Thread.Sleep 1; i)).Subscribe((fun i -> received.Add i), (fun e -> error <- e; finished.Set()), (fun () -> finished.Set()))
            Expect.isTrue (finished.Wait 5000) "ended"
            Expect.equal (List.ofSeq received) [ 0 .. 4 ] "buffered items first"
            Expect.stringContains error.Message "source failed" "then the source's error"

        testCase "MOTChallenge lines: two decimals, halves away from zero, no trailing zeros" <| fun () ->
            // 10.125 and −0.125 are exact binary halves at the third decimal: half-to-even would give 10.12 and −0.12.
            Expect.equal (TrackingStream.MotLine(3, 7L, [ 10.125; 2.0; 0.5; -0.125 ], 0.9996)) "3,7,10.13,2,0.5,-0.13,1,-1,-1,-1" "rounded as the files carry it"
            Expect.sequenceEqual (TrackingStream.MotBox [ 10.125; 2.004 ]) [ 10.13; 2.0 ] "the box the line writes"

        testCase "end to end: a generated world through an exported model, recorded as MOTChallenge files" <| fun () ->
            let nets = Scalor.Model.Scalor.create { Scalor.Model.Config.toy64 with BatchSize = 1 } 3L
            let path = IO.Path.Combine(IO.Path.GetTempPath(), sprintf "scalor-stream-%s.onnx" (Guid.NewGuid().ToString("N")))
            let dir = IO.Path.Combine(IO.Path.GetTempPath(), sprintf "scalor-stream-%s" (Guid.NewGuid().ToString("N")))
            try
                Scalor.Model.Export.save nets { Scalor.Model.Export.defaultOptions with Capacity = 8 } path |> ignore
                use tracker = OnnxTracker.Load(path, Provider.Cpu, 1)
                let w = World.create { World.defaultConfig with Length = 3 } None
                let frames =
                    FrameSources.FromWorld(w, 5UL, 2).Track(tracker).RecordMot(dir).ToList().Wait() |> Seq.toList
                Expect.equal [ for f in frames -> f.Frame.Sequence, f.Frame.Index ] [ "seq-0001", 0; "seq-0001", 1; "seq-0001", 2; "seq-0002", 0; "seq-0002", 1; "seq-0002", 2 ] "in order"
                Expect.isTrue (IO.File.Exists(IO.Path.Combine(dir, "seq-0001.txt")) && IO.File.Exists(IO.Path.Combine(dir, "seq-0002.txt"))) "one file per sequence"
                let lines = IO.File.ReadAllLines(IO.Path.Combine(dir, "seq-0001.txt"))
                Expect.equal lines.Length (frames |> List.take 3 |> List.sumBy (fun f -> f.Objects.Count)) "one line per reported object"
                // A wrong-sized frame in the middle of a stream surfaces as the stream's error.
                let bad = Observable.Return(Frame("x", 0, 32, 32, Array.zeroCreate (32 * 32 * 3)))
                Expect.throwsT<ArgumentException> (fun () -> bad.Track(tracker).Wait() |> ignore) "the stream fails with the frame's error"
            finally
                IO.File.Delete path
                if IO.Directory.Exists dir then IO.Directory.Delete(dir, true)
    ]
