module Scalor.Tests.Main

open Expecto

[<EntryPoint>]
let main argv =
    let mutable counts = (0, 0, 0)
    let printer =
        { defaultConfig.printer with
            summary =
                fun cfg summary ->
                    async {
                        do! defaultConfig.printer.summary cfg summary
                        counts <- (summary.passed.Length, summary.failed.Length + summary.errored.Length, summary.ignored.Length)
                    } }
    let rc = runTestsInAssemblyWithCLIArgs [ CLIArguments.Printer printer ] argv
    let (passed, failed, skipped) = counts
    // Expecto's own summary carries colour codes; CI reads this plain line instead. Expecto replaced
    // Console.Out, so write to the raw stream after a newline.
    use raw = new System.IO.StreamWriter(System.Console.OpenStandardOutput())
    raw.WriteLine()
    raw.WriteLine(sprintf "%d passed, %d failed, %d skipped" passed failed skipped)
    rc
