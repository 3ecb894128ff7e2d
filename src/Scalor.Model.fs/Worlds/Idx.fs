/// The IDX file format of the MNIST distribution: a big-endian header (magic, one int32 per dimension)
/// followed by raw bytes. Magic 0x00000803 = unsigned bytes, 3 dimensions (images); 0x00000801 = 1 (labels).
module Scalor.Worlds.Idx

open System
open System.IO
open System.Buffers.Binary

/// An IDX tensor of unsigned bytes.
type IdxArray = { Dims: int[]; Data: byte[] }

/// Raised for a malformed file; the message names the file and what is wrong with it.
exception IdxFormatError of string

let private fail path fmt = Printf.kprintf (fun msg -> raise (IdxFormatError(sprintf "%s: %s" path msg))) fmt

/// Parses IDX bytes. `path` is only used in error messages.
let parse (path: string) (bytes: ReadOnlySpan<byte>) : IdxArray =
    if bytes.Length < 4 then fail path "too short for an IDX header (%d bytes)" bytes.Length
    if bytes.[0] <> 0uy || bytes.[1] <> 0uy then fail path "bad magic number: first two bytes must be zero"
    if bytes.[2] <> 0x08uy then fail path "element type 0x%02x is not supported (only unsigned bytes, 0x08)" bytes.[2]
    let rank = int bytes.[3]
    if rank < 1 || rank > 4 then fail path "unsupported number of dimensions %d" rank
    let header = 4 + 4 * rank
    if bytes.Length < header then fail path "truncated header"
    let dims = Array.zeroCreate<int> rank
    for i in 0 .. rank - 1 do dims.[i] <- BinaryPrimitives.ReadInt32BigEndian(bytes.Slice(4 + 4 * i, 4))
    if dims |> Array.exists (fun d -> d < 0) then fail path "negative dimension in header"
    let count = dims |> Array.fold (fun acc d -> acc * int64 d) 1L
    if int64 (bytes.Length - header) <> count then
        fail path "header promises %d data bytes but the file holds %d" count (bytes.Length - header)
    { Dims = dims; Data = bytes.Slice(header).ToArray() }

let read (path: string) : IdxArray =
    if not (File.Exists path) then fail path "file not found"
    parse path (ReadOnlySpan(File.ReadAllBytes path))

/// Serialises an IDX array (used by tests and by tools that write small digit sets).
let toBytes (a: IdxArray) : byte[] =
    let rank = a.Dims.Length
    let out = Array.zeroCreate<byte> (4 + 4 * rank + a.Data.Length)
    out.[2] <- 0x08uy
    out.[3] <- byte rank
    a.Dims |> Array.iteri (fun i d -> BinaryPrimitives.WriteInt32BigEndian(Span(out, 4 + 4 * i, 4), d))
    Buffer.BlockCopy(a.Data, 0, out, 4 + 4 * rank, a.Data.Length)
    out

let write (path: string) (a: IdxArray) = Scalor.IO.Files.writeBytes path (toBytes a)

/// Greyscale digits with their labels, as the moving-MNIST world consumes them.
type Digits = { Images: byte[]; Labels: byte[]; Count: int; Rows: int; Cols: int }

/// Pairs an images file ([N; rows; cols]) with a labels file ([N]).
let digits (images: IdxArray) (labels: IdxArray) (imagesPath: string) (labelsPath: string) : Digits =
    if images.Dims.Length <> 3 then fail imagesPath "expected 3 dimensions (count, rows, cols), found %d" images.Dims.Length
    if labels.Dims.Length <> 1 then fail labelsPath "expected 1 dimension (count), found %d" labels.Dims.Length
    if images.Dims.[0] <> labels.Dims.[0] then
        fail labelsPath "holds %d labels but %s holds %d images" labels.Dims.[0] imagesPath images.Dims.[0]
    if labels.Data |> Array.exists (fun l -> l > 9uy) then fail labelsPath "label outside 0..9"
    { Images = images.Data; Labels = labels.Data; Count = images.Dims.[0]; Rows = images.Dims.[1]; Cols = images.Dims.[2] }

/// Reads the standard MNIST pair from a folder: `train-*` or `t10k-*` files.
let readMnist (folder: string) (split: string) : Digits =
    let prefix = if split = "test" then "t10k" else "train"
    let imagesPath = Path.Combine(folder, prefix + "-images-idx3-ubyte")
    let labelsPath = Path.Combine(folder, prefix + "-labels-idx1-ubyte")
    digits (read imagesPath) (read labelsPath) imagesPath labelsPath
