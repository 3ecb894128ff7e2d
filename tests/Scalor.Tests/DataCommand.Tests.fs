/// `scalor-host data`: what it writes, and the room it checks for before it writes any.
module Scalor.Tests.DataCommand

open System.IO
open Expecto
open Scalor.Cli
open Scalor.Host

let private dataArgs (argv: string list) =
    match Parse.parse (Array.ofList ("data" :: argv)) with
    | Parse.Run(Parse.Data d) -> d
    | other -> failtestf "unexpected %A" other

[<Tests>]
let tests =
    testList "DataCommand" [
        testCase "the room it asks for bounds what it writes, images or not, sparse or crowded, plain or textured" <| fun () ->
            for world in [ [ "--density"; "vld" ]; [ "--density"; "vhd"; "--background"; "dynamic" ]; [ "--kind"; "dsprites"; "--density"; "md"; "--size"; "96" ]
                           [ "--variant"; "dense-discovery" ] ] do
                for images in [ true; false ] do
                    CommandFiles.inTempDir "scalor-data-room" <| fun dir ->
                        let cmd = dataArgs ([ "--sequences"; "3"; "--out"; dir ] @ world @ (if images then [] else [ "--no-images" ]))
                        Expect.equal (DataCommand.Run cmd) 0 "data written"
                        let written = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories) |> Seq.sumBy (fun f -> FileInfo(f).Length)
                        let preview = FileInfo(Path.Combine(dir, "preview.png")).Length
                        let fitsIn freeDisk = try DataCommand.CheckRoom(cmd, dir, freeDisk, System.Int64.MaxValue); true with :? UserError -> false
                        // The check never lets through a disk too small for what was written, nor asks for much more.
                        Expect.isFalse (fitsIn (written - preview - 1L)) (sprintf "%A, images %b: %d bytes written, and a byte less is refused" world images written)
                        Expect.isTrue (fitsIn (3L * written)) (sprintf "%A, images %b: three times the %d bytes written suffice" world images written)
                        Expect.isGreaterThan (written - preview) (DataCommand.FrameBytes cmd) "the pack alone holds the raw frames"

        testCase "a dataset the disk or memory cannot hold is refused in one line, naming the remedies" <| fun () ->
            let cmd = dataArgs [ "--sequences"; "20000"; "--out"; "big" ]
            Expect.equal (DataCommand.FrameBytes cmd) 2_457_600_000L "20,000 LD sequences of 10 frames: 2.5 GB of frames"
            let refusal freeDisk memoryLimit =
                try DataCommand.CheckRoom(cmd, "big", freeDisk, memoryLimit); "" with :? UserError as e -> e.Message
            let disk = refusal 3_000_000_000L 100_000_000_000L
            for part in [ "20000 sequences"; "GB"; "--no-images"; "--sequences" ] do Expect.stringContains disk part "the disk: frames and images"
            Expect.isFalse (disk.Contains '\n') "one line"
            Expect.equal (refusal 6_000_000_000L 100_000_000_000L) "" "the pack, its images and the truth fit in 6 GB"
            // The frames go to the pack as each sequence is made: memory holds the truth alone (at most 11 rows a
            // frame, 148 bytes a row bound: 0.33 GB), not the 2.5 GB of frames.
            Expect.equal (DataCommand.TruthBytes cmd) (20_000L * 10L * 11L * 148L) "the truth's bound"
            let memory = refusal 100_000_000_000L 300_000_000L
            Expect.stringContains memory "of memory for their ground truth" "memory: the truth"
            Expect.isFalse (memory.Contains '\n') "one line"
            Expect.equal (refusal 100_000_000_000L 400_000_000L) "" "the truth fits in 0.4 GB: the frames are not held"
            let many = dataArgs [ "--sequences"; "16777217"; "--no-images"; "--out"; "big" ]
            let index = try DataCommand.CheckRoom(many, "big", System.Int64.MaxValue, System.Int64.MaxValue); "" with :? UserError as e -> e.Message
            Expect.stringContains index "more than one pack indexes (16,777,216 sequences" "the truth names sequences in float32"
            let noImages = { cmd with WriteImages = false }
            Expect.throwsT<UserError> (fun () -> DataCommand.CheckRoom(noImages, "big", 2_000_000_000L, 100_000_000_000L)) "the pack alone needs 2.5 GB"
            DataCommand.CheckRoom(noImages, "big", 3_000_000_000L, 100_000_000_000L)
    ]
