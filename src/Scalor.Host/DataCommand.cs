using System.Globalization;
using System.Text;
using Microsoft.FSharp.Core;
using Scalor.Cli;
using Scalor.Worlds;
using Spectre.Console;

namespace Scalor.Host;

/// <summary><c>scalor-host data</c>: writes a generated world in the MOTChallenge layout
/// (<c>&lt;seq&gt;/img1/000001.png</c>, <c>gt/gt.txt</c>, <c>seqinfo.ini</c>), a packed
/// <c>dataset.safetensors</c> and <c>preview.png</c> with the ground-truth boxes.</summary>
public static class DataCommand
{
    public static int Run(Parse.DataCommand cmd)
    {
        var outDir = Paths.EnsureWritableDirectory(cmd.Out);
        CheckRoom(cmd, outDir, new DriveInfo(outDir).AvailableFreeSpace, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        var world = CreateWorld(cmd.World, cmd.Split, cmd.MnistDir, Console.Error.WriteLine);
        var n = cmd.Sequences;
        // Each sequence goes to the pack (its frames to their place in the file) and to its folder as it is made:
        // only the truth stays in memory, and the first sequence, for the preview.
        World.Sequence? first = null;
        var visibleBySeq = new double[n];
        var written = 0;
        void Work(Action<int> progress)
        {
            var meta = Metadata(cmd);
            Dataset.writePack(Path.Combine(outDir, Scalor.Runtime.Inputs.PackName), n, cmd.World.Length, cmd.World.ViewSize, (int)RowsBound(cmd), Dataset.chunkBytes,
                Microsoft.FSharp.Collections.ListModule.OfSeq(meta.Select(kv => Tuple.Create(kv.Key, kv.Value))),
                FuncConvert.FromAction<FSharpFunc<int, FSharpFunc<World.Sequence, Unit>>>(put => Parallel.For(0, n, i =>
                {
                    var s = World.sequence(world, World.sequenceSeed(cmd.Seed, i));
                    WriteSequence(outDir, SequenceName(i), s, cmd.World, cmd.WriteImages);
                    put.Invoke(i).Invoke(s);
                    visibleBySeq[i] = World.visibleCounts(s).Average();
                    if (i == 0) first = s;
                    progress(Interlocked.Increment(ref written));
                })));
        }
        if (AnsiConsole.Profile.Capabilities.Interactive)
            AnsiConsole.Progress().Start(ctx =>
            {
                var task = ctx.AddTask("sequences", maxValue: n);
                Work(done => task.Value = done);
            });
        else
            Work(done => { if (done == n || done % Math.Max(1, n / 10) == 0) Console.WriteLine($"data: {done}/{n} sequences"); });

        Preview(first!, cmd.World.Length).SavePng(Path.Combine(outDir, "preview.png"));

        var visible = visibleBySeq.Average();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"data: wrote {Counts.Of(n, "sequence")} × {Counts.Of(cmd.World.Length, "frame")} to {outDir} (average visible objects {visible:F2}; preset {cmd.World.Density.Name} targets {cmd.World.Density.AvgVisible}{(cmd.World.ViewSize == 64 ? "" : $" in 64×64 frames, {cmd.World.Density.AvgVisible * cmd.World.ViewSize * cmd.World.ViewSize / 4096.0:F1} at {cmd.World.ViewSize}×{cmd.World.ViewSize}")})"));
        return 0;
    }

    public static string SequenceName(int i) => $"seq-{i + 1:D4}";

    /// <summary>Bytes of the dataset's frames, raw: what the pack holds (each sequence's go to it as it is made, so
    /// memory does not hold them).</summary>
    public static long FrameBytes(Parse.DataCommand cmd) =>
        (long)cmd.Sequences * cmd.World.Length * cmd.World.ViewSize * cmd.World.ViewSize * 3;

    /// <summary>The most ground-truth rows the dataset can hold: every object the world may hold in every frame.</summary>
    public static long RowsBound(Parse.DataCommand cmd) => (long)cmd.Sequences * cmd.World.Length * World.mostObjects(cmd.World);

    /// <summary>An upper bound of the ground truth's bytes: the pack's rows (48 bytes) and the two text files' lines
    /// (under 100 bytes together), for every object the world may hold in every frame.</summary>
    public static long TruthBytes(Parse.DataCommand cmd) => RowsBound(cmd) * (48 + 100);

    /// <summary>Refuses, before any work, a dataset that the disk or memory cannot hold: the pack and the ground
    /// truth, with images their PNG frames (at most about the raw size: a filter byte a row over it, where synthetic
    /// frames compress well), and the truth in memory, held until it follows the frames into the pack (against the memory
    /// the process may use at all, the machine's or its container's: what is free changes while it runs); and more
    /// sequences or truth rows than a pack indexes. Found only at the end, any of them would lose the whole run's work.</summary>
    public static void CheckRoom(Parse.DataCommand cmd, string outDir, long freeDisk, long memoryLimit)
    {
        var frames = FrameBytes(cmd);
        var disk = frames + TruthBytes(cmd) + (cmd.WriteImages ? frames + frames / 64 : 0);
        static string Gb(long b) => string.Create(CultureInfo.InvariantCulture, $"{b / 1e9:0.0#} GB");
        var fewer = "give fewer --sequences (several datasets train as well: each a --data run), a smaller --size or a shorter --length";
        if (disk > freeDisk)
            throw new UserError($"data: {Counts.Of(cmd.Sequences, "sequence")} need about {Gb(disk)} in {outDir}{(cmd.WriteImages ? " (the pack and the PNG frames)" : "")}, which has {Gb(freeDisk)} free; {fewer}{(cmd.WriteImages ? ", or --no-images" : "")}");
        // The frames go to the pack as each sequence is made; the truth is held until the end, where it follows them.
        var memory = TruthBytes(cmd);
        if (memory > memoryLimit)
            throw new UserError($"data: {Counts.Of(cmd.Sequences, "sequence")} need about {Gb(memory)} of memory for their ground truth, more than the {Gb(memoryLimit)} this machine gives the process; {fewer}");
        // The truth's rows name their sequence in float32, exact to 2^24, and a pack counts its rows in 32 bits.
        if (cmd.Sequences > 1 << 24 || RowsBound(cmd) > int.MaxValue)
            throw new UserError($"data: {Counts.Of(cmd.Sequences, "sequence")} of up to {World.mostObjects(cmd.World)} objects are more than one pack indexes (16,777,216 sequences, 2,147,483,647 ground-truth rows); {fewer}");
    }

    /// <summary>Writes sequences in the MOTChallenge layout (ground truth, seqinfo.ini, optionally frames).</summary>
    public static void WriteDataset(string outDir, IReadOnlyList<World.Sequence> sequences, World.WorldConfig cfg, bool writeImages)
    {
        Directory.CreateDirectory(outDir);
        for (var i = 0; i < sequences.Count; i++) WriteSequence(outDir, SequenceName(i), sequences[i], cfg, writeImages);
    }

    /// <summary>The held-out world that <c>track</c> and <c>generate</c> observe without <c>--input</c> (MNIST digits from
    /// the test files), refused before any work, a digit fetch included, when a model that sees size×size frames
    /// cannot see its frames.</summary>
    public static World.World HeldOutWorld(World.WorldConfig cfg, int size, string? mnistDir)
    {
        if (size != cfg.ViewSize) throw new UserError($"the model expects {size}×{size} frames; generated worlds are {cfg.ViewSize}×{cfg.ViewSize}");
        return CreateWorld(cfg, "test", mnistDir, Console.Error.WriteLine);
    }

    public static World.World CreateWorld(World.WorldConfig cfg, string split, string? mnistDir, Action<string> log) =>
        CreateWorlds([cfg], split, mnistDir, log)[0];

    /// <summary>The worlds of a mix (<c>train --density</c> repeated); MNIST's digits are fetched and read once for all.</summary>
    public static World.World[] CreateWorlds(IReadOnlyList<World.WorldConfig> cfgs, string split, string? mnistDir, Action<string> log)
    {
        var digits = new Lazy<Idx.Digits>(() => Idx.readMnist(MnistFetcher.Ensure(mnistDir, log), split));
        return [.. cfgs.Select(cfg => cfg.Kind.IsMnist ? World.create(cfg, World.digitPool(digits.Value, cfg.DigitClasses)) : World.create(cfg, null))];
    }

    static Dictionary<string, string> Metadata(Parse.DataCommand cmd)
    {
        var w = cmd.World;
        return new()
        {
            ["format"] = "scalor-dataset-1",
            ["kind"] = w.Kind.IsMnist ? "mnist" : "dsprites",
            ["density"] = w.Density.Name,
            ["background"] = w.Background.ToString(),
            ["variant"] = w.Variant.ToString(),
            ["length"] = w.Length.ToString(CultureInfo.InvariantCulture),
            ["view_size"] = w.ViewSize.ToString(CultureInfo.InvariantCulture),
            ["object_size"] = w.Density.ObjectSize.ToString(CultureInfo.InvariantCulture),
            ["seed"] = cmd.Seed.ToString(CultureInfo.InvariantCulture),
            ["split"] = cmd.Split,
            ["digits"] = string.Join(",", w.DigitClasses),
        };
    }

    static void WriteSequence(string outDir, string name, World.Sequence s, World.WorldConfig cfg, bool images)
    {
        var dir = Path.Combine(outDir, name);
        Directory.CreateDirectory(Path.Combine(dir, "gt"));
        if (images)
        {
            Directory.CreateDirectory(Path.Combine(dir, "img1"));
            for (var t = 0; t < s.Length; t++)
                Rgb.FromFrame(s.Frames, t, s.ViewSize).SavePng(Path.Combine(dir, "img1", $"{t + 1:D6}.png"));
        }
        var inv = CultureInfo.InvariantCulture;
        var gt = new StringBuilder();
        var objects = new StringBuilder();
        foreach (var b in s.Truth.OrderBy(b => b.Frame).ThenBy(b => b.Track))
        {
            // MOT16/17 gt layout: frame, id, left, top, width, height, consider flag, class, visibility.
            gt.Append(inv, $"{b.Frame + 1},{b.Track},{b.Left},{b.Top},{b.Width},{b.Height},1,1,{b.Visibility:0.####}\n");
            objects.Append(inv, $"{b.Frame + 1},{b.Track},{b.Object},{b.CenterX:0.###},{b.CenterY:0.###},{b.Size}\n");
        }
        Scalor.IO.Files.writeText(Path.Combine(dir, "gt", "gt.txt"), gt.ToString());
        Scalor.IO.Files.writeText(Path.Combine(dir, "gt", "objects.txt"), objects.ToString());
        Scalor.IO.Files.writeText(Path.Combine(dir, "seqinfo.ini"), string.Create(inv,
            $"[Sequence]\nname={name}\nimDir=img1\nframeRate=10\nseqLength={s.Length}\nimWidth={s.ViewSize}\nimHeight={s.ViewSize}\nimExt=.png\nobjectSize={cfg.Density.ObjectSize}\n"));
    }

    /// <summary>The first frames of a sequence, 4× enlarged, with ground-truth boxes coloured by track id.</summary>
    public static Rgb Preview(World.Sequence s, int frames)
    {
        const int k = 4;
        var tiles = new List<Rgb>();
        for (var t = 0; t < Math.Min(frames, 10); t++)
        {
            var tile = Rgb.FromFrame(s.Frames, t, s.ViewSize).Scale(k);
            foreach (var b in s.Truth.Where(b => b.Frame == t))
                tile.Rectangle(b.Left * k, b.Top * k, b.Width * k, b.Height * k, Rgb.IdColour(b.Track));
            tiles.Add(tile);
        }
        return Rgb.Strip(tiles);
    }
}
