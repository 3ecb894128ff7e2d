/// Tracking footage larger than the model's frames in tiles (`--crop tiles:S`): each tile is tracked as a sequence
/// of its own, at the scale the model was trained at, and the tiles' tracks are joined into one set of ids for the
/// whole frame.
///
/// Why: the model sees square frames of its own size; a 768×576 video squashed into 64 pixels shrinks a person to
/// a few pixels, below the anchors' scale. Tiles keep the scale, but an object that walks from one tile into the
/// next would get a new id there. Neighbouring tiles overlap where the side does not divide the frame
/// (`Crop.windows`): an object in the overlap is seen by both tiles, and the frames they share join its two tracks.
/// Like `Backfill`, this only joins the model's own boxes; it needs every tile's results, so it is for files.
module Scalor.Model.Stitch

open System.Collections.Generic
open Scalor.IO
open Scalor.Metrics
open Scalor.Metrics.MotFiles

type Options =
    { /// Two tracks of different tiles are one object when their boxes' IoU, averaged over the frames both report,
      /// reaches this (an object in the overlap, cut by a tile's edge in one of them, still overlaps its whole box).
      MinMatchIou: float
      /// ...and both report it in at least this many frames.
      MinCommonFrames: int }

/// Chosen on validation worlds (seed 3000001) larger than the model's frames (README, "Tracking").
let defaults = { MinMatchIou = 0.3; MinCommonFrames = 1 }

/// One tile's results: its window, and its rows with boxes in the whole frame's pixels and ids of its own.
type Tile = { Window: Crop.Window; Rows: Row[] }

/// How far `box` lies from the edges of `window` that cut the frame (`width`×`height`): an edge on the frame's
/// border cuts nothing. A box that touches a cutting edge (0) may show part of its object; the tile that holds the
/// object farther inside draws its whole box.
let inside (width: float) (height: float) (window: Crop.Window) (box: Geometry.Box) =
    let l, t = float window.Left, float window.Top
    let r, b = l + float window.Width, t + float window.Height
    [ if l > 0.0 then box.Left - l
      if t > 0.0 then box.Top - t
      if r < width then r - (box.Left + box.Width)
      if b < height then b - (box.Top + box.Height) ]
    |> List.fold min infinity

/// Tiles joined: the rows, and the id each tile's track was given.
type Joined =
    { /// One set of tracks over the whole frame, in frame order, then id.
      Rows: Row[]
      /// (index of the tile in the list, the tile's own id) → the joined id, for every track of every tile; what a
      /// tile drew of an object (its segmentation, say) is drawn under this id in the whole frame.
      Ids: Map<int * int, int> }

/// The tiles' rows joined into one set of tracks: tracks of different tiles that meet the options are one object
/// (the best-matched pairs first), unless that would make one object of two tracks a tile reports in the same
/// frame (two objects it tells apart). Each object's box in a frame is the one drawn farthest inside its tile
/// (`inside`). Ids are numbered 1, 2, … in the order the objects first appear (frame, then tile, then the tile's
/// id); rows come in frame order, then id.
let join (opts: Options) (tiles: Tile list) : Joined =
    let width = tiles |> List.fold (fun m t -> max m (float (t.Window.Left + t.Window.Width))) 0.0
    let height = tiles |> List.fold (fun m t -> max m (float (t.Window.Top + t.Window.Height))) 0.0
    // Every track: its tile, its id, its rows by frame.
    let tracks =
        [| for (ti, tile) in List.indexed tiles do
               for (id, rows) in tile.Rows |> Array.groupBy (fun r -> r.Id) |> Array.sortBy fst ->
                   ti, id, rows |> Array.map (fun r -> r.Frame, r) |> dict |]
    let n = tracks.Length
    // Only tiles that share pixels can see one object.
    let windows = tiles |> List.map (fun t -> t.Window) |> Array.ofList
    let share ti tj =
        let a, b = windows.[ti], windows.[tj]
        ti <> tj && a.Left < b.Left + b.Width && b.Left < a.Left + a.Width && a.Top < b.Top + b.Height && b.Top < a.Top + a.Height
    let links =
        [| for i in 0 .. n - 1 do
               for j in i + 1 .. n - 1 do
                   let ti, _, a = tracks.[i]
                   let tj, _, b = tracks.[j]
                   if share ti tj then
                       let ious = [| for KeyValue(f, r) in a do match b.TryGetValue f with | true, s -> yield Geometry.iou r.Box s.Box | _ -> () |]
                       if ious.Length > 0 && ious.Length >= opts.MinCommonFrames then
                           let mean = Array.average ious
                           if mean >= opts.MinMatchIou then yield i, j, ious.Length, mean |]
        |> Array.sortBy (fun (i, j, common, mean) -> -common, -mean, i, j)
    // Union-find over tracks; each group keeps the (tile, frame) pairs its tracks report.
    let parent = Array.init n id
    let rec root i = if parent.[i] = i then i else (let r = root parent.[i] in parent.[i] <- r; r)
    let seen = Array.init n (fun i -> let ti, _, rows = tracks.[i] in HashSet<int * int>(rows.Keys |> Seq.map (fun f -> ti, f)))
    for (i, j, _, _) in links do
        let a, b = root i, root j
        if a <> b && not (seen.[a].Overlaps seen.[b]) then
            let keep, gone = min a b, max a b
            parent.[gone] <- keep
            seen.[keep].UnionWith seen.[gone]
    // Each object's rows: per frame, the box drawn farthest inside its tile.
    let groups =
        [| 0 .. n - 1 |]
        |> Array.groupBy root
        |> Array.map (fun (_, members) ->
            let byFrame =
                [| for m in members do
                       let ti, _, rows = tracks.[m]
                       for KeyValue(_, r) in rows -> r, inside width height tiles.[ti].Window r.Box, ti |]
                |> Array.groupBy (fun (r, _, _) -> r.Frame)
                |> Array.map (fun (_, cands) -> cands |> Array.maxBy (fun (r, depth, ti) -> depth, -ti, -r.Id) |> fun (r, _, _) -> r)
                |> Array.sortBy (fun r -> r.Frame)
            let first = members |> Array.map (fun m -> let ti, id, rows = tracks.[m] in Seq.min rows.Keys, ti, id) |> Array.min
            first, (members, byFrame))
        |> Array.sortBy fst
    { Rows =
        [| for (k, (_, (_, rows))) in Array.indexed groups do
               for r in rows -> { r with Id = k + 1 } |]
        |> Array.sortBy (fun r -> r.Frame, r.Id)
      Ids =
        Map [ for (k, (_, (members, _))) in Array.indexed groups do
                  for m in members -> let ti, id, _ = tracks.[m] in (ti, id), k + 1 ] }

/// The frame where each joined track begins (id → frame): where the whole frame's pictures draw a discovery and the
/// joined latents say `discovered`.
let beginnings (joined: Joined) : Map<int, int> =
    joined.Rows |> Array.groupBy (fun r -> r.Id) |> Array.map (fun (id, rows) -> id, rows |> Array.map (fun r -> r.Frame) |> Array.min) |> Map.ofArray

/// The rows of `join`.
let stitch (opts: Options) (tiles: Tile list) : Row[] = (join opts tiles).Rows
