using Scalor.Metrics;
using Scalor.Model;

namespace Scalor.Runtime;

/// <summary>Offline tracking of a whole sequence: what <c>scalor-host track --backfill</c> does, for applications
/// that hold the frames of a file rather than a live stream (README "Tracking").</summary>
public static class Offline
{
    /// <summary>Tracks <paramref name="frames"/> (one sequence, in order) forwards and then played backwards, each
    /// pass from a fresh state, and extends every forward track that starts late with the backward pass's track of
    /// the same object (<see cref="Backfill.extendWithSources"/>, <see cref="Backfill.defaults"/> unless
    /// <paramref name="options"/> says otherwise). The forward pass's frames and objects are kept as they are; an
    /// added object is the backward pass's, under the forward track's id (and not marked new). The tracker is
    /// reset before and after.</summary>
    public static IReadOnlyList<TrackedFrame> TrackBackfilled(this OnnxTracker tracker, IReadOnlyList<Frame> frames, Backfill.Options? options = null)
    {
        var n = frames.Count;
        tracker.Reset();
        var forward = frames.Select(tracker.Step).ToList();
        tracker.Reset();
        var backward = Enumerable.Range(1, n).Select(k => tracker.Step(frames[n - k])).ToList();
        tracker.Reset();
        // Frame t of the backward pass shows frame n + 1 − t.
        var (_, sources) = Backfill.extendWithSources(options ?? Backfill.defaults,
            RowsOf(forward, t => t), RowsOf(backward, t => n + 1 - t)).ToValueTuple();
        var objects = forward.Select(f => f.Objects.ToList()).ToList();
        foreach (var a in sources)
        {
            var o = backward[n - a.Frame].Objects.First(x => x.Id == a.From);
            objects[a.Frame - 1].Add(o with { Id = a.Id, New = false });
        }
        return [.. forward.Select((f, i) => f with { Objects = objects[i] })];
    }

    static MotFiles.Row[] RowsOf(List<TrackedFrame> pass, Func<int, int> frameOf) =>
        [.. pass.SelectMany((f, i) => f.Objects.Select(o => new MotFiles.Row(frameOf(i + 1), checked((int)o.Id),
            new Geometry.Box(o.Left, o.Top, o.Width, o.Height), o.Presence, 1, 1.0)))];
}
