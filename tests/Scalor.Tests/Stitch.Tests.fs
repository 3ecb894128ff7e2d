/// The laws of joining tiles' tracks into one set of ids for the whole frame.
module Scalor.Tests.Stitch

open System
open Expecto
open Scalor.IO
open Scalor.Metrics
open Scalor.Metrics.MotFiles
open Scalor.Model

let private box (l, t, w, h) : Geometry.Box = { Left = l; Top = t; Width = w; Height = h }

let private row frame id b = { Frame = frame; Id = id; Box = box b; Flag = 0.9; Class = 1; Visibility = 1.0 }

let private window left = { Crop.Width = 64; Crop.Height = 64; Crop.Left = left; Crop.Top = 0 }

/// The part of `b` inside `w`, if at least 3 pixels wide: what a tile that sees the object draws.
let private clipped (w: Crop.Window) (l, t, bw, bh) =
    let left, right = max l (float w.Left), min (l + bw) (float (w.Left + w.Width))
    if right - left >= 3.0 then Some(left, t, right - left, bh) else None

/// A 112×64 world in the 64-pixel tiles at x 0 and 48 (`tiles:64`; they overlap by 16): up to five 10-pixel objects
/// in lanes 12 pixels apart, each moving sideways 1 to 3 pixels a frame and turning at the edges, over 6 to 30
/// frames. Each tile reports every object it shows 3 pixels of, its box cut at the tile's edges, under ids of
/// its own, and a new id when the object comes back into it: a perfect tracker of each tile.
let private worldOf (seed: int) =
    let rng = Random seed
    let length = 6 + rng.Next 25
    let objects =
        [ for lane in 0 .. rng.Next 5 ->
              let mutable x, v = float (rng.Next 103), float (1 + rng.Next 3) * (if rng.Next 2 = 0 then 1.0 else -1.0)
              [| for _ in 1 .. length ->
                     let here = x
                     if x + v < 0.0 || x + v > 102.0 then v <- -v
                     x <- x + v
                     (here, 2.0 + 12.0 * float lane, 10.0, 10.0) |] ]
    let tiles =
        [ for left in [ 0; 48 ] ->
              let w = window left
              let mutable next = 100 * (left + 1) + rng.Next 50
              let rows =
                  [| for path in objects do
                         let mutable id = -1
                         for t in 0 .. length - 1 do
                             match clipped w path.[t] with
                             | Some b ->
                                 if id < 0 then (id <- next; next <- next + 1)
                                 yield row (t + 1) id b
                             | None -> id <- -1 |]
              { Stitch.Window = w; Stitch.Rows = rows } ]
    objects, tiles

[<Tests>]
let tests =
    testList "Stitch" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "perfect tiles join into the world: one id per object, each box its whole box" <| fun (seed: int) ->
            let objects, tiles = worldOf seed
            let joined = Stitch.stitch Stitch.defaults tiles
            // Every 10-pixel object lies wholly in one tile or the other, so its whole box is always drawn.
            let truth = set [ for (k, path) in List.indexed objects do for t in 0 .. path.Length - 1 -> k, t + 1, box path.[t] ]
            let ids = joined |> Array.map (fun r -> r.Id) |> Array.distinct |> Array.sort
            let objectOf (r: Row) = truth |> Seq.tryPick (fun (k, t, b) -> if t = r.Frame && b = r.Box then Some k else None)
            let owners = joined |> Array.groupBy (fun r -> r.Id) |> Array.map (fun (_, rows) -> rows |> Array.map objectOf |> Array.distinct)
            ids = [| 1 .. objects.Length |]
            && joined.Length = truth.Count
            && owners |> Array.forall (fun o -> o.Length = 1 && o.[0].IsSome)
            && (owners |> Array.map (fun o -> o.[0].Value) |> Array.distinct |> Array.length) = objects.Length

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "each tile's track is given the joined id of its object, in every frame it reports" <| fun (seed: int) ->
            let _, tiles = worldOf seed
            let joined = Stitch.join Stitch.defaults tiles
            // An object keeps its lane: a box's top names its object in both the tiles' rows and the joined ones.
            let joinedAt = joined.Rows |> Array.map (fun r -> (r.Frame, r.Id), r.Box.Top) |> Map.ofArray
            let tracks = set [ for (ti, t) in List.indexed tiles do for r in t.Rows -> ti, r.Id ]
            Set.ofSeq joined.Ids.Keys = tracks
            && joined.Rows = Stitch.stitch Stitch.defaults tiles
            && tiles |> List.indexed |> List.forall (fun (ti, t) ->
                t.Rows |> Array.forall (fun r -> joinedAt.TryFind(r.Frame, joined.Ids.[(ti, r.Id)]) = Some r.Box.Top))

        testCase "one tile: its tracks, renumbered in the order they appear" <| fun () ->
            let tile = { Stitch.Window = window 0; Stitch.Rows = [| row 2 7 (1.0, 1.0, 5.0, 5.0); row 1 9 (20.0, 1.0, 5.0, 5.0); row 2 9 (21.0, 1.0, 5.0, 5.0) |] }
            Expect.equal (Stitch.stitch Stitch.defaults [ tile ])
                [| row 1 1 (20.0, 1.0, 5.0, 5.0); row 2 1 (21.0, 1.0, 5.0, 5.0); row 2 2 (1.0, 1.0, 5.0, 5.0) |] "ids by first appearance, rows unchanged"

        testCase "two objects a tile tells apart stay two, though a track of the other tile covers both" <| fun () ->
            // Tile 0 follows two objects side by side in the overlap; tile 48 has one wide box over both (one
            // glimpse explaining two): it may join one of them, never both.
            let a = { Stitch.Window = window 0; Stitch.Rows = [| for t in 1 .. 3 do yield row t 1 (50.0, 10.0, 6.0, 10.0); yield row t 2 (56.0, 10.0, 6.0, 10.0) |] }
            let b = { Stitch.Window = window 48; Stitch.Rows = [| for t in 1 .. 3 -> row t 5 (50.0, 10.0, 12.0, 10.0) |] }
            let joined = Stitch.stitch Stitch.defaults [ a; b ]
            Expect.equal (joined |> Array.map (fun r -> r.Id) |> Array.distinct |> Array.length) 2 "two objects, not one"
            Expect.equal (joined |> Array.filter (fun r -> r.Frame = 2) |> Array.length) 2 "two boxes a frame"

        testCase "the box drawn farther inside its tile is kept; the frame's border cuts nothing" <| fun () ->
            let inside = Stitch.inside 112.0 64.0 (window 0)
            Expect.equal (inside (box (50.0, 5.0, 10.0, 10.0))) 4.0 "4 px from the tile's cutting edge at 64"
            Expect.equal (inside (box (0.0, 0.0, 10.0, 10.0))) 54.0 "the frame's own edges do not count"
            let a = { Stitch.Window = window 0; Stitch.Rows = [| row 1 1 (52.0, 5.0, 10.0, 10.0) |] }
            let b = { Stitch.Window = window 48; Stitch.Rows = [| row 1 1 (52.5, 5.0, 10.0, 10.0) |] }
            Expect.equal (Stitch.stitch Stitch.defaults [ a; b ]) [| row 1 1 (52.5, 5.0, 10.0, 10.0) |] "tile 48 holds it 4.5 px inside, tile 0 2 px"
    ]
