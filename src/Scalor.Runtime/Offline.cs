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

    /// <summary>The Rx form of <see cref="TrackBackfilled(OnnxTracker, IReadOnlyList{Frame}, Backfill.Options?)"/> for a
    /// finite source (a file, a dataset): each sequence's frames are gathered until the next sequence starts or the
    /// source completes, then tracked offline and emitted in order. Nothing of a sequence comes out before its last
    /// frame has arrived; an error of the source, or of a sequence's tracking (a frame of the wrong size), ends the stream after the sequences completed before it.</summary>
    public static IObservable<TrackedFrame> TrackBackfilled(this IObservable<Frame> frames, OnnxTracker tracker, Backfill.Options? options = null) =>
        System.Reactive.Linq.Observable.Create<TrackedFrame>(observer =>
        {
            var pending = new List<Frame>();
            var failed = false;
            void Fail(Exception e)
            {
                failed = true;
                observer.OnError(e);
            }
            void Flush()
            {
                if (pending.Count == 0) return;
                var done = tracker.TrackBackfilled(pending, options);
                pending = [];
                foreach (var f in done) observer.OnNext(f);
            }
            return frames.Subscribe(
                f =>
                {
                    if (failed) return;
                    try
                    {
                        if (pending.Count > 0 && pending[0].Sequence != f.Sequence) Flush();
                        pending.Add(f);
                    }
                    catch (Exception e) { Fail(e); }
                },
                e => { if (!failed) Fail(e); },
                () =>
                {
                    if (failed) return;
                    try { Flush(); }
                    catch (Exception e) { Fail(e); return; }
                    observer.OnCompleted();
                });
        });

    static MotFiles.Row[] RowsOf(List<TrackedFrame> pass, Func<int, int> frameOf) =>
        [.. pass.SelectMany((f, i) => f.Objects.Select(o => new MotFiles.Row(frameOf(i + 1), checked((int)o.Id),
            new Geometry.Box(o.Left, o.Top, o.Width, o.Height), o.Presence, 1, 1.0)))];
}
