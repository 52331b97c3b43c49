using Microsoft.ML;

namespace MlNetMiniBatch.Tests.Sweep;

[TestClass]
public sealed class BatchSizeSweepTests
{
    private static BatchSizeSweepResult Sweep(MLContext ml, BatchSizeSweepOptions sweep, int features = 3, int hidden = 8)
    {
        var train = ml.Data.Cache(new GeneratedDataView(300, features, canShuffle: true));
        var validation = new GeneratedDataView(90, features, canShuffle: false);
        var options = new NeuralNetworkOptions { HiddenLayers = [hidden], Epochs = 2, Seed = 4, Shuffle = true, NumberOfThreads = 1 };
        return BatchSizeSweep.Run(ml, NeuralNetworkTask.MulticlassClassification, options, train, validation, sweep);
    }

    [TestMethod]
    public void EachBatchSizeMakesExactlyCeilRowsOverBatchUpdatesPerEpoch()
    {
        var result = Sweep(new MLContext(1), new BatchSizeSweepOptions { BatchSizes = [1, 8, 32, BatchSizeSweep.FullBatch] });
        CollectionAssert.AreEqual(new long[] { 600, 76, 20, 2 }, result.Entries.Select(e => e.Updates).ToArray());
        CollectionAssert.AreEqual(new[] { 1, 8, 32, 300 }, result.Entries.Select(e => e.BatchSize).ToArray());
        Assert.IsTrue(result.Entries.All(e => e.Epochs == 2 && e.FinalValidation is not null && e.RowsPerSecond > 0));
    }

    [TestMethod]
    public void MemoryGrowsWithTheBatchSize()
    {
        var result = Sweep(new MLContext(1), new BatchSizeSweepOptions { BatchSizes = [1, 32, 256] }, features: 400, hidden: 256);
        var buffers = result.Entries.Select(e => e.TrainingBufferBytes).ToArray();
        Assert.IsTrue(buffers[0] < buffers[1] && buffers[1] < buffers[2], string.Join(", ", buffers));
        // 255 more rows × (400 features + 2·256 hidden + …) floats ≈ 1 MB: far above the heap's sampling noise.
        Assert.IsGreaterThan(result.Entries[0].PeakManagedBytes + 500_000, result.Entries[2].PeakManagedBytes,
            string.Join(", ", result.Entries.Select(e => e.PeakManagedBytes)));
    }

    [TestMethod]
    public void TheSameSeedReproducesTheSweep()
    {
        var options = new BatchSizeSweepOptions { BatchSizes = [4, 16] };
        var first = Sweep(new MLContext(1), options);
        var second = Sweep(new MLContext(2), options);
        CollectionAssert.AreEqual(first.Entries.Select(e => e.FinalValidation!.Loss).ToArray(),
            second.Entries.Select(e => e.FinalValidation!.Loss).ToArray());
    }

    [TestMethod]
    public void ReportsTheTimeAndUpdatesToReachATargetLoss()
    {
        var ml = new MLContext(1);
        var result = Sweep(ml, new BatchSizeSweepOptions { BatchSizes = [4, 64], TargetValidationLoss = 10 });
        foreach (var entry in result.Entries)
        {
            Assert.AreEqual(1, entry.EpochsToTarget, "any loss is below 10 after one epoch");
            Assert.AreEqual(entry.Model.History[0].Iterations, entry.UpdatesToTarget);
            Assert.AreEqual(entry.Model.History[0].Elapsed, entry.TimeToTarget);
        }
        Assert.IsNotNull(result.FastestToTarget);
        var unreachable = Sweep(ml, new BatchSizeSweepOptions { BatchSizes = [64], TargetValidationLoss = 0 });
        Assert.IsNull(unreachable.Entries[0].TimeToTarget);
        Assert.IsNull(unreachable.FastestToTarget);
        StringAssert.Contains(unreachable.Explain(), "Only one batch size");
    }

    [TestMethod]
    public void ATargetChosenAfterTheRunsIsMeasuredFromEachHistory()
    {
        var ml = new MLContext(1);
        var sweep = new BatchSizeSweepOptions { BatchSizes = [4, 64] };
        var untargeted = Sweep(ml, sweep);
        Assert.IsTrue(untargeted.Entries.All(e => e.TimeToTarget is null));
        // The second epoch's validation loss of the batch-4 run: reached in epoch 2 at the latest.
        double target = untargeted.Entries[0].Model.History[1].ValidationLoss!.Value;
        var targeted = untargeted.WithTargetValidationLoss(target);
        Assert.AreEqual(target, targeted.TargetValidationLoss);

        // The same as giving the target up front (same seed, so the same histories).
        sweep.TargetValidationLoss = target;
        var upFront = Sweep(ml, sweep);
        for (int i = 0; i < 2; i++)
        {
            Assert.AreSame(untargeted.Entries[i].Model, targeted.Entries[i].Model);
            Assert.AreEqual(upFront.Entries[i].EpochsToTarget, targeted.Entries[i].EpochsToTarget);
            Assert.AreEqual(upFront.Entries[i].UpdatesToTarget, targeted.Entries[i].UpdatesToTarget);
        }
        Assert.IsNotNull(targeted.Entries[0].EpochsToTarget);
        var history = targeted.Entries[0].Model.History;
        int epochs = targeted.Entries[0].EpochsToTarget!.Value;
        Assert.AreEqual(history.Take(epochs).Sum(h => (long)h.Iterations), targeted.Entries[0].UpdatesToTarget);
        Assert.AreEqual(history.Take(epochs).Aggregate(TimeSpan.Zero, (sum, h) => sum + h.Elapsed), targeted.Entries[0].TimeToTarget);
        StringAssert.Contains(targeted.Explain(), "reached the target validation loss");

        Assert.IsTrue(targeted.WithTargetValidationLoss(null).Entries.All(e => e.TimeToTarget is null));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => untargeted.WithTargetValidationLoss(double.NaN));
    }

    [TestMethod]
    public void ATimeBudgetStopsEachRunAtTheFirstEpochPastIt()
    {
        var result = Sweep(new MLContext(1), new BatchSizeSweepOptions { BatchSizes = [16, 64], TimeBudget = TimeSpan.FromTicks(1), MaximumEpochs = 50 });
        Assert.IsTrue(result.Entries.All(e => e.Epochs == 1 && e.Model.StopReason == TrainingStopReason.Callback));
    }

    [TestMethod]
    public void TheExplanationIsComputedFromTheMeasurements()
    {
        var result = Sweep(new MLContext(1), new BatchSizeSweepOptions { BatchSizes = [2, 100], TargetValidationLoss = 10 });
        string text = result.Explain();
        StringAssert.Contains(text, $"Batch size 2 made 150 updates per epoch, batch size 100 made 3");
        StringAssert.Contains(text, $"{result.Entries[1].TrainingBufferBytes / 1e6:N1} MB");
        StringAssert.Contains(text, $"reached the target validation loss 10 first");
    }

    [TestMethod]
    public void InvalidSweepsAreRejected()
    {
        var ml = new MLContext(1);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Sweep(ml, new BatchSizeSweepOptions { BatchSizes = [8, 0] }));
        Assert.ThrowsExactly<ArgumentException>(() => Sweep(ml, new BatchSizeSweepOptions { BatchSizes = [] }));
    }
}
