/// The laws of `--crop`'s windows: reading, fitting, cutting and which truth lies in them.
module Scalor.Tests.Crop

open Expecto
open Scalor.IO.Crop

/// A frame of `w`×`h` whose pixel (x, y) is (x, y, x + y) mod 256: every pixel says where it came from.
let private frame w h = [| for y in 0 .. h - 1 do for x in 0 .. w - 1 do yield! [| byte x; byte y; byte (x + y) |] |]

/// A window inside frames of `w`×`h`, drawn from four numbers.
let private windowIn w h (a: byte) (b: byte) (c: byte) (d: byte) =
    let width, height = 1 + int a % w, 1 + int b % h
    { Width = width; Height = height; Left = int c % (w - width + 1); Top = int d % (h - height + 1) }

[<Tests>]
let tests =
    testList "Crop" [
        testProperty "describe reads back: parse (describe c) = c" <| fun (a: byte) (b: byte) (c: byte) (d: byte) ->
            let crop = Window { Width = 1 + int a; Height = 1 + int b; Left = int c; Top = int d }
            parse (describe crop) = Ok crop && parse (describe Centre) = Ok Centre && parse (describe Whole) = Ok Whole && parse (describe (Tiles(1 + int a, 0))) = Ok(Tiles(1 + int a, 0)) && parse (describe (Tiles(2 + int a, int b % (2 + int a)))) = Ok(Tiles(2 + int a, int b % (2 + int a)))

        testProperty "a sequence's file stem is a file name on every system: Windows' forbidden characters become '_', the rest stays" <| fun (name: string) (a: byte) (b: byte) ->
            let name = if isNull name then "" else name
            let stem = fileStem name
            let forbidden = "<>:\"/\\|?*"
            let tile = sprintf "vtest@%s" (describe (Window { Width = 1 + int a; Height = 1 + int a; Left = int b; Top = 0 }))
            stem.Length = name.Length
            && stem |> Seq.forall (fun c -> not (forbidden.Contains c) && c >= ' ')
            && Seq.forall2 (fun (c: char) (d: char) -> c = d || d = '_') name stem
            && (name |> Seq.exists (fun c -> forbidden.Contains c || c < ' ') || stem = name)
            && fileStem tile = sprintf "vtest@%d_%d_%d_0" (1 + int a) (1 + int a) (int b)

        testProperty "several crops read back as recorded: parseAll (describeAll cs) = cs" <| fun (picks: (byte * byte * byte) list) ->
            let crops =
                [ for (k, a, b) in picks ->
                      match int k % 4 with
                      | 0 -> Whole
                      | 1 -> Centre
                      | 2 -> Tiles(1 + int a, int b % (1 + int a))
                      | _ -> Window { Width = 1 + int a; Height = 1 + int b; Left = int b; Top = int a } ]
            match crops with
            | [] -> parseAll (describeAll crops) |> Result.isError // nothing recorded is no record
            | _ -> parseAll (describeAll crops) = Ok crops

        testCase "what is not a crop is refused, naming the form to give" <| fun () ->
            for bad in [ "80x240"; "1:2:3"; "1:2:3:4:5"; "0:2:3:4"; "2:0:3:4"; "-1:2:3:4"; "2:2:-1:0"; ""; "middle"; "1.5:2:3:4"
                         "tiles"; "tiles:"; "tiles:0"; "tiles:-8"; "tiles:8:8"; "tile:8"; "tiles:8.5" ] do
                match parse bad with
                | Ok c -> failtestf "'%s' read as %A" bad c
                | Error e -> Expect.stringContains e "W:H:X:Y" bad
            Expect.equal (parse " Center ") (Ok Centre) "either spelling, any case"
            Expect.equal (parse "Tiles:288") (Ok(Tiles(288, 0))) "tiles, any case"
            match parseAll "centre, 1:2:3, tiles:4" with
            | Error e -> Expect.stringContains e "'1:2:3'" "several: the part that is not a crop is named"
            | Ok cs -> failtestf "read as %A" cs

        testProperty "the centre is the largest square, inside the frame, centred to a pixel" <| fun (a: byte) (b: byte) ->
            let w, h = 1 + int a, 1 + int b
            match within w h Centre with
            | Ok c ->
                c.Width = min w h && c.Height = c.Width && c.Left >= 0 && c.Top >= 0
                && c.Left + c.Width <= w && c.Top + c.Height <= h
                && abs ((w - c.Left - c.Width) - c.Left) <= 1 && abs ((h - c.Top - c.Height) - c.Top) <= 1
            | Error _ -> false

        testProperty "a window fits exactly when it lies inside the frame" <| fun (a: byte) (b: byte) (c: byte) (d: byte) ->
            let win = { Width = 1 + int a % 40; Height = 1 + int b % 40; Left = int c % 40; Top = int d % 40 }
            let inside = win.Left + win.Width <= 48 && win.Top + win.Height <= 32
            match within 48 32 (Window win) with
            | Ok got -> inside && got = win
            | Error e -> not inside && e.Contains "48×32"

        testProperty "cutting keeps each pixel of the window, and cuts compose" <| fun (a: byte) (b: byte) (c: byte) (d: byte) (e: byte) (f: byte) ->
            let w, h = 37, 23
            let rgb = frame w h
            let outer = windowIn w h a b c d
            let inner = windowIn outer.Width outer.Height e f d c
            let cut1 = cut outer w rgb
            let pixelsRight =
                Seq.forall id [ for y in 0 .. outer.Height - 1 do
                                  for x in 0 .. outer.Width - 1 do
                                      let i = (y * outer.Width + x) * 3
                                      yield cut1.[i] = byte (outer.Left + x) && cut1.[i + 1] = byte (outer.Top + y) ]
            let whole = cut { Width = w; Height = h; Left = 0; Top = 0 } w rgb = rgb
            let composed = cut inner outer.Width cut1 = cut { inner with Left = outer.Left + inner.Left; Top = outer.Top + inner.Top } w rgb
            pixelsRight && whole && composed

        testProperty "tiles cover every pixel with the fewest squares that share the overlap, all inside the frame and spread evenly" <| fun (a: byte) (b: byte) (c: byte) (d: byte) ->
            let w, h = 1 + int a, 1 + int b
            let side = 1 + int c % (min w h)
            let overlap = if d % 2uy = 0uy then 0 else int d % side
            // n tiles of S sharing at least O reach (n − 1)(S − O) + S pixels: n is the fewest that reach the length.
            let fewest length n = if length <= side then n = 1 else (n - 2) * (side - overlap) + side < length && length <= (n - 1) * (side - overlap) + side
            match windows w h (Tiles(side, overlap)) with
            | Ok tiles ->
                let lefts = tiles |> List.map (fun t -> t.Left) |> List.distinct |> List.sort
                let tops = tiles |> List.map (fun t -> t.Top) |> List.distinct |> List.sort
                let covered = Array2D.zeroCreate<bool> w h
                for t in tiles do
                    for x in t.Left .. t.Left + t.Width - 1 do
                        for y in t.Top .. t.Top + t.Height - 1 do covered.[x, y] <- true
                let gaps (starts: int list) = starts |> List.pairwise |> List.map (fun (p, q) -> q - p)
                let even (starts: int list) = match gaps starts with [] -> true | g -> List.max g - List.min g <= 1
                tiles |> List.forall (fun t -> t.Width = side && t.Height = side && t.Left >= 0 && t.Top >= 0 && t.Left + side <= w && t.Top + side <= h)
                && fewest w lefts.Length && fewest h tops.Length && tiles.Length = lefts.Length * tops.Length
                && Seq.forall id (Seq.cast<bool> covered)
                && List.head lefts = 0 && List.last lefts = w - side && List.head tops = 0 && List.last tops = h - side
                && even lefts && even tops
                && gaps lefts @ gaps tops |> List.forall (fun g -> g <= side - overlap)
            | Error e -> failwith e

        testProperty "tiles meet without sharing pixels exactly at their seams, and never with an overlap" <| fun (a: byte) (b: byte) (c: byte) (d: byte) ->
            let side = 4 + int c % 60
            let w, h = side + int a, side + int b
            let overlap = if d % 2uy = 0uy then 0 else int d % side
            match windows w h (Tiles(side, overlap)) with
            | Error e -> failtestf "tiles:%d:%d of %d×%d: %s" side overlap w h e
            | Ok tiles ->
                let xs, ys = seams tiles
                // Tiles cover the frame: between two pixels that no tile holds both of, one tile ends and another begins.
                let apart (span: Window -> int * int) length =
                    [ for p in 1 .. length - 1 do
                          if not (tiles |> List.exists (fun t -> let s, n = span t in s <= p - 1 && p + 1 <= s + n)) then yield p ]
                xs = apart (fun t -> t.Left, t.Width) w && ys = apart (fun t -> t.Top, t.Height) h
                && (overlap = 0 || (xs, ys) = ([], []))

        testCase "tiles of pedestrian footage: 768×576 in 288 squares, rows from the top left; what does not fit is refused" <| fun () ->
            let at (x, y) = { Width = 288; Height = 288; Left = x; Top = y }
            Expect.equal (windows 768 576 (Tiles(288, 0))) (Ok [ for y in [ 0; 288 ] do for x in [ 0; 240; 480 ] -> at (x, y) ]) "3 columns overlapping by 48, 2 rows"
            Expect.equal (windows 768 576 (Tiles(288, 48))) (Ok [ for y in [ 0; 144; 288 ] do for x in [ 0; 240; 480 ] -> at (x, y) ]) "rows sharing 48 too: 3 of them"
            Expect.equal (windows 768 576 (Tiles(288, 0)) |> Result.map seams) (Ok([], [ 288 ])) "its rows meet at y 288 without sharing a pixel; its columns overlap"
            Expect.equal (windows 768 576 (Tiles(288, 48)) |> Result.map seams) (Ok([], [])) "tiles:288:48 has no seam"
            Expect.equal (parse "tiles:288:48", parse "tiles:288:288") (Ok(Tiles(288, 48)), Error "'tiles:288:288' is not a crop: give centre, W:H:X:Y in the input's pixels (a window W×H whose top-left corner is at X, Y), tiles:S or tiles:S:O (S×S windows tiling the frame, neighbours sharing at least O pixels) or whole") "an overlap below the side"
            Expect.equal (windows 576 576 (Tiles(576, 0))) (Ok [ { Width = 576; Height = 576; Left = 0; Top = 0 } ]) "one tile spans a square frame"
            Expect.equal (within 768 576 Whole) (Ok { Width = 768; Height = 576; Left = 0; Top = 0 }) "whole is the whole frame"
            Expect.equal (within 576 576 (Tiles(576, 0))) (Ok { Width = 576; Height = 576; Left = 0; Top = 0 }) "one tile is one window"
            match within 768 576 (Tiles(288, 0)) with
            | Error e -> Expect.stringContains e "gives 6 windows" "one window is wanted"
            | Ok w -> failtestf "six tiles read as one window %A" w
            match windows 768 576 (Tiles(577, 0)) with
            | Error e -> Expect.stringContains e "tiles:577 does not fit in frames of 768×576" "a tile taller than the frame"
            | Ok w -> failtestf "read as %A" w

        testProperty "a box's truth is in the window exactly when its centre is" <| fun (a: byte) (b: byte) (c: byte) (d: byte) ->
            let win = windowIn 64 64 a b c d
            let centred = (float win.Left + float win.Width / 2.0 - 3.0, float win.Top + float win.Height / 2.0 - 2.0, 6.0, 4.0)
            let outside = (float (win.Left + win.Width) - 1.0, float win.Top, 2.0, 2.0) // centre on the right edge: out
            let leftEdge = (float win.Left - 1.0, float win.Top - 1.0, 2.0, 2.0) // centre on the top-left corner: in
            holdsCentre win centred && not (holdsCentre win outside) && holdsCentre win leftEdge
    ]
