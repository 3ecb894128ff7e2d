/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw little-endian data. Used for packed datasets and for
/// model weights that other tools (Python included) can read without pickle.
module Scalor.IO.Safetensors

open System
open System.IO
open System.Text
open System.Text.Json

type Entry =
    { Name: string
      /// "U8", "F32", "I64", ...
      DType: string
      Shape: int64[]
      Data: byte[] }

exception SafetensorsError of string

let elementSize =
    function
    | "U8" | "I8" | "BOOL" -> 1
    | "F16" | "BF16" | "I16" | "U16" -> 2
    | "F32" | "I32" | "U32" -> 4
    | "F64" | "I64" | "U64" -> 8
    | d -> raise (SafetensorsError(sprintf "unknown dtype %s" d))

/// A tensor to write whose bytes come from `Write`, which writes exactly the bytes its dtype and shape need: a
/// dataset's frames go from the sequences to the file with no copy of the whole in between.
type Source =
    { Name: string
      DType: string
      Shape: int64[]
      Write: Stream -> unit }

let private byteCount (shape: int64[]) dtype = (shape |> Array.fold (*) 1L) * int64 (elementSize dtype)

let private headerJson (sources: Source list) (metadata: (string * string) list) =
    use ms = new MemoryStream()
    use w = new Utf8JsonWriter(ms)
    w.WriteStartObject()
    if not metadata.IsEmpty then
        w.WriteStartObject("__metadata__")
        for (k, v) in metadata do w.WriteString(k, v)
        w.WriteEndObject()
    let mutable offset = 0L
    for e in sources do
        w.WriteStartObject(e.Name)
        w.WriteString("dtype", e.DType)
        w.WriteStartArray("shape")
        for d in e.Shape do w.WriteNumberValue d
        w.WriteEndArray()
        w.WriteStartArray("data_offsets")
        w.WriteNumberValue offset
        offset <- offset + byteCount e.Shape e.DType
        w.WriteNumberValue offset
        w.WriteEndArray()
        w.WriteEndObject()
    w.WriteEndObject()
    w.Flush()
    ms.ToArray()

let private roomOf (json: byte[]) = 8L + int64 ((json.Length + 7) / 8 * 8)

/// The bytes a file's header takes with these sources: its 8-byte length and the JSON, padded with spaces to a
/// multiple of 8 so that data stays aligned.
let headerRoom (sources: Source list) (metadata: (string * string) list) = roomOf (headerJson sources metadata)

/// The header's length, then the JSON padded with spaces to fill `room` bytes in all.
let private writeHeader (stream: Stream) (room: int64) (json: byte[]) =
    let header = Array.create (int (room - 8L)) (byte ' ')
    Buffer.BlockCopy(json, 0, header, 0, json.Length)
    stream.Write(BitConverter.GetBytes(uint64 header.Length), 0, 8)
    stream.Write(header, 0, header.Length)

/// Writes the header at the stream's start into `room` bytes (`headerRoom`, or more: the JSON padded with spaces to
/// fill it, which readers skip), so that a writer may put the data first and the header last, in room reserved
/// for the largest header it could need (`Dataset.writePack`).
let writeHeaderInto (stream: Stream) (room: int64) (sources: Source list) (metadata: (string * string) list) =
    let json = headerJson sources metadata
    if room % 8L <> 0L || int64 json.Length > room - 8L then
        raise (SafetensorsError(sprintf "the header needs %d bytes; room was reserved for %d" (roomOf json) room))
    stream.Position <- 0L
    writeHeader stream room json

/// Writes each source's bytes in turn from the stream's position, checked against its shape as they are written (on
/// a stream that knows its position: a file's or memory's).
let writeData (stream: Stream) (sources: Source list) =
    for e in sources do
        let before = if stream.CanSeek then stream.Position else -1L
        e.Write stream
        if before >= 0L then
            let expected, wrote = byteCount e.Shape e.DType, stream.Position - before
            if wrote <> expected then raise (SafetensorsError(sprintf "%s: shape needs %d bytes, %d were written" e.Name expected wrote))

/// Writes the header, then each source's bytes in turn (`writeData`).
let writeSourcesTo (stream: Stream) (sources: Source list) (metadata: (string * string) list) =
    let json = headerJson sources metadata
    writeHeader stream (roomOf json) json
    writeData stream sources

/// An entry as a source: its data, written as it is.
let sourceOf (e: Entry) : Source =
    { Name = e.Name; DType = e.DType; Shape = e.Shape; Write = fun stream -> stream.Write(e.Data, 0, e.Data.Length) }

/// Writes to `stream`, every entry checked against its shape before anything is written.
let writeTo (stream: Stream) (entries: Entry list) (metadata: (string * string) list) =
    for e in entries do
        let expected = byteCount e.Shape e.DType
        if expected <> int64 e.Data.Length then
            raise (SafetensorsError(sprintf "%s: shape needs %d bytes, data has %d" e.Name expected e.Data.Length))
    writeSourcesTo stream (entries |> List.map sourceOf) metadata

/// Writes whole, on the disk, or not at all (`Files.writeDurably`): a checkpoint is hours of training.
let write (path: string) (entries: Entry list) (metadata: (string * string) list) =
    Files.writeDurably path (fun fs -> writeTo fs entries metadata)

/// `write` for sources: whole, on the disk, or not at all.
let writeSources (path: string) (sources: Source list) (metadata: (string * string) list) =
    Files.writeDurably path (fun fs -> writeSourcesTo fs sources metadata)

let private failIn (path: string) msg = raise (SafetensorsError(sprintf "%s: %s" path msg))

/// The header's length from the image's first 8 bytes (`first8`), checked against its length: `parse`, `read` and
/// `readMetadata` refuse the same files with the same words.
let private headerLength (path: string) (fileLength: int64) (first8: byte[]) =
    if fileLength < 8L then failIn path "too short for a safetensors header"
    let n = BitConverter.ToUInt64(first8, 0)
    if n > uint64 (fileLength - 8L) || n > uint64 Int32.MaxValue then failIn path "header length exceeds the file"
    int n

/// The header's JSON, parsed.
let private parseHeader (path: string) (bytes: ReadOnlyMemory<byte>) =
    try JsonDocument.Parse bytes
    with :? JsonException as e -> failIn path ("header is not valid JSON: " + e.Message)

let private metadataOf (root: JsonElement) =
    match root.TryGetProperty "__metadata__" with
    | true, m -> m.EnumerateObject() |> Seq.map (fun kv -> kv.Name, kv.Value.GetString()) |> Map.ofSeq
    | _ -> Map.empty

/// A file's header length and parsed JSON (the caller disposes it), read from its first bytes alone.
let private fileHeader (path: string) (fs: FileStream) =
    let first8 = Array.zeroCreate<byte> 8
    if fs.Length >= 8L then fs.ReadExactly(first8, 0, 8)
    let header = Array.zeroCreate<byte> (headerLength path fs.Length first8)
    fs.ReadExactly(header, 0, header.Length)
    header.Length, parseHeader path (ReadOnlyMemory header)

/// Reads the metadata alone: the header's bytes, not the tensors' (a checkpoint's step and config without its
/// weights; averaging checks every checkpoint before it loads any). Errors name the file.
let readMetadata (path: string) : Map<string, string> =
    if not (File.Exists path) then failIn path "file not found"
    use fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read)
    let _, doc = fileHeader path fs
    use doc = doc
    metadataOf doc.RootElement

/// An image's header length and parsed JSON (the caller disposes it): `parse` and `parseMetadata` share it.
let private imageHeader (source: string) (bytes: byte[]) =
    let n = headerLength source bytes.LongLength bytes
    n, parseHeader source (ReadOnlyMemory(bytes, 8, n))

/// Every tensor of a parsed header: name, dtype, shape and its byte range in an image of `imageLength` bytes whose
/// data starts at `dataStart`, checked (`parse` and `read` refuse the same files with the same words).
let private tensorsOf (source: string) (doc: JsonDocument) (dataStart: int64) (imageLength: int64) =
    let fail = failIn source
    [ for p in doc.RootElement.EnumerateObject() do
          if p.Name <> "__metadata__" then
              let dtype = p.Value.GetProperty("dtype").GetString()
              let shape = [| for d in p.Value.GetProperty("shape").EnumerateArray() -> d.GetInt64() |]
              let offs = [| for d in p.Value.GetProperty("data_offsets").EnumerateArray() -> d.GetInt64() |]
              if offs.Length <> 2 || offs.[0] < 0L || offs.[1] < offs.[0] then fail (sprintf "tensor %s has a bad byte range" p.Name)
              if dataStart + offs.[1] > imageLength then
                  // The usual cause: a copy or download cut short.
                  fail (sprintf "truncated at %d bytes: tensor %s ends at byte %d" imageLength p.Name (dataStart + offs.[1]))
              let expected = (shape |> Array.fold (*) 1L) * int64 (elementSize dtype)
              if expected <> offs.[1] - offs.[0] then fail (sprintf "tensor %s: shape and byte range disagree" p.Name)
              if expected > int64 Array.MaxLength then
                  fail (sprintf "tensor %s holds %d bytes, more than one array can (%d); split it into several tensors" p.Name expected Array.MaxLength)
              yield p.Name, dtype, shape, dataStart + offs.[0], int expected ]

/// Parses a whole safetensors image held in memory: every tensor and the metadata. `source` names it in errors
/// (a file, or the model embedded in scalor-host, which needs no temporary file).
let parse (source: string) (bytes: byte[]) : Entry list * Map<string, string> =
    let n, doc = imageHeader source bytes
    use doc = doc
    let entries =
        [ for name, dtype, shape, start, length in tensorsOf source doc (8L + int64 n) bytes.LongLength ->
              { Name = name; DType = dtype; Shape = shape; Data = bytes.AsSpan(int start, length).ToArray() } ]
    entries, metadataOf doc.RootElement

/// The metadata alone of a safetensors image held in memory (`parse`'s header, no tensor copied).
let parseMetadata (source: string) (bytes: byte[]) : Map<string, string> =
    let _, doc = imageHeader source bytes
    use doc = doc
    metadataOf doc.RootElement

/// Where one tensor of a file lies: its name, dtype and shape, and its bytes' offset from the file's start and count.
type Slot =
    { Name: string
      DType: string
      Shape: int64[]
      Offset: int64
      Bytes: int }

/// Every tensor's slot and the metadata, from the header alone, checked as `read` checks them (a file cut short
/// is refused here, not halfway through reading it): for reading a tensor's parts straight into the arrays that
/// use them (a dataset's frames, one array a frame) rather than into one array first.
let readSlots (path: string) : Slot list * Map<string, string> =
    if not (File.Exists path) then failIn path "file not found"
    use fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read)
    let n, doc = fileHeader path fs
    use doc = doc
    [ for name, dtype, shape, start, length in tensorsOf path doc (8L + int64 n) fs.Length ->
          { Name = name; DType = dtype; Shape = shape; Offset = start; Bytes = length } ],
    metadataOf doc.RootElement

/// Reads every tensor and the metadata, one tensor at a time from the file: no array holds more than 2 GB, so a
/// larger file (a packed dataset of many sequences, its frames in several tensors) cannot be read whole. Errors name
/// the file.
let read (path: string) : Entry list * Map<string, string> =
    let slots, meta = readSlots path
    use fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read)
    let entries =
        [ for s in slots ->
              let data = Array.zeroCreate<byte> s.Bytes
              fs.Position <- s.Offset
              fs.ReadExactly(data, 0, s.Bytes)
              { Name = s.Name; DType = s.DType; Shape = s.Shape; Data = data } ]
    entries, meta

let ofFloats name (shape: int64[]) (values: float32[]) =
    let data = Array.zeroCreate<byte> (values.Length * 4)
    Buffer.BlockCopy(values, 0, data, 0, data.Length)
    { Name = name; DType = "F32"; Shape = shape; Data = data }

let toFloats (e: Entry) =
    if e.DType <> "F32" then raise (SafetensorsError(sprintf "%s is %s, not F32" e.Name e.DType))
    let values = Array.zeroCreate<float32> (e.Data.Length / 4)
    Buffer.BlockCopy(e.Data, 0, values, 0, e.Data.Length)
    values
