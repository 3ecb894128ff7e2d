namespace Scalor.Host;

/// <summary>Runs a block of libtorch work with the garbage collector held off, then collects and runs the
/// finalizers while no native call is in flight. TorchSharp hands temporary <c>Scalar</c>s (from <c>t * 0.5</c>
/// and the like) to native calls and leaves them to the finalizer; if a collection finalizes one while libtorch
/// still reads it, the process dies in libtorch (seen here: "toDouble: Expected false to be true" in one run, a
/// segmentation fault about once an hour of CPU training in others, and once in the test suite's
/// <c>generate</c>). Without collections during the block no finalizer can run there. Training runs each step
/// in a block, tracking every 25 frames, generation each sample. A block that allocates more than the budget ends
/// the region early (the runtime then collects as usual), as does a collection that another thread forces;
/// <see cref="Held"/> and <see cref="Broken"/> count how often each happened.</summary>
public static class NativeSafe
{
    /// <summary>Managed allocation budget of one block: a training step allocates tens of megabytes of tensor
    /// handles; the workstation collector accepts up to 240 MB here.</summary>
    const long Budget = 240L << 20;

    /// <summary>Blocks that ran wholly without a collection in a region of their own, and blocks that ran without
    /// one whole region of their own (it ended early, or could not start, or an enclosing or another thread's block
    /// held one).</summary>
    public static int Held => held;
    public static int Broken => broken;

    // Blocks may run on several threads at once (an embedding program could; NativeSafe's own parallel test does),
    // so the counts are kept with Interlocked.
    static int held, broken;

    public static T Run<T>(Func<T> work) => Run(work, Budget);

    /// <summary>A block with its own allocation budget: for work that allocates more between its native calls than
    /// one training step, and must not outgrow its region (the test suite runs each test as one block).</summary>
    public static T Run<T>(Func<T> work, long budget)
    {
        // Already inside a region (an enclosing block's: the tests run each test as one block; or another thread's):
        // the work runs in it, and the block that started the region ends it and collects. Collecting here would
        // end that region under the enclosing block's later calls.
        if (System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
        {
            Interlocked.Increment(ref broken);
            return work();
        }
        bool region;
        try { region = GC.TryStartNoGCRegion(budget); }
        catch (ArgumentOutOfRangeException) { region = false; }
        catch (InvalidOperationException) { region = false; }
        try { return work(); }
        finally
        {
            if (region) End();
            else Interlocked.Increment(ref broken);
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    /// <summary>A block with no result.</summary>
    public static void Run(Action work) => Run(() => { work(); return 0; });

    /// <summary>A block with no result and its own allocation budget.</summary>
    public static void Run(Action work, long budget) => Run(() => { work(); return 0; }, budget);

    /// <summary>Hands <paramref name="items"/> to <paramref name="each"/> in chunks of up to <paramref name="size"/>,
    /// one block per chunk, the items read inside it too (decoding frames may call libtorch: a folder's images are
    /// resized with it). The last chunk may be shorter; an empty one is not handed on.</summary>
    public static void Chunks<T>(IEnumerable<T> items, int size, Action<IReadOnlyList<T>> each)
    {
        using var input = items.GetEnumerator();
        var chunk = new List<T>(size);
        var more = true;
        while (more)
            Run(() =>
            {
                chunk.Clear();
                while (chunk.Count < size && (more = input.MoveNext())) chunk.Add(input.Current);
                if (chunk.Count > 0) each(chunk);
            });
    }

    /// <summary>Leaves the region this block started. Another thread's block (parallel callers, e.g. the tests) may
    /// have ended it with its own collection in between, so a region already gone counts as broken, not as an
    /// error.</summary>
    static void End()
    {
        try
        {
            if (System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
                Interlocked.Increment(ref held);
                return;
            }
        }
        catch (InvalidOperationException) { }
        Interlocked.Increment(ref broken);
    }
}
