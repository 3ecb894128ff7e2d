module Scalor.Tests.Png

open System
open System.IO
open System.Text
open Expecto
open Scalor.Host

/// The chunks of a PNG file after its signature: (type, data, stored CRC).
let private chunks (png: byte[]) =
    let be (i: int) = (uint png.[i] <<< 24) ||| (uint png.[i + 1] <<< 16) ||| (uint png.[i + 2] <<< 8) ||| uint png.[i + 3]
    [ let mutable i = 8
      while i < png.Length do
          let n = int (be i)
          yield Encoding.ASCII.GetString(png, i + 4, 4), png.[i + 8 .. i + 8 + n - 1], be (i + 8 + n)
          i <- i + 12 + n ]

let private encode (rgb: byte[]) w h =
    use ms = new MemoryStream()
    Png.Write(ms, rgb, w, h)
    ms.ToArray()

[<Tests>]
let tests =
    testList "Png" [
        testCase "CRC-32 is zlib's: the check value of \"123456789\", and IEND's constant" <| fun () ->
            Expect.equal (Png.Crc32("123456789"B)) 0xCBF43926u "the CRC-32 check value"
            Expect.equal (Png.Crc32("IEND"B)) 0xAE426082u "every PNG ends with this CRC"

        testProperty "a decoder reads back every pixel; the chunks are the signature's IHDR, IDAT, IEND with their CRCs" <| fun (w: byte) (h: byte) (seed: int) ->
            let w, h = 1 + int w % 40, 1 + int h % 40
            let rnd = Random(seed)
            // Noise, flat runs and repeated rows, as pictures have.
            let rgb = Array.init (w * h * 3) (fun i -> if (i / (w * 3)) % 3 = 0 then byte (rnd.Next 256) elif i % 7 < 3 then 0uy else byte ((i / (w * 3)) * 5))
            let png = encode rgb w h
            Expect.equal png.[0..7] [| 0x89uy; 80uy; 78uy; 71uy; 13uy; 10uy; 26uy; 10uy |] "the signature"
            let cs = chunks png
            Expect.equal [ for t, _, _ in cs -> t ] [ "IHDR"; "IDAT"; "IEND" ] "the chunks"
            for t, data, crc in cs do
                Expect.equal crc (Png.Crc32(ReadOnlySpan(Array.append (Encoding.ASCII.GetBytes t) data))) (t + "'s CRC")
            let _, ihdr, _ = cs.[0]
            Expect.equal ihdr.[8..12] [| 8uy; 2uy; 0uy; 0uy; 0uy |] "8-bit RGB, deflate, no interlacing"
            let img = StbImageSharp.ImageResult.FromMemory(png, StbImageSharp.ColorComponents.RedGreenBlue)
            Expect.equal (img.Width, img.Height) (w, h) "the size"
            Expect.isTrue (img.Data = rgb) "every pixel"

        testCase "a picture of flat colours deflates to a small file; bad sizes are refused" <| fun () ->
            let w, h = 640, 480
            let rgb = Array.init (w * h * 3) (fun i -> if (i / 3 % w) / 80 % 2 = 0 then 200uy else 30uy)
            let png = encode rgb w h
            Expect.isLessThan png.Length 4000 (sprintf "%d bytes for 900 kB of stripes" png.Length)
            Expect.isTrue ((StbImageSharp.ImageResult.FromMemory(png, StbImageSharp.ColorComponents.RedGreenBlue)).Data = rgb) "read back"
            Expect.throwsT<ArgumentException> (fun () -> encode [||] 0 1 |> ignore) "no pixels"
            Expect.throwsT<ArgumentException> (fun () -> encode (Array.zeroCreate 5) 2 1 |> ignore) "too few bytes"
    ]
