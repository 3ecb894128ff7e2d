module Scalor.Tests.Safetensors

open System.IO
open Expecto
open Scalor.IO
open Scalor.Worlds

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
            // Only the header is read: the file cut after it still gives its metadata, while `read` refuses it.
            let cut = Path.GetTempFileName()
            File.WriteAllBytes(cut, (File.ReadAllBytes path).[.. 8 + int n - 1])
            Expect.equal (Safetensors.readMetadata cut) meta "no tensor byte read"
            let e = Expect.throwsC (fun () -> Safetensors.read cut |> ignore) id
            Expect.stringContains e.Message "truncated" "the tensors are missing: says the file is cut short"
            // Held in memory (the embedded model), the same bytes parse to the same tensors and metadata.
            let parsed, parsedMeta = Safetensors.parse "image" (File.ReadAllBytes path)
            Expect.equal parsed entries "the same tensors"
            Expect.equal parsedMeta meta "the same metadata"
            Expect.equal (Safetensors.parseMetadata "image" (File.ReadAllBytes cut)) meta "the header alone from memory"
            let e = Expect.throwsC (fun () -> Safetensors.parse "the image" (File.ReadAllBytes cut) |> ignore) id
            Expect.stringContains e.Message "the image" "names the source"

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
    ]
