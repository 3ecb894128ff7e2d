module Scalor.Tests.Main

open Expecto

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
    let rc = runTestsInAssemblyWithCLIArgs [ CLIArguments.Printer printer; CLIArguments.Sequenced ] argv
    let (passed, failed, skipped) = counts
    // Expecto's own summary carries colour codes; CI reads this plain line instead. Expecto replaced
    // Console.Out, so write to the raw stream after a newline.
    use raw = new System.IO.StreamWriter(System.Console.OpenStandardOutput())
    raw.WriteLine()
    raw.WriteLine(sprintf "%d passed, %d failed, %d skipped" passed failed skipped)
    rc
