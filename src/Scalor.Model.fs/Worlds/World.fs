/// The paper's synthetic video worlds (section 5.1, appendix C): objects move in an environment larger than
/// the 64×64 view at its centre, leave it and come back; the frames are what the view sees.
module Scalor.Worlds.World

open System
open Scalor.Worlds.Sprites

type Kind =
    | DSprites
    | Mnist

type BackgroundKind =
    /// Black, as the paper's moving dSprites and MNIST.
    | NoBackground
    /// A smooth random texture, fixed for the whole sequence.
    | StaticBackground
    /// The same texture scrolling and pulsing in brightness: it changes every frame ("SCALOR – BG").
    | DynamicBackground

type Variant =
    | Standard
    /// Appendix C.1: 10–15 new objects appear inside the view at steps 1, 5 and 9 (1-based), nothing before.
    | DenseDiscovery
    /// Appendix C.3: objects start in view and head for each other at 1.5× speed, so they overlap often.
    | Overlap

/// A density setting. The first three fields are the paper's (Table 1, appendix B); the rest are ours,
/// calibrated so the measured average number of visible objects is within 15% of `AvgVisible`
/// (the paper gives no environment or object sizes; see docs/worlds.md).
type Density =
    { Name: string
      MinObjects: int
      AvgVisible: float
      MaxObjects: int
      /// Nominal object side in view pixels; each object is this × U[1 − jitter, 1 + jitter].
      ObjectSize: int
      /// How far the environment extends beyond the view on each side, in pixels. Larger than the largest
      /// object, so an object can leave the view completely.
      Margin: int
      /// Chance that an object fully inside the view, reaching the view's border, passes through it rather
      /// than bouncing back. With uniform motion the visible share would be fixed by the area ratio alone; the
      /// paper's averages (visible ≈ total) need most objects in view most of the time, yet leaving possible.
      ExitProbability: float }

let vld = { Name = "vld"; MinObjects = 2; AvgVisible = 2.9; MaxObjects = 4; ObjectSize = 12; Margin = 16; ExitProbability = 0.08 }
let ld = { Name = "ld"; MinObjects = 8; AvgVisible = 8.0; MaxObjects = 11; ObjectSize = 10; Margin = 13; ExitProbability = 0.25 }
let md = { Name = "md"; MinObjects = 18; AvgVisible = 20.0; MaxObjects = 24; ObjectSize = 8; Margin = 11; ExitProbability = 0.08 }
let hd = { Name = "hd"; MinObjects = 50; AvgVisible = 55.0; MaxObjects = 64; ObjectSize = 6; Margin = 9; ExitProbability = 0.06 }
let vhd = { Name = "vhd"; MinObjects = 90; AvgVisible = 90.0; MaxObjects = 110; ObjectSize = 5; Margin = 8; ExitProbability = 0.15 }

let densities = [ vld; ld; md; hd; vhd ]

let densityByName (name: string) =
    densities |> List.tryFind (fun d -> d.Name = name.ToLowerInvariant())

type WorldConfig =
    { Kind: Kind
      Density: Density
      Background: BackgroundKind
      Variant: Variant
      /// Frames per sequence (the paper trains on 10 and tests length generalisation on 20).
      Length: int
      /// Side of the square view in pixels (64 in the paper).
      ViewSize: int
      /// Overrides the density's [min, max] object count (generalisation split: train 15–25, test 50–60).
      ObjectCount: (int * int) option
      /// Allowed digit classes for MNIST (generalisation split: 0–5 for training, 6–9 for testing).
      DigitClasses: int[]
      /// An object is ground truth while at least this share of its area is in view.
      MinVisibleFraction: float
      /// A track id is one continuous visible episode: an object that leaves and re-enters gets a new id.
      /// With false it keeps its first id.
      NewIdOnReentry: bool
      /// Speed range in view pixels per frame.
      Speed: float * float
      SizeJitter: float }

let defaultConfig =
    { Kind = DSprites
      Density = ld
      Background = NoBackground
      Variant = Standard
      Length = 10
      ViewSize = 64
      ObjectCount = None
      DigitClasses = [| 0 .. 9 |]
      MinVisibleFraction = 0.5
      NewIdOnReentry = true
      Speed = (1.5, 3.0)
      SizeJitter = 0.2 }

/// What a world draws, on one line: every field that shapes its frames (not those that only decide which objects
/// the ground truth lists), so two configs with one description draw the same sequences from one seed. A training
/// checkpoint records it (`Train.trainingDataKey`).
let describe (c: WorldConfig) =
    let inv = Globalization.CultureInfo.InvariantCulture
    let kind = match c.Kind with DSprites -> "dsprites" | Mnist -> "mnist"
    let objects = match c.ObjectCount with Some(lo, hi) -> sprintf "%d-%d objects" lo hi | None -> "the density's objects"
    let digits = if c.Kind = Mnist then sprintf ", digits %s" (c.DigitClasses |> Array.map string |> String.concat ",") else ""
    let lo, hi = c.Speed
    String.Format(inv, "generated {0} {1} world: background {2}, variant {3}, {4}{5}, {6} frames of {7}x{7}, speed {8}-{9}, size jitter {10}",
                  kind, c.Density.Name, c.Background, c.Variant, objects, digits, c.Length, c.ViewSize, lo, hi, c.SizeJitter)

/// A world with exactly `count` objects over sequences of `length` frames (benchmarks, generalisation).
let withObjectCount (count: int) (length: int) (cfg: WorldConfig) = { cfg with ObjectCount = Some(count, count); Length = length }

/// One ground-truth row: a listed object in one frame.
[<Struct>]
type TruthBox =
    { /// 0-based frame index.
      Frame: int
      /// Track id (1-based), one per continuous visible episode.
      Track: int
      /// Index of the environment object (0-based), stable for the whole sequence.
      Object: int
      /// Box of the visible part, view pixels.
      Left: float32
      Top: float32
      Width: float32
      Height: float32
      /// MOT16's visibility: the share of the object's ink that shows in the frame, i.e. lies in view and is
      /// not covered by objects drawn over it (alpha-weighted). Listing uses the box's share in view alone
      /// (`MinVisibleFraction`), so a hidden object stays listed with a visibility near 0.
      Visibility: float32
      /// Centre of the whole object, view pixels (may lie slightly outside the view).
      CenterX: float32
      CenterY: float32
      /// The object's side in pixels.
      Size: float32 }

type Sequence =
    { Seed: uint64
      Length: int
      /// Side of the square frames.
      ViewSize: int
      /// RGB bytes, [T; H; W; 3].
      Frames: byte[]
      Truth: TruthBox[]
      /// Objects in the environment over the whole sequence.
      ObjectCount: int }

/// Digits a moving-MNIST world draws from: the IDX data and the indices of the allowed classes.
type DigitPool = { Digits: Idx.Digits; Indices: int[] }

let digitPool (digits: Idx.Digits) (classes: int[]) =
    let allowed = Collections.Generic.HashSet(classes)
    let idx = [| for i in 0 .. digits.Count - 1 do if allowed.Contains(int digits.Labels.[i]) then yield i |]
    if idx.Length = 0 then invalidArg "classes" "no digit of the requested classes in the data"
    { Digits = digits; Indices = idx }

/// A validated world: the config plus what it needs to draw objects.
type World = private { Cfg: WorldConfig; Pool: DigitPool option }

exception WorldConfigError of string

let create (cfg: WorldConfig) (digits: DigitPool option) =
    let err msg = raise (WorldConfigError msg)
    if cfg.Length < 1 then err "sequence length must be at least 1"
    if cfg.ViewSize < 16 || cfg.ViewSize > 1024 then err "view size must be between 16 and 1024"
    match cfg.ObjectCount with
    | Some(lo, hi) when lo < 0 || hi < lo -> err (sprintf "bad object count range %d-%d" lo hi)
    | _ -> ()
    if cfg.MinVisibleFraction <= 0.0 || cfg.MinVisibleFraction > 1.0 then err "visible fraction must be in (0, 1]"
    if cfg.Kind = Mnist && digits.IsNone then err "the MNIST world needs digit images"
    { Cfg = cfg; Pool = (if cfg.Kind = Mnist then digits else None) }

let config (w: World) = w.Cfg

let private palette =
    [| (230uy, 40uy, 40uy); (40uy, 200uy, 60uy); (60uy, 90uy, 240uy); (240uy, 220uy, 40uy)
       (220uy, 60uy, 220uy); (40uy, 220uy, 220uy); (245uy, 245uy, 245uy); (250uy, 140uy, 30uy) |]

type private Obj =
    { mutable X: float // centre, environment pixels
      mutable Y: float
      mutable Vx: float
      mutable Vy: float
      Size: int
      Mask: Mask
      R: byte
      G: byte
      B: byte
      BornAt: int
      mutable Track: int
      mutable FirstTrack: int }

/// Background texture: smooth value noise on a 128×128 torus, two octaves, in a dark range so that
/// objects stay distinct. Returned as RGB bytes.
let private texture (rng: Rng.Stream) =
    let n = 128
    let tex = Array.zeroCreate<byte> (n * n * 3)
    let acc = Array.zeroCreate<float> (n * n * 3)
    for (cells, amp) in [ (8, 0.3); (16, 0.12) ] do
        let grid = Array.init (cells * cells * 3) (fun _ -> rng.Uniform())
        let step = n / cells
        for y in 0 .. n - 1 do
            for x in 0 .. n - 1 do
                let gx, gy = x / step, y / step
                let fx = float (x % step) / float step
                let fy = float (y % step) / float step
                let sx, sy = fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy)
                let g i j c = grid.[(((gy + j) % cells) * cells + (gx + i) % cells) * 3 + c]
                for c in 0 .. 2 do
                    let top = g 0 0 c * (1.0 - sx) + g 1 0 c * sx
                    let bot = g 0 1 c * (1.0 - sx) + g 1 1 c * sx
                    acc.[(y * n + x) * 3 + c] <- acc.[(y * n + x) * 3 + c] + amp * (top * (1.0 - sy) + bot * sy)
    for i in 0 .. acc.Length - 1 do
        tex.[i] <- byte (Math.Clamp(25.0 + 255.0 * acc.[i], 0.0, 255.0))
    tex

/// The object count of one sequence: uniform in [min, max] of the density (or the override).
let private countRange (cfg: WorldConfig) =
    defaultArg cfg.ObjectCount (cfg.Density.MinObjects, cfg.Density.MaxObjects)

/// `DenseDiscovery`'s frames where new objects appear, and how many each (unless the config's `ObjectCount` says).
let private denseKeys, denseCount = [ 0; 4; 8 ], (10, 15)

/// The most objects a sequence of the world holds (all of them made at its start, or for `DenseDiscovery` at its
/// key frames, none later), so the most ground-truth rows one frame can have.
let mostObjects (cfg: WorldConfig) =
    match cfg.Variant with
    | DenseDiscovery -> (List.filter (fun key -> key < cfg.Length) denseKeys).Length * snd (defaultArg cfg.ObjectCount denseCount)
    | Standard | Overlap -> snd (countRange cfg)

/// Steps of unseen motion before the first frame.
let burnIn = 150

/// Generates one sequence. A pure function of (world, seed).
let sequence (world: World) (seed: uint64) : Sequence =
    let cfg = world.Cfg
    let rng = Rng.Stream(seed)
    let v = cfg.ViewSize
    let d = cfg.Density
    let m = float d.Margin
    let env = float v + 2.0 * m
    let vmin, vmax = cfg.Speed
    let newObject bornAt (inView: bool) =
        let size = max 3 (int (Math.Round(float d.ObjectSize * rng.Uniform(1.0 - cfg.SizeJitter, 1.0 + cfg.SizeJitter))))
        let half = float size / 2.0
        let lo, hi = (if inView then m + half else half), (if inView then m + float v - half else env - half)
        let angle = rng.Uniform(0.0, 2.0 * Math.PI)
        let speed = rng.Uniform(vmin, vmax)
        let mask, (r, g, b) =
            match world.Pool with
            | Some pool ->
                let idx = pool.Indices.[rng.Int(0, pool.Indices.Length - 1)]
                digitMask pool.Digits idx size, (255uy, 255uy, 255uy)
            | None -> shapeMask allShapes.[rng.Int(0, allShapes.Length - 1)] size, palette.[rng.Int(0, palette.Length - 1)]
        { X = rng.Uniform(lo, hi); Y = rng.Uniform(lo, hi)
          Vx = speed * cos angle; Vy = speed * sin angle
          Size = size; Mask = mask; R = r; G = g; B = b; BornAt = bornAt; Track = 0; FirstTrack = 0 }
    let objs =
        match cfg.Variant with
        | DenseDiscovery ->
            [| for key in denseKeys do
                 if key < cfg.Length then
                     let lo, hi = defaultArg cfg.ObjectCount denseCount
                     for _ in 1 .. rng.Int(lo, hi) -> newObject key true |]
        | Standard ->
            let lo, hi = countRange cfg
            Array.init (rng.Int(lo, hi)) (fun _ -> newObject 0 false)
        | Overlap ->
            let lo, hi = countRange cfg
            let os = Array.init (rng.Int(lo, hi)) (fun _ -> newObject 0 true)
            // Aim every object at another one, faster than usual: collisions of appearance, not of physics.
            for i in 0 .. os.Length - 1 do
                if os.Length > 1 then
                    let j = (i + rng.Int(1, os.Length - 1)) % os.Length
                    let dx, dy = os.[j].X - os.[i].X, os.[j].Y - os.[i].Y
                    let len = max 1e-6 (sqrt (dx * dx + dy * dy))
                    let speed = 1.5 * rng.Uniform(vmin, vmax)
                    os.[i].Vx <- speed * dx / len
                    os.[i].Vy <- speed * dy / len
            os
    // Background.
    let bgTex = if cfg.Background = NoBackground then [||] else texture rng
    let ox0, oy0 = rng.Int(0, 127), rng.Int(0, 127)
    let mutable dvx, dvy = 0, 0
    while dvx = 0 && dvy = 0 do
        dvx <- rng.Int(-2, 2)
        dvy <- rng.Int(-2, 2)
    let pulsePeriod = rng.Uniform(8.0, 16.0)
    let pulsePhase = rng.Uniform(0.0, 2.0 * Math.PI)
    let frameBytes = v * v * 3
    let frames = Array.zeroCreate<byte> (cfg.Length * frameBytes)
    let truth = Collections.Generic.List<TruthBox>(cfg.Length * (snd (countRange cfg) + 1))
    let mutable nextTrack = 1
    let drawn = Collections.Generic.List<struct (int * int * int * int * int * int * int * bool)>(objs.Length)
    let transmit = Array.zeroCreate<float32> (v * v)
    let shown = Array.zeroCreate<float> objs.Length
    // Each object's whole ink, the denominator of its visibility: its mask never changes.
    let wholeInk = objs |> Array.map (fun o -> Array.sum o.Mask.Coverage)
    // Moves one coordinate: walls of the environment always reflect; the view's border reflects an object
    // that was fully inside unless it wins the exit draw.
    let move (pos: float) (vel: float) (half: float) =
        let inLo, inHi = m + half, m + float v - half
        let wasInside = pos >= inLo && pos <= inHi
        let mutable p = pos + vel
        let mutable u = vel
        if wasInside && (p < inLo || p > inHi) && not (rng.Bernoulli d.ExitProbability) then
            p <- (if p < inLo then 2.0 * inLo - p else 2.0 * inHi - p)
            u <- -u
        let wLo, wHi = half, env - half
        if p < wLo then p <- 2.0 * wLo - p; u <- abs u
        if p > wHi then p <- 2.0 * wHi - p; u <- -(abs u)
        struct (p, u)
    // Standard worlds start from the motion's long-run state, so frame 1 already shows the preset's density
    // instead of the initial uniform spread over the environment.
    if cfg.Variant = Standard then
        for _ in 1 .. burnIn do
            for o in objs do
                let half = float o.Size / 2.0
                let struct (x, vx) = move o.X o.Vx half
                let struct (y, vy) = move o.Y o.Vy half
                o.X <- x; o.Vx <- vx; o.Y <- y; o.Vy <- vy
    for t in 0 .. cfg.Length - 1 do
        let frame = Span<byte>(frames, t * frameBytes, frameBytes)
        match cfg.Background with
        | NoBackground -> ()
        | StaticBackground | DynamicBackground ->
            let dynamic = cfg.Background = DynamicBackground
            let ox = if dynamic then (ox0 + dvx * t) &&& 127 else ox0
            let oy = if dynamic then (oy0 + dvy * t) &&& 127 else oy0
            let gain = if dynamic then 1.0 + 0.25 * sin (2.0 * Math.PI * float t / pulsePeriod + pulsePhase) else 1.0
            let gainQ = int (gain * 256.0)
            for y in 0 .. v - 1 do
                let row = ((y + oy) &&& 127) * 128
                for x in 0 .. v - 1 do
                    let src = (row + ((x + ox) &&& 127)) * 3
                    let dst = (y * v + x) * 3
                    frame.[dst] <- byte (min 255 ((int bgTex.[src] * gainQ) >>> 8))
                    frame.[dst + 1] <- byte (min 255 ((int bgTex.[src + 1] * gainQ) >>> 8))
                    frame.[dst + 2] <- byte (min 255 ((int bgTex.[src + 2] * gainQ) >>> 8))
        // Objects drawn this frame, in drawing order (view rectangle and whether listed), for the visibility pass.
        drawn.Clear()
        for oi in 0 .. objs.Length - 1 do
            let o = objs.[oi]
            if t >= o.BornAt then
                if t > o.BornAt then
                    let half = float o.Size / 2.0
                    let struct (x, vx) = move o.X o.Vx half
                    let struct (y, vy) = move o.Y o.Vy half
                    o.X <- x; o.Vx <- vx; o.Y <- y; o.Vy <- vy
                let s = o.Size
                let left = int (Math.Round(o.X - m - float s / 2.0))
                let top = int (Math.Round(o.Y - m - float s / 2.0))
                let x0, x1 = max 0 left, min v (left + s)
                let y0, y1 = max 0 top, min v (top + s)
                let visible = if x1 > x0 && y1 > y0 then float ((x1 - x0) * (y1 - y0)) / float (s * s) else 0.0
                if visible > 0.0 then
                    let cov = o.Mask.Coverage
                    for y in y0 .. y1 - 1 do
                        let mrow = (y - top) * s
                        for x in x0 .. x1 - 1 do
                            let a = cov.[mrow + x - left]
                            if a > 0f then
                                let dst = (y * v + x) * 3
                                let inline blend (b: byte) (c: byte) = byte (float32 b + a * (float32 c - float32 b) + 0.5f)
                                frame.[dst] <- blend frame.[dst] o.R
                                frame.[dst + 1] <- blend frame.[dst + 1] o.G
                                frame.[dst + 2] <- blend frame.[dst + 2] o.B
                let listed = visible >= cfg.MinVisibleFraction - 1e-9
                if listed then
                    if o.Track = 0 then
                        if cfg.NewIdOnReentry || o.FirstTrack = 0 then
                            o.Track <- nextTrack
                            nextTrack <- nextTrack + 1
                        else o.Track <- o.FirstTrack
                        if o.FirstTrack = 0 then o.FirstTrack <- o.Track
                else o.Track <- 0
                if visible > 0.0 then drawn.Add(struct (oi, left, top, x0, x1, y0, y1, listed))
        // Front to back: what an object shows is its coverage times the light the objects drawn after it let
        // through (`transmit`, per view pixel), so occlusion is counted as the frame composes it.
        Array.Fill(transmit, 1f)
        for k in drawn.Count - 1 .. -1 .. 0 do
            let struct (oi, left, top, x0, x1, y0, y1, _) = drawn.[k]
            let o = objs.[oi]
            let s = o.Size
            let cov = o.Mask.Coverage
            let mutable ink = 0.0
            for y in y0 .. y1 - 1 do
                let mrow = (y - top) * s
                for x in x0 .. x1 - 1 do
                    let a = cov.[mrow + x - left]
                    if a > 0f then
                        let p = y * v + x
                        ink <- ink + float (a * transmit.[p])
                        transmit.[p] <- transmit.[p] * (1f - a)
            shown.[k] <- ink
        for k in 0 .. drawn.Count - 1 do
            let struct (oi, _, _, x0, x1, y0, y1, listed) = drawn.[k]
            if listed then
                let o = objs.[oi]
                let total = wholeInk.[oi]
                truth.Add
                    { Frame = t; Track = o.Track; Object = oi
                      Left = float32 x0; Top = float32 y0; Width = float32 (x1 - x0); Height = float32 (y1 - y0)
                      Visibility = (if total > 0f then float32 (shown.[k] / float total) else 0f)
                      CenterX = float32 (o.X - m); CenterY = float32 (o.Y - m); Size = float32 o.Size }
    { Seed = seed; Length = cfg.Length; ViewSize = v; Frames = frames; Truth = truth.ToArray(); ObjectCount = objs.Length }

/// Seed of sequence `index` of a dataset generated from `seed`: datasets and on-the-fly training draw the
/// same sequences for the same (seed, index).
let sequenceSeed (seed: uint64) (index: int) = Rng.derive seed (uint64 index)

/// Visible (listed) objects per frame.
let visibleCounts (s: Sequence) =
    let counts = Array.zeroCreate<int> s.Length
    for b in s.Truth do counts.[b.Frame] <- counts.[b.Frame] + 1
    counts

let withLength (length: int) (c: WorldConfig) = { c with Length = length }
