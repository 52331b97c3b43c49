using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Persistence;
using MlNetMiniBatch.TrainingHost;
using static MlNetMiniBatch.Tests.Training.CheckpointRuns;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>Resuming: after an interruption a run ends bit-identical to an uninterrupted one; a finished run leaves
/// nothing to resume.</summary>
[TestClass]
public sealed class CheckpointTests
{
    // The scenario's cosine schedule spans all 6 epochs and Adam's moments and step count feed every update, so a resume
    // that restarted the schedule, the optimizer or the shuffling at any of these epochs would change the weights.
    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(5)]
    public void ResumingAfterAnInterruptionEqualsAnUninterruptedRun(int interruptedAfter)
    {
        var uninterrupted = Train(ResumeScenario.Options(NewDirectory()));
        string directory = NewDirectory();
        Interrupt(ResumeScenario.Options(directory), interruptedAfter);

        var (resumed, epochsTrained) = TrainRecordingEpochs(ResumeScenario.Options(directory));

        CollectionAssert.AreEqual(Enumerable.Range(interruptedAfter + 1, ResumeScenario.Epochs - interruptedAfter).ToArray(), epochsTrained.ToArray(),
            "the resumed Fit trains only the epochs the interrupted one did not finish");
        AssertSameRun(uninterrupted, resumed);
    }

    [TestMethod]
    public void AProcessKilledMidEpochResumesFromItsLastCheckpointToTheSameWeights()
    {
        var uninterrupted = Train(ResumeScenario.Options(NewDirectory()));
        string directory = NewDirectory();
        RunHostUntil(directory, ["batch", "4", "7"], "epoch 4 batch 7"); // in the middle of epoch 4, after the checkpoint of epoch 3
        Assert.IsFalse(File.Exists(Checkpoint.PathIn(directory) + ".tmp"), "the checkpoint of epoch 3 was renamed into place");

        var (resumed, epochsTrained) = TrainRecordingEpochs(ResumeScenario.Options(directory));

        Assert.AreEqual(4, epochsTrained[0], "resumed after epoch 3");
        AssertSameRun(uninterrupted, resumed);
    }

    [TestMethod]
    public void AProcessKilledInsideACheckpointWriteResumesFromThePreviousCheckpointToTheSameWeights()
    {
        var uninterrupted = Train(ResumeScenario.Options(NewDirectory()));
        string directory = NewDirectory();
        RunHostUntil(directory, ["write", "3"], "writing the checkpoint of epoch 3");
        string path = Checkpoint.PathIn(directory);
        Assert.IsTrue(File.Exists(path + ".tmp"), "the write of epoch 3 was cut short");
        Assert.IsLessThan(new FileInfo(path).Length, new FileInfo(path + ".tmp").Length, "half written");

        var (resumed, epochsTrained) = TrainRecordingEpochs(ResumeScenario.Options(directory));

        Assert.AreEqual(3, epochsTrained[0], "resumed from the whole checkpoint of epoch 2");
        AssertSameRun(uninterrupted, resumed);
        Assert.IsFalse(File.Exists(path + ".tmp"), "the finished run removes the half-written file too");
    }

    [TestMethod]
    [DataRow(TrainingStopReason.Completed)]
    [DataRow(TrainingStopReason.EarlyStopping)]
    [DataRow(TrainingStopReason.Callback)]
    public void ARunThatEndsNormallyLeavesNoCheckpoint(TrainingStopReason reason)
    {
        string directory = NewDirectory();
        var options = ResumeScenario.Options(directory);
        if (reason == TrainingStopReason.EarlyStopping)
            (options.EarlyStoppingPatience, options.EarlyStoppingMinDelta) = (1, 1e9f); // nothing after epoch 1 counts as better
        if (reason == TrainingStopReason.Callback)
            options.OnEpochEnd = e => e.StopTraining = e.Summary.Epoch == 3;

        var model = Train(options);

        Assert.AreEqual(reason, model.StopReason);
        Assert.HasCount(reason == TrainingStopReason.Completed ? ResumeScenario.Epochs : reason == TrainingStopReason.EarlyStopping ? 2 : 3, model.History);
        Assert.IsFalse(File.Exists(Checkpoint.PathIn(directory)), "finished: nothing to resume");
        Assert.IsFalse(File.Exists(Checkpoint.PathIn(directory) + ".tmp"));
    }

    [TestMethod]
    public void AfterAFinishedRunResumingTrainsOnTheNewData()
    {
        string directory = NewDirectory();
        Train(ResumeScenario.Options(directory));
        var ml = new MLContext(1);
        var newData = ml.Data.Cache(ml.Data.TakeRows(ResumeScenario.Data(ml), 300));

        var (model, epochsTrained) = TrainRecordingEpochs(ResumeScenario.Options(directory), newData);

        Assert.HasCount(ResumeScenario.Epochs, epochsTrained);
        AssertSameRun(Train(ResumeScenario.Options(NewDirectory()), newData), model);
    }

    // With the cosine schedule over 3 epochs, epoch 3 runs at the minimum rate; over 6 it does not. Continuing a
    // finished 3-epoch run to 6 epochs would therefore differ from a 6-epoch run (at 2 epochs it would not).
    [TestMethod]
    public void ResumingAFinishedRunWithMoreEpochsStartsOver()
    {
        string directory = NewDirectory();
        Train(ResumeScenario.Options(directory, epochs: 3));

        var (longer, epochsTrained) = TrainRecordingEpochs(ResumeScenario.Options(directory));

        Assert.AreEqual(1, epochsTrained[0]);
        AssertSameRun(Train(ResumeScenario.Options(NewDirectory())), longer);
    }

    [TestMethod]
    public void AnInitialModelTogetherWithACheckpointIsRefused()
    {
        var initial = Train(ResumeScenario.Options(NewDirectory(), epochs: 2));
        string directory = NewDirectory();
        Interrupt(ResumeScenario.Options(directory), afterEpoch: 1);
        var ml = new MLContext(1);
        var trainer = ml.MulticlassClassification.Trainers.NeuralNetwork(ResumeScenario.Options(directory));

        var error = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(ResumeScenario.Data(ml), initial));

        Assert.AreEqual("initialModel", error.ParamName);
        StringAssert.Contains(error.Message, "ResumeFromCheckpoint");
        StringAssert.Contains(error.Message, directory);
        Assert.IsTrue(Checkpoint.Exists(directory), "the checkpoint is left alone");
    }

    [TestMethod]
    public void AnInitialModelWithoutACheckpointWarmStarts()
    {
        var initial = Train(ResumeScenario.Options(NewDirectory(), epochs: 2));
        var ml = new MLContext(1);
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(ResumeScenario.Options(NewDirectory()))
            .Fit(ResumeScenario.Data(ml), initial).Model;
        Assert.IsTrue(model.TrainingOptions!.WarmStart);
        Assert.HasCount(ResumeScenario.Epochs, model.History);
    }

    // 256-160-64-4 at batch 32: the two large layers' GEMMs (32 × 256 × 160, 32 × 160 × 64) and the optimizer
    // (51,684 parameters) are above their parallel thresholds, so the worker pool runs in every batch.
    [TestMethod]
    public void ResumingAtTwoThreadsAboveTheParallelThresholdsIsBitIdentical()
    {
        var ml = new MLContext(1);
        var data = WideData(ml);
        NeuralNetworkOptions Options(string directory) => new()
        {
            HiddenLayers = [160, 64], BatchSize = 32, Epochs = 3, Seed = 5, NumberOfThreads = 2, Dropout = 0.1f,
            CheckpointDirectory = directory, ResumeFromCheckpoint = true,
        };
        Assert.IsGreaterThanOrEqualTo(Gemm.ParallelThreshold, 32L * 160 * 64);
        var uninterrupted = Train(Options(NewDirectory()), data);
        Assert.IsGreaterThan(32 * 1024, uninterrupted.Parameters.Length, "above the optimizer's parallel threshold");
        string directory = NewDirectory();
        Interrupt(Options(directory), afterEpoch: 1, data);

        var (resumed, epochsTrained) = TrainRecordingEpochs(Options(directory), data);

        Assert.AreEqual(2, epochsTrained[0]);
        AssertSameRun(uninterrupted, resumed);
    }

    [TestMethod]
    public void WarmStartOnNewDataWithBatchSizeOneIsOnlineLearning()
    {
        var ml = new MLContext(1);
        var first = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions { HiddenLayers = [8], Epochs = 2, Seed = 1 })
            .Fit(Synthetic.BlobsView(ml, 150));
        var online = new NeuralNetworkOptions { HiddenLayers = [8], BatchSize = 1, Epochs = 1, Seed = 1, Optimizer = NeuralNetworkOptimizer.Sgd };
        var update = ml.MulticlassClassification.Trainers.NeuralNetwork(online).Fit(Synthetic.BlobsView(ml, 40, seed: 3), first.Model);
        Assert.AreEqual(40, update.Model.History[0].Iterations, "one update per new row");
        CollectionAssert.AreNotEqual(first.Model.GetWeights(0).ToArray(), update.Model.GetWeights(0).ToArray());
        var fresh = ml.MulticlassClassification.Trainers.NeuralNetwork(online).Fit(Synthetic.BlobsView(ml, 40, seed: 3));
        Assert.IsLessThan(fresh.Model.History[0].TrainLoss, update.Model.History[0].TrainLoss,
            "starting from the trained weights, the new rows are predicted better than from scratch");
    }

    private static IDataView WideData(MLContext ml)
    {
        var random = new Random(3);
        var rows = Enumerable.Range(0, 320).Select(i => new WideRow
        {
            Label = (uint)(i % 4),
            Features = Enumerable.Range(0, 256).Select(j => (j % 4 == i % 4 ? 1f : 0f) + (float)(random.NextDouble() - 0.5)).ToArray(),
        }).ToArray();
        var definition = SchemaDefinition.Create(typeof(WideRow));
        definition["Label"].ColumnType = new KeyDataViewType(typeof(uint), 4);
        return ml.Data.Cache(ml.Data.LoadFromEnumerable(rows, definition));
    }

    private sealed class WideRow
    {
        public uint Label { get; set; }
        [VectorType(256)] public float[] Features { get; set; } = [];
    }
}
