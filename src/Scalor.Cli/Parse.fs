/// Turns a command line into a validated command. Usage problems become one line of text; the host prints
/// it and exits with code 2.
module Scalor.Cli.Parse

open System
open Argu
open Scalor.Cli.Args
open Scalor.Worlds

type DataCommand =
    { World: World.WorldConfig
      Sequences: int
      Seed: uint64
      Out: string
      /// "train" or "test": which MNIST files digits come from.
      Split: string
      /// null: the Scalor cache.
      MnistDir: string
      WriteImages: bool }

type EvalCommand =
    { GtDir: string
      PredDir: string
      ByIou: bool
      /// NaN: the default for the matching mode.
      Threshold: float
      JsonFile: string }

type BenchCommand =
    { Target: string
      Batch: int
      Runs: int
      Threads: int
      JsonFile: string }

type Command =
    | Data of DataCommand
    | Eval of EvalCommand
    | Bench of BenchCommand

type Outcome =
    | Run of Command
    /// Help text requested; print it and exit 0.
    | Help of string
    /// One line; exit 2.
    | UsageError of string

exception private Usage of string

let private usage fmt = Printf.kprintf (fun s -> raise (Usage s)) fmt

/// "a-b" or "a" → (a, b).
let private range (what: string) (s: string) =
    let parts = s.Split('-')
    let num (p: string) =
        match Int32.TryParse p with
        | true, v when v >= 0 -> v
        | _ -> usage "--%s expects N or N-M with whole numbers, got '%s'" what s
    match parts with
    | [| a |] -> let v = num a in (v, v)
    | [| a; b |] ->
        let lo, hi = num a, num b
        if hi < lo then usage "--%s range '%s' is empty" what s
        (lo, hi)
    | _ -> usage "--%s expects N or N-M, got '%s'" what s

let private dataCommand (r: ParseResults<DataArgs>) =
    let density =
        match r.GetResult(DataArgs.Density, DensityArg.Ld) with
        | Vld -> World.vld
        | Ld -> World.ld
        | Md -> World.md
        | Hd -> World.hd
        | Vhd -> World.vhd
    let kind = match r.GetResult(DataArgs.Kind, KindArg.Dsprites) with Dsprites -> World.DSprites | KindArg.Mnist -> World.Mnist
    let background =
        match r.GetResult(DataArgs.Background, BackgroundArg.None) with
        | BackgroundArg.None -> World.NoBackground
        | Static -> World.StaticBackground
        | Dynamic -> World.DynamicBackground
    let variant =
        match r.GetResult(DataArgs.Variant, VariantArg.Standard) with
        | Standard -> World.Standard
        | Dense_Discovery -> World.DenseDiscovery
        | Overlap -> World.Overlap
    let sequences = r.GetResult DataArgs.Sequences
    if sequences < 1 then usage "--sequences must be at least 1"
    let length = r.GetResult(DataArgs.Length, 10)
    if length < 1 || length > 100000 then usage "--length must be between 1 and 100000"
    let digits =
        match r.TryGetResult DataArgs.Digits with
        | Some s ->
            let lo, hi = range "digits" s
            if hi > 9 then usage "--digits must lie in 0-9"
            [| lo .. hi |]
        | Option.None -> [| 0 .. 9 |]
    let objects = r.TryGetResult DataArgs.Objects |> Option.map (range "objects")
    let world =
        { World.defaultConfig with
            Kind = kind
            Density = density
            Background = background
            Variant = variant
            Length = length
            ObjectCount = objects
            DigitClasses = digits }
    Data
        { World = world
          Sequences = sequences
          Seed = uint64 (r.GetResult(DataArgs.Seed, 1L))
          Out = r.GetResult DataArgs.Out
          Split = (match r.GetResult(DataArgs.Split, SplitArg.Train) with SplitArg.Test -> "test" | _ -> "train")
          MnistDir = (r.TryGetResult DataArgs.Mnist_Dir |> Option.toObj)
          WriteImages = not (r.Contains DataArgs.No_Images) }

let private evalCommand (r: ParseResults<EvalArgs>) =
    let byIou = r.GetResult(EvalArgs.Match, MatchArg.Distance) = MatchArg.Iou
    let thr = r.GetResult(EvalArgs.Threshold, nan)
    if not (Double.IsNaN thr) then
        if thr <= 0.0 then usage "--threshold must be positive"
        if byIou && thr > 1.0 then usage "--threshold for IoU matching must be in (0, 1]"
    let pred =
        match r.TryGetResult EvalArgs.Pred with
        | Some p -> p
        | Option.None -> usage "eval needs --pred (a folder of <seq>.txt results)"
    Eval { GtDir = r.GetResult EvalArgs.Gt; PredDir = pred; ByIou = byIou; Threshold = thr; JsonFile = r.TryGetResult EvalArgs.Json |> Option.toObj }

let private benchCommand (r: ParseResults<BenchArgs>) =
    let runs = r.GetResult(BenchArgs.Runs, 5)
    if runs < 1 then usage "--runs must be at least 1"
    let batch = r.GetResult(BenchArgs.Batch, 16)
    if batch < 1 then usage "--batch must be at least 1"
    let threads = r.GetResult(BenchArgs.Threads, Environment.ProcessorCount)
    if threads < 1 then usage "--threads must be at least 1"
    let target =
        match r.GetResult BenchArgs.Target with
        | BenchTarget.Data -> "data"
        | Assign -> "assign"
        | BenchTarget.Train -> "train"
        | Track -> "track"
    Bench { Target = target; Batch = batch; Runs = runs; Threads = threads; JsonFile = r.TryGetResult BenchArgs.Json |> Option.toObj }

let parser = ArgumentParser.Create<HostArgs>(programName = "scalor-host")

/// Parses `argv`. Never throws for bad input.
let parse (argv: string[]) : Outcome =
    try
        let r = parser.ParseCommandLine(argv, raiseOnUsage = true)
        match r.GetSubCommand() with
        | HostArgs.Data d -> Run(dataCommand d)
        | HostArgs.Eval e -> Run(evalCommand e)
        | HostArgs.Bench b -> Run(benchCommand b)
    with
    | :? ArguParseException as e when e.ErrorCode = ErrorCode.HelpText -> Help e.Message
    | :? ArguParseException as e ->
        let first = e.Message.Split('\n') |> Array.tryHead |> Option.defaultValue "invalid arguments"
        UsageError(first.TrimEnd())
    | Usage msg -> UsageError msg
