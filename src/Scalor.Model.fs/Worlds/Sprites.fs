/// Object appearances: procedural dSprites shapes and scaled MNIST digits, as coverage masks in [0, 1].
module Scalor.Worlds.Sprites

open System.Collections.Concurrent

/// The dSprites shapes (Matthey et al. 2017) drawn procedurally, since the dSprites archive is not available.
type Shape =
    | Square
    | Ellipse
    | Heart
    | Triangle

let allShapes = [| Square; Ellipse; Heart; Triangle |]

/// A square coverage mask: `Mask.[y * Size + x]` in [0, 1].
type Mask = { Size: int; Coverage: float32[] }

/// Inside-test in the unit square [-1, 1]², y pointing down.
let private inside shape (x: float) (y: float) =
    match shape with
    | Square -> abs x <= 0.8 && abs y <= 0.8
    | Ellipse -> (x / 0.95) ** 2.0 + (y / 0.55) ** 2.0 <= 1.0
    | Triangle -> y <= 0.8 && y >= -0.9 && abs x <= (y + 0.9) / 1.7 * 0.95
    | Heart ->
        // The classic implicit heart (x² + y² − 1)³ − x² y³ ≤ 0, flipped so its point is at the bottom.
        let hx, hy = x * 1.25, -(y * 1.25) + 0.2
        let a = hx * hx + hy * hy - 1.0
        a * a * a - hx * hx * hy * hy * hy <= 0.0

/// Anti-aliased mask of a shape, 4×4 supersampled.
let private rasterShape shape size =
    let ss = 4
    let cov = Array.zeroCreate<float32> (size * size)
    for py in 0 .. size - 1 do
        for px in 0 .. size - 1 do
            let mutable hits = 0
            for sy in 0 .. ss - 1 do
                for sx in 0 .. ss - 1 do
                    let x = (float px + (float sx + 0.5) / float ss) / float size * 2.0 - 1.0
                    let y = (float py + (float sy + 0.5) / float ss) / float size * 2.0 - 1.0
                    if inside shape x y then hits <- hits + 1
            cov.[py * size + px] <- float32 hits / float32 (ss * ss)
    { Size = size; Coverage = cov }

let private shapeCache = ConcurrentDictionary<struct (Shape * int), Mask>()

/// Cached: the generator asks for the same few (shape, size) pairs millions of times.
let shapeMask shape size = shapeCache.GetOrAdd(struct (shape, size), fun (struct (s, n)) -> rasterShape s n)

/// A digit scaled to `size`×`size`: its ink bounding box is fitted into the square (aspect kept, centred),
/// with area-averaging so thin strokes survive downscaling.
let digitMask (digits: Idx.Digits) (index: int) (size: int) : Mask =
    let rows, cols = digits.Rows, digits.Cols
    let baseOff = index * rows * cols
    let px x y = float32 digits.Images.[baseOff + y * cols + x] / 255f
    let mutable x0, y0, x1, y1 = cols, rows, -1, -1
    for y in 0 .. rows - 1 do
        for x in 0 .. cols - 1 do
            if digits.Images.[baseOff + y * cols + x] > 20uy then
                x0 <- min x0 x; x1 <- max x1 x; y0 <- min y0 y; y1 <- max y1 y
    if x1 < 0 then { Size = size; Coverage = Array.zeroCreate (size * size) }
    else
        let bw, bh = float (x1 - x0 + 1), float (y1 - y0 + 1)
        let scale = float size / max bw bh
        let ox = (float size - bw * scale) / 2.0
        let oy = (float size - bh * scale) / 2.0
        let cov = Array.zeroCreate<float32> (size * size)
        let ss = 3
        for py in 0 .. size - 1 do
            for pxl in 0 .. size - 1 do
                let mutable acc = 0f
                for sy in 0 .. ss - 1 do
                    for sx in 0 .. ss - 1 do
                        let fx = (float pxl + (float sx + 0.5) / float ss - ox) / scale + float x0
                        let fy = (float py + (float sy + 0.5) / float ss - oy) / scale + float y0
                        let ix, iy = int (floor fx), int (floor fy)
                        if ix >= x0 && ix <= x1 && iy >= y0 && iy <= y1 then acc <- acc + px ix iy
                cov.[py * size + pxl] <- acc / float32 (ss * ss)
        { Size = size; Coverage = cov }
