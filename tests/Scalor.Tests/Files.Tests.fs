module Scalor.Tests.Files

open System
open System.IO
open Expecto
open Scalor.IO

/// A folder of its own per case: FsCheck runs a property a hundred times.
let private folder () = Directory.CreateTempSubdirectory("scalor-files").FullName

exception private DiskFull

[<Tests>]
let tests =
    testList "Files" [
        testCase "writes text, lines and bytes, replacing what was there, and leaves no temporary file" <| fun () ->
            let dir = folder ()
            let path = Path.Combine(dir, "results.txt")
            Files.writeText path "1,1,2,3,4,5\n"
            Expect.equal (File.ReadAllText path) "1,1,2,3,4,5\n" "the text"
            Files.writeLines path [ "a"; "b" ]
            Expect.equal (File.ReadAllText path) "a\nb\n" "lines, each ended by a newline, over the text"
            Files.writeBytes path [| 0xEFuy; 1uy |]
            Expect.equal (File.ReadAllBytes path) [| 0xEFuy; 1uy |] "bytes as given"
            Files.writeText path "é"
            Expect.equal (File.ReadAllBytes path) [| 0xC3uy; 0xA9uy |] "UTF-8 without a byte-order mark"
            Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName) [| "results.txt" |] "nothing beside it"

        testProperty "a write that fails part way leaves the file as it was, and no temporary file" <| fun (before: byte[]) (after: byte[]) (cut: byte) ->
            let before, after = (if isNull before then [||] else before), (if isNull after then [||] else after)
            let dir = folder ()
            let path = Path.Combine(dir, "metrics.json")
            Files.writeBytes path before
            let part = if after.Length = 0 then 0 else int cut % after.Length
            let e = Expect.throwsC (fun () -> Files.write path (fun s -> s.Write(after, 0, part); s.Flush(); raise DiskFull)) id
            Expect.isTrue (e :? DiskFull) "the writer's own exception comes through"
            Expect.equal (File.ReadAllBytes path) before "the file as it was"
            Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName) [| "metrics.json" |] "no temporary file"

        testCase "a write that fails leaves no file where there was none" <| fun () ->
            let dir = folder ()
            let path = Path.Combine(dir, "seq-0001.png")
            Expect.throwsC (fun () -> Files.writeDurably path (fun s -> s.WriteByte 7uy; raise DiskFull)) ignore
            Expect.isEmpty (Directory.GetFiles dir) "neither the file nor its temporary file"
            Files.writeDurably path (fun s -> s.WriteByte 7uy)
            Expect.equal (File.ReadAllBytes path) [| 7uy |] "a durable write that completes"

        testCase "while a write is in progress the file keeps its old content" <| fun () ->
            let dir = folder ()
            let path = Path.Combine(dir, "latents.json")
            Files.writeText path "old"
            Files.write path (fun s ->
                s.Write("new"B, 0, 3)
                s.Flush()
                Expect.equal (File.ReadAllText path) "old" "a reader in the meantime sees the old file whole")
            Expect.equal (File.ReadAllText path) "new" "then the new one"

        testCase "a second writer of a file being written is refused, and the first writes it whole" <| fun () ->
            // Two runs given one output folder: the temporary file is held exclusively (a lock on Unix too), so the
            // second stops with an IOException (the host's one-line error) instead of interleaving with the first.
            let dir = folder ()
            let path = Path.Combine(dir, "gt.txt")
            use first = new Files.Whole(path)
            first.Stream.Write("1,1"B, 0, 3)
            Expect.throwsT<IOException> (fun () -> Files.writeText path "2,2") "the second writer"
            first.Stream.Write(",5"B, 0, 2)
            first.Complete false
            Expect.equal (File.ReadAllText path) "1,1,5" "the first writer's file, whole"
            Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName) [| "gt.txt" |] "no temporary file"
    ]
