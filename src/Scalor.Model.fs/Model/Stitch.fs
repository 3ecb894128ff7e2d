/// Tracking footage larger than the model's frames in tiles (`--crop tiles:S`): each tile is tracked as a sequence
/// of its own, at the scale the model was trained at, and the tiles' tracks are joined into one set of ids for the
/// whole frame.
///
/// Why: the model sees square frames of its own size; a 768×576 video squashed into 64 pixels shrinks a person to
/// a few pixels, below the anchors' scale. Tiles keep the scale, but an object that walks from one tile into the
/// next would get a new id there. Neighbouring tiles overlap where the side does not divide the frame
/// (`Crop.windows`): an object in the overlap is seen by both tiles, and the frames they share join its two tracks.
/// Like `Backfill`, this only joins the model's own boxes. `join` needs every tile's results, so it is for files;
/// `Live` joins frame by frame as a stream arrives, deciding with what it has seen so far.
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
      /// tile drew of an object (its segmentation, say) is drawn under this id in the whole frame. For a track that
      /// `Live` renamed, the id it was given last (`IdAt` for a frame's).
      Ids: Map<int * int, int>
      /// The ids a track had before `Live` renamed it, each with the first frame that no longer had it, oldest
      /// first: (tile, tile's id) → [(until frame, id)]. Empty for `join`, which gives a track one id.
      Earlier: Map<int * int, (int * int) list> }

    /// The joined id that the tile's track `key` (tile index, tile's id) had in `frame`.
    member j.IdAt (frame: int) (key: int * int) : int option =
        match j.Earlier.TryFind key |> Option.bind (List.tryFind (fun (until, _) -> frame < until)) with
        | Some(_, id) -> Some id
        | None -> j.Ids.TryFind key

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
    // Only tracks whose spans of frames overlap can share one: with the tracks in order of their first frame, each
    // meets only those that begin before it ends. Every pair was compared before, which took 15 s for 2,000 frames
    // of 9 tiles and grew with the square of a video's length.
    let span = tracks |> Array.map (fun (_, _, rows) -> Seq.min rows.Keys, Seq.max rows.Keys)
    let byStart = Array.init n id |> Array.sortBy (fun i -> fst span.[i], i)
    let links =
        [| for oi in 0 .. n - 1 do
               let p = byStart.[oi]
               let mutable oj = oi + 1
               while oj < n && fst span.[byStart.[oj]] <= snd span.[p] do
                   let i, j = min p byStart.[oj], max p byStart.[oj]
                   oj <- oj + 1
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
                  for m in members -> let ti, id, _ = tracks.[m] in (ti, id), k + 1 ]
      Earlier = Map.empty }

/// The frame where each joined track begins (id → frame): where the whole frame's pictures draw a discovery and the
/// joined latents say `discovered`.
let beginnings (joined: Joined) : Map<int, int> =
    joined.Rows |> Array.groupBy (fun r -> r.Id) |> Array.map (fun (id, rows) -> id, rows |> Array.map (fun r -> r.Frame) |> Array.min) |> Map.ofArray

/// The rows of `join`.
let stitch (opts: Options) (tiles: Tile list) : Row[] = (join opts tiles).Rows

/// Joining as the frames arrive, for a live stream of tiles (`TiledTracker` in the runtime): each frame's rows get
/// their joined ids before the next frame is seen. Two tracks of tiles that share pixels are one object once their
/// boxes' IoU, averaged over the frames both have been reported without a break, meets the options (the
/// best-matched pairs first), unless a tile has reported tracks of both in one frame (two objects it tells apart),
/// as `join` decides over whole files. What `join` can do and this cannot: take back an id already reported. A
/// track that meets another only after both have ids is renamed from then on to the older id (`Joined.Earlier`
/// keeps what it was); `join` would have given both one id from the start. Ids are numbered 1, 2, … in the order
/// the objects first appear (frame, then tile, then the tile's id).
///
/// Memory stays bounded on an endless stream: an object none of whose tracks has been reported for `forget` frames
/// (default 10,000, about 5½ minutes at 30 frames/s) is forgotten, and a track of it that comes back is a new one.
type Live(opts: Options, windows: Crop.Window list, ?forget: int) =
    let forget = defaultArg forget 10000
    let windows = Array.ofList windows
    let width = windows |> Array.fold (fun m w -> max m (float (w.Left + w.Width))) 0.0
    let height = windows |> Array.fold (fun m w -> max m (float (w.Top + w.Height))) 0.0
    let share ti tj =
        let a, b = windows.[ti], windows.[tj]
        ti <> tj && a.Left < b.Left + b.Width && b.Left < a.Left + a.Width && a.Top < b.Top + b.Height && b.Top < a.Top + a.Height
    // For each tile, the later tiles it shares pixels with: a frame's pairs of rows are those of such tiles only
    // (a few neighbours each), not all pairs of the frame's rows (108 tiles of 43 objects: 10.9 million a frame).
    let laterSharing = Array.init windows.Length (fun ti -> [| for tj in ti + 1 .. windows.Length - 1 do if share ti tj then yield tj |])
    // Union-find over objects (nodes); a node's joined id is 0 until it is first reported.
    let parent = ResizeArray<int>()
    let idOf = ResizeArray<int>()
    let rec root i = if parent.[i] = i then i else (let r = root parent.[i] in parent.[i] <- r; r)
    let groupOf = Dictionary<int * int, int>()
    // By root: its tracks, the last frame one of them was reported, the nodes a tile has told apart from it.
    let members = Dictionary<int, ResizeArray<int * int>>()
    let lastSeen = Dictionary<int, int>()
    let apart = Dictionary<int, HashSet<int>>()
    // Two tracks reported together without a break: the sum of their IoUs and how many frames.
    let mutable pairs = Dictionary<struct ((int * int) * (int * int)), struct (float * int)>()
    let earlier = Dictionary<int * int, ResizeArray<int * int>>()
    let mutable nextId = 1
    let mutable swept = System.Int32.MinValue

    let older a b = idOf.[a] > 0 && (idOf.[b] = 0 || idOf.[a] < idOf.[b]) || idOf.[a] = 0 && idOf.[b] = 0 && a < b
    let toldApart a b = apart.[a] |> Seq.exists (fun x -> root x = b) || apart.[b] |> Seq.exists (fun x -> root x = a)

    let sweep frame =
        let gone = [ for KeyValue(r, seen) in lastSeen do if seen < frame - forget then r ]
        for r in gone do
            for k in members.[r] do (groupOf.Remove k |> ignore; earlier.Remove k |> ignore)
            members.Remove r |> ignore
            lastSeen.Remove r |> ignore
            apart.Remove r |> ignore
        if not gone.IsEmpty then
            for s in apart.Values do s.RemoveWhere(fun x -> not (members.ContainsKey(root x))) |> ignore

    /// Objects joined so far and not forgotten.
    member _.Objects = members.Count

    /// Forgets everything (a new sequence starts).
    member _.Reset() =
        parent.Clear(); idOf.Clear(); groupOf.Clear(); members.Clear(); lastSeen.Clear(); apart.Clear(); earlier.Clear()
        pairs <- Dictionary()
        nextId <- 1
        swept <- System.Int32.MinValue

    /// One frame's rows, each with its tile's index (in the order of `windows`) and box in the whole frame's
    /// pixels, under the tile's own ids: the frame joined, its `Ids` those of the tracks it reports. Frames come in
    /// increasing order.
    member _.Step(frame: int, rows: seq<int * Row>) : Joined =
        let rows = rows |> Array.ofSeq |> Array.sortBy (fun (ti, r) -> ti, r.Id)
        let keys = rows |> Array.map (fun (ti, r) -> ti, r.Id)
        for k in keys do
            if not (groupOf.ContainsKey k) then
                let n = parent.Count
                parent.Add n
                idOf.Add 0
                groupOf.[k] <- n
                members.[n] <- ResizeArray [ k ]
                apart.[n] <- HashSet()
        for (_, group) in keys |> Array.groupBy fst do
            let roots = group |> Array.map (fun k -> root groupOf.[k]) |> Array.distinct
            for a in roots do
                for b in roots do
                    if a <> b then apart.[a].Add b |> ignore
        let next = Dictionary<struct ((int * int) * (int * int)), struct (float * int)>()
        // Each tile's rows: a range of `rows`, which are sorted by tile.
        let first = Array.create (windows.Length + 1) rows.Length
        for i in rows.Length - 1 .. -1 .. 0 do first.[fst rows.[i]] <- i
        for ti in windows.Length - 1 .. -1 .. 0 do first.[ti] <- min first.[ti] first.[ti + 1]
        for ti in 0 .. windows.Length - 1 do
            for tj in laterSharing.[ti] do
                for i in first.[ti] .. first.[ti + 1] - 1 do
                    for j in first.[tj] .. first.[tj + 1] - 1 do
                        let key = struct (keys.[i], keys.[j])
                        let struct (sum, count) = match pairs.TryGetValue key with | true, v -> v | _ -> struct (0.0, 0)
                        next.[key] <- struct (sum + Geometry.iou (snd rows.[i]).Box (snd rows.[j]).Box, count + 1)
        pairs <- next
        let links =
            [| for KeyValue(struct (a, b), struct (sum, count)) in next do
                   let mean = sum / float count
                   if count >= opts.MinCommonFrames && mean >= opts.MinMatchIou then yield a, b, count, mean |]
            |> Array.sortBy (fun (a, b, common, mean) -> -common, -mean, a, b)
        for (ka, kb, _, _) in links do
            let a, b = root groupOf.[ka], root groupOf.[kb]
            if a <> b && not (toldApart a b) then
                let keep, gone = if older a b then a, b else b, a
                parent.[gone] <- keep
                if idOf.[gone] > 0 then
                    for m in members.[gone] do
                        match earlier.TryGetValue m with
                        | true, list -> list.Add((frame, idOf.[gone]))
                        | _ -> earlier.[m] <- ResizeArray [ frame, idOf.[gone] ]
                members.[keep].AddRange members.[gone]
                members.Remove gone |> ignore
                apart.[keep].UnionWith apart.[gone]
                apart.Remove gone |> ignore
                // Both tracks are reported in this frame: the root's last frame is this one (set below).
                lastSeen.Remove gone |> ignore
        for k in keys do
            let r = root groupOf.[k]
            if idOf.[r] = 0 then
                idOf.[r] <- nextId
                nextId <- nextId + 1
            lastSeen.[r] <- frame
        let joined =
            rows
            |> Array.groupBy (fun (ti, r) -> root groupOf.[(ti, r.Id)])
            |> Array.map (fun (g, cands) ->
                let _, r = cands |> Array.maxBy (fun (ti, r) -> inside width height windows.[ti] r.Box, -ti, -r.Id)
                { r with Id = idOf.[g] })
            |> Array.sortBy (fun r -> r.Id)
        if frame >= swept + 64 then
            sweep frame
            swept <- frame
        { Rows = joined
          Ids = Map [ for k in keys -> k, idOf.[root groupOf.[k]] ]
          Earlier = Map [ for k in keys do match earlier.TryGetValue k with | true, list -> yield k, List.ofSeq list | _ -> () ] }

/// The frames `Live.Step` gave, in order, as one `Joined`: every frame's rows; each track's last id, and the ids it
/// had before. What a live stream reported, for its pictures and latents.
let whole (frames: Joined seq) : Joined =
    let frames = List.ofSeq frames
    let merge (a: Map<'k, 'v>) (b: Map<'k, 'v>) = Map.fold (fun (m: Map<'k, 'v>) k v -> m.Add(k, v)) a b
    { Rows = frames |> Seq.collect (fun j -> j.Rows) |> Array.ofSeq
      Ids = frames |> List.fold (fun m j -> merge m j.Ids) Map.empty
      Earlier = frames |> List.fold (fun m j -> merge m j.Earlier) Map.empty }

/// Whole tiles' results joined frame by frame with `Live`: what a live stream of these tiles would have reported.
/// `Ids` gives each track the id it had last, `Earlier` the ids it had before.
let joinLive (opts: Options) (tiles: Tile list) : Joined =
    let live = Live(opts, tiles |> List.map (fun t -> t.Window), System.Int32.MaxValue)
    [ for (ti, t) in List.indexed tiles do for r in t.Rows -> ti, r ]
    |> List.groupBy (fun (_, r) -> r.Frame)
    |> List.sortBy fst
    |> List.map (fun (f, rows) -> live.Step(f, rows))
    |> whole
