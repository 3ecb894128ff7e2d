/// Files written whole or not at all. A run stopped, killed or out of disk while it writes leaves the file as it
/// was before (or absent), never half of it: a half-written MOTChallenge file scores as a tracker that lost every
/// object after some frame, and a half-written JSON stops the program that reads it. Each writer writes a
/// temporary file beside the target (so the rename stays on one volume) and renames it over the target; a write
/// that fails removes its temporary file.
module Scalor.IO.Files

open System
open System.IO
open System.Text

/// The temporary file a write of `path` goes through before its rename.
let temporaryOf (path: string) = path + ".tmp"

/// A file written over many calls (a frame at a time), whole or not at all: `Stream` writes its temporary file,
/// `Complete` renames it over `path`, and disposing it before `Complete` removes it.
type Whole(path: string, bufferSize: int) =
    let tmp = temporaryOf path
    let stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize)
    let mutable complete = false
    new(path: string) = new Whole(path, 4096)
    member _.Stream: Stream = stream
    /// Renames the file into place; `durable`: on the disk first, so that a power cut cannot leave the new name on
    /// empty blocks (only what would be costly to make again asks for it: the rename alone covers a process that dies).
    member _.Complete(durable: bool) =
        if durable then stream.Flush(true)
        stream.Dispose()
        File.Move(tmp, path, true)
        complete <- true
    interface IDisposable with
        member _.Dispose() =
            if not complete then
                stream.Dispose()
                try File.Delete tmp with _ -> ()

let private writeThrough (durable: bool) (path: string) (write: Stream -> unit) =
    use whole = new Whole(path)
    write whole.Stream
    whole.Complete durable

/// Writes `path` whole or not at all, with what `write` puts into the stream it is given.
let write (path: string) (write: Stream -> unit) = writeThrough false path write

/// As `write`, and on the disk before the file takes its name (checkpoints, exported models: hours of work).
let writeDurably (path: string) (write: Stream -> unit) = writeThrough true path write

let private utf8 = UTF8Encoding(false)

/// Writes `text` to `path` as UTF-8 without a byte-order mark (as `File.WriteAllText`), whole or not at all.
let writeText (path: string) (text: string) =
    write path (fun s ->
        let bytes = utf8.GetBytes text
        s.Write(bytes, 0, bytes.Length))

/// Writes `lines` to `path`, each ended by a newline, whole or not at all.
let writeLines (path: string) (lines: seq<string>) =
    write path (fun s ->
        use w = new StreamWriter(s, utf8, leaveOpen = true)
        w.NewLine <- "\n"
        for line in lines do w.WriteLine line)

/// Writes `bytes` to `path`, whole or not at all.
let writeBytes (path: string) (bytes: byte[]) = write path (fun s -> s.Write(bytes, 0, bytes.Length))
