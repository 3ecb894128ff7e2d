/// A window of the input's frames to track, train on or score (`--crop`). The model sees square frames, so footage
/// of another shape is squashed unless a window is cut first; the official loader cuts fixed 240×240 windows out
/// of its station footage before resizing (scalor-model.md §3). Pure, so its laws are properties.
module Scalor.IO.Crop

open System
open System.Globalization

/// A window in the input's pixels: its size, and its top-left corner.
type Window = { Width: int; Height: int; Left: int; Top: int }

type Crop =
    /// The whole frame, squashed to the model's square: what a command sees without a crop. Given to track,
    /// generate or eval, it sets aside the windows a model records (`Train.recordedCrops`).
    | Whole
    /// The largest square at the centre of the frame.
    | Centre
    /// A window given as ffmpeg's crop filter takes it, `width:height:left:top`.
    | Window of Window
    /// Square windows of this side tiling the frame, neighbours sharing at least `overlap` pixels (`windows`): for
    /// footage wider or larger than the model's frames, each tile a sequence of its own, as the official loader's
    /// fixed windows. Tracks are joined across tiles where they overlap (`Stitch`).
    | Tiles of side: int * overlap: int

/// `whole`, `centre` (or `center`), or `W:H:X:Y` in the input's pixels: a window W wide and H high whose top-left corner is
/// at (X, Y), W and H at least 1, X and Y at least 0; or `tiles:S` (`tiles:S:O`), square tiles of side S at least 1
/// (neighbours sharing at least O pixels, O below S).
let parse (text: string) : Result<Crop, string> =
    let s = text.Trim()
    let (|Int|_|) (p: string) = match Int32.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture) with | true, v -> Some v | _ -> None
    let is (word: string) (p: string) = p.Equals(word, StringComparison.OrdinalIgnoreCase)
    match s.Split ':' with
    | [| word |] when is "whole" word -> Ok Whole
    | [| word |] when is "centre" word || is "center" word -> Ok Centre
    | [| word; Int side |] when is "tiles" word && side >= 1 -> Ok(Tiles(side, 0))
    | [| word; Int side; Int overlap |] when is "tiles" word && side >= 1 && overlap < side -> Ok(Tiles(side, overlap))
    | [| Int w; Int h; Int x; Int y |] when w >= 1 && h >= 1 -> Ok(Window { Width = w; Height = h; Left = x; Top = y })
    | _ -> Error(sprintf "'%s' is not a crop: give centre, W:H:X:Y in the input's pixels (a window W×H whose top-left corner is at X, Y), tiles:S or tiles:S:O (S×S windows tiling the frame, neighbours sharing at least O pixels) or whole" text)

/// How `parse` reads it back.
let describe (crop: Crop) =
    match crop with
    | Whole -> "whole"
    | Centre -> "centre"
    | Window w -> sprintf "%d:%d:%d:%d" w.Width w.Height w.Left w.Top
    | Tiles(side, 0) -> sprintf "tiles:%d" side
    | Tiles(side, overlap) -> sprintf "tiles:%d:%d" side overlap

/// A sequence's name as the stem of its files (results, latents, pictures): a tile's sequence is named for its
/// window, `SEQ@W:H:X:Y`, and Windows allows no ':' in a file name (NTFS reads one as a stream's name), so each
/// character Windows forbids becomes '_' on every system: `vtest@288_288_240_0.txt`, the same files everywhere.
let fileStem (sequence: string) =
    let forbidden = set [ '<'; '>'; ':'; '"'; '/'; '\\'; '|'; '?'; '*' ]
    System.String(sequence.ToCharArray() |> Array.map (fun c -> if forbidden.Contains c || c < ' ' then '_' else c))

/// The file of a sequence in `dir`: its `fileStem` with `extension` (".txt", ".json", ".png").
let sequenceFile (dir: string) (sequence: string) (extension: string) = System.IO.Path.Combine(dir, fileStem sequence + extension)

/// Several crops as a checkpoint or an ONNX model records them, and as lines name them: `describe`s joined by ", ".
let describeAll (crops: Crop list) = crops |> List.map describe |> String.concat ", "

/// How `describeAll` reads back; an error names the part that is not a crop.
let parseAll (text: string) : Result<Crop list, string> =
    (text.Split ", ", Ok [])
    ||> Array.foldBack (fun part rest ->
        match parse part, rest with
        | Ok crop, Ok crops -> Ok(crop :: crops)
        | Error e, _
        | _, Error e -> Error e)

/// Where `count` tiles of `side` pixels start along an axis of `length`: the first at 0, the last ending at the
/// edge, the ones between spread evenly (to the nearest pixel), so neighbours overlap by what the side does not
/// divide; one tile, at 0, when it spans the axis.
let private starts length side count =
    if count = 1 then [ 0 ] else [ for i in 0 .. count - 1 -> (2 * i * (length - side) + count - 1) / (2 * (count - 1)) ]

/// The windows `crop` cuts from frames of `width`×`height`; an error when they do not lie inside them. Tiles are the
/// fewest columns and rows of S×S squares that cover every pixel with neighbours sharing at least O pixels
/// (⌈(width − O)/(S − O)⌉ columns, at least one), in rows from the top left: 768×576 frames in tiles:288 give x 0,
/// 240, 480 by y 0, 288 (rows that share nothing), in tiles:288:48 by y 0, 144, 288.
let windows (width: int) (height: int) (crop: Crop) : Result<Window list, string> =
    match crop with
    | Whole -> Ok [ { Width = width; Height = height; Left = 0; Top = 0 } ]
    | Centre ->
        let side = min width height
        Ok [ { Width = side; Height = side; Left = (width - side) / 2; Top = (height - side) / 2 } ]
    | Window w when w.Left + w.Width <= width && w.Top + w.Height <= height -> Ok [ w ]
    | Tiles(side, overlap) when side <= width && side <= height ->
        let count length = if length <= side then 1 else (length - overlap + side - overlap - 1) / (side - overlap)
        let columns, rows = count width, count height
        Ok [ for top in starts height side rows do
                 for left in starts width side columns -> { Width = side; Height = side; Left = left; Top = top } ]
    | Window _
    | Tiles _ -> Error(sprintf "the crop %s does not fit in frames of %d×%d" (describe crop) width height)

/// Where windows meet without sharing a pixel: the columns x, then the rows y, at which a window begins and none
/// holds both x − 1 and x (y − 1 and y). Why it matters: an object crossing such a seam leaves one tile as it enters
/// the next, no frame shows it in both, and its two tracks cannot be joined (`Stitch`); `tiles:S:O` with O > 0
/// leaves none. `tiles:288` of 768×576 frames has one, at y 288.
let seams (windows: Window list) : int list * int list =
    let along (span: Window -> int * int) =
        [ for w in windows do
              let start, _ = span w
              if start > 0 && not (windows |> List.exists (fun v -> let s, n = span v in s <= start - 1 && start + 1 <= s + n)) then
                  yield start ]
        |> List.distinct
        |> List.sort
    along (fun w -> w.Left, w.Width), along (fun w -> w.Top, w.Height)

/// The one window `crop` cuts from frames of `width`×`height`: an error when it does not fit, or when tiles make
/// more than one.
let within (width: int) (height: int) (crop: Crop) : Result<Window, string> =
    match windows width height crop with
    | Ok [ w ] -> Ok w
    | Ok several -> Error(sprintf "the crop %s gives %d windows of frames of %d×%d, and one is wanted here" (describe crop) several.Length width height)
    | Error e -> Error e

/// The window's pixels of a row-major RGB frame `width` pixels wide (3 bytes a pixel).
let cut (w: Window) (width: int) (rgb: byte[]) =
    let out = Array.zeroCreate<byte> (w.Width * w.Height * 3)
    for y in 0 .. w.Height - 1 do
        Array.blit rgb (((w.Top + y) * width + w.Left) * 3) out (y * w.Width * 3) (w.Width * 3)
    out

/// Whether the centre of a box (left, top, width, height, in the input's pixels) lies in the window: an object
/// whose centre is outside it is not in the frames the model sees, so it is no one's to find.
let holdsCentre (w: Window) (left: float, top: float, width: float, height: float) =
    let cx, cy = left + width / 2.0, top + height / 2.0
    cx >= float w.Left && cx < float (w.Left + w.Width) && cy >= float w.Top && cy < float (w.Top + w.Height)
