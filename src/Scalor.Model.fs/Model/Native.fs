/// Process-level settings for libtorch on Linux.
module Scalor.Model.Native

open System.Runtime.InteropServices

[<DllImport("libc", EntryPoint = "mallopt")>]
extern int private mallopt(int param, int value)

/// glibc serves allocations above 32 MB with fresh mmap'd pages and unmaps them on free, so every large
/// activation of a training step page-faults and zeroes memory anew; the cost grows with the memory autograd
/// holds (measured: frame 10 of a step took 8× frame 1). Serving them from the heap and never trimming it
/// makes a training step 3× faster. Called once at startup; harmless elsewhere.
let tuneAllocator () =
    if RuntimeInformation.IsOSPlatform OSPlatform.Linux then
        try
            mallopt (-4, 0) |> ignore // M_MMAP_MAX: no mmap'd chunks
            mallopt (-1, System.Int32.MaxValue) |> ignore // M_TRIM_THRESHOLD: keep freed memory for reuse
        with _ -> ()

[<DllImport("libc", EntryPoint = "malloc_trim")>]
extern int private mallocTrim(unativeint pad)

/// Bytes of memory the process holds resident (`/proc/self/statm`'s second field); None off Linux.
let residentBytes () =
    try
        let fields = System.IO.File.ReadAllText("/proc/self/statm").Split(' ')
        Some(int64 fields.[1] * int64 System.Environment.SystemPageSize)
    with _ -> None

/// Hands the heap's free pages back to the system (glibc's `malloc_trim`); false where there is no glibc (musl, Windows,
/// macOS). `tuneAllocator` keeps what libtorch frees for reuse, which suits a training step: the next step asks for the
/// same sizes. A pass whose frames each hold a different number of objects asks for sizes a little off the last frame's,
/// and what it keeps between frames lies between the holes, so the heap grows by frame (measured: `eval --data`'s
/// likelihood bounds, 33 MB a frame of 16 samples, 4.1–4.4 GB at 40 frames). Returning the pages costs page faults when the
/// memory is used again, so callers do it when the process has grown, not every frame.
let releaseFreeMemory () =
    RuntimeInformation.IsOSPlatform OSPlatform.Linux
    && (try mallocTrim 0un |> ignore; true with _ -> false)

/// A rule for a long loop of rounds alike: after each round, release the heap's free pages (`releaseFreeMemory`) if the
/// process has grown by more than `limit` bytes since the round after the last release. That round measures the loop's
/// working set with its pages in use again, so the rule releases what the heap gained, not the pages each round needs
/// (measured each round, a release every round: its pages come back each time). Returns the round's check.
let releaseWhenGrown (limit: int64) =
    let mutable baseline = None
    fun () ->
        match residentBytes (), baseline with
        | None, _ -> ()
        | Some now, None -> baseline <- Some now
        | Some now, Some b ->
            if now - b > limit then
                releaseFreeMemory () |> ignore
                baseline <- None

/// libtorch's own C++ log (c10's `FLAGS_caffe2_log_level`: 0 info, 1 warning, 2 error, 3 fatal). Its
/// default, warning, writes "Could not initialize NNPACK! Reason: Unsupported hardware." for each convolution
/// NNPACK might serve (a single image's, among others) on CPUs it does not support (AMD EPYC here, CI's machine
/// too): 880 lines beside the main job's 9, and the whole tail of a failed CI run. PyTorch reads
/// `TORCH_CPP_LOG_LEVEL` when its Python module loads; libtorch alone never does, so this does it, with error as
/// the default. TorchSharp's own warnings and errors are not c10 log lines and are unaffected.
let private c10Level: Lazy<nativeint option> =
    lazy
        let name =
            if RuntimeInformation.IsOSPlatform OSPlatform.Windows then "c10.dll"
            elif RuntimeInformation.IsOSPlatform OSPlatform.OSX then "libc10.dylib"
            else "libc10.so"
        // The native libraries lie beside TorchSharp's assembly; loading by that path finds the copy libtorch uses.
        match NativeLibrary.TryLoad(name, typeof<TorchSharp.torch>.Assembly, System.Nullable()) with
        | true, lib ->
            match NativeLibrary.TryGetExport(lib, "FLAGS_caffe2_log_level") with
            | true, flag -> Some flag
            | _ -> None
        | _ -> None

/// The level `TORCH_CPP_LOG_LEVEL` names (INFO, WARNING, ERROR, FATAL or 0–3, as PyTorch reads it); error
/// when it is unset or names none of them.
let logLevelOf (setting: string) =
    match (if isNull setting then "" else setting.Trim().ToUpperInvariant()) with
    | "0" | "INFO" -> 0
    | "1" | "WARNING" -> 1
    | "3" | "FATAL" -> 3
    | _ -> 2

/// Sets libtorch's C++ log level; None where the library exports no such flag (then nothing changes).
let setLogLevel (level: int) =
    c10Level.Value |> Option.map (fun flag -> Marshal.WriteInt32(flag, level); level)

/// libtorch's C++ log level now, if the library exports it.
let logLevel () = c10Level.Value |> Option.map Marshal.ReadInt32

/// Applies `TORCH_CPP_LOG_LEVEL` (default error) before libtorch logs anything. Called once at startup.
let quietLog () =
    try setLogLevel (logLevelOf (System.Environment.GetEnvironmentVariable "TORCH_CPP_LOG_LEVEL")) |> ignore
    with _ -> ()
