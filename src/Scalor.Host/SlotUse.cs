using System.Globalization;

namespace Scalor.Host;

/// <summary>Where a <c>track</c> run's trackers had every object slot taken. A full tracker cannot take the next
/// frame's discoveries beyond the slots its objects free, so those objects go untracked, silently but for this: a
/// crowded scene loses objects that more slots would keep (the default model fills 64 slots on vtest.avi's
/// tiles), and two runtimes with different capacities part ways there.</summary>
internal sealed class SlotUse
{
    readonly object gate = new();
    readonly List<(string Name, int Full, int FirstFrame)> sequences = [];
    int capacity;
    int frames;

    /// <summary>The slots of the trackers heard (0 before any).</summary>
    public int Capacity { get { lock (gate) return capacity; } }

    /// <summary>Frames after which every slot was taken, over every sequence heard.</summary>
    public int FullFrames { get { lock (gate) return sequences.Sum(s => s.Full); } }

    /// <summary>One sequence (or tile) tracked with <paramref name="capacity"/> slots over <paramref name="tracked"/>
    /// frames, every slot taken after <paramref name="full"/> of them, the first of them the input's frame
    /// <paramref name="firstFrame"/>.</summary>
    public void Add(string name, int capacity, int full, int tracked, int firstFrame)
    {
        lock (gate)
        {
            this.capacity = capacity;
            frames += tracked;
            if (full > 0) sequences.Add((name, full, firstFrame));
        }
    }

    /// <summary>What <c>track</c> says when any slot ran full, else null. <paramref name="exported"/>: the
    /// capacity was built into an exported model, so more slots mean exporting again.</summary>
    public string? Line(bool exported)
    {
        lock (gate)
        {
            if (sequences.Count == 0) return null;
            var inv = CultureInfo.InvariantCulture;
            var first = sequences[0];
            var full = sequences.Sum(s => s.Full);
            var where = sequences.Count == 1 ? $"{first.Name}, from frame {first.FirstFrame}"
                : string.Create(inv, $"{sequences.Count} sequences or tiles, the first {first.Name} from frame {first.FirstFrame}");
            var more = exported ? "export the checkpoint again with --capacity N for more" : "--capacity N gives more";
            return string.Create(inv, $"track: all {capacity} object slots were taken at {full} of {Counts.Of(frames, "frame")} ({where}): objects discovered beyond them were not tracked; {more}");
        }
    }
}
