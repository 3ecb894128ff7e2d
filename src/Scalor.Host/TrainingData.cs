using Scalor.Cli;
using Scalor.Model;
using Scalor.Worlds;
using TorchSharp;

namespace Scalor.Host;

/// <summary>Batches for training step s: a pure function of (seed, s), so a resumed run sees exactly the data
/// an uninterrupted one would. Either drawn on the fly from a generated world, or from a packed dataset
/// (a seeded shuffle per epoch).</summary>
public abstract class TrainingData
{
    public abstract string Describe { get; }
    public abstract torch.Tensor Batch(int step);

    public static TrainingData Create(Parse.TrainCommand cmd)
    {
        if (cmd.DataDir is null)
            return new Generated(DataCommand.CreateWorld(cmd.World, "train", cmd.MnistDir, Console.Error.WriteLine), (ulong)cmd.Seed, cmd.Config);
        var pack = Directory.Exists(cmd.DataDir) ? Path.Combine(cmd.DataDir, "dataset.safetensors") : cmd.DataDir;
        if (!File.Exists(pack)) throw new UserError($"no dataset.safetensors in '{cmd.DataDir}' (write one with 'scalor-host data')");
        var (seqs, _) = Dataset.unpack(pack);
        if (seqs.Length == 0) throw new UserError($"{pack} holds no sequences");
        if (seqs[0].ViewSize != cmd.Config.ImageSize)
            throw new UserError($"{pack} has {seqs[0].ViewSize}×{seqs[0].ViewSize} frames but the model expects {cmd.Config.ImageSize}×{cmd.Config.ImageSize}");
        if (seqs[0].Length < cmd.Config.SeqLength)
            throw new UserError($"{pack} has sequences of {seqs[0].Length} frames; training needs {cmd.Config.SeqLength}");
        return new Packed(seqs, (ulong)cmd.Seed, cmd.Config, pack);
    }

    sealed class Generated(World.World world, ulong seed, Config.ScalorConfig cfg) : TrainingData
    {
        public override string Describe => $"generated {World.config(world).Kind} {World.config(world).Density.Name} world";
        public override torch.Tensor Batch(int step)
        {
            var b = cfg.BatchSize;
            var seqs = new World.Sequence[b];
            Parallel.For(0, b, i => seqs[i] = World.sequence(world, World.sequenceSeed(seed, step * b + i)));
            return Train.batchOf(seqs);
        }
    }

    sealed class Packed(World.Sequence[] seqs, ulong seed, Config.ScalorConfig cfg, string path) : TrainingData
    {
        public override string Describe => $"{seqs.Length} sequences from {path}";
        public override torch.Tensor Batch(int step)
        {
            var b = cfg.BatchSize;
            var picked = new World.Sequence[b];
            for (var i = 0; i < b; i++)
            {
                var k = (long)step * b + i;
                var epoch = k / seqs.Length;
                var perm = Permutation(seqs.Length, Rng.derive(seed, (ulong)epoch));
                var s = seqs[perm[k % seqs.Length]];
                picked[i] = s.Length == cfg.SeqLength ? s : Trim(s, cfg.SeqLength);
            }
            return Train.batchOf(picked);
        }

        static World.Sequence Trim(World.Sequence s, int t) =>
            new(s.Seed, t, s.ViewSize, s.Frames[..(t * s.ViewSize * s.ViewSize * 3)], s.Truth.Where(b => b.Frame < t).ToArray(), s.ObjectCount);

        static int[] Permutation(int n, ulong seed)
        {
            var rng = new Rng.Stream(seed);
            var p = Enumerable.Range(0, n).ToArray();
            for (var i = n - 1; i > 0; i--) { var j = rng.Int(0, i); (p[i], p[j]) = (p[j], p[i]); }
            return p;
        }
    }
}
