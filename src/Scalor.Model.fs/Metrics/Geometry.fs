/// Box geometry and the distance and similarity functions of py-motmetrics and TrackEval.
module Scalor.Metrics.Geometry

/// A box in pixels: left, top, width, height.
[<Struct>]
type Box = { Left: float; Top: float; Width: float; Height: float }

/// numpy `finfo(float).eps`, as TrackEval uses it around thresholds.
let eps = 2.220446049250313e-16

/// The area two boxes share.
let intersection (a: Box) (b: Box) =
    let ix = max 0.0 (min (a.Left + a.Width) (b.Left + b.Width) - max a.Left b.Left)
    let iy = max 0.0 (min (a.Top + a.Height) (b.Top + b.Height) - max a.Top b.Top)
    ix * iy

let centre (b: Box) = (b.Left + b.Width / 2.0, b.Top + b.Height / 2.0)

let iou (a: Box) (b: Box) =
    let inter = intersection a b
    let union = a.Width * a.Height + b.Width * b.Height - inter
    if union <= 0.0 then 0.0 else inter / union

let centreDistance (a: Box) (b: Box) =
    let (ax, ay), (bx, by) = centre a, centre b
    sqrt ((ax - bx) ** 2.0 + (ay - by) ** 2.0)

/// py-motmetrics `norm2squared_matrix`: squared Euclidean distance of points, NaN where strictly greater
/// than `maxD2` (the threshold itself still matches).
let norm2Squared (objs: (float * float)[]) (hyps: (float * float)[]) (maxD2: float) =
    Array2D.init objs.Length hyps.Length (fun i j ->
        let (ax, ay), (bx, by) = objs.[i], hyps.[j]
        let d = (ax - bx) ** 2.0 + (ay - by) ** 2.0
        if d > maxD2 then nan else d)

/// py-motmetrics `iou_matrix`: 1 − IoU, NaN where 1 − IoU > `maxIou`.
let iouDistance (objs: Box[]) (hyps: Box[]) (maxIou: float) =
    Array2D.init objs.Length hyps.Length (fun i j ->
        let d = 1.0 - iou objs.[i] hyps.[j]
        if d > maxIou then nan else d)

/// TrackEval `_calculate_euclidean_similarity`: max(0, 1 − d / zeroDistance). With the CLEAR threshold
/// 0.5 a pair is a true positive iff d ≤ zeroDistance / 2.
let euclideanSimilarity (zeroDistance: float) (d: float) = max 0.0 (1.0 - d / zeroDistance)
