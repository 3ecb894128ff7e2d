module Scalor.Tests.Runtime

open System
open System.Reactive.Linq
open System.Threading
open Expecto
open Scalor.Runtime
open Scalor.Worlds

/// A results row, as the tiled tracker hands one to `Stitch.Live`.
let private row frame id box flag : Scalor.Metrics.MotFiles.Row =
    { Frame = frame; Id = id; Box = box; Flag = flag; Class = 1; Visibility = 1.0 }

/// A temporary folder of `count` PNGs of width×height, image t filled with 10t + 5 and then drawn on by `draw t`,
/// given to `f` and deleted after.
let private withImages (prefix: string) count width height (draw: int -> Scalor.Host.Rgb -> unit) (f: string -> unit) =
    let dir = IO.Directory.CreateTempSubdirectory(prefix).FullName
    try
        for t in 0 .. count - 1 do
            let img = Scalor.Host.Rgb(width, height)
            Array.Fill(img.Pixels, byte (10 * t + 5))
            draw t img
            img.SavePng(IO.Path.Combine(dir, sprintf "%03d.png" t))
        f dir
    finally IO.Directory.Delete(dir, true)

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
            // The right half one brighter: a crop of it shows so.
            let brighter t (img: Scalor.Host.Rgb) = for y in 0 .. 63 do for x in 64 .. 127 do img.Set(x, y, (byte (10 * t + 6), 0uy, 0uy))
            withImages "scalor-frames" 7 128 64 brighter <| fun dir ->
                let read step crop =
                    let frames = match crop with Some c -> FrameSources.FromPath(dir, 64, step, c) | None -> FrameSources.FromPath(dir, 64, step)
                    frames.ToList().Wait() |> Seq.map (fun f -> f.Index, int f.Rgb.[0]) |> List.ofSeq
                Expect.equal (read 1 None) [ for t in 0 .. 6 -> t, 10 * t + 5 ] "every frame, in name order"
                Expect.equal (read 3 None) [ 0, 5; 3, 35; 6, 65 ] "frames 0, 3 and 6, named so"
                Expect.equal (read 3 (Some(Scalor.IO.Crop.Window { Width = 64; Height = 64; Left = 64; Top = 0 }))) [ 0, 6; 3, 36; 6, 66 ] "the right half's window"
                // A video beside the images changes nothing: a folder with images is a sequence of them.
                IO.File.WriteAllText(IO.Path.Combine(dir, "clip.mp4"), "not decoded")
                Expect.equal (read 1 None) [ for t in 0 .. 6 -> t, 10 * t + 5 ] "the images, the video aside"

        testCase "one image is a sequence of one frame, named for its file, read as the folder reads it" <| fun () ->
            let brighter t (img: Scalor.Host.Rgb) = for y in 0 .. 63 do for x in 64 .. 127 do img.Set(x, y, (byte (10 * t + 6), 0uy, 0uy))
            withImages "scalor-image" 1 128 64 brighter <| fun dir ->
                let file = IO.Path.Combine(dir, "000.png")
                let read path =
                    let mutable gt = null
                    let sources = Inputs.Open(path, 32, &gt)
                    gt, [ for s in sources -> s.Length, (s.Width, s.Height), List.ofSeq s.Frames ]
                let gt, one = read file
                Expect.equal (Inputs.Open(file, 32, ref null)).[0].Name "000" "named for the file"
                Expect.isNull gt "no ground truth"
                Expect.equal one (snd (read dir)) "the pixels, the size and the one frame of the folder holding it"
                // Without ffmpeg it had gone to ffprobe as a video; a file that is no image says so in one line.
                let broken = IO.Path.Combine(dir, "broken.PNG")
                IO.File.WriteAllText(broken, "not an image")
                let e = Expect.throwsC (fun () -> Inputs.Open(broken, 32, ref null) |> ignore) id
                Expect.isTrue (e :? IO.InvalidDataException) "a data error (one line, exit 1)"
                Expect.stringContains e.Message "broken.PNG: not a readable image" "named"

        testCase "a dataset written without its images is read from its pack: the frames of the one written with them" <| fun () ->
            let write dir images =
                let argv = [ "data"; "--density"; "vld"; "--sequences"; "3"; "--length"; "4"; "--seed"; "5"; "--out"; dir ] @ (if images then [] else [ "--no-images" ])
                match Scalor.Cli.Parse.parse (Array.ofList argv) with
                | Scalor.Cli.Parse.Run(Scalor.Cli.Parse.Data d) -> Expect.equal (Scalor.Host.DataCommand.Run d) 0 "data written"
                | other -> failtestf "unexpected %A" other
            let read dir step =
                let mutable gt = null
                let sources = Inputs.Open(dir, 32, &gt, step)
                gt, [ for s in sources -> s.Name, s.Length, (s.Width, s.Height), List.ofSeq s.Frames ]
            CommandFiles.inTempDir "scalor-pack-input" <| fun root ->
                let withImages, packOnly = IO.Path.Combine(root, "images"), IO.Path.Combine(root, "pack")
                write withImages true
                write packOnly false
                Expect.isFalse (IO.Directory.Exists(IO.Path.Combine(packOnly, "seq-0001", "img1"))) "no images written"
                for step in [ 1; 3 ] do
                    let gtA, a = read withImages step
                    let gtB, b = read packOnly step
                    Expect.equal (List.map (fun (n, l, wh, _) -> n, l, wh) b) [ for i in 1 .. 3 -> sprintf "seq-%04d" i, (if step = 1 then 4 else 2), (64, 64) ] "three sequences of their frames, named for their folders"
                    Expect.equal b a (sprintf "frame step %d: the same frames, resized alike, as from the PNGs" step)
                    Expect.equal (gtA, gtB) (withImages, packOnly) "both have ground truth"
                let tiles dir =
                    let mutable gt = null
                    [ for s in Inputs.OpenTiled(dir, 32, Scalor.IO.Crop.Tiles(32, 0), &gt) -> s.Name, s.Windows.Count, s.Length, [ for f in s.Frames -> List.ofSeq f ] ]
                let tiled = tiles packOnly
                Expect.equal [ for n, w, l, _ in tiled -> n, w, l ] [ for i in 1 .. 3 -> sprintf "seq-%04d" i, 4, 4 ] "four tiles of each frame"
                Expect.equal tiled (tiles withImages) "the tiles of the PNGs"
                let mutable gt = null
                // A folder that lost a sequence, or its pack, says so, where the preview image had been tracked as one frame.
                IO.Directory.Delete(IO.Path.Combine(packOnly, "seq-0002"), true)
                let e = Expect.throwsC (fun () -> Inputs.Open(packOnly, 64, &gt) |> ignore) id
                Expect.isTrue (e :? IO.InvalidDataException) "a data error (one line, exit 1)"
                Expect.stringContains e.Message "dataset.safetensors holds 3 sequences and its folder 2 with ground truth" "counts named"
                IO.File.Delete(IO.Path.Combine(packOnly, "dataset.safetensors"))
                let e = Expect.throwsC (fun () -> Inputs.Open(packOnly, 64, &gt) |> ignore) id
                Expect.stringContains e.Message "has ground truth (seq-0001/gt/gt.txt) but no frames: neither SEQUENCE/img1 folders nor dataset.safetensors" "what is missing"

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
            // An ffmpeg older than 5.1 refuses -fps_mode (each frame once): a video it reads is readable with a newer one.
            let old = Expect.throwsC (fun () -> Seq.length (Inputs.FromDecoder("v.avi", "sh", [| "-c"; "echo \"Unrecognized option 'fps_mode'.\" >&2; exit 1" |], 10)) |> ignore) id
            Expect.equal old.Message "v.avi: this sh is too old to decode videos here (Unrecognized option 'fps_mode'.); install ffmpeg 5.1 or newer" "says what to install"
            let quiet = Collections.Generic.List<string>()
            Expect.equal (Seq.length (Inputs.FromDecoder("fine.avi", "sh", [| "-c"; "head -c 20 /dev/zero" |], 10, Action<string> quiet.Add)), quiet.Count) (2, 0) "a quiet decoder: its frames, nothing said"

        testProperty "name order: numbers in names compare as numbers, zero-padded names keep character order" <| fun (stem: byte) (a: uint16) (b: uint16) ->
            let prefix = String('a' + char (stem % 26uy), int stem % 4)
            let name (n: uint16) = sprintf "%sframe_%d.png" prefix n
            let padded (n: uint16) = sprintf "%s%06d.jpg" prefix n
            let sign (x: int) = Math.Sign x
            sign (Inputs.NameOrder.Compare(name a, name b)) = sign (compare a b)
            && sign (Inputs.NameOrder.Compare(padded a, padded b)) = sign (String.CompareOrdinal(padded a, padded b))

        testProperty "name order is a total order: antisymmetric, equal only for equal names, and sorting agrees with every pair" <| fun (names: string list) ->
            let names = names |> List.map (fun n -> if isNull n then "" else n)
            let sorted = List.sortWith (fun x y -> Inputs.NameOrder.Compare(x, y)) names
            let pairs = [ for x in names do for y in names -> x, y ]
            pairs |> List.forall (fun (x, y) ->
                let c = Inputs.NameOrder.Compare(x, y)
                Math.Sign c = -Math.Sign(Inputs.NameOrder.Compare(y, x)) && ((c = 0) = (x = y)))
            && List.pairwise sorted |> List.forall (fun (x, y) -> Inputs.NameOrder.Compare(x, y) <= 0)
            && List.forall2 (fun x y -> x = y) sorted (sorted |> List.sortWith (fun x y -> Inputs.NameOrder.Compare(x, y)))

        testCase "a folder's frames come in name order: frame_2 before frame_10, as ffmpeg's %d names them; hidden files are none" <| fun () ->
            let dir = IO.Directory.CreateTempSubdirectory("scalor-order").FullName
            try
                for t in [ 1; 2; 10; 11; 3 ] do
                    let img = Scalor.Host.Rgb(8, 8)
                    Array.Fill(img.Pixels, byte t)
                    img.SavePng(IO.Path.Combine(dir, sprintf "frame_%d.png" t))
                // A Mac's metadata beside an image is no frame.
                IO.File.WriteAllBytes(IO.Path.Combine(dir, "._frame_1.png"), [| 0uy; 5uy; 22uy; 7uy |])
                let frames = FrameSources.Whole(dir).ToList().Wait() |> List.ofSeq
                Expect.equal [ for f in frames -> int f.Rgb.[0] ] [ 1; 2; 3; 10; 11 ] "in the order of their numbers, hidden files left out"
            finally IO.Directory.Delete(dir, true)

        testProperty "orientation turns pixels as a viewer shows them: 1 keeps them, each turn undoes its inverse, 5-8 swap the size" <| fun (a: byte) (b: byte) (seed: int) ->
            let w, h = 1 + int a % 6, 1 + int b % 5
            let rgb = Array.init (3 * w * h) (fun i -> byte ((i * 37 + seed) % 251))
            let turn o (px: byte[], w, h) = let struct (r, w', h') = Orientation.Upright(px, w, h, o) in r, w', h'
            let same (x: byte[], xw, xh) (y: byte[], yw, yh) = x = y && xw = yw && xh = yh
            let start = rgb, w, h
            same (turn 1 start) start
            && same (turn 3 (turn 3 start)) start && same (turn 2 (turn 2 start)) start && same (turn 4 (turn 4 start)) start
            && same (turn 8 (turn 6 start)) start && same (turn 6 (turn 8 start)) start
            && same (turn 5 (turn 5 start)) start && same (turn 7 (turn 7 start)) start
            && same (turn 2 (turn 6 start)) (turn 5 start) && same (turn 4 (turn 2 start)) (turn 3 start)
            && (let _, w6, h6 = turn 6 start in w6 = h && h6 = w)
            // A quarter turn clockwise: the stored bottom-left pixel is shown at the top left.
            && (let r, _, _ = turn 6 start in r.[0..2] = rgb.[3 * (h - 1) * w .. 3 * (h - 1) * w + 2])

        testCase "a JPEG's EXIF orientation is read from either byte order, and such a photo is read upright" <| fun () ->
            // SOI, then an APP1 segment of EXIF with one entry, tag 0x0112 = orientation, in `order` ("II" or "MM").
            let exif (order: string) (orientation: int) =
                let little = order = "II"
                let u16 (v: int) = if little then [| byte v; byte (v >>> 8) |] else [| byte (v >>> 8); byte v |]
                let u32 (v: int) = if little then [| byte v; byte (v >>> 8); byte (v >>> 16); byte (v >>> 24) |] else [| byte (v >>> 24); byte (v >>> 16); byte (v >>> 8); byte v |]
                let tiff = Array.concat [ Text.Encoding.ASCII.GetBytes order; u16 42; u32 8; u16 1; u16 0x0112; u16 3; u32 1; u16 orientation; u16 0; u32 0 ]
                let body = Array.append (Text.Encoding.ASCII.GetBytes "Exif\000\000") tiff
                Array.concat [ [| 0xFFuy; 0xE1uy |]; [| byte ((body.Length + 2) >>> 8); byte (body.Length + 2) |]; body ]
            let withExif (jpeg: byte[]) segment = Array.concat [ jpeg.[0..1]; segment; jpeg.[2..] ]
            let plain = IO.File.ReadAllBytes(IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-4x2.jpg"))
            Expect.equal (Orientation.Of plain) 1 "none recorded: as stored"
            for order in [ "II"; "MM" ] do
                for o in 1 .. 8 do Expect.equal (Orientation.Of(withExif plain (exif order o))) o (sprintf "%s, orientation %d" order o)
            Expect.equal (Orientation.Of(withExif plain (exif "II" 9))) 1 "no such orientation: as stored"
            Expect.equal (Orientation.Of((withExif plain (exif "II" 6)).[0..30])) 1 "cut inside its EXIF: as stored"
            Expect.equal (Orientation.Of [| 0x89uy; 0x50uy; 0x4Euy; 0x47uy |]) 1 "not a JPEG"
            let dir = IO.Directory.CreateTempSubdirectory("scalor-exif").FullName
            try
                let read name (bytes: byte[]) =
                    let sub = IO.Directory.CreateDirectory(IO.Path.Combine(dir, name)).FullName
                    IO.File.WriteAllBytes(IO.Path.Combine(sub, "photo.jpg"), bytes)
                    FrameSources.Whole(sub).ToList().Wait() |> Seq.exactlyOne
                let stored = read "stored" plain
                let upright = read "upright" (withExif plain (exif "MM" 6))
                Expect.equal (stored.Width, stored.Height, upright.Width, upright.Height) (4, 2, 2, 4) "turned a quarter: 2×4"
                let struct (turned, _, _) = Orientation.Upright(stored.Rgb, 4, 2, 6)
                Expect.equal upright.Rgb turned "the stored pixels, turned as a viewer shows them"
            finally IO.Directory.Delete(dir, true)

        testCase "a video's frames as ffmpeg decodes them: a quarter-turned video's width and height swap; no stream is none" <| fun () ->
            let probe (side: string) =
                Inputs.Probed(sprintf "{ \"programs\": [], \"streams\": [ { \"width\": 160, \"height\": 96, \"nb_read_packets\": \"10\"%s } ] }" side)
            let rotated (deg: string) = probe (sprintf ", \"side_data_list\": [ { \"rotation\": %s } ]" deg)
            Expect.equal (probe "") (Nullable((160, 96, 10).ToValueTuple())) "as stored"
            for deg in [ "90"; "-90"; "270" ] do
                Expect.equal (rotated deg) (Nullable((96, 160, 10).ToValueTuple())) (sprintf "turned %s degrees: upright" deg)
            Expect.equal (rotated "180") (Nullable((160, 96, 10).ToValueTuple())) "a half turn keeps the size"
            for json in [ "{ \"programs\": [], \"streams\": [] }"; ""; "not json" ] do
                Expect.isFalse (Inputs.Probed(json).HasValue) (sprintf "nothing to read in %A" json)
            // A stream is probed without counting its frames (ffprobe would read a live one for ever): none counted.
            Expect.equal (Inputs.Probed "{ \"streams\": [ { \"width\": 768, \"height\": 576 } ] }") (Nullable((768, 576, 0).ToValueTuple())) "a stream: size, no count"

        testCase "URLs are streams, named for their last path segment or their host; paths are files" <| fun () ->
            for url, name in [ "rtsp://cam.local:554/live/ch1", "ch1"; "http://127.0.0.1:8000/clips/vtest.avi", "vtest"
                               "udp://127.0.0.1:5000", "127.0.0.1-5000"; "rtsp://cam/", "cam"; "http://host/a%20b.mp4", "a b" ] do
                Expect.isTrue (Inputs.IsStream url) (sprintf "%s is a stream" url)
                Expect.equal (Inputs.VideoName url) name (sprintf "%s is named" url)
            for path in [ "vtest.avi"; "/data/vtest.avi"; @"C:\data\vtest.avi"; "file:///data/vtest.avi"; "clips/a:b.mp4" ] do
                Expect.isFalse (Inputs.IsStream path) (sprintf "%s is a file" path)
            Expect.equal (Inputs.VideoName "/data/vtest.avi") "vtest" "a file: its name"
            // A file is never live, and is not probed for it (these do not exist, and no ffprobe runs).
            for path in [ "vtest.avi"; "/nowhere/clip.mp4"; "file:///data/vtest.avi" ] do
                Expect.isFalse (Inputs.IsLive path) (sprintf "%s is not live" path)

        testCase "a stream whose container gives a duration has an end; one without (a camera's, a broadcast) is live" <| fun () ->
            // ffprobe's JSON: a recorded video served over HTTP, then a live UDP broadcast and a camera's RTSP.
            Expect.equal (Inputs.Duration "{ \"streams\": [ { \"width\": 768, \"height\": 576 } ], \"format\": { \"duration\": \"79.500000\" } }") (Nullable 79.5) "79.5 s"
            for json in [ "{ \"streams\": [ { \"width\": 768 } ], \"format\": { } }"; "{ \"format\": { \"duration\": \"N/A\" } }"
                          "{ \"streams\": [] }"; "{ \"format\": { \"duration\": \"0.000000\" } }"; ""; "not json" ] do
                Expect.isFalse (Inputs.Duration(json).HasValue) (sprintf "no duration in %A" json)

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

        testCase "a folder's images stream whole, at their own size, for tiles; an image of another size is refused" <| fun () ->
            withImages "scalor-whole" 5 112 80 (fun _ _ -> ()) <| fun dir ->
                let frames = FrameSources.Whole(dir, 2).ToList().Wait() |> List.ofSeq
                Expect.equal [ for f in frames -> f.Index, f.Width, f.Height, f.Rgb.Length, int f.Rgb.[0] ] [ for t in [ 0; 2; 4 ] -> t, 112, 80, 112 * 80 * 3, 10 * t + 5 ] "frames 0, 2, 4 as they are"
                // Cut into tiles at once: each tile's pixels are those FromPath gives its window.
                let tiles = Scalor.IO.Crop.Tiles(64, 0)
                let cut = FrameSources.Tiled(dir, 32, tiles, 2).ToList().Wait() |> List.ofSeq
                let windows = [ for w in cut.[0].Windows -> w.Left, w.Top ]
                Expect.equal windows [ 0, 0; 48, 0; 0, 16; 48, 16 ] "four tiles of 64 over 112×80"
                Expect.equal [ for f in cut -> f.Index, f.Width, f.Height, f.Tiles.Count ] [ for t in [ 0; 2; 4 ] -> t, 112, 80, 4 ] "the whole frame's index and size"
                for i, w in List.indexed (List.ofSeq cut.[0].Windows) do
                    let alone = FrameSources.FromPath(dir, 32, 2, Scalor.IO.Crop.Window w).ToList().Wait() |> List.ofSeq
                    Expect.equal [ for f in cut -> f.Tiles.[i] ] [ for f in alone -> f.Rgb ] (sprintf "tile %d as FromPath gives its window" i)
                Scalor.Host.Rgb(64, 64).SavePng(IO.Path.Combine(dir, "005.png"))
                let error = Expect.throwsC (fun () -> FrameSources.Whole(dir).ToList().Wait() |> ignore) id
                Expect.stringContains error.Message "005.png is 64×64; the images before it are 112×80" "names the odd image"
                // Resized to the model's square, whole, through a window or in tiles, the boxes go back into the first
                // image's pixels, so an image of another size is refused there too.
                for read, label in [ (fun () -> FrameSources.FromPath(dir, 32).ToList().Wait() |> ignore), "resized whole"
                                     (fun () -> FrameSources.FromPath(dir, 32, 1, Scalor.IO.Crop.Window { Width = 48; Height = 48; Left = 0; Top = 0 }).ToList().Wait() |> ignore), "a window"
                                     (fun () -> FrameSources.Tiled(dir, 32, tiles).ToList().Wait() |> ignore), "tiles" ] do
                    let error = Expect.throwsC read id
                    Expect.stringContains error.Message "005.png is 64×64" label

        testCase "tiles tracked live: each tile as alone, joined as Stitch.Live joins them, objects in the whole frame" <| fun () ->
            // Five frames of a held-out LD world at 112×112, in four tiles of the default model's 64 pixels.
            let w = World.create { World.defaultConfig with ViewSize = 112; ObjectCount = Some(24, 34); Length = 5 } None
            let s = World.sequence w (World.sequenceSeed 1000001UL 0)
            let bytes = 112 * 112 * 3
            let whole = [ for t in 0 .. 4 -> Frame("big", t, 112, 112, s.Frames.[t * bytes .. (t + 1) * bytes - 1]) ]
            let nets, share = Scalor.Host.Checkpoints.LoadForInference(null, None, None).ToTuple()
            use tracker = Scalor.Host.ExportCommand.InMemory(nets, 64, "cpu", 1, ignore, duplicateShare = share)
            let tiled = TiledTracker(tracker, Scalor.IO.Crop.Tiles(64, 0))
            let tracked = (Observable.ToObservable whole).TrackTiles(tiled).ToList().Wait() |> List.ofSeq
            let windows = List.ofSeq tiled.Windows
            Expect.equal [ for w in windows -> w.Left, w.Top ] [ 0, 0; 48, 0; 0, 48; 48, 48 ] "four tiles, in Crop.windows' order"
            // Each tile, tracked on its own with a fresh state, gives what the tiled tracker's state for it gave.
            for ti, win in List.indexed windows do
                let state = tracker.NewState()
                for f, frame in List.zip tracked whole do
                    let tile = Frame("t", frame.Index, 64, 64, Inputs.Resize(Scalor.IO.Crop.cut win 112 frame.Rgb, 64, 64, 64))
                    let alone = tracker.Step(tile, state)
                    Expect.equal [ for o in f.Tiles.[ti].Objects -> o.Id, o.Left, o.Top ] [ for o in alone.Objects -> o.Id, o.Left, o.Top ] "the tile as tracked alone"
            // The joined objects: Stitch.Live over the tiles' boxes in the whole frame, each a tile's object under the joined id.
            let live = Scalor.Model.Stitch.Live(Scalor.Model.Stitch.defaults, windows)
            let mutable before = Set.empty
            for f in tracked do
                let rows =
                    [ for ti, tile in List.indexed (List.ofSeq f.Tiles) do
                          let win = windows.[ti]
                          let k = float win.Width / 64.0
                          for o in tile.Objects ->
                              let b : Scalor.Metrics.Geometry.Box = { Left = float (float32 (float win.Left + float o.Left * k)); Top = float (float32 (float win.Top + float o.Top * k)); Width = float (float32 (float o.Width * k)); Height = float (float32 (float o.Height * k)) }
                              ti, row (f.Frame.Index + 1) (int o.Id) b (float o.Presence) ]
                let joined = live.Step(f.Frame.Index + 1, rows)
                Expect.equal [ for o in f.Objects -> o.Id, float o.Left, float o.Top, float o.Width, float o.Height ] [ for r in joined.Rows -> int64 r.Id, r.Box.Left, r.Box.Top, r.Box.Width, r.Box.Height ] "the live join's rows"
                Expect.isTrue (f.Objects |> Seq.forall (fun o -> not (isNull (box o.Tile)))) "each names its tile"
                Expect.equal [ for o in f.Objects -> o.New ] [ for o in f.Objects -> not (before.Contains o.Id) ] "new: an id not reported in the frame before"
                before <- set [ for o in f.Objects -> o.Id ]
            // Frames that come cut (a video's tiles, scaled by ffmpeg) are tracked as whole frames cut so.
            let precut =
                [ for f in whole -> TiledFrame(f.Sequence, f.Index, 112, 112, List.toArray windows, [| for w in windows -> Inputs.Resize(Scalor.IO.Crop.cut w 112 f.Rgb, 64, 64, 64) |]) ]
            let again = (Observable.ToObservable precut).TrackTiles(TiledTracker(tracker)).ToList().Wait() |> List.ofSeq
            Expect.equal [ for f in again -> [ for o in f.Objects -> o.Id, o.Left, o.Top, o.New ] ] [ for f in tracked -> [ for o in f.Objects -> o.Id, o.Left, o.Top, o.New ] ] "the same joined objects"
            Expect.equal [ for f in again -> f.Frame.Sequence, f.Frame.Index, f.Frame.Width, f.Frame.Rgb.Length ] [ for f in whole -> f.Sequence, f.Index, 112, 0 ] "the whole frame's name, index and size, no pixels"
            // Not joined: the same tiles, no objects of the whole frame, no join.
            let unjoined = TiledTracker(tracker, join = false)
            let apart = (Observable.ToObservable precut).TrackTiles(unjoined).ToList().Wait() |> List.ofSeq
            Expect.equal [ for f in apart -> [ for t in f.Tiles -> [ for o in t.Objects -> o.Id, o.Left, o.Top ] ] ] [ for f in tracked -> [ for t in f.Tiles -> [ for o in t.Objects -> o.Id, o.Left, o.Top ] ] ] "each tile as joined"
            Expect.isTrue (apart |> List.forall (fun f -> f.Objects.Count = 0)) "no joined objects"
            Expect.isTrue (obj.ReferenceEquals(unjoined.LastJoined, null)) "and no join"
            let counts = [ for f in tracked -> f.Objects.Count, f.Tiles |> Seq.sumBy (fun t -> t.Objects.Count) ]
            Expect.isTrue (counts |> List.forall (fun (joined, tiles) -> joined > 15 && joined < tiles)) (sprintf "about 27 objects in view, fewer than the tiles report: %A" counts)
            // A frame the crop cannot cut ends the stream with its error.
            let small = Observable.Return(Frame("small", 0, 32, 32, Array.zeroCreate (32 * 32 * 3)))
            Expect.throwsT<ArgumentException> (fun () -> small.TrackTiles(TiledTracker(tracker, Scalor.IO.Crop.Tiles(64, 0))).Wait() |> ignore) "too small for a tile"
            Expect.throwsT<ArgumentException> (fun () -> (Observable.Return(whole.[0])).TrackTiles(TiledTracker(tracker)).Wait() |> ignore) "whole frames need a crop"

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
                // A state steps only the tracker that made it.
                use other = OnnxTracker.Load(path, Provider.Cpu, 1)
                Expect.throwsT<ArgumentException> (fun () -> tracker.Step(Frame("x", 0, 64, 64, Array.zeroCreate (64 * 64 * 3)), other.NewState()) |> ignore) "another tracker's state"
            finally
                IO.File.Delete path
                if IO.Directory.Exists dir then IO.Directory.Delete(dir, true)
    ]
