using Scalor.Cli;
using Scalor.Model;
using Scalor.Runtime;
using Scalor.Worlds;
using TorchSharp;

namespace Scalor.Host;

/// <summary>Batches for training step s: a pure function of (seed, s) and the data, so a resumed run sees exactly
/// the data an uninterrupted one would. Either drawn on the fly from a generated world, or clips of recorded
/// sequences: a packed dataset written by <c>scalor-host data</c>, or footage (a video file, a folder of images,
/// a dataset in the MOTChallenge layout) read once, resized to the model's frames.</summary>
public abstract class TrainingData
{
    public abstract string Describe { get; }

    /// <summary>What the batches are drawn from, on one line and without paths: a generated world's description
    /// (<see cref="World.describe"/>), or a hash of the recorded frames with the frame step. With the seed, every
    /// checkpoint records it (<see cref="Train.trainingDataKey"/>), so <c>--resume</c> refuses other data.</summary>
    public abstract string TrainsOn { get; }

    public abstract torch.Tensor Batch(int step);

    public static TrainingData Create(Parse.TrainCommand cmd)
    {
        if (cmd.DataDir is null)
            return new Generated(DataCommand.CreateWorlds([.. cmd.Worlds], "train", cmd.MnistDir, Console.Error.WriteLine), (ulong)cmd.Seed, cmd.Config);
        if (Inputs.IsStream(cmd.DataDir))
            return Inputs.IsLive(cmd.DataDir)
                ? throw new UserError($"--data: {cmd.DataDir} is a live stream, whose frames never end, and training reads all its footage before the first step; record a stretch of it (ffmpeg -i {cmd.DataDir} -t 600 -c copy clip.mkv) and train on that")
                : FromFootage(cmd.DataDir, cmd);
        var isDir = Directory.Exists(cmd.DataDir);
        if (!isDir && !File.Exists(cmd.DataDir)) throw new UserError($"--data: '{cmd.DataDir}' not found");
        var pack = isDir ? Path.Combine(cmd.DataDir, Inputs.PackName) : cmd.DataDir;
        var packed = isDir ? File.Exists(pack) : pack.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);
        if (packed && !cmd.Crops.IsEmpty)
            throw new UserError($"--crop: {pack} is a packed dataset, already at the model's size; --crop cuts windows of footage");
        return packed ? FromPack(pack, cmd) : FromFootage(cmd.DataDir, cmd);
    }

    static Clips FromPack(string pack, Parse.TrainCommand cmd)
    {
        // Checked by its header; the frames are then read from the file as batches need them, so a pack of any size
        // trains in the memory of a step (a 2.5 GB pack had been held whole: 6.3 GB for one step, 3.9 GB now).
        var frames = Dataset.framesOf(pack);
        if (frames.Sequences == 0) throw new UserError($"{pack} holds no sequences");
        if (frames.Side != cmd.Config.ImageSize)
            throw new UserError($"{pack} has {frames.Side}×{frames.Side} frames but the model expects {cmd.Config.ImageSize}×{cmd.Config.ImageSize}");
        var span = Clips.Span(cmd.Config.SeqLength, cmd.FrameStep);
        if (frames.Length < span)
            throw new UserError($"{pack} has sequences of {frames.Length} frames; a training clip spans {span} (SeqLength {cmd.Config.SeqLength}, --frame-step {cmd.FrameStep})");
        return new Clips($"{frames.Sequences} sequences from {pack}", frames, cmd.Config, cmd.FrameStep, (ulong)cmd.Seed);
    }

    /// <summary>Footage as <c>track --input</c> reads it (Inputs.Open): every frame resized to the model's square
    /// input. Sequences shorter than a training clip are left out, and said so.</summary>
    static Clips FromFootage(string path, Parse.TrainCommand cmd)
    {
        var cfg = cmd.Config;
        var span = Clips.Span(cfg.SeqLength, cmd.FrameStep);
        Action<string> warn = m => Console.WriteLine($"train: {m}");
        var kept = new List<byte[][]>();
        var tooShort = new List<string>();
        void Keep(string name, List<byte[]> frames)
        {
            if (frames.Count >= span) kept.Add([.. frames]);
            else tooShort.Add($"{name} ({Counts.Of(frames.Count, "frame")})");
        }
        // Each window a sequence of its own, in the order of the crops, then of the input's sequences, then of the
        // windows (Inputs.OpenWindows); tiles are read once for all their windows (a video decoded once, not once a tile).
        foreach (var crops in cmd.Crops.IsEmpty ? [[]] : cmd.Crops.Select(c => new List<Scalor.IO.Crop.Crop> { c }))
        {
            if (crops is [{ IsTiles: true } tiles])
                foreach (var src in Inputs.OpenTiled(path, cfg.ImageSize, tiles, out _, warn: warn))
                {
                    var byTile = TrackCommand.FramesByTile(src);
                    for (var i = 0; i < byTile.Count; i++) Keep($"{src.Name}@{Scalor.IO.Crop.describe(Scalor.IO.Crop.Crop.NewWindow(src.Windows[i]))}", byTile[i]);
                }
            else
                foreach (var src in Inputs.OpenWindows(path, cfg.ImageSize, crops, warn: warn))
                {
                    var frames = new List<byte[]>(Math.Max(src.Length, 0));
                    NativeSafe.Chunks(src.Frames, TrackCommand.FramesPerBlock, frames.AddRange);
                    Keep(src.Name, frames);
                }
        }
        if (tooShort.Count > 0)
            Console.Error.WriteLine($"train: left out {Counts.Of(tooShort.Count, "sequence")} shorter than a training clip ({span} frames): {string.Join(", ", tooShort.Take(5))}{(tooShort.Count > 5 ? ", …" : "")}");
        if (kept.Count == 0)
            throw new UserError($"--data: no sequence in '{path}' has the {span} frames a training clip spans (SeqLength {cfg.SeqLength}, --frame-step {cmd.FrameStep})");
        var total = kept.Sum(s => s.Length);
        var mb = (double)total * cfg.ImageSize * cfg.ImageSize * 3 / (1 << 20);
        return new Clips(
            $"footage '{path}'{(cmd.Crops.IsEmpty ? "" : $" cropped to {Scalor.IO.Crop.describeAll(cmd.Crops)}")}: {Counts.Of(kept.Count, "sequence")}, {Counts.Of(total, "frame")} at {cfg.ImageSize}×{cfg.ImageSize} ({mb:0.#} MB)",
            [.. kept], cfg, cmd.FrameStep, (ulong)cmd.Seed);
    }

    /// <summary>Sequences drawn on the fly: sequence j of the run (batch j / BatchSize) from world j mod the worlds'
    /// count, by seed j, so a mix's batches hold each density in turn and one world's are the paper's.</summary>
    sealed class Generated(World.World[] worlds, ulong seed, Config.ScalorConfig cfg) : TrainingData
    {
        static World.WorldConfig Of(World.World w) => World.config(w);

        public override string Describe => worlds.Length == 1
            ? $"generated {Of(worlds[0]).Kind} {Of(worlds[0]).Density.Name} world"
            : $"generated {Of(worlds[0]).Kind} worlds of mixed density, {string.Join("+", worlds.Select(w => Of(w).Density.Name))} in turn";

        // One world: its description, as every checkpoint before mixes recorded it (so they still resume).
        public override string TrainsOn => worlds.Length == 1
            ? World.describe(Of(worlds[0]))
            : "in turn: " + string.Join(" | ", worlds.Select(w => World.describe(Of(w))));

        public override torch.Tensor Batch(int step)
        {
            var b = cfg.BatchSize;
            var seqs = new World.Sequence[b];
            Parallel.For(0, b, i =>
            {
                var j = step * b + i;
                seqs[i] = World.sequence(worlds[j % worlds.Length], World.sequenceSeed(seed, j));
            });
            return Train.batchOf(seqs);
        }
    }

    /// <summary>Clips of SeqLength frames, each <c>frameStep</c> frames after the one before (1: consecutive frames; the
    /// official code takes every 8th of its 25 fps natural footage, which moves too little from frame to frame), one
    /// starting at every frame that leaves room for one, drawn in a seeded shuffle per epoch (every clip once per
    /// epoch). A packed dataset of clip-long sequences has one clip per sequence, so its batches are those of a plain
    /// shuffle of the sequences, as before clips.</summary>
    public sealed class Clips : TrainingData
    {
        /// <summary>Where the frames are: in memory (footage, read once) or in a pack's file (read as batches ask).</summary>
        interface IFrames
        {
            int Sequences { get; }
            int LengthOf(int seq);
            /// <summary>Frames <paramref name="frames"/> of sequence <paramref name="seq"/>, one after another, into <paramref name="dest"/>.</summary>
            void Copy(int seq, int[] frames, byte[] dest);
        }

        sealed class InMemory(byte[][][] frames) : IFrames
        {
            public int Sequences => frames.Length;
            public int LengthOf(int seq) => frames[seq].Length;
            public void Copy(int seq, int[] picked, byte[] dest)
            {
                for (var i = 0; i < picked.Length; i++)
                {
                    var f = frames[seq][picked[i]];
                    Buffer.BlockCopy(f, 0, dest, i * f.Length, f.Length);
                }
            }
        }

        sealed class InPack(Dataset.FramePack pack) : IFrames
        {
            public int Sequences => pack.Sequences;
            public int LengthOf(int seq) => pack.Length;
            public void Copy(int seq, int[] picked, byte[] dest) => pack.ReadFrames(seq, picked, dest);
        }

        readonly IFrames frames;
        readonly int frameBytes;
        readonly (int Seq, int Start)[] clips;
        readonly Config.ScalorConfig cfg;
        readonly int frameStep;
        readonly ulong seed;
        long epochOf = -1;
        int[] order = [];

        /// <param name="frames">[sequence][frame] → RGB bytes of one ImageSize×ImageSize frame.</param>
        public Clips(string describe, byte[][][] frames, Config.ScalorConfig cfg, int frameStep, ulong seed)
            : this(describe, new InMemory(frames), cfg, frameStep, seed) { }

        /// <summary>Clips of a pack's sequences (<see cref="Dataset.framesOf"/>), whose frames stay in its file until a
        /// batch reads them: the same clips, batches and <see cref="TrainsOn"/> as the pack's frames held in memory.</summary>
        public Clips(string describe, Dataset.FramePack pack, Config.ScalorConfig cfg, int frameStep, ulong seed)
            : this(describe, new InPack(pack), cfg, frameStep, seed) { }

        Clips(string describe, IFrames frames, Config.ScalorConfig cfg, int frameStep, ulong seed)
        {
            if (frameStep < 1) throw new ArgumentOutOfRangeException(nameof(frameStep), "a frame step is at least 1");
            this.frames = frames;
            this.cfg = cfg;
            this.frameStep = frameStep;
            this.seed = seed;
            frameBytes = cfg.ImageSize * cfg.ImageSize * 3;
            var span = Span(cfg.SeqLength, frameStep);
            clips = [.. Enumerable.Range(0, frames.Sequences).SelectMany(i => Enumerable.Range(0, Math.Max(0, frames.LengthOf(i) - span + 1)).Select(start => (i, start)))];
            if (clips.Length == 0) throw new ArgumentException($"no sequence has the {span} frames a clip spans", nameof(frames));
            var total = Enumerable.Range(0, frames.Sequences).Sum(frames.LengthOf);
            Describe = $"{describe}, {clips.Length} clips of {cfg.SeqLength} frames{(frameStep > 1 ? $" {frameStep} apart" : "")}";
            TrainsOn = $"recorded frames sha256:{Hash(frames, frameBytes)} ({frames.Sequences} sequence(s), {total} frames of {cfg.ImageSize}x{cfg.ImageSize}); frame step {frameStep}";
        }

        /// <summary>SHA-256 of the sequences' frames in order, each sequence prefixed by its frame count: equal
        /// exactly when the clips are. A pack is read once for it, a sequence at a time.</summary>
        static string Hash(IFrames frames, int frameBytes)
        {
            using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            byte[] buffer = [];
            for (var s = 0; s < frames.Sequences; s++)
            {
                var n = frames.LengthOf(s);
                sha.AppendData(BitConverter.GetBytes(n));
                if (buffer.Length < n * frameBytes) buffer = new byte[n * frameBytes];
                frames.Copy(s, [.. Enumerable.Range(0, n)], buffer);
                sha.AppendData(buffer, 0, n * frameBytes);
            }
            return Convert.ToHexStringLower(sha.GetHashAndReset());
        }

        public override string TrainsOn { get; }

        /// <summary>Frames of footage a clip of <paramref name="length"/> frames, <paramref name="step"/> apart, covers.</summary>
        public static int Span(int length, int step) => (length - 1) * step + 1;

        public override string Describe { get; }

        /// <summary>Clips in the data: (sequence, first frame).</summary>
        public IReadOnlyList<(int Seq, int Start)> All => clips;

        /// <summary>The clip that batch item <paramref name="item"/> of training step <paramref name="step"/> shows.</summary>
        public (int Seq, int Start) ClipAt(int step, int item)
        {
            var k = (long)step * cfg.BatchSize + item;
            var epoch = k / clips.Length;
            // One shuffle per epoch, kept while steps stay in it (a step's items, and the next steps, mostly do).
            if (epoch != epochOf)
            {
                order = Permutation(clips.Length, Rng.derive(seed, (ulong)epoch));
                epochOf = epoch;
            }
            return clips[order[k % clips.Length]];
        }

        public override torch.Tensor Batch(int step)
        {
            var t = cfg.SeqLength;
            var picked = new World.Sequence[cfg.BatchSize];
            for (var i = 0; i < picked.Length; i++)
            {
                var (s, start) = ClipAt(step, i);
                var clip = new byte[t * frameBytes];
                frames.Copy(s, [.. Enumerable.Range(0, t).Select(f => start + f * frameStep)], clip);
                picked[i] = new World.Sequence(0UL, t, cfg.ImageSize, clip, [], 0);
            }
            return Train.batchOf(picked);
        }

        static int[] Permutation(int n, ulong seed)
        {
            var rng = new Rng.Stream(seed);
            var p = Enumerable.Range(0, n).ToArray();
            for (var i = n - 1; i > 0; i--) { var j = rng.Int(0, i); (p[i], p[j]) = (p[j], p[i]); }
            return p;
        }
    }
}
