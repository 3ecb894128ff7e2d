using System.Globalization;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Threading.Channels;

namespace Scalor.Runtime;

/// <summary>What to do when frames arrive faster than they are tracked and the buffer is full.</summary>
public enum Overflow
{
    /// <summary>The producer waits for room (back-pressure: no frame is lost).</summary>
    Block,
    /// <summary>The oldest buffered frame is dropped (live video: stay current).</summary>
    DropOldest,
    /// <summary>The arriving frame is dropped.</summary>
    DropNewest,
}

/// <summary>Streaming options: buffer size, overflow policy, and a callback for each dropped item.</summary>
public sealed record StreamOptions(int Buffer = 8, Overflow Policy = Overflow.Block);

/// <summary>Tracking as an Rx operator: frames in, tracked frames out, one at a time on a worker, in order.</summary>
public static class TrackingStream
{
    /// <summary>Applies <paramref name="step"/> to every item on one worker thread, in arrival order, through a
    /// bounded buffer with the chosen overflow policy. A throwing step ends the stream with that error (the process
    /// and other streams are unaffected); disposing the subscription cancels the worker and unsubscribes the
    /// source; an error or completion of the source is passed on after the buffered items.</summary>
    public static IObservable<TOut> Process<TIn, TOut>(this IObservable<TIn> source, Func<TIn, TOut> step, StreamOptions? options = null,
        Action<TIn>? dropped = null)
    {
        var o = options ?? new StreamOptions();
        if (o.Buffer < 1) throw new ArgumentOutOfRangeException(nameof(options), "the buffer must hold at least one item");
        return Observable.Create<TOut>(observer =>
        {
            var cts = new CancellationTokenSource();
            var mode = o.Policy switch
            {
                Overflow.DropOldest => BoundedChannelFullMode.DropOldest,
                Overflow.DropNewest => BoundedChannelFullMode.DropWrite,
                _ => BoundedChannelFullMode.Wait,
            };
            var channel = Channel.CreateBounded(new BoundedChannelOptions(o.Buffer) { FullMode = mode, SingleReader = true }, dropped);
            var worker = Task.Run(async () =>
            {
                try
                {
                    await foreach (var item in channel.Reader.ReadAllAsync(cts.Token))
                    {
                        // ReadAllAsync checks the token only while it waits: without this, a disposed stream would
                        // still run the step on every item already buffered (up to the buffer size).
                        cts.Token.ThrowIfCancellationRequested();
                        TOut result;
                        try { result = step(item); }
                        catch (Exception e)
                        {
                            cts.Cancel();
                            observer.OnError(e);
                            return;
                        }
                        observer.OnNext(result);
                    }
                    observer.OnCompleted();
                }
                catch (OperationCanceledException) when (cts.IsCancellationRequested) { }
                catch (Exception e) { observer.OnError(e); }
            });
            var subscription = source.Subscribe(
                item =>
                {
                    if (cts.IsCancellationRequested) return;
                    if (o.Policy == Overflow.Block)
                    {
                        try { channel.Writer.WriteAsync(item, cts.Token).AsTask().GetAwaiter().GetResult(); }
                        catch (OperationCanceledException) { }
                        catch (ChannelClosedException) { }
                    }
                    else channel.Writer.TryWrite(item);
                },
                error => channel.Writer.TryComplete(error),
                () => channel.Writer.TryComplete());
            return Disposable.Create(() =>
            {
                subscription.Dispose();
                cts.Cancel();
                channel.Writer.TryComplete();
            });
        });
    }

    /// <summary>Tracks a frame stream with an exported model. A new sequence name resets the tracker's state.</summary>
    public static IObservable<TrackedFrame> Track(this IObservable<Frame> frames, OnnxTracker tracker, StreamOptions? options = null,
        Action<Frame>? dropped = null)
    {
        string? sequence = null;
        return frames.Process(f =>
        {
            if (f.Sequence != sequence)
            {
                tracker.Reset();
                sequence = f.Sequence;
            }
            return tracker.Step(f);
        }, options, dropped);
    }

    /// <summary>Tracks a stream of whole frames (<see cref="FrameSources.Whole"/>, or a camera's) in tiles, joined into
    /// one set of ids for the whole frame as they come (<see cref="TiledTracker"/>); a new sequence name starts afresh.
    /// Boxes are in the whole frame's pixels, so <see cref="RecordMot"/> needs no size.</summary>
    public static IObservable<TrackedFrame> TrackTiles(this IObservable<Frame> frames, TiledTracker tracker, StreamOptions? options = null,
        Action<Frame>? dropped = null) =>
        frames.Process(tracker.Step, options, dropped);

    /// <summary>Tracks a stream of frames that come cut into tiles (<see cref="FrameSources.Tiled"/>) and joins them as
    /// they come (<see cref="TiledTracker"/>); a new sequence name starts afresh.</summary>
    public static IObservable<TrackedFrame> TrackTiles(this IObservable<TiledFrame> frames, TiledTracker tracker, StreamOptions? options = null,
        Action<TiledFrame>? dropped = null) =>
        frames.Process(tracker.Step, options, dropped);

    /// <summary>Records tracked frames as MOTChallenge result files, <c>DIR/&lt;sequence&gt;.txt</c>
    /// (<c>frame,id,left,top,width,height,conf,-1,-1,-1</c>, frames from 1), scaled to each frame's original size
    /// <paramref name="width"/>×<paramref name="height"/> when given. Passes the frames on unchanged.</summary>
    public static IObservable<TrackedFrame> RecordMot(this IObservable<TrackedFrame> frames, string dir, int? width = null, int? height = null) =>
        Observable.Using(() => new MotWriter(dir, width, height), w => frames.Do(w.Write));

    /// <summary>Rounds a box in pixels (left, top, width, height) as MOTChallenge result files carry it: to two
    /// decimals, halves away from zero.</summary>
    public static double[] MotBox(IEnumerable<double> box) => [.. box.Select(v => Math.Round(v, 2, MidpointRounding.AwayFromZero))];

    /// <summary>One MOTChallenge results line, <c>frame,id,left,top,width,height,conf,-1,-1,-1</c>: the box
    /// rounded by <see cref="MotBox"/>, trailing zeros dropped, the confidence to three decimals. Every writer of
    /// results uses it, so both runtimes write the same bytes for the same tracks.</summary>
    public static string MotLine(int frame, long id, IEnumerable<double> box, double confidence)
    {
        var b = MotBox(box);
        return string.Create(CultureInfo.InvariantCulture, $"{frame},{id},{b[0]:0.##},{b[1]:0.##},{b[2]:0.##},{b[3]:0.##},{confidence:0.###},-1,-1,-1");
    }

    /// <summary>A tracked frame's MOTChallenge result lines (<see cref="MotLine"/>), its boxes scaled to the frame's
    /// original size <paramref name="width"/>×<paramref name="height"/> when given.</summary>
    public static IEnumerable<string> MotLines(TrackedFrame f, int? width = null, int? height = null)
    {
        double sx = (width ?? f.Frame.Width) / (double)f.Frame.Width, sy = (height ?? f.Frame.Height) / (double)f.Frame.Height;
        return f.Objects.Select(o => MotLine(f.Frame.Index + 1, o.Id, [o.Left * sx, o.Top * sy, o.Width * sx, o.Height * sy], o.Presence));
    }

    sealed class MotWriter(string dir, int? width, int? height) : IDisposable
    {
        readonly Dictionary<string, StreamWriter> files = new();

        public void Write(TrackedFrame f)
        {
            if (!files.TryGetValue(f.Frame.Sequence, out var w))
            {
                Directory.CreateDirectory(dir);
                // Flushed per frame: the file is complete when the frame has passed, and a crash loses nothing written.
                w = files[f.Frame.Sequence] = new StreamWriter(Scalor.IO.Crop.sequenceFile(dir, f.Frame.Sequence, ".txt")) { AutoFlush = true };
            }
            foreach (var line in MotLines(f, width, height)) w.WriteLine(line);
        }

        public void Dispose()
        {
            foreach (var w in files.Values) w.Dispose();
        }
    }
}
