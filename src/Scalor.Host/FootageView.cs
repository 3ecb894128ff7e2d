using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using Scalor.IO;
using Scalor.Model;

namespace Scalor.Host;

/// <summary>How a command sees footage: the frame step and windows its command line gives, else those the model's
/// checkpoint records (<see cref="Train.frameStepKey"/>, <see cref="Train.cropKey"/>: how <c>train --data</c> saw
/// its footage), else every frame, whole. Each value taken from the checkpoint is said in a line, with the option
/// that sets it aside.</summary>
public static class FootageView
{
    /// <summary>The frame step and the one window of <c>track</c> and <c>generate</c> (or tiles, for a command that
    /// joins them: <paramref name="tiles"/>). <paramref name="askedStep"/> 0 and <paramref name="askedCrop"/> null
    /// were not given; <see cref="Crop.Crop.Whole"/> is no window. A model trained on several windows cannot say
    /// which one to follow: the whole frame is seen, and a line says so.</summary>
    public static (int Step, FSharpOption<Crop.Crop>? Crop) One(string command, string? model, int askedStep, FSharpOption<Crop.Crop>? askedCrop, Action<string> say,
        bool tiles = false) =>
        One(command, Records(model), "checkpoint", askedStep, askedCrop, say, tiles);

    /// <summary>As above, from what a model records (<paramref name="records"/>: its frame step and windows; an
    /// exported model's, <see cref="Scalor.Runtime.OnnxTracker.FrameStep"/> and <see cref="Scalor.Runtime.OnnxTracker.Crops"/>),
    /// said to be as the <paramref name="recorder"/> ("checkpoint", "model") records.</summary>
    public static (int Step, FSharpOption<Crop.Crop>? Crop) One(string command, (int Step, FSharpList<Crop.Crop> Crops) records, string recorder, int askedStep,
        FSharpOption<Crop.Crop>? askedCrop, Action<string> say, bool tiles = false)
    {
        var (step, recorded) = Recorded(records, recorder, askedStep, command, say);
        if (askedCrop is not null) return (step, askedCrop.Value.IsWhole ? null : askedCrop);
        if (recorded.All(c => c.IsWhole)) return (step, null);
        if (recorded.Length == 1 && (tiles || !recorded.Head.IsTiles))
        {
            say($"{command}: {(recorded.Head.IsTiles ? "tiles" : "window")} {Crop.describe(recorded.Head)}, as the {recorder} records (--crop whole: the whole frame)");
            return (step, recorded.Head);
        }
        say($"{command}: the model was trained on windows {Crop.describeAll(recorded)} of its footage, and {command} follows one; it sees the whole frame unless --crop W:H:X:Y gives one");
        return (step, null);
    }

    /// <summary>The frame step and every window of <c>eval --data</c> on footage: those given, else the checkpoint's
    /// (tiles included); <see cref="Crop.Crop.Whole"/> alone is the whole frame.</summary>
    public static (int Step, FSharpList<Crop.Crop> Crops) All(string command, string? model, int askedStep, FSharpList<Crop.Crop> askedCrops, Action<string> say)
    {
        var (step, recorded) = Recorded(Records(model), "checkpoint", askedStep, command, say);
        if (!askedCrops.IsEmpty) return (step, askedCrops.All(c => c.IsWhole) ? FSharpList<Crop.Crop>.Empty : askedCrops);
        if (!recorded.IsEmpty) say($"{command}: windows {Crop.describeAll(recorded)}, as the checkpoint records (--crop whole: the whole frame)");
        return (step, recorded);
    }

    /// <summary>Says, when the checkpoint records a frame step or windows, that a command which sees whole sequences
    /// does not use them, and why.</summary>
    public static void Ignored(string command, string model, string why, Action<string> say)
    {
        var (step, crops) = Records(model);
        if (step == 1 && crops.IsEmpty) return;
        var records = new List<string>();
        if (step > 1) records.Add($"frame step {step}");
        if (!crops.IsEmpty) records.Add($"windows {Crop.describeAll(crops)}");
        say($"{command}: the checkpoint records {string.Join(" and ", records)}; {why}");
    }

    /// <summary>The frame step given, else the recorded one (said), and the windows recorded.</summary>
    static (int Step, FSharpList<Crop.Crop> Crops) Recorded((int Step, FSharpList<Crop.Crop> Crops) records, string recorder, int askedStep, string command, Action<string> say)
    {
        var (recordedStep, crops) = records;
        if (askedStep > 0) return (askedStep, crops);
        if (recordedStep > 1) say($"{command}: frame step {recordedStep}, as the {recorder} records (--frame-step 1: every frame)");
        return (recordedStep, crops);
    }

    /// <summary>What the checkpoint records (1 and none when nothing); the embedded model, trained on generated
    /// worlds, records neither.</summary>
    static (int Step, FSharpList<Crop.Crop> Crops) Records(string? model)
    {
        if (model is null) return (1, FSharpList<Crop.Crop>.Empty);
        var header = Checkpoints.ReadHeader(model);
        return (Train.recordedFrameStep(model, header), Train.recordedCrops(model, header));
    }
}
