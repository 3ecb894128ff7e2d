/// The law by which the whole frame's pictures are put together from tiles.
module Scalor.Tests.JoinedPictures

open Expecto
open Scalor.IO
open Scalor.Host

[<Tests>]
let tests =
    testList "JoinedPictures" [
        testProperty "each pixel of the whole frame is drawn from a tile that holds it, the one whose centre is nearest" <| fun (a: byte) (b: byte) (c: byte) (d: byte) (m: byte) ->
            let side = 8 + int c % 120
            let w, h = side + 3 * int a, side + 2 * int b
            let overlap = int d % side
            let size = 8 + int m % 57
            let scale = float size / float side
            match Crop.windows w h (Crop.Tiles(side, overlap)) with
            | Error e -> failtestf "tiles:%d:%d of %d×%d: %s" side overlap w h e
            | Ok tiles ->
                [ (tiles |> List.map (fun t -> t.Left)), w; (tiles |> List.map (fun t -> t.Top)), h ]
                |> List.forall (fun (starts, length) ->
                    let starts = starts |> List.distinct |> List.sort |> Array.ofList
                    let canvas = int (round (float length * scale))
                    let centre i = float starts.[i] + float side / 2.0
                    JoinedPictures.NearestTile(starts, side, canvas, scale)
                    |> Array.indexed
                    |> Array.forall (fun (p, i) ->
                        // A canvas rounded up ends up to half a pixel past the frame: its last pixel shows the edge.
                        let x = min (float length) ((float p + 0.5) / scale)
                        float starts.[i] <= x && x <= float (starts.[i] + side)
                        && starts |> Array.forall (fun s -> abs (centre i - x) <= abs (float s + float side / 2.0 - x))))
    ]
