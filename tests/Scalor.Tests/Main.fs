module Scalor.Tests.Main

open Expecto

/// The run's temporary folder (`main`): what the tests make there is deleted with it.
[<Tests>]
let harness =
    testList "Main" [
        testCase "the tests' temporary files lie in this run's own folder, deleted when the run ends" <| fun () ->
            let temp = System.IO.Path.GetTempPath()
            Expect.stringContains temp (sprintf "scalor-tests-%d" System.Environment.ProcessId) "TMPDIR points at the run's folder"
            let made = System.IO.Directory.CreateTempSubdirectory("scalor-probe").FullName
            Expect.isTrue (made.StartsWith temp) (sprintf "%s lies in it" made)
    ]

[<EntryPoint>]
let main argv =
    // As scalor-host: libtorch's C++ warnings (NNPACK's, once per convolution it might serve, on this CPU) only
    // where TORCH_CPP_LOG_LEVEL asks for them.
    Scalor.Model.Native.quietLog ()
    let mutable counts = (0, 0, 0)
    let printer =
        { defaultConfig.printer with
            summary =
                fun cfg summary ->
                    async {
                        do! defaultConfig.printer.summary cfg summary
                        counts <- (summary.passed.Length, summary.failed.Length + summary.errored.Length, summary.ignored.Length)
                    } }
    // One test at a time. TorchSharp leaves its temporaries (implicit Scalars, intermediate tensors outside a
    // dispose scope) to the finalizer, and a collection that another thread triggers while libtorch still reads
    // one frees it under the call: parallel tests (training steps collecting between steps beside an export)
    // crashed CI once with a segmentation fault. With one test running, collections start only between that
    // test's own calls, as in the command-line host, where each block of libtorch work runs under NativeSafe.
    // Each test also runs as one NativeSafe block: with one test running, collections can still start on Expecto's
    // own threads (its printer writes the tests' captured output) while a test is inside a libtorch call: a run here
    // died so (exit code 139, between two `track` runs of one test) after the tests ran one at a time.
    // The tests of NativeSafe itself count its blocks, so they run bare.
    // A test's block has a budget of 1 GB, not a training step's 240 MB: a test that trains, tracks and reads
    // checkpoints several times outgrew the smaller one (eight tests did), after which the runtime collects as usual
    // for the rest of the test, the race above is back, and two full runs here died so (exit code 139, in
    // TrainCommand's resume test) while another process used the same cores. A test that outgrows its block anyway,
    // or whose block a forced collection ends (ONNX Runtime's memory pressure), is named on stderr.
    let testBudget = 1024L <<< 20
    let region (path: string list) =
        if System.Runtime.GCSettings.LatencyMode <> System.Runtime.GCLatencyMode.NoGCRegion then
            eprintfn "note: %s outgrew its NativeSafe block: a collection could run during its libtorch calls" (String.concat "/" (List.rev path))
    let rec guard (path: string list) (test: Test) =
        match test with
        | TestLabel(label, inner, state) -> TestLabel(label, guard (label :: path) inner, state)
        | TestList(tests, state) -> TestList(tests |> List.map (guard path), state)
        | Test.Sequenced(how, inner) -> Test.Sequenced(how, guard path inner)
        | TestCase(Sync code, state) when not (List.contains "NativeSafe" path) ->
            TestCase(Sync(fun () -> Scalor.Host.NativeSafe.Run(System.Action(fun () -> code (); region path), testBudget)), state)
        | other -> other
    let tests =
        match Impl.testFromThisAssembly () with
        | Some t -> guard [] t
        | None -> failwith "no tests found"
    // Every temporary folder the tests make lies in one folder of this run, deleted at its end: tests that made
    // their own under the system's temporary folder and left them (a checkpoint folder per averaging test, a model
    // per export test) had filled 41 GB of this machine's /tmp over the sessions, until builds and shells failed.
    // Path.GetTempPath reads TMPDIR on each call, so the tests and the commands they run use it.
    let temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), sprintf "scalor-tests-%d" System.Environment.ProcessId)
    System.IO.Directory.CreateDirectory temp |> ignore
    System.Environment.SetEnvironmentVariable("TMPDIR", temp + string System.IO.Path.DirectorySeparatorChar)
    let rc =
        try runTestsWithCLIArgs [ CLIArguments.Printer printer; CLIArguments.Sequenced ] argv tests
        finally
            try System.IO.Directory.Delete(temp, true)
            with e -> eprintfn "note: the tests' temporary folder %s was not deleted: %s" temp e.Message
    let (passed, failed, skipped) = counts
    // Expecto's own summary carries colour codes; CI reads this plain line instead. Expecto replaced
    // Console.Out, so write to the raw stream after a newline.
    use raw = new System.IO.StreamWriter(System.Console.OpenStandardOutput())
    raw.WriteLine()
    raw.WriteLine(sprintf "%d passed, %d failed, %d skipped" passed failed skipped)
    rc
