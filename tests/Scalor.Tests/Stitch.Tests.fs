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

/// Tiles at x 0, 48 and 96 of a 160×64 frame, each reporting its tracks 1 to 4 in each of 12 frames with
/// probability 0.7, at random boxes in its window: what live joining must stay consistent on, whatever it joins.
let private noisyOf (seed: int) =
    let rng = Random seed
    [ for left in [ 0; 48; 96 ] ->
          let w = window left
          { Stitch.Window = w
            Stitch.Rows =
              [| for f in 1 .. 12 do
                     for id in 1 .. 4 do
                         if rng.NextDouble() < 0.7 then
                             let bw, bh = 4.0 + float (rng.Next 20), 4.0 + float (rng.Next 20)
                             yield row f id (float left + float (rng.Next(64 - int bw)), float (rng.Next(64 - int bh)), bw, bh) |] } ]

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

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "stretches of a long video far apart in time are joined as each alone, the later's ids after the earlier's" <| fun (a: int) (b: int) ->
            // Only tracks whose frames overlap are compared: what one stretch joins cannot depend on another.
            let ta, tb = noisyOf a, noisyOf b
            let later (rows: Row[]) shift = rows |> Array.map (fun r -> { r with Frame = r.Frame + 1000; Id = r.Id + shift })
            let both = Stitch.join Stitch.defaults (List.map2 (fun (x: Stitch.Tile) (y: Stitch.Tile) -> { x with Rows = Array.append x.Rows (later y.Rows 100) }) ta tb)
            let ja, jb = Stitch.join Stitch.defaults ta, Stitch.join Stitch.defaults tb
            let count = ja.Rows |> Array.map (fun r -> r.Id) |> Array.distinct |> Array.length
            Expect.equal both.Rows (Array.append ja.Rows (later jb.Rows count)) "the two stretches' rows, the later's ids numbered on"
            Expect.equal both.Ids (Map [ yield! Map.toList ja.Ids; for KeyValue((ti, id), k) in jb.Ids -> (ti, id + 100), k + count ]) "each tile's track, its joined id"

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "live joining gives perfect tiles what joining whole files gives" <| fun (seed: int) ->
            // Each object enters a tile's view while the other still holds all of it: the first frame they share joins them.
            let _, tiles = worldOf seed
            let live = Stitch.joinLive Stitch.defaults tiles
            let whole = Stitch.join Stitch.defaults tiles
            live.Rows = whole.Rows && live.Ids = whole.Ids && live.Earlier.IsEmpty

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "live joining, whatever it joins: one box an id a frame, each tile's box under its track's id then, renamed only to older ids" <| fun (seed: int) ->
            let tiles = noisyOf seed
            let joined = Stitch.joinLive Stitch.defaults tiles
            let byFrame = joined.Rows |> Array.groupBy (fun r -> r.Frame) |> Map.ofArray
            let tileRows = [ for (ti, t) in List.indexed tiles do for r in t.Rows -> ti, r ]
            // Every reported row's id in its frame is a joined row of that frame, whose box is one of the boxes its tracks drew.
            let covered =
                tileRows |> List.forall (fun (ti, r) ->
                    match joined.IdAt r.Frame (ti, r.Id) with
                    | Some id ->
                        let drawn = [ for (tj, s) in tileRows do if s.Frame = r.Frame && joined.IdAt s.Frame (tj, s.Id) = Some id then s.Box ]
                        byFrame.[r.Frame] |> Array.exists (fun j -> j.Id = id && List.contains j.Box drawn)
                    | None -> false)
            let distinct = byFrame |> Map.forall (fun _ rows -> (rows |> Array.distinctBy (fun r -> r.Id)).Length = rows.Length)
            let noneExtra = byFrame |> Map.forall (fun f rows -> rows.Length <= (tileRows |> List.filter (fun (_, r) -> r.Frame = f) |> List.length))
            let older = joined.Earlier |> Map.forall (fun k earlier -> earlier |> List.forall (fun (_, id) -> id > joined.Ids.[k]) && earlier = List.sortBy fst earlier)
            covered && distinct && noneExtra && older

        testCase "live joining renames a track that meets another only after both have ids, to the older id, from then on" <| fun () ->
            // Tile 48's track first barely touches tile 0's object (frames 1, 2: IoU 0.11), then lies on it (3, 4: 0.82):
            // the mean over the frames both report reaches 0.3 at frame 3.
            let a = { Stitch.Window = window 0; Stitch.Rows = [| for t in 1 .. 4 -> row t 1 (50.0, 10.0, 10.0, 10.0) |] }
            let b = { Stitch.Window = window 48; Stitch.Rows = [| for t in 1 .. 4 -> row t 7 ((if t < 3 then 50.0 else 51.0), (if t < 3 then 18.0 else 10.0), 10.0, 10.0) |] }
            let joined = Stitch.joinLive Stitch.defaults [ a; b ]
            Expect.equal [ for r in joined.Rows -> r.Frame, r.Id ] [ 1, 1; 1, 2; 2, 1; 2, 2; 3, 1; 4, 1 ] "two objects, then one under the older id"
            Expect.equal (joined.Earlier.TryFind(1, 7)) (Some [ 3, 2 ]) "tile 48's track was 2 before frame 3"
            Expect.equal ([ 1 .. 4 ] |> List.map (fun f -> joined.IdAt f (1, 7))) [ Some 2; Some 2; Some 1; Some 1 ] "its id frame by frame"
            // Joining the whole files gives it one id from the start.
            Expect.equal (Stitch.stitch Stitch.defaults [ a; b ] |> Array.map (fun r -> r.Id) |> Array.distinct) [| 1 |] "mean IoU over all four frames 0.46"

        testCase "live joining keeps apart two objects a tile tells apart, and forgets an object unseen for long" <| fun () ->
            let live = Stitch.Live(Stitch.defaults, [ window 0; window 48 ], 10)
            let step f rows = live.Step(f, rows)
            let two = step 1 [ 0, row 1 1 (50.0, 10.0, 6.0, 10.0); 0, row 1 2 (56.0, 10.0, 6.0, 10.0); 1, row 1 5 (50.0, 10.0, 12.0, 10.0) ]
            Expect.equal (two.Rows |> Array.map (fun r -> r.Id)) [| 1; 2 |] "one wide box joins one of them, never both"
            Expect.equal live.Objects 2 "two objects"
            let later = step 100 [ 1, row 100 9 (100.0, 10.0, 8.0, 8.0) ]
            Expect.equal (later.Rows |> Array.map (fun r -> r.Id)) [| 3 |] "a new object"
            Expect.equal live.Objects 1 "the two unseen for 99 frames are forgotten"
            let back = step 101 [ 0, row 101 1 (20.0, 10.0, 6.0, 10.0) ]
            Expect.equal (back.Rows |> Array.map (fun r -> r.Id)) [| 4 |] "a forgotten track that comes back is new"
            live.Reset()
            Expect.equal ((step 1 [ 0, row 1 1 (20.0, 10.0, 6.0, 10.0) ]).Rows |> Array.map (fun r -> r.Id)) [| 1 |] "reset: ids start again"

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
