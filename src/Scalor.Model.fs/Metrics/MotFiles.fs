/// MOTChallenge text files: ground truth (`gt.txt`: 9 columns for MOT16/17/20, 10 for MOT15), results
/// (`<seq>.txt`, 6 to 10 columns: frame, id, left, top, width, height, conf, x, y, z) and `seqinfo.ini`.
/// Frames and ids are 1-based. Every error names the file and the line.
module Scalor.Metrics.MotFiles

open System
open System.Globalization
open System.IO

type Row =
    { Frame: int
      Id: int
      Box: Geometry.Box
      /// GT: consider flag (0 = ignore); results: confidence.
      Flag: float
      /// GT class (1 = pedestrian / object); 1 where the format has none.
      Class: int
      /// GT visibility (MOT16/17/20 column 9: the share of the object that shows); 1 where the format has none.
      Visibility: float }

type SeqInfo =
    { Name: string
      Length: int
      Width: int
      Height: int
      /// Scalor worlds record the nominal object size; MOTChallenge files do not.
      ObjectSize: float option }

exception MotFormatError of string

let private fail (path: string) (line: int) msg =
    raise (MotFormatError(if line > 0 then sprintf "%s:%d: %s" path line msg else sprintf "%s: %s" path msg))

/// Parses a CSV (or whitespace-separated) MOT file. `isGt` selects the ground-truth column rules.
let parse (path: string) (isGt: bool) (lines: string[]) : Row[] =
    let rows = Collections.Generic.List<Row>(lines.Length)
    for li in 0 .. lines.Length - 1 do
        let line = lines.[li].Trim()
        if line.Length > 0 then
            let fields = line.Split([| ','; ' '; '\t' |], StringSplitOptions.RemoveEmptyEntries)
            if fields.Length < 6 || fields.Length > 10 then
                fail path (li + 1) (sprintf "expected 6 to 10 comma-separated columns, found %d" fields.Length)
            let num k =
                match Double.TryParse(fields.[k], NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, v when not (Double.IsNaN v) && not (Double.IsInfinity v) -> v
                | _ -> fail path (li + 1) (sprintf "column %d is not a number: '%s'" (k + 1) fields.[k])
            let whole k =
                let v = num k
                if v <> Math.Floor v then fail path (li + 1) (sprintf "column %d must be a whole number, found '%s'" (k + 1) fields.[k])
                int v
            let frame = whole 0
            if frame < 1 then fail path (li + 1) (sprintf "frame %d: frames are 1-based" frame)
            let id = whole 1
            let w, h = num 4, num 5
            if w < 0.0 || h < 0.0 then fail path (li + 1) "negative box width or height"
            let flag = if fields.Length >= 7 then num 6 else 1.0
            // MOT16/17/20 ground truth has a class in column 8 and 9 columns in all; MOT15 (10 columns)
            // has world coordinates there instead.
            let cls = if isGt && fields.Length = 9 then whole 7 else 1
            let visibility = if isGt && fields.Length = 9 then num 8 else 1.0
            rows.Add
                { Frame = frame; Id = id; Box = { Left = num 2; Top = num 3; Width = w; Height = h }; Flag = flag; Class = cls
                  Visibility = visibility }
    rows.ToArray()

let read (path: string) (isGt: bool) =
    if not (File.Exists path) then fail path 0 "file not found"
    parse path isGt (File.ReadAllLines path)

/// Reads `[Sequence]` of a seqinfo.ini.
let readSeqInfo (path: string) : SeqInfo =
    if not (File.Exists path) then fail path 0 "file not found (every sequence needs seqinfo.ini with seqLength)"
    let kv =
        File.ReadAllLines path
        |> Array.mapi (fun i l -> i + 1, l.Trim())
        |> Array.filter (fun (_, l) -> l.Contains '=' && not (l.StartsWith ';') && not (l.StartsWith '#'))
        |> Array.map (fun (i, l) ->
            let k = l.IndexOf '='
            l.Substring(0, k).Trim().ToLowerInvariant(), (i, l.Substring(k + 1).Trim()))
        |> Map.ofArray
    let int' key required =
        match kv.TryFind key with
        | Some(i, v) ->
            match Int32.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture) with
            | true, x when x >= 0 -> x
            | _ -> fail path i (sprintf "%s must be a whole number, found '%s'" key v)
        | None -> if required then fail path 0 (sprintf "missing %s" key) else 0
    { Name = (kv.TryFind "name" |> Option.map snd |> Option.defaultValue (Path.GetFileName(Path.GetDirectoryName path)))
      Length = int' "seqlength" true
      Width = int' "imwidth" false
      Height = int' "imheight" false
      ObjectSize =
        kv.TryFind "objectsize"
        |> Option.map (fun (i, v) ->
            match Double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, x when x > 0.0 -> x
            | _ -> fail path i (sprintf "objectSize must be a positive number, found '%s'" v)) }
