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
