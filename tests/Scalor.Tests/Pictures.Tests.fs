module Scalor.Tests.Pictures

open System.IO
open System.Collections.Generic
open Expecto
open TorchSharp
open Scalor.Host

/// A minimal GIF decoder (global palette, LZW), independent of the writer: frame index arrays and palette.
let decodeGif (d: byte[]) =
    let palette = d.[13 .. 13 + 767]
    let frames = ResizeArray<int[]>()
    let mutable i = 13 + 768
    let mutable fin = false
    while not fin && i < d.Length do
        match d.[i] with
        | 0x21uy ->
            i <- i + 2
            while d.[i] <> 0uy do i <- i + int d.[i] + 1
            i <- i + 1
        | 0x2Cuy ->
            i <- i + 10
            let mcs = int d.[i]
            i <- i + 1
            let data = ResizeArray<byte>()
            while d.[i] <> 0uy do
                data.AddRange(d.[i + 1 .. i + int d.[i]])
                i <- i + int d.[i] + 1
            i <- i + 1
            let clear, eoi = 1 <<< mcs, (1 <<< mcs) + 1
            let table = System.Collections.Generic.Dictionary<int, int list>()
            let reset () =
                table.Clear()
                for k in 0 .. clear - 1 do table.[k] <- [ k ]
            reset ()
            let mutable size, next, pos = mcs + 1, eoi + 1, 0
            let mutable prev: int list option = None
            let out = ResizeArray<int>()
            let bits = data.ToArray()
            let read n =
                let mutable v = 0
                for k in 0 .. n - 1 do
                    let b = pos + k
                    if (int bits.[b / 8] >>> (b % 8)) &&& 1 = 1 then v <- v ||| (1 <<< k)
                pos <- pos + n
                v
            let mutable go = true
            while go do
                let code = read size
                if code = clear then
                    reset ()
                    size <- mcs + 1
                    next <- eoi + 1
                    prev <- None
                elif code = eoi then go <- false
                else
                    let entry =
                        match table.TryGetValue code, prev with
                        | (true, e), _ -> e
                        | _, Some p when code = next -> p @ [ p.Head ]
                        | _ -> failwithf "bad LZW code %d" code
                    out.AddRange entry
                    match prev with
                    | Some p ->
                        table.[next] <- p @ [ entry.Head ]
                        next <- next + 1
                        if next = (1 <<< size) && size < 12 then size <- size + 1
                    | None -> ()
                    prev <- Some entry
            frames.Add(out.ToArray())
        | _ -> fin <- true
    frames.ToArray(), palette

[<Tests>]
let tests =
    testList "Pictures" [
        testCase "GIF frames decode to the written colours" <| fun () ->
            let frame (r: byte) (g: byte) (b: byte) =
                let img = Rgb(20, 10)
                for y in 0 .. 9 do
                    for x in 0 .. 19 do img.Set(x, y, (r, g, b))
                img.Set(3, 4, (255uy, 255uy, 255uy))
                img
            let path = Path.Combine(Directory.CreateTempSubdirectory("scalor-gif").FullName, "a.gif")
            Gif.Write(path, [| frame 255uy 0uy 0uy; frame 0uy 102uy 255uy |], 10)
            let frames, palette = decodeGif (File.ReadAllBytes path)
            Expect.equal frames.Length 2 "two frames"
            let px (f: int[]) x y = let i = f.[y * 20 + x] in palette.[3 * i], palette.[3 * i + 1], palette.[3 * i + 2]
            Expect.equal (px frames.[0] 0 0) (255uy, 0uy, 0uy) "first frame red"
            Expect.equal (px frames.[1] 10 5) (0uy, 102uy, 255uy) "second frame blue (on the palette)"
            Expect.equal (px frames.[0] 3 4) (255uy, 255uy, 255uy) "white pixel"
            Expect.equal (px frames.[1] 3 4) (255uy, 255uy, 255uy) "white pixel"
            // A standard decoder agrees on the first frame.
            use fs = File.OpenRead path
            let first = StbImageSharp.ImageResult.FromStream(fs, StbImageSharp.ColorComponents.RedGreenBlue)
            Expect.equal (first.Data.[0], first.Data.[1], first.Data.[2]) (255uy, 0uy, 0uy) "stb_image: red"

        testProperty "resampling by a whole factor is enlarging; shrinking keeps a pixel under each new one" <| fun (w: byte) (h: byte) (k: byte) (seed: int) ->
            let w, h, k = 1 + int w % 40, 1 + int h % 40, 1 + int k % 4
            let rng = System.Random seed
            let img = Rgb(w, h)
            rng.NextBytes img.Pixels
            let small = img.Resized(0.37)
            let pixel (i: Rgb) x y = let o = (y * i.Width + x) * 3 in i.Pixels.[o], i.Pixels.[o + 1], i.Pixels.[o + 2]
            img.Resized(float k).Pixels = img.Scale(k).Pixels
            && (small.Width, small.Height) = (max 1 (int (System.Math.Round(float w * 0.37))), max 1 (int (System.Math.Round(float h * 0.37))))
            && [ for y in 0 .. small.Height - 1 do for x in 0 .. small.Width - 1 -> x, y ]
               |> List.forall (fun (x, y) -> pixel small x y = pixel img (min (w - 1) (int ((float x + 0.5) / 0.37))) (min (h - 1) (int ((float y + 0.5) / 0.37))))

        testCase "per-object reconstructions: each id's own rendering, whole where another covers it, black elsewhere" <| fun () ->
            // Two opaque grey squares, the second (0.4) nearer and over the first (0.8). Slot 0 is a propagated
            // object with id 7; slot 1 a discovery cell, which takes the next id, 8.
            let box (left: float32) (top: float32) (s: float32) =
                torch.tensor([| s / 64f; s / 64f; (left + s / 2f) / 32f - 1f; (top + s / 2f) / 32f - 1f |]).view(1L, 4L)
            let grey (v: float32) = torch.full([| 1L; 3L; 8L; 8L |], v.ToScalar())
            let l = Scalor.Model.Spatial.windowSize 64 0.2 0.1 1.0 0.0
            let maps =
                Scalor.Model.Render.paste 1L (torch.cat([| grey 0.8f; grey 0.4f |], 0L)) (torch.ones(2L, 1L, 8L, 8L)) (torch.ones(2L, 1L))
                    (torch.tensor([| 2f; -2f |]).view(-1L, 1L)) (torch.cat([| box 10f 10f 14f; box 16f 16f 14f |], 0L)) 64 64 l
            let prevIds = torch.tensor([| 7L |]).view(1L, 1L)
            let renders = TrackCommand.ObjectRenders(maps, prevIds, HashSet [ 7L; 8L ], 64)
            Expect.equal (Set.ofSeq renders.Keys) (set [ 7L; 8L ]) "one picture per wanted id"
            let near (img: Rgb) x y (v: int) = abs (int img.Pixels.[(y * 64 + x) * 3 + 1] - v) <= 1
            Expect.isTrue (near renders.[7L] 12 12 204) "the far object's colour in its own box"
            Expect.isTrue (near renders.[7L] 20 20 204) "and where the near one covers it"
            Expect.isTrue (near renders.[8L] 20 20 102) "the near object's colour in its box"
            Expect.isTrue (near renders.[8L] 12 12 0 && near renders.[7L] 40 40 0) "black outside an object's box"
            let only = TrackCommand.ObjectRenders(maps, prevIds, HashSet [ 8L ], 64)
            Expect.equal (List.ofSeq only.Keys) [ 8L ] "only the ids asked for"

        testCase "per-object rows go to the objects reported in the most frames, ties to the older id" <| fun () ->
            let frames: seq<seq<int64>> = [ [ 1L; 2L; 3L ]; [ 2L; 3L ]; [ 3L; 5L ]; [ 5L ] ]
            Expect.equal (TrackCommand.PerObjectRows(frames, 2)) [| 3L; 2L |] "3 in three frames, then 2 (two frames, older than 5)"
            Expect.equal (TrackCommand.PerObjectRows(frames, 9)) [| 3L; 2L; 5L; 1L |] "fewer objects than rows: all of them"

        testCase "PNG round trip" <| fun () ->
            let img = Rgb(7, 5)
            img.Set(2, 3, (10uy, 200uy, 30uy))
            let path = Path.Combine(Directory.CreateTempSubdirectory("scalor-png").FullName, "a.png")
            img.SavePng path
            use fs = File.OpenRead path
            let back = StbImageSharp.ImageResult.FromStream(fs, StbImageSharp.ColorComponents.RedGreenBlue)
            Expect.equal back.Data img.Pixels "same pixels"

        testProperty "a line is connected: it covers both ends and every column and row between them" <| fun (a: byte) (b: byte) (c: byte) (d: byte) ->
            let x0, y0, x1, y1 = int a % 40, int b % 40, int c % 40, int d % 40
            let img = Rgb(40, 40)
            img.Line(float x0, float y0, float x1, float y1, (255uy, 255uy, 255uy))
            let on x y = img.Pixels.[(y * 40 + x) * 3] = 255uy
            let lit = [ for y in 0 .. 39 do for x in 0 .. 39 do if on x y then yield x, y ]
            on x0 y0 && on x1 y1
            && List.forall (fun x -> lit |> List.exists (fun (px, _) -> px = x)) [ min x0 x1 .. max x0 x1 ]
            && List.forall (fun y -> lit |> List.exists (fun (_, py) -> py = y)) [ min y0 y1 .. max y0 y1 ]
            && lit |> List.forall (fun (x, y) -> x >= min x0 x1 && x <= max x0 x1 && y >= min y0 y1 && y <= max y0 y1)

        testCase "CRC-32C has its standard check value" <| fun () ->
            Expect.equal (TensorBoardImages.Crc32C(System.Text.Encoding.ASCII.GetBytes "123456789")) 0xE3069283u "check value"

        testCase "TensorBoard image events: valid TFRecord framing and a PNG of the image inside" <| fun () ->
            let dir = Path.Combine(Path.GetTempPath(), sprintf "scalor-tb-%s" (System.Guid.NewGuid().ToString("N")))
            try
                let img = Rgb(7, 5)
                img.Set(3, 2, (200uy, 10uy, 30uy))
                let file =
                    use tb = new TensorBoardImages(dir)
                    tb.AddImage("reconstruction", img, 42L)
                    tb.FileName
                let bytes = File.ReadAllBytes file
                let mutable i = 0
                let records = System.Collections.Generic.List<byte[]>()
                while i < bytes.Length do
                    let len = int (System.BitConverter.ToUInt64(bytes, i))
                    Expect.equal (System.BitConverter.ToUInt32(bytes, i + 8)) (TensorBoardImages.MaskedCrc(System.ReadOnlySpan(bytes, i, 8))) "length CRC"
                    let data = bytes.[i + 12 .. i + 12 + len - 1]
                    Expect.equal (System.BitConverter.ToUInt32(bytes, i + 12 + len)) (TensorBoardImages.MaskedCrc(System.ReadOnlySpan data)) "data CRC"
                    records.Add data
                    i <- i + 16 + len
                Expect.equal records.Count 2 "file version, then the image event"
                let ev = records.[1]
                let start = Seq.findIndex id [ for k in 0 .. ev.Length - 4 -> ev.[k] = 0x89uy && ev.[k + 1] = byte 'P' && ev.[k + 2] = byte 'N' && ev.[k + 3] = byte 'G' ]
                let png = StbImageSharp.ImageResult.FromMemory(ev.[start..], StbImageSharp.ColorComponents.RedGreenBlue)
                Expect.equal (png.Width, png.Height) (7, 5) "size"
                Expect.equal png.Data img.Pixels "pixels"
            finally
                if Directory.Exists dir then Directory.Delete(dir, true)
    ]
