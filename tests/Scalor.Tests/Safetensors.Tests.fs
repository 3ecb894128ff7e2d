module Scalor.Tests.Safetensors

open System.IO
open Expecto
open Scalor.IO
open Scalor.Worlds

/// Each sequence's frames as one array a frame.
let private framesOf (seqs: World.Sequence[]) =
    [| for s in seqs -> [| for t in 0 .. s.Length - 1 -> s.Frames.[t * s.Frames.Length / s.Length .. (t + 1) * s.Frames.Length / s.Length - 1] |] |]

[<Tests>]
let tests =
    testList "Safetensors" [
        testCase "round-trips tensors and metadata, header aligned to 8 bytes" <| fun () ->
            let path = Path.GetTempFileName()
            let f = Safetensors.ofFloats "w" [| 2L; 3L |] [| 1f; 2f; 3f; 4f; 5f; -6.5f |]
            let u = ({ Name = "u"; DType = "U8"; Shape = [| 3L |]; Data = [| 7uy; 8uy; 9uy |] }: Safetensors.Entry)
            Safetensors.write path [ f; u ] [ ("k", "v") ]
            let entries, meta = Safetensors.read path
            Expect.equal meta (Map [ ("k", "v") ]) "metadata"
            Expect.equal (entries |> List.find (fun e -> e.Name = "w") |> Safetensors.toFloats) [| 1f; 2f; 3f; 4f; 5f; -6.5f |] "floats"
            Expect.equal (entries |> List.find (fun e -> e.Name = "u")).Data [| 7uy; 8uy; 9uy |] "bytes"
            let n = System.BitConverter.ToUInt64(File.ReadAllBytes path, 0)
            Expect.equal (n % 8UL) 0UL "aligned header"
            Expect.equal (Safetensors.readMetadata path) meta "the header alone gives the same metadata"
            let slots, slotMeta = Safetensors.readSlots path
            Expect.equal slotMeta meta "the slots' metadata"
            let bytes = File.ReadAllBytes path
            for s in slots do
                let e = entries |> List.find (fun e -> e.Name = s.Name)
                Expect.equal (s.DType, s.Shape) (e.DType, e.Shape) (sprintf "%s: dtype and shape" s.Name)
                Expect.equal bytes.[int s.Offset .. int s.Offset + s.Bytes - 1] e.Data (sprintf "%s: its bytes lie where its slot says" s.Name)
            // Only the header is read: the file cut after it still gives its metadata, while `read` refuses it.
            let cut = Path.GetTempFileName()
            File.WriteAllBytes(cut, (File.ReadAllBytes path).[.. 8 + int n - 1])
            Expect.equal (Safetensors.readMetadata cut) meta "no tensor byte read"
            let e = Expect.throwsC (fun () -> Safetensors.read cut |> ignore) id
            Expect.stringContains e.Message "truncated" "the tensors are missing: says the file is cut short"
            let e = Expect.throwsC (fun () -> Safetensors.readSlots cut |> ignore) id
            Expect.stringContains e.Message "truncated" "the slots alone: refused from the header"
            // Held in memory (the embedded model), the same bytes parse to the same tensors and metadata.
            let parsed, parsedMeta = Safetensors.parse "image" (File.ReadAllBytes path)
            Expect.equal parsed entries "the same tensors"
            Expect.equal parsedMeta meta "the same metadata"
            Expect.equal (Safetensors.parseMetadata "image" (File.ReadAllBytes cut)) meta "the header alone from memory"
            let e = Expect.throwsC (fun () -> Safetensors.parse "the image" (File.ReadAllBytes cut) |> ignore) id
            Expect.stringContains e.Message "the image" "names the source"

        testCase "a source that writes other than its shape's bytes is an error, and the file is not written" <| fun () ->
            let path = Path.Combine(Path.GetTempPath(), sprintf "scalor-source-%d.safetensors" (System.Random.Shared.Next()))
            let short : Safetensors.Source = { Name = "f"; DType = "F32"; Shape = [| 3L |]; Write = fun s -> s.Write(Array.zeroCreate<byte> 8, 0, 8) }
            let e = Expect.throwsC (fun () -> Safetensors.writeSources path [ short ] []) id
            Expect.stringContains e.Message "f: shape needs 12 bytes, 8 were written" "names the tensor and both counts"
            Expect.isFalse (File.Exists path) "nothing written"
            Expect.isFalse (File.Exists(Scalor.IO.Files.temporaryOf path)) "no temporary file left"
            let exact : Safetensors.Source = { short with Write = fun s -> s.Write(Array.zeroCreate<byte> 12, 0, 12) }
            Safetensors.writeSources path [ exact ] [ ("k", "v") ]
            let entries, meta = Safetensors.read path
            Expect.equal (entries, meta) ([ ({ Name = "f"; DType = "F32"; Shape = [| 3L |]; Data = Array.zeroCreate 12 }: Safetensors.Entry) ], Map [ ("k", "v") ]) "written as an entry of those bytes would be"
            File.Delete path

        testCase "a corrupt file is a clear error" <| fun () ->
            let path = Path.GetTempFileName()
            File.WriteAllBytes(path, Array.append (System.BitConverter.GetBytes 4UL) "{{{{"B)
            Expect.throwsT<Safetensors.SafetensorsError> (fun () -> Safetensors.read path |> ignore) "bad JSON"
            Expect.throwsT<Safetensors.SafetensorsError> (fun () -> Safetensors.readMetadata path |> ignore) "bad JSON, header alone"
            File.WriteAllBytes(path, Array.append (System.BitConverter.GetBytes 400UL) "{}"B)
            for readIt in [ (fun p -> Safetensors.read p |> ignore); (fun p -> Safetensors.readMetadata p |> ignore) ] do
                let e = Expect.throwsC (fun () -> readIt path) id
                Expect.stringContains e.Message "exceeds the file" "a header longer than the file"
                Expect.stringContains e.Message path "names the file"
            File.WriteAllBytes(path, [| 1uy; 2uy |])
            Expect.throwsT<Safetensors.SafetensorsError> (fun () -> Safetensors.readMetadata path |> ignore) "too short"

        testCase "a dataset pack round-trips frames and truth" <| fun () ->
            let w = World.create World.defaultConfig None
            let seqs = Array.init 3 (fun i -> World.sequence w (World.sequenceSeed 2UL i))
            let path = Path.GetTempFileName()
            Safetensors.write path (Dataset.pack seqs) []
            let back, _ = Dataset.unpack path
            for i in 0 .. 2 do
                Expect.equal back.[i].Frames seqs.[i].Frames "frames"
                Expect.equal back.[i].Truth seqs.[i].Truth "truth"
                Expect.equal back.[i].ObjectCount seqs.[i].ObjectCount "objects"
            let pack = Dataset.framesOf path
            Expect.equal (pack.Sequences, pack.Length, pack.Side) (3, 10, 64) "the header's sequences, length and side"
            Expect.equal (pack.Read()) (framesOf seqs) "the frames alone, one array a frame, as the sequences hold them"
            let names = Dataset.pack seqs |> List.map (fun e -> e.Name)
            Expect.equal names [ "frames"; "truth"; "objects" ] "within the limit: one tensor each, the layout before parts"
            File.Delete path

        testCase "a pack beyond one tensor's limit splits frames and truth into parts of whole sequences and rows" <| fun () ->
            let w = World.create World.defaultConfig None
            let seqs = Array.init 11 (fun i -> World.sequence w (World.sequenceSeed 3UL i))
            let frameBytes = int64 seqs.[0].Frames.Length
            let rows = seqs |> Array.sumBy (fun s -> s.Truth.Length)
            let path = Path.GetTempFileName()
            let roundTrip (entries: Safetensors.Entry list) what =
                Safetensors.write path entries []
                let back, _ = Dataset.unpack path
                Expect.equal back.Length 11 (sprintf "%s: every sequence" what)
                for i in 0 .. 10 do
                    Expect.equal back.[i].Frames seqs.[i].Frames (sprintf "%s: sequence %d's frames" what i)
                    Expect.equal back.[i].Truth seqs.[i].Truth (sprintf "%s: sequence %d's truth" what i)
                    Expect.equal back.[i].ObjectCount seqs.[i].ObjectCount (sprintf "%s: sequence %d's objects" what i)
                Expect.equal ((Dataset.framesOf path).Read()) (framesOf seqs) (sprintf "%s: the frames alone" what)
                // Frames read where they lie, in any order and across parts: sequence 5 is in the third part of two.
                let pack = Dataset.framesOf path
                let fb = pack.FrameBytes
                for s in [ 0; 5; 10 ] do
                    let dest = Array.zeroCreate<byte> (3 * fb)
                    pack.ReadFrames(s, [| 9; 0; 3 |], dest)
                    let want = Array.concat [ for t in [ 9; 0; 3 ] -> seqs.[s].Frames.[t * fb .. (t + 1) * fb - 1] ]
                    Expect.equal dest want (sprintf "%s: frames 9, 0 and 3 of sequence %d" what s)
            let partsOf (entries: Safetensors.Entry list) prefix =
                entries |> List.filter (fun e -> e.Name.StartsWith(prefix: string)) |> List.map (fun e -> e.Name, e.Shape.[0])
            // The limit at 2.5 sequences' frames: parts of 2, 2, 2, 2, 2 and 1 sequences, each within it.
            let byFrames = Dataset.packInChunks (frameBytes * 5L / 2L) seqs
            Expect.equal (partsOf byFrames "frames") [ for k in 0 .. 5 -> sprintf "frames.%d" k, (if k < 5 then 2L else 1L) ] "frames: whole sequences, in order"
            Expect.equal (partsOf byFrames "truth") [ "truth", int64 rows ] "truth within the limit stays one tensor"
            for e in byFrames do Expect.isLessThanOrEqual (int64 e.Data.Length) (frameBytes * 5L / 2L) (sprintf "%s within the limit" e.Name)
            roundTrip byFrames "frames in parts"
            // The limit at 300 truth rows: the rows in parts of 300, and a sequence's frames, larger, one a part.
            let byRows = Dataset.packInChunks (300L * 48L) seqs
            let truthParts = partsOf byRows "truth"
            Expect.equal truthParts.Length ((rows + 299) / 300) (sprintf "%d rows in parts of 300" rows)
            Expect.equal (truthParts |> List.sumBy snd) (int64 rows) "every truth row once"
            Expect.equal (partsOf byRows "frames").Length 11 "at least one sequence a part"
            roundTrip byRows "truth in parts"
            // A part missing is a pack cut short, not fewer sequences: the truth names a sequence that is not there.
            Safetensors.write path (byFrames |> List.filter (fun e -> e.Name <> "frames.5")) []
            let e = Expect.throwsC (fun () -> Dataset.unpack path |> ignore) id
            Expect.stringContains e.Message path "names the file"
            let e = Expect.throwsC (fun () -> Dataset.framesOf path |> ignore) id
            Expect.stringContains e.Message path "the frames alone: names the file"
            Expect.stringContains e.Message "objects holds" "the frames alone: ten sequences' frames for eleven sequences' objects"
            File.Delete path

        testCase "a pack written while its sequences are made, in any order, reads back as the pack of those sequences" <| fun () ->
            let w = World.create World.defaultConfig None
            let seqs = Array.init 7 (fun i -> World.sequence w (World.sequenceSeed 5UL i))
            let rows = seqs |> Array.sumBy (fun s -> s.Truth.Length)
            let frameBytes = int64 seqs.[0].Frames.Length
            let dir = Directory.CreateTempSubdirectory "scalor-writepack"
            let made = Path.Combine(dir.FullName, "made.safetensors")
            let whole = Path.Combine(dir.FullName, "whole.safetensors")
            let meta = [ "kind", "dsprites" ]
            let writeMade bound maxBytes =
                Dataset.writePack made 7 10 64 bound maxBytes meta (fun put ->
                    System.Threading.Tasks.Parallel.For(0, 7, fun k -> put (6 - k) seqs.[6 - k]) |> ignore)
            // At the rows' own count and within one tensor: the file `packSources` writes, to the byte.
            writeMade rows Dataset.chunkBytes
            Safetensors.writeSources whole (Dataset.packSources Dataset.chunkBytes seqs) meta
            Expect.equal (File.ReadAllBytes made) (File.ReadAllBytes whole) "the same bytes as the pack written from the sequences held"
            // Room for ten times the rows, and frames and truth in parts: a longer header, the same pack.
            writeMade (10 * rows) (frameBytes * 3L)
            let back, readMeta = Dataset.unpack made
            Expect.equal (Map.toList readMeta) meta "the metadata"
            for i in 0 .. 6 do
                Expect.equal back.[i].Frames seqs.[i].Frames (sprintf "sequence %d's frames" i)
                Expect.equal back.[i].Truth seqs.[i].Truth (sprintf "sequence %d's truth" i)
                Expect.equal back.[i].ObjectCount seqs.[i].ObjectCount (sprintf "sequence %d's objects" i)
            Expect.equal ((Dataset.framesOf made).Read()) (framesOf seqs) "its frames alone"
            let names = fst (Safetensors.readSlots made) |> List.map (fun e -> e.Name)
            Expect.contains names "frames.2" "frames in parts of three sequences"
            // A sequence not made, or more rows than the room reserved: an error, and no file, temporary or not.
            File.Delete made
            Expect.throwsT<System.InvalidOperationException> (fun () ->
                Dataset.writePack made 7 10 64 rows Dataset.chunkBytes meta (fun put -> for i in 0 .. 5 do put i seqs.[i])) "sequence 6 not made"
            let e = Expect.throwsC (fun () ->
                        Dataset.writePack made 7 10 64 0 Dataset.chunkBytes meta (fun put -> for i in 0 .. 6 do put i seqs.[i])) id
            Expect.stringContains e.Message "room was reserved" "a header that outgrows its room"
            Expect.isFalse (File.Exists made || File.Exists(made + ".tmp")) "no file left"
            dir.Delete true

        testCase "a pack's frames are read from the file it was opened as: a frame out of range, a file cut or written again is refused" <| fun () ->
            let w = World.create World.defaultConfig None
            let seqs = Array.init 3 (fun i -> World.sequence w (World.sequenceSeed 4UL i))
            let path = Path.GetTempFileName()
            Safetensors.write path (Dataset.pack seqs) []
            let pack = Dataset.framesOf path
            let dest = Array.zeroCreate<byte> pack.FrameBytes
            Expect.throwsT<System.ArgumentOutOfRangeException> (fun () -> pack.ReadFrames(3, [| 0 |], dest)) "sequence 3 of 3"
            Expect.throwsT<System.ArgumentOutOfRangeException> (fun () -> pack.ReadFrames(0, [| 10 |], dest)) "frame 10 of 10"
            Expect.throwsT<System.ArgumentException> (fun () -> pack.ReadFrames(0, [| 0; 1 |], dest)) "two frames for one frame's bytes"
            pack.ReadFrames(2, [| 9 |], dest)
            Expect.equal dest seqs.[2].Frames.[9 * dest.Length ..] "the last frame, read whole"
            // Cut short after its header was read: the length differs.
            let whole = File.ReadAllBytes path
            File.WriteAllBytes(path, whole.[.. whole.Length - 100])
            let e = Expect.throwsC (fun () -> pack.ReadFrames(2, [| 9 |], dest)) id
            Expect.stringContains e.Message path "names the file"
            Expect.stringContains e.Message "written again since training opened it" "says what happened"
            // The same bytes written again later: the time differs.
            File.WriteAllBytes(path, whole)
            File.SetLastWriteTimeUtc(path, System.DateTime.UtcNow.AddMinutes 1.0)
            let e = Expect.throwsC (fun () -> pack.ReadFrames(0, [| 0 |], dest)) id
            Expect.stringContains e.Message "leave the file as it is until the run ends" "says what to do"
            Expect.equal ((Dataset.framesOf path).Read()) (framesOf seqs) "opened again, it reads"
            File.Delete path
    ]
