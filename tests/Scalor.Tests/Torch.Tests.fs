module Scalor.Tests.Torch

open System.IO
open System.Runtime.InteropServices
open Expecto
open TorchSharp
open Scalor.Model

module private NativeCalls =
    [<DllImport("libc")>]
    extern int dup(int fd)
    [<DllImport("libc")>]
    extern int dup2(int oldFd, int newFd)
    [<DllImport("libc")>]
    extern int close(int fd)
    [<DllImport("libc", EntryPoint = "open")>]
    extern int openFile(string path, int flags, int mode)
    /// libtorch's `at::native::_nnpack_available()` (Linux x86-64 name): false where NNPACK cannot start.
    [<DllImport("libtorch_cpu", EntryPoint = "_ZN2at6native17_nnpack_availableEv")>]
    extern [<return: MarshalAs(UnmanagedType.U1)>] bool nnpackAvailable()

/// What native code writes to standard error (file descriptor 2) while `f` runs: a file stands in for it
/// meanwhile. c10 writes its log lines unbuffered, so they are in the file when `f` returns.
let private nativeStderr (f: unit -> unit) =
    let path = Path.GetTempFileName()
    let fd = NativeCalls.openFile (path, 1 ||| 64 ||| 512, 0o644) // O_WRONLY | O_CREAT | O_TRUNC
    Expect.isGreaterThanOrEqual fd 0 "opened the capture file"
    let saved = NativeCalls.dup 2
    NativeCalls.dup2 (fd, 2) |> ignore
    try f ()
    finally
        NativeCalls.dup2 (saved, 2) |> ignore
        NativeCalls.close saved |> ignore
        NativeCalls.close fd |> ignore
    let text = File.ReadAllText path
    File.Delete path
    text

/// A convolution of one image, one NNPACK might serve: where NNPACK cannot start (unsupported CPUs), libtorch
/// logs a warning for each.
let private convolution () =
    use x = torch.ones(1L, 3L, 64L, 64L)
    use w = torch.ones(16L, 3L, 3L, 3L)
    use y = torch.nn.functional.conv2d(x, w, padding = [| 1L; 1L |])
    Expect.equal y.shape [| 1L; 16L; 64L; 64L |] "the convolution ran"

[<Tests>]
let tests =
    testList "TorchSharp" [
        testCase "each test runs as one NativeSafe block, with the collector held off (Main.fs)" <| fun () ->
            Expect.equal System.Runtime.GCSettings.LatencyMode System.Runtime.GCLatencyMode.NoGCRegion "inside a no-GC region"

        testCase "native library loads and computes (GLIBCXX fix applied to the build output)" <| fun () ->
            use x = torch.arange(6L, dtype = torch.float32).reshape(1L, 1L, 2L, 3L)
            use w = torch.ones(1L, 1L, 1L, 2L)
            use y = torch.nn.functional.conv2d(x, w)
            Expect.sequenceEqual (y.data<float32>().ToArray()) [| 1f; 3f; 7f; 9f |] "1×2 box filter"

        testCase "memory the tuned heap keeps after a free goes back to the system on release, and by the rule once a loop grew" <| fun () ->
            Native.tuneAllocator ()
            let rss () = (Native.residentBytes ()).Value
            let mb = 1L <<< 20
            // 64 blocks of 4 MB, written so their pages are resident, freed below a small block that holds the heap's top.
            let churn () =
                let blocks = [ for _ in 1 .. 64 -> torch.ones(mb) ]
                let pin = torch.ones(16L)
                for t in blocks do t.Dispose()
                pin
            // Earlier tests leave freed pages resident, which the blocks could reuse without growing the process.
            Native.releaseFreeMemory () |> ignore
            let start = rss ()
            use pin = churn ()
            let kept = rss ()
            Expect.isGreaterThan (kept - start) (128L * mb) "the tuned heap keeps the freed pages resident"
            Expect.isTrue (Native.releaseFreeMemory ()) "glibc releases"
            Expect.isLessThan (rss ()) (kept - 128L * mb) "released"
            // The rule: its first round measures; a round that grew past the limit since then releases.
            let rule = Native.releaseWhenGrown (64L * mb)
            rule ()
            use pin2 = churn ()
            let grown = rss ()
            rule ()
            Expect.isLessThan (rss ()) (grown - 128L * mb) "released after the loop grew"

        testCase "TORCH_CPP_LOG_LEVEL names libtorch's C++ log level as PyTorch reads it; error by default" <| fun () ->
            for s, level in [ null, 2; "", 2; "INFO", 0; "0", 0; " warning ", 1; "1", 1; "ERROR", 2; "2", 2; "fatal", 3; "3", 3; "verbose", 2 ] do
                Expect.equal (Native.logLevelOf s) level (sprintf "%A" s)

        testCase "at level error libtorch's C++ warnings are not written" <| fun () ->
            let before = Native.logLevel ()
            Expect.isSome before "c10 exports its log level"
            try
                Expect.equal (Native.setLogLevel 2) (Some 2) "set to error"
                let available = NativeCalls.nnpackAvailable ()
                let quiet = nativeStderr convolution
                Expect.equal (Native.setLogLevel 1) (Some 1) "set to warning"
                let warned = nativeStderr convolution
                Expect.equal (Native.logLevel ()) (Some 1) "read back"
                Expect.equal (quiet.Trim()) "" "nothing written at error"
                // The control: where NNPACK cannot start (this machine's CPU, CI's), the same convolution warns at
                // warning, as libtorch does by default. Where it can, there is nothing to silence.
                if not available then
                    Expect.stringContains warned "Could not initialize NNPACK" "the warning at warning"
            finally
                Native.setLogLevel before.Value |> ignore
    ]
