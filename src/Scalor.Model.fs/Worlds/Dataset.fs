/// Packed datasets: every sequence of a generated dataset in one safetensors file, for fast training
/// (one read, no PNG decoding). Tensors:
///   frames  U8  [S; T; H; W; 3]
///   truth   F32 [R; 12]  rows (sequence, frame, track, object, left, top, width, height, visibility,
///                         center_x, center_y, size), frames 0-based.
///   objects I32 [S]      objects in the environment per sequence
/// Frames or truth of more than `chunkBytes` are split along their first axis: `frames.0` [S0; T; H; W; 3],
/// `frames.1`, …, and `truth.0`, `truth.1`, … in order.
/// Metadata holds the world description and the seed.
module Scalor.Worlds.Dataset

open System
open Scalor.IO

let truthColumns = 12

/// The most bytes one tensor of a pack holds: frames and truth rows beyond it go into several tensors (`name.0`,
/// `name.1`, … of whole sequences and rows, in order), since no .NET array holds more than 2 GB (20,000 LD
/// sequences of 10 frames are 2.5 GB of frames). A pack within it has one `frames` and one `truth`, as before.
let chunkBytes = 1L <<< 30

/// `count` items of `itemBytes` each as tensors of at most `maxBytes` (at least one item each, and one tensor when
/// there are no items): `build name first n` makes the tensor of items first .. first + n - 1, named `name` alone
/// when it is the only one, else `name.0`, `name.1`, …
let private inParts (name: string) (count: int) (itemBytes: int64) (maxBytes: int64) build : Safetensors.Source list =
    let per = int (max 1L (min (int64 (max 1 count)) (maxBytes / max 1L itemBytes)))
    let runs = [ for first in 0 .. per .. max 0 (count - 1) -> first, min per (count - first) ]
    runs |> List.mapi (fun k (first, n) -> build (if runs.Length = 1 then name else sprintf "%s.%d" name k) first n)

/// The frame tensors of a pack of `count` sequences of `length` frames of `side` pixels, each of at most `maxBytes`
/// (whole sequences): `write stream first n` writes sequences first .. first + n - 1.
let private frameSources (count: int) (length: int) (side: int) (maxBytes: int64) write : Safetensors.Source list =
    let frameBytes = int64 length * int64 side * int64 side * 3L
    inParts "frames" count frameBytes maxBytes (fun name first n ->
        ({ Name = name; DType = "U8"; Shape = [| int64 n; int64 length; int64 side; int64 side; 3L |]
           Write = fun stream -> write stream first n }: Safetensors.Source))

/// The truth tensors of a pack of `rows` truth rows, each of at most `maxBytes` (whole rows), and the object counts
/// of `count` sequences: `write first n` writes rows first .. first + n - 1, `counts` the object counts.
let private truthShaped (rows: int) (count: int) (maxBytes: int64) write (counts: IO.Stream -> unit) : Safetensors.Source list =
    let truth =
        inParts "truth" rows (int64 (truthColumns * 4)) maxBytes (fun name first n ->
            ({ Name = name; DType = "F32"; Shape = [| int64 n; int64 truthColumns |]; Write = write first n }: Safetensors.Source))
    truth @ [ { Name = "objects"; DType = "I32"; Shape = [| int64 count |]; Write = counts } ]

/// The truth and object-count tensors of a pack whose sequence i has truth `truths.[i]` and `objects.[i]` objects;
/// each part of the truth is laid out only while it is written.
let private truthSources (maxBytes: int64) (truths: World.TruthBox[][]) (objects: int[]) : Safetensors.Source list =
    let rows = [| for i in 0 .. truths.Length - 1 do for b in truths.[i] -> i, b |]
    let counts = Array.zeroCreate<byte> (objects.Length * 4)
    objects |> Array.iteri (fun i n -> BitConverter.TryWriteBytes(Span(counts, i * 4, 4), n) |> ignore)
    truthShaped rows.Length objects.Length maxBytes
        (fun first count (stream: IO.Stream) ->
            let rowsOf () =
                let values = Array.zeroCreate<float32> (count * truthColumns)
                for r in 0 .. count - 1 do
                    let i, b = rows.[first + r]
                    let o = r * truthColumns
                    values.[o] <- float32 i
                    values.[o + 1] <- float32 b.Frame
                    values.[o + 2] <- float32 b.Track
                    values.[o + 3] <- float32 b.Object
                    values.[o + 4] <- b.Left
                    values.[o + 5] <- b.Top
                    values.[o + 6] <- b.Width
                    values.[o + 7] <- b.Height
                    values.[o + 8] <- b.Visibility
                    values.[o + 9] <- b.CenterX
                    values.[o + 10] <- b.CenterY
                    values.[o + 11] <- b.Size
                values
            stream.Write(Runtime.InteropServices.MemoryMarshal.AsBytes(ReadOnlySpan(rowsOf ()))))
        (fun stream -> stream.Write(counts, 0, counts.Length))

/// A pack as tensors written straight from the sequences, each of at most `maxBytes`: the frames go from each
/// sequence to the file, so writing a pack holds no second copy of them.
let packSources (maxBytes: int64) (sequences: World.Sequence[]) : Safetensors.Source list =
    if sequences.Length = 0 then invalidArg "sequences" "no sequences to pack"
    let t, v = sequences.[0].Length, sequences.[0].ViewSize
    if sequences |> Array.exists (fun s -> s.Length <> t || s.ViewSize <> v) then
        invalidArg "sequences" "all sequences of a pack must share length and view size"
    let frames =
        frameSources sequences.Length t v maxBytes (fun stream first count ->
            for i in first .. first + count - 1 do stream.Write(sequences.[i].Frames, 0, sequences.[i].Frames.Length))
    frames @ truthSources maxBytes (sequences |> Array.map (fun s -> s.Truth)) (sequences |> Array.map (fun s -> s.ObjectCount))

/// Writes a pack while its sequences are made (`data`), the layout of `packSources`: `make put` calls `put i seq`
/// once for each i in 0 .. count - 1, from any thread and in any order. Each sequence's frames go to their place in
/// the file at once and only its truth is kept, so a pack of any size is written in the memory of its truth; the
/// truth and the object counts follow the frames at the end, and the header comes last, into room reserved at the
/// file's start for the header of `rowsBound` truth rows (the most the sequences can hold: a header that outgrows its
/// room is an error, and no file is left). Whole or not at all.
let writePack (path: string) (count: int) (length: int) (side: int) (rowsBound: int) (maxBytes: int64)
              (metadata: (string * string) list) (make: (int -> World.Sequence -> unit) -> unit) =
    if count <= 0 then invalidArg "count" "no sequences to pack"
    let frameBytes = int64 length * int64 side * int64 side * 3L
    let frames = frameSources count length side maxBytes (fun _ _ _ -> ())
    // The header with the most rows holds the most digits and parts: room enough for any count of rows up to it.
    let room = Safetensors.headerRoom (frames @ truthShaped rowsBound count maxBytes (fun _ _ _ -> ()) ignore) metadata
    Files.writeDurably path (fun stream ->
        let file = (stream :?> IO.FileStream).SafeFileHandle
        let truths = Array.zeroCreate<World.TruthBox[]> count
        let objects = Array.zeroCreate<int> count
        make (fun i s ->
            if i < 0 || i >= count then raise (ArgumentOutOfRangeException("i", sprintf "sequence %d of %d" i count))
            if s.Length <> length || s.ViewSize <> side then invalidArg "seq" "all sequences of a pack must share length and view size"
            IO.RandomAccess.Write(file, ReadOnlySpan(s.Frames), room + int64 i * frameBytes)
            truths.[i] <- s.Truth
            objects.[i] <- s.ObjectCount)
        match truths |> Array.tryFindIndex isNull with
        | Some i -> invalidOp (sprintf "sequence %d of %d was not made" i count)
        | None -> ()
        let rest = truthSources maxBytes truths objects
        stream.Position <- room + int64 count * frameBytes
        Safetensors.writeData stream rest
        Safetensors.writeHeaderInto stream room (frames @ rest) metadata)

/// `packSources` as tensors in memory (tests give a small `maxBytes`).
let packInChunks (maxBytes: int64) (sequences: World.Sequence[]) : Safetensors.Entry list =
    [ for source in packSources maxBytes sequences ->
          use ms = new IO.MemoryStream()
          source.Write ms
          ({ Name = source.Name; DType = source.DType; Shape = source.Shape; Data = ms.ToArray() }: Safetensors.Entry) ]

let pack (sequences: World.Sequence[]) : Safetensors.Entry list = packInChunks chunkBytes sequences

exception DatasetError of string

/// A pack's tensors named `name`: the one tensor `name`, or its parts `name.0`, `name.1`, … in order (`packInChunks`).
let private partsOf (tryFind: string -> 'a option) (find: string -> 'a) (name: string) : 'a list =
    match List.unfold (fun k -> tryFind (sprintf "%s.%d" name k) |> Option.map (fun e -> e, k + 1)) 0 with
    | [] -> [ find name ]
    | found -> found

/// The frame tensors' shapes checked alike ([S; T; H; H; 3] U8, one T and H): the sequences' length and view size.
let private frameLayout fail (parts: (string * int64[]) list) =
    let first = snd parts.Head
    for dtype, shape in parts do
        if dtype <> "U8" || shape.Length <> 5 || shape.[4] <> 3L || shape.[2] <> shape.[3] || shape.[1 ..] <> first.[1 ..] then
            fail "frames must be U8 [S; T; H; H; 3]"
    int first.[1], int first.[2]

/// A pack's frames as its header describes them, before any is read: enough to refuse a pack of the wrong size or
/// length at once, where reading a large one takes a while. Frames are then read where they lie in the file, as
/// training asks for them (`ReadFrames`), so a pack need not fit in memory.
type FramePack(path: string, sequences: int, length: int, side: int, parts: (int * int64)[]) =
    let frameBytes = side * side * 3
    // The file as its header was read: frames read later come from the same file, or not at all (a pack written
    // again over it mid-run would train on frames its hash and checks never saw).
    let stamp = let info = IO.FileInfo path in info.Length, info.LastWriteTimeUtc
    /// Where frame `t` of sequence `s` starts in the file: in the last part whose first sequence is not after `s`.
    let offsetOf (s: int) (t: int) =
        if s < 0 || s >= sequences || t < 0 || t >= length then
            raise (ArgumentOutOfRangeException("frame", sprintf "frame %d of sequence %d: the pack holds %d sequences of %d frames" t s sequences length))
        let first, offset = parts |> Array.findBack (fun (first, _) -> first <= s)
        offset + (int64 (s - first) * int64 length + int64 t) * int64 frameBytes
    let readAt (handle: Microsoft.Win32.SafeHandles.SafeFileHandle) (offset: int64) (dest: Span<byte>) =
        let mutable read = 0
        while read < dest.Length do
            let n = IO.RandomAccess.Read(handle, dest.Slice read, offset + int64 read)
            if n = 0 then raise (DatasetError(sprintf "%s: ends before frame data at byte %d (cut short since its header was read?)" path (offset + int64 read)))
            read <- read + n
    member _.Sequences = sequences
    /// Frames per sequence.
    member _.Length = length
    /// Frame side in pixels.
    member _.Side = side
    /// Bytes of one frame (side × side × 3, RGB).
    member _.FrameBytes = frameBytes
    /// Frames `frames` of sequence `s`, one after another into `dest` (`frames.Length` × `FrameBytes` bytes from its
    /// start). The file is opened for the call, so a pack may be read from several threads and nothing stays open.
    member _.ReadFrames(s: int, frames: int[], dest: byte[]) =
        if dest.Length < frames.Length * frameBytes then
            raise (ArgumentException(sprintf "%d frames need %d bytes; the buffer holds %d" frames.Length (frames.Length * frameBytes) dest.Length, "dest"))
        use handle = IO.File.OpenHandle(path, IO.FileMode.Open, IO.FileAccess.Read, IO.FileShare.Read)
        if (IO.RandomAccess.GetLength handle, IO.File.GetLastWriteTimeUtc path) <> stamp then
            raise (DatasetError(sprintf "%s: written again since training opened it (its size or time differs); its frames are read as training goes, so leave the file as it is until the run ends" path))
        frames |> Array.iteri (fun i t -> readAt handle (offsetOf s t) (Span(dest, i * frameBytes, frameBytes)))
    /// `[sequence][frame]` → one frame's RGB bytes, the whole pack in memory (each frame in its own array).
    member p.Read() =
        let whole = Array.zeroCreate<byte> (length * frameBytes)
        Array.init sequences (fun s ->
            p.ReadFrames(s, Array.init length id, whole)
            Array.init length (fun t -> whole.AsSpan(t * frameBytes, frameBytes).ToArray()))

/// The frames of a pack (`FramePack`), refused for what `unpack` refuses them for.
let framesOf (path: string) : FramePack =
    let fail msg = raise (DatasetError(sprintf "%s: %s" path msg))
    let slots, _ = Safetensors.readSlots path
    let byName = slots |> List.map (fun e -> e.Name, e) |> Map.ofList
    let find name = byName.TryFind name |> Option.defaultWith (fun () -> fail (sprintf "no tensor named '%s' (not a Scalor dataset pack?)" name))
    let frames = partsOf byName.TryFind find "frames"
    let t, v = frameLayout fail [ for f in frames -> f.DType, f.Shape ]
    let s = frames |> List.sumBy (fun f -> int f.Shape.[0])
    if (find "objects").Bytes <> 4 * s then fail (sprintf "objects holds %d bytes for %d sequences" (find "objects").Bytes s)
    // Each part's first sequence and where its bytes start.
    let firsts = frames |> List.scan (fun first f -> first + int f.Shape.[0]) 0
    FramePack(path, s, t, v, [| for first, f in List.zip (List.take frames.Length firsts) frames -> first, f.Offset |])

/// Reads a pack back into sequences (the seeds are not stored per sequence and come back as 0), its frames and truth
/// in one tensor each or in parts (`packInChunks`).
let unpack (path: string) : World.Sequence[] * Map<string, string> =
    // The frames' layout and the object counts are checked from the header, as for training (`framesOf`).
    let layout = framesOf path
    let t, v, s = layout.Length, layout.Side, layout.Sequences
    let entries, meta = Safetensors.read path
    let byName = entries |> List.map (fun e -> e.Name, e) |> Map.ofList
    let fail msg = raise (DatasetError(sprintf "%s: %s" path msg))
    let find name = byName.TryFind name |> Option.defaultWith (fun () -> fail (sprintf "no tensor named '%s' (not a Scalor dataset pack?)" name))
    let parts = partsOf byName.TryFind find
    let frames = parts "frames"
    let frameBytes = t * v * v * 3
    let objects = (find "objects").Data
    let rowsBySeq = Array.init s (fun _ -> Collections.Generic.List<World.TruthBox>())
    let mutable r = 0
    for part in parts "truth" do
        let truth = Safetensors.toFloats part
        for k in 0 .. truth.Length / truthColumns - 1 do
            let o = k * truthColumns
            let si = int truth.[o]
            if si < 0 || si >= s then fail (sprintf "truth row %d names sequence %d of %d" r si s)
            rowsBySeq.[si].Add
                { Frame = int truth.[o + 1]; Track = int truth.[o + 2]; Object = int truth.[o + 3]
                  Left = truth.[o + 4]; Top = truth.[o + 5]; Width = truth.[o + 6]; Height = truth.[o + 7]
                  Visibility = truth.[o + 8]; CenterX = truth.[o + 9]; CenterY = truth.[o + 10]; Size = truth.[o + 11] }
            r <- r + 1
    let seqs =
        [| for f in frames do
               for i in 0 .. int f.Shape.[0] - 1 -> f.Data.AsSpan(i * frameBytes, frameBytes).ToArray() |]
        |> Array.mapi (fun i data ->
            ({ Seed = 0UL
               Length = t
               ViewSize = v
               Frames = data
               Truth = rowsBySeq.[i].ToArray()
               ObjectCount = BitConverter.ToInt32(objects, i * 4) }: World.Sequence))
    seqs, meta
