/// A window of the input's frames to track, train on or score (`--crop`). The model sees square frames, so footage
/// of another shape is squashed unless a window is cut first; the official loader cuts fixed 240×240 windows out
/// of its station footage before resizing (scalor-model.md §3). Pure, so its laws are properties.
module Scalor.IO.Crop

open System
open System.Globalization

/// A window in the input's pixels: its size, and its top-left corner.
type Window = { Width: int; Height: int; Left: int; Top: int }

type Crop =
    /// The largest square at the centre of the frame.
    | Centre
    /// A window given as ffmpeg's crop filter takes it, `width:height:left:top`.
    | Window of Window

/// `centre` (or `center`), or `W:H:X:Y` in the input's pixels: a window W wide and H high whose top-left corner is
/// at (X, Y). W and H at least 1, X and Y at least 0.
let parse (text: string) : Result<Crop, string> =
    let s = text.Trim()
    if s.Equals("centre", StringComparison.OrdinalIgnoreCase) || s.Equals("center", StringComparison.OrdinalIgnoreCase) then Ok Centre
    else
        let parts = s.Split ':'
        let ints = parts |> Array.map (fun p -> match Int32.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture) with | true, v -> Some v | _ -> None)
        match ints with
        | [| Some w; Some h; Some x; Some y |] when w >= 1 && h >= 1 -> Ok(Window { Width = w; Height = h; Left = x; Top = y })
        | _ -> Error(sprintf "'%s' is not a crop: give centre, or W:H:X:Y in the input's pixels (a window W×H whose top-left corner is at X, Y)" text)

/// How `parse` reads it back.
let describe (crop: Crop) =
    match crop with
    | Centre -> "centre"
    | Window w -> sprintf "%d:%d:%d:%d" w.Width w.Height w.Left w.Top

/// The window `crop` cuts from frames of `width`×`height`; an error when it does not lie inside them.
let within (width: int) (height: int) (crop: Crop) : Result<Window, string> =
    match crop with
    | Centre ->
        let side = min width height
        Ok { Width = side; Height = side; Left = (width - side) / 2; Top = (height - side) / 2 }
    | Window w when w.Left + w.Width <= width && w.Top + w.Height <= height -> Ok w
    | Window _ -> Error(sprintf "the crop %s does not fit in frames of %d×%d" (describe crop) width height)

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
