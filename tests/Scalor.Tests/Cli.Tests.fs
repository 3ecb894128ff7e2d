module Scalor.Tests.Cli

open Expecto
open Scalor.Cli.Parse

[<Tests>]
let tests =
    testList "Cli" [
        testCase "data command parses into a world config" <| fun () ->
            match parse [| "data"; "--kind"; "mnist"; "--density"; "vhd"; "--sequences"; "3"; "--out"; "x"; "--digits"; "0-5"; "--objects"; "50-60" |] with
            | Run(Data d) ->
                Expect.equal d.World.Density.Name "vhd" "density"
                Expect.equal d.World.DigitClasses [| 0 .. 5 |] "digits"
                Expect.equal d.World.ObjectCount (Some(50, 60)) "objects"
                Expect.equal d.Sequences 3 "sequences"
                Expect.equal d.World.ViewSize 64 "the paper's frames by default"
            | other -> failtestf "unexpected %A" other
            match parse [| "data"; "--size"; "112"; "--sequences"; "1"; "--out"; "x" |] with
            | Run(Data d) -> Expect.equal (d.World.ViewSize, d.World.ObjectCount) (112, Some(24, 34)) "LD's 8 to 11 objects per 64×64, per area"
            | other -> failtestf "unexpected %A" other
            match parse [| "data"; "--size"; "128"; "--objects"; "5-6"; "--sequences"; "1"; "--out"; "x" |] with
            | Run(Data d) -> Expect.equal d.World.ObjectCount (Some(5, 6)) "--objects as given"
            | other -> failtestf "unexpected %A" other

        testCase "a generated sequence over 2 GB is refused before any work" <| fun () ->
            for argv, remedy in [ [| "data"; "--sequences"; "1"; "--out"; "x"; "--size"; "1024"; "--length"; "1000" |], "--size"
                                  [| "track"; "--out"; "o"; "--length"; "200000" |], "--length" ] do
                match parse argv with
                | UsageError m ->
                    Expect.stringContains m "GB" (sprintf "says how large for %A" argv)
                    Expect.stringContains m remedy (sprintf "names %s for %A" remedy argv)
                | other -> failtestf "expected a usage error for %A, got %A" argv other
            match parse [| "data"; "--sequences"; "1"; "--out"; "x"; "--size"; "1024"; "--length"; "600" |] with
            | Run(Data d) -> Expect.equal d.World.Length 600 "1.9 GB a sequence still fits"
            | other -> failtestf "unexpected %A" other

        testCase "usage errors are one line" <| fun () ->
            for argv in [ [| "data"; "--density"; "xxl"; "--sequences"; "1"; "--out"; "x" |]
                          [| "data"; "--out"; "x" |]
                          [| "frobnicate" |]
                          [| "data"; "--sequences"; "0"; "--out"; "x" |]
                          [| "data"; "--sequences"; "1"; "--out"; "x"; "--digits"; "3-12" |]
                          [| "data"; "--sequences"; "1"; "--out"; "x"; "--size"; "8" |]
                          [| "eval"; "--gt"; "g"; "--pred"; "p"; "--backfill" |]
                          [| "track"; "--out"; "o"; "--runtime"; "onnx"; "--live" |] ] do
                match parse argv with
                | UsageError line ->
                    Expect.isFalse (line.Contains "\n") (sprintf "one line: %s" line)
                    Expect.isFalse (line.StartsWith "ERROR") (sprintf "no shouted prefix: %s" line)
                    Expect.isFalse (line.EndsWith ".") (sprintf "no full stop before the hint that follows: %s" line)
                | other -> failtestf "expected a usage error for %A, got %A" argv other

        testCase "--version and -V ask for the version, alone or before a command; no command at all is a usage error" <| fun () ->
            for argv in [ [| "--version" |]; [| "-V" |]; [| "--version"; "track"; "--out"; "o" |] ] do
                Expect.equal (parse argv) Version (sprintf "%A" argv)
            match parse [||] with
            | UsageError line -> Expect.stringContains line "no command given" "names the problem"
            | other -> failtestf "unexpected %A" other
            match parse [| "track"; "--out"; "o"; "--version" |] with
            | UsageError _ -> ()
            | other -> failtestf "a command's options do not include --version: %A" other

        testCase "the version line names this build's version for the host and the model library, and the libraries'" <| fun () ->
            let line = Scalor.Host.Program.VersionLine()
            let model = typeof<Scalor.Model.Config.ScalorConfig>.Assembly.GetName().Version
            let version = sprintf "%d.%d.%d" model.Major model.Minor model.Build
            Expect.stringStarts line ("scalor-host " + version) "the host's version first"
            Expect.stringContains line ("(Scalor.Model " + version) "the model library's, the same"
            Expect.isMatch line @"TorchSharp \d+\.\d+\.\d+" "TorchSharp's"
            Expect.isMatch line @"ONNX Runtime \d+\.\d+\.\d+" "ONNX Runtime's"
            Expect.isFalse (line.Contains "\n") "one line"

        testCase "an option with one value given twice is a usage error naming it; the repeatable ones are lists" <| fun () ->
            let commands : (string * Argu.ArgumentParser) list =
                [ "data", Argu.ArgumentParser.Create<Scalor.Cli.Args.DataArgs>()
                  "train", Argu.ArgumentParser.Create<Scalor.Cli.Args.TrainArgs>()
                  "track", Argu.ArgumentParser.Create<Scalor.Cli.Args.TrackArgs>()
                  "generate", Argu.ArgumentParser.Create<Scalor.Cli.Args.GenerateArgs>()
                  "eval", Argu.ArgumentParser.Create<Scalor.Cli.Args.EvalArgs>()
                  "bench", Argu.ArgumentParser.Create<Scalor.Cli.Args.BenchArgs>()
                  "export", Argu.ArgumentParser.Create<Scalor.Cli.Args.ExportArgs>()
                  "average", Argu.ArgumentParser.Create<Scalor.Cli.Args.AverageArgs>() ]
            let host = Argu.ArgumentParser.Create<Scalor.Cli.Args.HostArgs>()
            Expect.equal (List.length commands) (host.GetSubCommandParsers().Length) "every command checked"
            let repeatable = set [ "train --density"; "train --set"; "train --only"; "train --crop"; "eval --crop"; "bench --set"; "average --only" ]
            // A value the option accepts: the first case of a choice, as Argu spells it on the command line.
            let valueOf (t: System.Type) =
                if t = typeof<int> || t = typeof<int64> then "2"
                elif t = typeof<float> then "0.5"
                elif t = typeof<string> then "a"
                elif Microsoft.FSharp.Reflection.FSharpType.IsUnion t then
                    (Microsoft.FSharp.Reflection.FSharpType.GetUnionCases t).[0].Name.ToLowerInvariant().Replace('_', '-')
                else failtestf "no sample value for %s" t.Name
            let mutable once = 0
            for cmd, parser in commands do
                for c in parser.GetArgumentCases() do
                    let fields = c.UnionCaseInfo.GetFields()
                    if not c.IsMainCommand && fields.Length = 1 then
                        let name = List.head c.CommandLineNames.Value
                        if repeatable.Contains(cmd + " " + name) then
                            Expect.isFalse c.IsUnique.Value (sprintf "%s %s repeats" cmd name)
                        else
                            let v = valueOf fields.[0].PropertyType
                            match parse [| cmd; name; v; name; v |] with
                            | UsageError m ->
                                Expect.stringContains m name (sprintf "%s %s twice: names the option" cmd name)
                                Expect.stringContains m "more than once" (sprintf "%s %s twice: says so" cmd name)
                                once <- once + 1
                            | other -> failtestf "%s %s given twice: expected a usage error, got %A" cmd name other
            Expect.isGreaterThan once 80 "every command's valued options checked"
            match parse [| "track"; "--out"; "o"; "--latents"; "--latents" |] with
            | Run(Track _) -> ()
            | other -> failtestf "a flag twice means what it means once: %A" other

        testCase "help is help, not an error" <| fun () ->
            match parse [| "data"; "--help" |] with
            | Help text -> Expect.stringContains text "--sequences" "lists options"
            | other -> failtestf "unexpected %A" other
    
        testCase "export and the ONNX runtime options parse; a bad capacity is a usage error" <| fun () ->
            match parse [| "export"; "--out"; "m.onnx"; "--capacity"; "100"; "--render" |] with
            | Run(Export e) ->
                Expect.equal (e.Out, e.Capacity, e.Render, e.Model, e.WeightsOnly) ("m.onnx", Some 100, true, null, false) "export"
            | other -> failtestf "unexpected %A" other
            match parse [| "export"; "--model"; "c.safetensors"; "--duplicate-share"; "0.8"; "--weights-only"; "--out"; "w.safetensors" |] with
            | Run(Export e) -> Expect.equal (e.Model, e.DuplicateShare, e.WeightsOnly) ("c.safetensors", Some 0.8, true) "a weights-only copy"
            | other -> failtestf "unexpected %A" other
            match parse [| "track"; "--out"; "o"; "--runtime"; "onnx"; "--provider"; "directml" |] with
            | Run(Track t) -> Expect.equal (t.Runtime, t.Provider, t.Capacity) ("onnx", "directml", None) "track on ONNX Runtime: the model's capacity"
            | other -> failtestf "unexpected %A" other
            match parse [| "track"; "--input"; "v.avi"; "--crop"; "tiles:288"; "--live"; "--out"; "o" |], parse [| "track"; "--input"; "v.avi"; "--out"; "o"; "--live" |] with
            | Run(Track a), Run(Track b) -> Expect.equal (a.Live, b.Live, b.Crop) (true, true, None) "--live; tiles may come from the model's record"
            | other -> failtestf "unexpected %A" other
            for argv, says in [ [| "track"; "--out"; "o"; "--live" |], "--input"
                                [| "track"; "--input"; "v.avi"; "--out"; "o"; "--live"; "--backfill" |], "cannot go back"
                                [| "track"; "--input"; "v.avi"; "--out"; "o"; "--live"; "--crop"; "centre" |], "tiles:S" ] do
                match parse argv with
                | UsageError line -> Expect.stringContains line says (sprintf "%A: %s" argv line)
                | other -> failtestf "expected a usage error for %A, got %A" argv other
            match parse [| "track"; "--out"; "o"; "--backfill" |], parse [| "track"; "--out"; "o" |], parse [| "eval"; "--data"; "d"; "--backfill" |] with
            | Run(Track a), Run(Track b), Run(Eval e) -> Expect.equal (a.Backfill, b.Backfill, e.Backfill) (true, false, true) "--backfill on request only"
            | other -> failtestf "unexpected %A" other
            match parse [| "export"; "--out"; "m.onnx"; "--rejection"; "official" |], parse [| "track"; "--out"; "o" |],
                  parse [| "generate"; "--out"; "o"; "--rejection"; "extended" |] with
            | Run(Export e), Run(Track t), Run(Generate g) ->
                Expect.equal (e.DuplicateShare, t.DuplicateShare, g.DuplicateShare)
                    (Some Scalor.Model.Discovery.noDuplicateTest, None, Some 0.3)
                    "official on request; nothing asked leaves it to the checkpoint; extended alone is the default share"
            | other -> failtestf "unexpected %A" other
            match parse [| "track"; "--out"; "o"; "--duplicate-share"; "0.8" |], parse [| "eval"; "--data"; "d"; "--duplicate-share"; "0.5" |] with
            | Run(Track t), Run(Eval e) -> Expect.equal (t.DuplicateShare, e.DuplicateShare) (Some 0.8, Some 0.5) "the share reaches track and eval"
            | other -> failtestf "unexpected %A" other
            for bad in [ [| "track"; "--out"; "o"; "--duplicate-share"; "0" |]; [| "generate"; "--out"; "o"; "--duplicate-share"; "1.5" |]
                         [| "export"; "--out"; "m.onnx"; "--rejection"; "official"; "--duplicate-share"; "0.5" |] ] do
                match parse bad with
                | UsageError m -> Expect.stringContains m "--duplicate-share" "names the option"
                | other -> failtestf "unexpected %A for %A" other bad
            match parse [| "track"; "--out"; "o"; "--explained-share"; "0.7" |], parse [| "eval"; "--data"; "d"; "--explained-share"; "0.5"; "--rejection"; "official" |],
                  parse [| "generate"; "--out"; "o" |] with
            | Run(Track t), Run(Eval e), Run(Generate g) ->
                Expect.equal (t.ExplainedShare, e.ExplainedShare, g.ExplainedShare) (Some 0.7, Some 0.5, None) "the explained share reaches the commands; none asked leaves it to the checkpoint"
            | other -> failtestf "unexpected %A" other
            for bad in [ [| "track"; "--out"; "o"; "--explained-share"; "0" |]; [| "export"; "--out"; "m.onnx"; "--explained-share"; "1.2" |] ] do
                match parse bad with
                | UsageError m -> Expect.stringContains m "--explained-share" "names the option"
                | other -> failtestf "unexpected %A for %A" other bad
            match parse [| "track"; "--out"; "o" |], parse [| "track"; "--out"; "o"; "--boxes"; "glimpse" |] with
            | Run(Track m), Run(Track g) -> Expect.equal (m.MaskBoxes, g.MaskBoxes) (true, false) "mask boxes by default; --boxes glimpse reports z_where windows"
            | other -> failtestf "unexpected %A" other
            match parse [| "generate"; "--out"; "o" |], parse [| "generate"; "--out"; "o"; "--boxes"; "glimpse" |] with
            | Run(Generate m), Run(Generate g) -> Expect.equal (m.MaskBoxes, g.MaskBoxes) (true, false) "generate draws mask boxes by default, as track"
            | other -> failtestf "unexpected %A" other
            match parse [| "eval"; "--gt"; "g"; "--pred"; "p"; "--min-gt-visibility"; "0.5" |], parse [| "eval"; "--data"; "d" |] with
            | Run(Eval s), Run(Eval d) -> Expect.equal (s.MinGtVisibility, d.MinGtVisibility) (0.5, 0.0) "the floor reaches eval; default 0 scores every row"
            | other -> failtestf "unexpected %A" other
            for bad in [ [| "eval"; "--gt"; "g"; "--pred"; "p"; "--min-gt-visibility"; "1.5" |]; [| "eval"; "--data"; "d"; "--min-gt-visibility"; "-0.1" |] ] do
                match parse bad with
                | UsageError m -> Expect.stringContains m "--min-gt-visibility" "names the option"
                | other -> failtestf "unexpected %A for %A" other bad
            match parse [| "eval"; "--gt"; "g"; "--pred"; "p"; "--baseline"; "b"; "--resamples"; "500"; "--seed"; "7"; "--interval"; "percentile" |], parse [| "eval"; "--data"; "d" |] with
            | Run(Eval s), Run(Eval d) ->
                Expect.equal (s.Baseline, s.Resamples, s.BootstrapSeed, s.IntervalMethod) ("b", 500, 7UL, Scalor.Metrics.Bootstrap.Percentile) "the comparison and the draws reach eval"
                Expect.equal (d.Baseline, d.Resamples, d.BootstrapSeed, d.IntervalMethod)
                    (null, Scalor.Metrics.Bootstrap.defaultResamples, Scalor.Metrics.Bootstrap.defaultSeed, Scalor.Metrics.Bootstrap.Bca) "defaults: BCa intervals, no comparison"
            | other -> failtestf "unexpected %A" other
            match parse [| "track"; "--out"; "o"; "--interval"; "percentile"; "--resamples"; "500"; "--bootstrap-seed"; "7"; "--seed"; "9" |], parse [| "track"; "--out"; "o" |] with
            | Run(Track p), Run(Track d) ->
                Expect.equal (p.IntervalMethod, p.Resamples, p.BootstrapSeed, p.Seed) (Scalor.Metrics.Bootstrap.Percentile, 500, 7UL, 9UL) "track's draws reach it, apart from the world's seed"
                Expect.equal (d.IntervalMethod, d.Resamples, d.BootstrapSeed) (Scalor.Metrics.Bootstrap.Bca, Scalor.Metrics.Bootstrap.defaultResamples, Scalor.Metrics.Bootstrap.defaultSeed)
                    "track's intervals: as eval's, BCa by default, at its resamples and seed"
            | other -> failtestf "unexpected %A" other
            for bad, named in [ [| "eval"; "--gt"; "g"; "--pred"; "p"; "--resamples"; "-1" |], "--resamples"; [| "eval"; "--data"; "d"; "--seed"; "-2" |], "--seed"
                                [| "eval"; "--gt"; "g"; "--pred"; "p"; "--interval"; "normal" |], "--interval"
                                [| "track"; "--out"; "o"; "--interval"; "normal" |], "--interval"
                                [| "track"; "--out"; "o"; "--resamples"; "1000001" |], "--resamples"; [| "track"; "--out"; "o"; "--bootstrap-seed"; "-2" |], "--bootstrap-seed"
                                // A handful of resamples cannot place a 95% interval's ends.
                                [| "eval"; "--gt"; "g"; "--pred"; "p"; "--resamples"; "1" |], "--resamples"; [| "track"; "--out"; "o"; "--resamples"; string (Scalor.Metrics.Bootstrap.minResamples - 1) |], "--resamples" ] do
                match parse bad with
                | UsageError m -> Expect.stringContains m named "names the option"
                | other -> failtestf "unexpected %A for %A" other bad
            match parse [| "export"; "--out"; "m.onnx"; "--capacity"; "0" |] with
            | UsageError m -> Expect.stringContains m "--capacity" "names the option"
            | other -> failtestf "unexpected %A" other

        testCase "--converged: IOU:FRAMES[:WINDOW:DISTANCE] or off reaches track and eval --data; not given, the default; anything else is a usage error naming it" <| fun () ->
            match parse [| "track"; "--out"; "o"; "--converged"; "0.5:2" |], parse [| "eval"; "--data"; "d"; "--converged"; "OFF" |], parse [| "track"; "--out"; "o" |] with
            | Run(Track t), Run(Eval e), Run(Track plain) ->
                Expect.equal (t.Converged, e.Converged, plain.Converged)
                    (Some { Scalor.Model.Converged.defaults with MinIou = 0.5; Frames = 2 }, None, Some Scalor.Model.Converged.defaults) "given, off, default"
            | other -> failtestf "unexpected %A" other
            match parse [| "track"; "--out"; "o"; "--converged"; "0.6:4:0:0.1" |] with
            | Run(Track t) -> Expect.equal t.Converged (Some { Scalor.Model.Converged.MinIou = 0.6; Frames = 4; HandOver = 0; HandOverDistance = 0.1 }) "with the hand-over's window and distance"
            | other -> failtestf "unexpected %A" other
            for bad in [ "0:3"; "1.5:3"; "0.7:0"; "0.7"; "0.7:3:1"; "x:3"; "0.7:-1"; "nan:2"; "0.7:5:-1:0.2"; "0.7:5:10:0"; "0.7:5:10:x"; "0.7:5:10:inf"; "0.7:5:10:0.2:1" ] do
                match parse [| "track"; "--out"; "o"; "--converged"; bad |] with
                | UsageError m -> Expect.stringContains m "--converged" (sprintf "%s: names the option" bad)
                | other -> failtestf "unexpected %A for %s" other bad
            match parse [| "eval"; "--gt"; "g"; "--pred"; "p"; "--converged"; "off" |] with
            | UsageError m -> Expect.stringContains m "needs --data" "scoring files tracks nothing"
            | other -> failtestf "unexpected %A" other

        testCase "average parses checkpoints and a step range; --from after --to is a usage error" <| fun () ->
            match parse [| "average"; "runs/a/checkpoints"; "x.safetensors"; "--out"; "avg.safetensors"; "--from"; "4525" |] with
            | Run(Average a) -> Expect.equal (a.Checkpoints, a.Out, a.From, a.To) ([ "runs/a/checkpoints"; "x.safetensors" ], "avg.safetensors", Some 4525, None) "average"
            | other -> failtestf "unexpected %A" other
            for bad, says in [ [| "average"; "a"; "--out"; "o.safetensors"; "--from"; "5"; "--to"; "3" |], "--from"; [| "average"; "a" |], "--out" ] do
                match parse bad with
                | UsageError m -> Expect.stringContains m says "names the option"
                | other -> failtestf "unexpected %A for %A" other bad

        testCase "--threads reaches every TorchSharp command; below 1 is a usage error naming it" <| fun () ->
            match parse [| "eval"; "--data"; "d"; "--threads"; "1" |], parse [| "generate"; "--out"; "o"; "--threads"; "1" |],
                  parse [| "track"; "--out"; "o"; "--threads"; "1" |], parse [| "train"; "--threads"; "1" |] with
            | Run(Eval e), Run(Generate g), Run(Track t), Run(Train r) ->
                Expect.equal (e.Threads, g.Threads, t.Threads, r.Threads) (1, 1, 1, 1) "one thread each"
            | other -> failtestf "unexpected %A" other
            match parse [| "generate"; "--out"; "o" |] with
            | Run(Generate g) -> Expect.equal g.Threads System.Environment.ProcessorCount "default: every core"
            | other -> failtestf "unexpected %A" other
            for cmd in [ [| "eval"; "--data"; "d" |]; [| "generate"; "--out"; "o" |]; [| "track"; "--out"; "o" |]; [| "train" |]; [| "bench"; "train" |] ] do
                match parse (Array.append cmd [| "--threads"; "0" |]) with
                | UsageError m -> Expect.stringContains m "--threads" (sprintf "names the option for %A" cmd)
                | other -> failtestf "expected a usage error for %A, got %A" cmd other

        testCase "bench targets parse, png among them" <| fun () ->
            for target in [ "data"; "assign"; "train"; "track"; "png" ] do
                match parse [| "bench"; target; "--runs"; "3" |] with
                | Run(Bench b) -> Expect.equal (b.Target, b.Runs) (target, 3) target
                | other -> failtestf "unexpected %A" other

        testCase "train: micro-batch override and --only prefixes parse" <| fun () ->
            match parse [| "train"; "--set"; "MicroBatch=4"; "--only"; "propagate_cell.prior_cell"; "--only"; "bg_prior" |] with
            | Run(Train t) ->
                Expect.equal t.Config.MicroBatch 4 "override"
                Expect.equal t.Only [ "propagate_cell.prior_cell"; "bg_prior" ] "prefixes, in order"
            | other -> failtestf "unexpected %A" other
            match parse [| "train" |] with
            | Run(Train t) -> Expect.equal (t.Config.MicroBatch, t.Only) (8, []) "toy64 default: passes of 8, everything trained"
            | other -> failtestf "unexpected %A" other
            match parse [| "train"; "--init"; "ld/ckpt-0004000.safetensors"; "--density"; "vld" |] with
            | Run(Train t) ->
                Expect.equal t.Init "ld/ckpt-0004000.safetensors" "fine-tuning start"
                Expect.floatClose Accuracy.high t.Config.SizeAnchor (12.0 / 64.0) "anchors follow the VLD objects (12 px)"
            | other -> failtestf "unexpected %A" other

        testCase "train: a generated world's object cap is at least its largest object count, unless --set gives it" <| fun () ->
            let capOf argv =
                match parse argv with
                | Run(Train t) -> t.Config.MaxObjects
                | other -> failtestf "unexpected %A" other
            Expect.equal (capOf [| "train"; "--density"; "md" |]) 45 "MD's 24 objects stay under the official cap"
            Expect.equal (capOf [| "train"; "--density"; "hd" |]) 64 "HD's 64"
            Expect.equal (capOf [| "train"; "--density"; "vhd" |]) 110 "VHD's 110"
            Expect.equal (capOf [| "train"; "--density"; "hd"; "--set"; "MaxObjects=100" |]) 100 "--set decides"
            Expect.equal (capOf [| "train"; "--density"; "hd"; "--data"; "video.avi" |]) 45 "recorded data keeps the preset's"

        testCase "train: --density repeated is a mix, anchored at its mean object size and capped at its largest count" <| fun () ->
            let trainOf argv =
                match parse argv with
                | Run(Train t) -> t
                | other -> failtestf "unexpected %A" other
            let mix = trainOf [| "train"; "--density"; "vld"; "--density"; "ld"; "--density"; "md" |]
            Expect.equal (mix.Worlds |> List.map (fun w -> w.Density.Name)) [ "vld"; "ld"; "md" ] "one world per --density, in order"
            Expect.floatClose Accuracy.high mix.Config.SizeAnchor (10.0 / 64.0) "12, 10 and 8 px: the mean, 10"
            Expect.equal mix.Config.MaxObjects 45 "MD's 24 stay under the official cap"
            Expect.equal mix.Out (System.IO.Path.Combine("runs", "dsprites-vld+ld+md")) "the run folder names the mix"
            let crowd = trainOf [| "train"; "--density"; "md"; "--density"; "hd"; "--density"; "hd" |]
            Expect.floatClose Accuracy.high crowd.Config.SizeAnchor ((8.0 + 6.0 + 6.0) / 3.0 / 64.0) "a density given twice counts twice"
            Expect.equal crowd.Config.MaxObjects 64 "HD's 64, the mix's largest"
            Expect.equal (trainOf [| "train" |]).Worlds.Length 1 "LD alone by default"
            match parse [| "train"; "--data"; "v.avi"; "--density"; "ld"; "--density"; "md" |] with
            | UsageError m -> Expect.stringContains m "--density" "names the option"
            | other -> failtestf "expected a usage error, got %A" other

        testCase "train: --frame-step goes with --data (generate: with --input), and is at least 1" <| fun () ->
            match parse [| "train"; "--data"; "video.avi"; "--frame-step"; "8" |] with
            | Run(Train t) -> Expect.equal (t.DataDir, t.FrameStep) ("video.avi", 8) "footage, every 8th frame"
            | other -> failtestf "unexpected %A" other
            match parse [| "train"; "--data"; "video.avi" |] with
            | Run(Train t) ->
                Expect.equal t.FrameStep 1 "consecutive frames by default"
                Expect.equal t.Out (System.IO.Path.Combine("runs", "video")) "the run folder is named for the data"
            | other -> failtestf "unexpected %A" other
            for data, run in [ "frames/", "frames"; "ld-test/dataset.safetensors", "ld-test" ] do
                match parse [| "train"; "--data"; data |] with
                | Run(Train t) -> Expect.equal t.Out (System.IO.Path.Combine("runs", run)) (sprintf "--data %s" data)
                | other -> failtestf "unexpected %A" other
            match parse [| "train"; "--density"; "md" |] with
            | Run(Train t) -> Expect.equal t.Out (System.IO.Path.Combine("runs", "dsprites-md")) "a generated world's run folder names the world"
            | other -> failtestf "unexpected %A" other
            match parse [| "generate"; "--out"; "g"; "--input"; "v.avi"; "--frame-step"; "8"; "--crop"; "centre" |] with
            | Run(Generate g) -> Expect.equal (g.FrameStep, g.Crop) (8, Some Scalor.IO.Crop.Centre) "generate observes footage as train saw it"
            | other -> failtestf "unexpected %A" other
            for argv in [ [| "train"; "--frame-step"; "2" |]; [| "train"; "--data"; "v.avi"; "--frame-step"; "0" |]; [| "generate"; "--out"; "g"; "--frame-step"; "2" |] ] do
                match parse argv with
                | UsageError m -> Expect.stringContains m "--frame-step" (sprintf "names the option for %A" argv)
                | other -> failtestf "expected a usage error for %A, got %A" argv other

        testCase "generate: --kind, --density and --background name the generated world it observes, and only that" <| fun () ->
            match parse [| "generate"; "--out"; "g"; "--kind"; "mnist"; "--density"; "md"; "--background"; "dynamic" |], parse [| "generate"; "--out"; "g" |] with
            | Run(Generate g), Run(Generate d) ->
                Expect.equal (g.World.Kind, g.World.Density, g.World.Background) (Scalor.Worlds.World.Mnist, Scalor.Worlds.World.md, Scalor.Worlds.World.DynamicBackground) "the world named"
                Expect.equal d.World Scalor.Worlds.World.defaultConfig "moving dSprites LD without a background by default, as before"
            | other -> failtestf "unexpected %A" other
            for argv in [ [| "generate"; "--out"; "g"; "--input"; "v.avi"; "--density"; "md" |]; [| "generate"; "--out"; "g"; "--from-scratch"; "--background"; "dynamic" |] ] do
                match parse argv with
                | UsageError m -> Expect.stringContains m "--kind, --density, --background and --mnist-dir" (sprintf "%A: footage or no observation has no generated world" argv)
                | other -> failtestf "expected a usage error for %A, got %A" argv other

        testCase "--crop: a window or the centre for footage; train and eval take several, track one" <| fun () ->
            let window = Scalor.IO.Crop.Window { Width = 240; Height = 240; Left = 100; Top = 8 }
            match parse [| "train"; "--data"; "v.avi"; "--crop"; "240:240:100:8"; "--crop"; "centre" |] with
            | Run(Train t) -> Expect.equal t.Crops [ window; Scalor.IO.Crop.Centre ] "both windows, in order"
            | other -> failtestf "unexpected %A" other
            match parse [| "track"; "--input"; "v.avi"; "--crop"; "240:240:100:8"; "--out"; "o" |] with
            | Run(Track t) -> Expect.equal t.Crop (Some window) "the window"
            | other -> failtestf "unexpected %A" other
            match parse [| "eval"; "--data"; "v.avi"; "--crop"; "center"; "--crop"; "tiles:240" |] with
            | Run(Eval e) -> Expect.equal e.Crops [ Scalor.IO.Crop.Centre; Scalor.IO.Crop.Tiles(240, 0) ] "the centre and tiles"
            | other -> failtestf "unexpected %A" other
            match parse [| "generate"; "--out"; "g"; "--input"; "v.avi"; "--crop"; "tiles:240" |] with
            | UsageError m -> Expect.stringContains m "--crop tiles:240: generate follows one window" "tiles are refused where one window is followed"
            | other -> failtestf "expected a usage error for tiles in generate, got %A" other
            match parse [| "track"; "--out"; "o"; "--input"; "v.avi"; "--crop"; "tiles:240" |] with
            | Run(Track t) -> Expect.equal t.Crop (Some(Scalor.IO.Crop.Tiles(240, 0))) "track joins tiles"
            | other -> failtestf "unexpected %A" other
            match parse [| "track"; "--input"; "v.avi"; "--out"; "o" |] with
            | Run(Track t) -> Expect.equal (t.Crop, t.FrameStep) (None, 0) "neither given: as the model records"
            | other -> failtestf "unexpected %A" other
            match parse [| "generate"; "--input"; "v.avi"; "--out"; "o"; "--crop"; "whole"; "--frame-step"; "1" |] with
            | Run(Generate g) -> Expect.equal (g.Crop, g.FrameStep) (Some Scalor.IO.Crop.Whole, 1) "given: the whole frame, every frame"
            | other -> failtestf "unexpected %A" other
            for argv in [ [| "train"; "--crop"; "centre" |]; [| "track"; "--crop"; "centre"; "--out"; "o" |]; [| "eval"; "--gt"; "g"; "--pred"; "p"; "--crop"; "centre" |]
                          [| "train"; "--data"; "v.avi"; "--crop"; "240x240" |]; [| "track"; "--input"; "v"; "--out"; "o"; "--crop"; "centre"; "--crop"; "centre" |]
                          [| "generate"; "--out"; "g"; "--crop"; "centre" |] ] do
                match parse argv with
                | UsageError m -> Expect.stringContains m "--crop" (sprintf "names the option for %A" argv)
                | other -> failtestf "expected a usage error for %A, got %A" argv other

        testCase "generate: --most-likely parses; it has one future and no from-scratch form" <| fun () ->
            match parse [| "generate"; "--out"; "g"; "--most-likely" |] with
            | Run(Generate g) -> Expect.equal (g.MostLikely, g.Samples, g.FromScratch) (true, 1, false) "most likely"
            | other -> failtestf "unexpected %A" other
            for argv, option in [ [| "generate"; "--out"; "g"; "--most-likely"; "--samples"; "3" |], "--samples"
                                  [| "generate"; "--out"; "g"; "--most-likely"; "--from-scratch" |], "--from-scratch" ] do
                match parse argv with
                | UsageError m -> Expect.stringContains m option "names the conflicting option"
                | other -> failtestf "expected a usage error for %A, got %A" argv other
    ]
