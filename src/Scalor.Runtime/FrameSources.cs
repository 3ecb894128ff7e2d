using System.Reactive.Linq;
using Scalor.Worlds;

namespace Scalor.Runtime;

/// <summary>One RGB frame of a stream: row-major bytes, 3 per pixel.</summary>
public sealed record Frame(string Sequence, int Index, int Width, int Height, byte[] Rgb);

/// <summary>Frame sources as cold observables: nothing is generated or read until someone subscribes, and
/// disposing the subscription stops the work.</summary>
public static class FrameSources
{
    /// <summary>Sequences of a generated world, frame by frame, in order: sequence i is drawn with
    /// <c>World.sequenceSeed(seed, i)</c>, exactly as <c>scalor-host data</c> and training draw it.</summary>
    public static IObservable<Frame> FromWorld(World.World world, ulong seed, int sequences) =>
        Observable.Create<Frame>((observer, ct) => Task.Run(() =>
        {
            for (var i = 0; i < sequences && !ct.IsCancellationRequested; i++)
            {
                var s = World.sequence(world, World.sequenceSeed(seed, i));
                var bytes = s.ViewSize * s.ViewSize * 3;
                for (var t = 0; t < s.Length && !ct.IsCancellationRequested; t++)
                {
                    var rgb = new byte[bytes];
                    Buffer.BlockCopy(s.Frames, t * bytes, rgb, 0, bytes);
                    observer.OnNext(new Frame($"seq-{i + 1:D4}", t, s.ViewSize, s.ViewSize, rgb));
                }
            }
            observer.OnCompleted();
        }, ct));

    /// <summary>A folder of images (png, jpg, bmp; in name order) or a video file (decoded by ffmpeg), or every
    /// sequence of a dataset folder in the MOTChallenge layout, as frames resized to <paramref name="size"/>. With
    /// <paramref name="frameStep"/> k, every k-th frame from the first (as a model trained with
    /// <c>train --frame-step k</c> saw them), each frame's <c>Index</c> still the input's, so MOT lines name the
    /// input's frames. <paramref name="warn"/> hears what a video's decoder reported (<see cref="Inputs.FromDecoder"/>).
    /// With <paramref name="crop"/>, the frames show its window of the input's (boxes scaled back by
    /// <see cref="TrackingStream.RecordMot"/> with the window's size are then in the window's pixels: add its corner
    /// for the input's); tiles stream one sequence after another, each named for its window.</summary>
    public static IObservable<Frame> FromPath(string path, int size, int frameStep = 1, Scalor.IO.Crop.Crop? crop = null, Action<string>? warn = null) =>
        Stream(() => Inputs.Open(path, size, out _, frameStep, crop, warn).SelectMany(src =>
            src.Frames.Select((rgb, t) => new Frame(src.Name, t * frameStep, size, size, rgb))));

    /// <summary>What <see cref="FromPath"/> reads, each frame at the input's own size, for <see cref="TrackingStream.TrackTiles(IObservable{Frame}, TiledTracker, StreamOptions?, Action{Frame}?)"/>:
    /// a video is decoded once, however many tiles are cut from it. <paramref name="warn"/> hears what a video's
    /// decoder reported (<see cref="Inputs.FromDecoder"/>).</summary>
    public static IObservable<Frame> Whole(string path, int frameStep = 1, Action<string>? warn = null) =>
        Stream(() => Inputs.OpenWhole(path, out _, frameStep, warn).SelectMany(src =>
            src.Frames.Select((rgb, t) => new Frame(src.Name, t * frameStep, src.Width, src.Height, rgb))));

    /// <summary>What <see cref="FromPath"/> reads, each frame cut into the windows of <paramref name="crop"/> (tiles)
    /// at the model's size <paramref name="size"/>, for <see cref="TrackingStream.TrackTiles(IObservable{TiledFrame}, TiledTracker, StreamOptions?, Action{TiledFrame}?)"/>:
    /// a video is decoded once, by one ffmpeg that scales every tile as <see cref="FromPath"/> scales that window
    /// (<see cref="Inputs.OpenTiled"/>).</summary>
    public static IObservable<TiledFrame> Tiled(string path, int size, Scalor.IO.Crop.Crop crop, int frameStep = 1, Action<string>? warn = null) =>
        Stream(() => Inputs.OpenTiled(path, size, crop, out _, frameStep, warn).SelectMany(src => src.TiledFrames(frameStep)));

    /// <summary>The items <paramref name="items"/> reads (opened on subscription, on a worker), in order, until the
    /// subscription is disposed; then completion.</summary>
    static IObservable<T> Stream<T>(Func<IEnumerable<T>> items) =>
        Observable.Create<T>((observer, ct) => Task.Run(() =>
        {
            foreach (var item in items())
            {
                if (ct.IsCancellationRequested) return;
                observer.OnNext(item);
            }
            observer.OnCompleted();
        }, ct));
}
