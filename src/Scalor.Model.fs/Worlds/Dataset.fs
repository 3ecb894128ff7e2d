/// Packed datasets: every sequence of a generated dataset in one safetensors file, for fast training
/// (one read, no PNG decoding). Tensors:
///   frames  U8  [S; T; H; W; 3]
///   truth   F32 [R; 12]  rows (sequence, frame, track, object, left, top, width, height, visibility,
///                         center_x, center_y, size), frames 0-based.
///   objects I32 [S]      objects in the environment per sequence
/// Metadata holds the world description and the seed.
module Scalor.Worlds.Dataset

open System
open Scalor.IO

let truthColumns = 12

let pack (sequences: World.Sequence[]) : Safetensors.Entry list =
    if sequences.Length = 0 then invalidArg "sequences" "no sequences to pack"
    let t, v = sequences.[0].Length, sequences.[0].ViewSize
    if sequences |> Array.exists (fun s -> s.Length <> t || s.ViewSize <> v) then
        invalidArg "sequences" "all sequences of a pack must share length and view size"
    let frameBytes = t * v * v * 3
    let frames = Array.zeroCreate<byte> (sequences.Length * frameBytes)
    sequences |> Array.iteri (fun i s -> Buffer.BlockCopy(s.Frames, 0, frames, i * frameBytes, frameBytes))
    let rows = sequences |> Array.sumBy (fun s -> s.Truth.Length)
    let truth = Array.zeroCreate<float32> (rows * truthColumns)
    let mutable r = 0
    sequences
    |> Array.iteri (fun i s ->
        for b in s.Truth do
            let o = r * truthColumns
            truth.[o] <- float32 i
            truth.[o + 1] <- float32 b.Frame
            truth.[o + 2] <- float32 b.Track
            truth.[o + 3] <- float32 b.Object
            truth.[o + 4] <- b.Left
            truth.[o + 5] <- b.Top
            truth.[o + 6] <- b.Width
            truth.[o + 7] <- b.Height
            truth.[o + 8] <- b.Visibility
            truth.[o + 9] <- b.CenterX
            truth.[o + 10] <- b.CenterY
            truth.[o + 11] <- b.Size
            r <- r + 1)
    let objects = Array.zeroCreate<byte> (sequences.Length * 4)
    sequences |> Array.iteri (fun i s -> BitConverter.TryWriteBytes(Span(objects, i * 4, 4), s.ObjectCount) |> ignore)
    [ { Name = "frames"; DType = "U8"; Shape = [| int64 sequences.Length; int64 t; int64 v; int64 v; 3L |]; Data = frames }
      Safetensors.ofFloats "truth" [| int64 rows; int64 truthColumns |] truth
      { Name = "objects"; DType = "I32"; Shape = [| int64 sequences.Length |]; Data = objects } ]

exception DatasetError of string

/// Reads a pack back into sequences (the seeds are not stored per sequence and come back as 0).
let unpack (path: string) : World.Sequence[] * Map<string, string> =
    let entries, meta = Safetensors.read path
    let find name =
        match entries |> List.tryFind (fun e -> e.Name = name) with
        | Some e -> e
        | None -> raise (DatasetError(sprintf "%s: no tensor named '%s' (not a Scalor dataset pack?)" path name))
    let frames = find "frames"
    if frames.DType <> "U8" || frames.Shape.Length <> 5 || frames.Shape.[4] <> 3L || frames.Shape.[2] <> frames.Shape.[3] then
        raise (DatasetError(sprintf "%s: frames must be U8 [S; T; H; H; 3]" path))
    let s, t, v = int frames.Shape.[0], int frames.Shape.[1], int frames.Shape.[2]
    let truth = find "truth" |> Safetensors.toFloats
    let objects = (find "objects").Data
    let frameBytes = t * v * v * 3
    let rowsBySeq = Array.init s (fun _ -> Collections.Generic.List<World.TruthBox>())
    for r in 0 .. truth.Length / truthColumns - 1 do
        let o = r * truthColumns
        let si = int truth.[o]
        if si < 0 || si >= s then raise (DatasetError(sprintf "%s: truth row %d names sequence %d of %d" path r si s))
        rowsBySeq.[si].Add
            { Frame = int truth.[o + 1]; Track = int truth.[o + 2]; Object = int truth.[o + 3]
              Left = truth.[o + 4]; Top = truth.[o + 5]; Width = truth.[o + 6]; Height = truth.[o + 7]
              Visibility = truth.[o + 8]; CenterX = truth.[o + 9]; CenterY = truth.[o + 10]; Size = truth.[o + 11] }
    let seqs =
        Array.init s (fun i ->
            ({ Seed = 0UL
               Length = t
               ViewSize = v
               Frames = frames.Data.[i * frameBytes .. (i + 1) * frameBytes - 1]
               Truth = rowsBySeq.[i].ToArray()
               ObjectCount = BitConverter.ToInt32(objects, i * 4) }: World.Sequence))
    seqs, meta
