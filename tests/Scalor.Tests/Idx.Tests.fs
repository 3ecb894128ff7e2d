module Scalor.Tests.Idx

open System.IO
open Expecto
open Scalor.Worlds
open Scalor.Worlds.Idx

[<Tests>]
let tests =
    testList "Idx" [
        testCase "round-trips a small IDX file written by the test" <| fun () ->
            let dir = Directory.CreateTempSubdirectory("scalor-idx").FullName
            let images = { IdxArray.Dims = [| 3; 28; 28 |]; Data = Array.init (3 * 28 * 28) (fun i -> byte (i * 7)) }
            let labels = { IdxArray.Dims = [| 3 |]; Data = [| 5uy; 0uy; 4uy |] }
            Idx.write (Path.Combine(dir, "train-images-idx3-ubyte")) images
            Idx.write (Path.Combine(dir, "train-labels-idx1-ubyte")) labels
            let back = Idx.read (Path.Combine(dir, "train-images-idx3-ubyte"))
            Expect.equal back images "same dims and bytes"
            let header = File.ReadAllBytes(Path.Combine(dir, "train-images-idx3-ubyte")).[0..7]
            Expect.equal header [| 0uy; 0uy; 8uy; 3uy; 0uy; 0uy; 0uy; 3uy |] "big-endian magic 0x803 and count 3"
            let d = Idx.readMnist dir "train"
            Expect.equal (d.Count, d.Rows, d.Cols) (3, 28, 28) "digit set shape"
            Expect.equal d.Labels [| 5uy; 0uy; 4uy |] "labels"

        testCase "a truncated file is a clear error naming the file" <| fun () ->
            let path = Path.Combine(Directory.CreateTempSubdirectory("scalor-idx").FullName, "bad-idx")
            let bytes = Idx.toBytes { IdxArray.Dims = [| 2; 2 |]; Data = [| 1uy; 2uy; 3uy; 4uy |] }
            File.WriteAllBytes(path, bytes.[0 .. bytes.Length - 2])
            let e = Expect.throwsC (fun () -> Idx.read path |> ignore) id
            Expect.stringContains e.Message "bad-idx" "names the file"

        testCase "missing file and wrong magic are errors" <| fun () ->
            Expect.throwsT<Idx.IdxFormatError> (fun () -> Idx.read "/nonexistent/idx" |> ignore) "missing"
            let path = Path.GetTempFileName()
            File.WriteAllBytes(path, [| 1uy; 2uy; 3uy; 4uy; 5uy |])
            Expect.throwsT<Idx.IdxFormatError> (fun () -> Idx.read path |> ignore) "bad magic"

        testCase "labels and images must agree in count" <| fun () ->
            let images = { IdxArray.Dims = [| 2; 1; 1 |]; Data = [| 0uy; 0uy |] }
            let labels = { IdxArray.Dims = [| 3 |]; Data = [| 0uy; 1uy; 2uy |] }
            Expect.throwsT<Idx.IdxFormatError> (fun () -> Idx.digits images labels "i" "l" |> ignore) "count mismatch"
    ]
