using Microsoft.ML;
using MlNetMiniBatch.Training.Shuffling;
using MlNetMiniBatch.TrainingHost;
using static MlNetMiniBatch.Tests.Training.CheckpointRuns;

namespace MlNetMiniBatch.Tests.Training.Shuffling;

/// <summary>A streamed run whose process is killed: what the kill leaves on disk, and the run that picks it up in
/// another process.</summary>
[TestClass]
public sealed class KilledStreamingRunTests
{
    // Killed in the middle of epoch 2, the host leaves the checkpoint of epoch 1 and its shuffle directory (its lock is
    // released by the kill, not by the code that deletes the directory). The resumed run deals the rows again in this
    // process; the same hashes of (seed, epoch, position) must give the same shards, groups and orders as the run that
    // never stopped, in two memory groups per epoch.
    [TestMethod]
    public void AProcessKilledInEpochTwoOfAStreamedRunResumesElsewhereToTheSameRunAndItsShuffleFilesGoAtTheNextStart()
    {
        var uninterrupted = Train(ResumeScenario.StreamedOptions(NewDirectory(), ShuffleFixture.NewDirectory()), ResumeScenario.StreamedData(new MLContext(1)));
        Assert.IsGreaterThan(ResumeScenario.StreamedOptions("", "").ShuffleMemoryLimit, uninterrupted.ShuffleBytesWritten,
            "the streaming shuffle ran, and its copy is larger than one group");

        string checkpoints = NewDirectory(), shuffle = ShuffleFixture.NewDirectory();
        RunHostUntil(checkpoints, ["batch", "2", "10", "--streamed", shuffle], "epoch 2 batch 10");
        string leftover = Assert.ContainsSingle(Directory.GetDirectories(shuffle, ShuffleDirectory.Prefix + "*"));
        Assert.IsNotEmpty(Directory.GetFiles(leftover, "shard-*"), "the killed run's copy is still on disk");

        var options = ResumeScenario.StreamedOptions(checkpoints, shuffle);
        bool? leftoverAfterFirstEpoch = null;
        options.OnEpochEnd = _ => leftoverAfterFirstEpoch ??= Directory.Exists(leftover);
        var (resumed, epochsTrained) = TrainRecordingEpochs(options, ResumeScenario.StreamedData(new MLContext(1)));

        Assert.AreEqual(2, epochsTrained[0], "resumed after epoch 1, the last checkpoint");
        Assert.IsFalse(leftoverAfterFirstEpoch, "the killed run's directory was deleted when the resumed run started");
        Assert.IsEmpty(Directory.GetDirectories(shuffle), "and the resumed run deleted its own when it finished");
        AssertSameRun(uninterrupted, resumed);
    }
}
