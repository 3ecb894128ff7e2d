/// JSON has no NaN: the host's JSON files write a number that is not finite as null, and read null back as NaN.
module Scalor.Tests.FiniteOrNullTests

open System
open System.IO
open System.Text.Json
open Expecto
open Scalor.Host

let private options = FiniteOrNull.With(JsonSerializerOptions())

[<Tests>]
let tests =
    testList "FiniteOrNull" [
        testCase "metrics with NaN and infinities are written, as null, beside the finite ones" <| fun () ->
            let path = Path.Combine(Directory.CreateTempSubdirectory("scalor-json").FullName, "metrics.json")
            let metrics = Collections.Generic.Dictionary<string, obj>()
            metrics.["mse"] <- box nan
            metrics.["mota"] <- box 0.925
            metrics.["nll"] <- box Double.NegativeInfinity
            metrics.["runs"] <- box [| 1.5f; Single.PositiveInfinity |]
            BenchCommand.WriteJson(path, metrics)
            use doc = JsonDocument.Parse(File.ReadAllText path)
            let root = doc.RootElement
            Expect.equal (root.GetProperty("mse").ValueKind) JsonValueKind.Null "NaN"
            Expect.equal (root.GetProperty("nll").ValueKind) JsonValueKind.Null "−∞"
            Expect.equal (root.GetProperty("mota").GetDouble()) 0.925 "a finite value as it was"
            Expect.equal [ for e in root.GetProperty("runs").EnumerateArray() -> e.ValueKind ] [ JsonValueKind.Number; JsonValueKind.Null ] "floats too"

        testCase "null reads back as NaN" <| fun () ->
            let back = JsonSerializer.Deserialize<double[]>("[null, 2.5]", options)
            Expect.isTrue (Double.IsNaN back.[0]) "null is NaN"
            Expect.equal back.[1] 2.5 "a number as written"
            Expect.isTrue (Single.IsNaN (JsonSerializer.Deserialize<float32[]>("[null]", options)).[0]) "single precision too"

        testProperty "every finite double and float reads back exactly" <| fun (d: float) (f: float32) ->
            (not (Double.IsFinite d) || JsonSerializer.Deserialize<float>(JsonSerializer.Serialize(d, options), options) = d)
            && (not (Single.IsFinite f) || JsonSerializer.Deserialize<float32>(JsonSerializer.Serialize(f, options), options) = f)
    ]
