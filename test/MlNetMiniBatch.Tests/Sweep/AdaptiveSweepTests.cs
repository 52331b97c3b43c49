using Microsoft.ML;
using MlNetMiniBatch.Examples;

namespace MlNetMiniBatch.Tests.Sweep;

/// <summary>BatchSizeSweepOptions.IncludeAdaptive: one AdaptiveBatchSize run after the fixed ones, on every plot.</summary>
[TestClass]
public sealed class AdaptiveSweepTests
{
    private const int TrainRows = 300;

    private static BatchSizeSweepResult Sweep(AdaptiveSweepStart start = AdaptiveSweepStart.BatchSize, int[]? batchSizes = null)
    {
        var ml = new MLContext(1);
        var train = ml.Data.Cache(new GeneratedDataView(TrainRows, 3, canShuffle: true));
        var validation = new GeneratedDataView(90, 3, canShuffle: false);
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [8], Epochs = 3, Seed = 4, NumberOfThreads = 1, BatchSize = 8,
            AdaptiveBatchSize = true, MaximumBatchSize = 64, LearningRateScaling = NeuralNetworkLearningRateScaling.Linear,
        };
        return BatchSizeSweep.Run(ml, NeuralNetworkTask.MulticlassClassification, options, train, validation,
            new BatchSizeSweepOptions { BatchSizes = batchSizes ?? [16, 32], IncludeAdaptive = true, AdaptiveStart = start });
    }

    [TestMethod]
    public void TheAdaptiveRunComesAfterTheFixedOnesWithItsOwnSettings()
    {
        var result = Sweep();
        CollectionAssert.AreEqual(new[] { false, false, true }, result.Entries.Select(e => e.IsAdaptive).ToArray());
        foreach (var fixedRun in result.Entries.Take(2))
        {
            Assert.IsFalse(fixedRun.Model.TrainingOptions!.AdaptiveBatchSize, "fixed runs ignore AdaptiveBatchSize");
            Assert.IsTrue(fixedRun.Model.History.All(h => h.BatchSize == fixedRun.BatchSize));
        }
        var adaptive = result.Entries[2];
        var history = adaptive.Model.History;
        Assert.AreEqual(8, adaptive.RequestedBatchSize);
        Assert.AreEqual(8, history[0].BatchSize, "starts at the options' BatchSize");
        Assert.AreEqual(history.Max(h => h.BatchSize), adaptive.BatchSize, "its batch size is the largest it chose");
        Assert.AreEqual(NeuralNetworkLearningRateScaling.Linear, adaptive.Model.TrainingOptions!.LearningRateScaling);
        Assert.AreEqual(history.Sum(h => (long)((TrainRows + h.BatchSize - 1) / h.BatchSize)), adaptive.Updates);
        StringAssert.Contains(result.Explain(), "The adaptive run went from batch size 8");
    }

    [TestMethod]
    public void EveryPlotHasALineForTheAdaptiveRun()
    {
        var result = Sweep();
        string label = SweepPlots.Label(result.Entries[2]);
        StringAssert.StartsWith(label, "adaptive (8→");
        foreach (var plot in SweepPlots.CreatePlots(result))
            Assert.IsTrue(plot.Series.Any(s => s.Label.StartsWith(label, StringComparison.Ordinal)), plot.Title);
        StringAssert.StartsWith(SweepReport.Name(result.Entries[2]), "adapt 8-");
    }

    [TestMethod]
    public void TheMeasuredStartMinimisesThePredictedTimeToALoss()
    {
        // (B + B_noise) / rows/s, with the rows/s of two machines: per-row speed that levels off early favours the
        // small batch, speed that keeps rising with the batch favours a larger one.
        (int, double)[] flat = [(32, 87_000), (128, 102_000), (512, 133_000)];
        (int, double)[] rising = [(32, 34_500), (128, 82_000), (512, 90_000)];
        Assert.AreEqual(32, AdaptiveStart.Fastest(flat, noiseScale: 425));  // 5.25e-3 s against 5.42e-3 and 7.05e-3
        Assert.AreEqual(128, AdaptiveStart.Fastest(rising, noiseScale: 425)); // 6.74e-3 against 13.2e-3 and 10.4e-3
        Assert.AreEqual(512, AdaptiveStart.Fastest(flat, noiseScale: 5_000)); // 41.4e-3 against 57.8e-3 and 50.3e-3
        Assert.AreEqual(32, AdaptiveStart.Fastest([(64, 1_000), (32, 500)], noiseScale: 0), "a tie goes to the smaller batch");
    }

    [TestMethod]
    public void AMeasuredStartComesFromTheFixedRunsRowsPerSecondAndNoiseScale()
    {
        var result = Sweep(AdaptiveSweepStart.Measured);
        var fixedRuns = result.Entries.Take(2).ToList();
        // The options measure no noise; the measured start needs it, so the fixed runs measured it. At 300 rows only
        // batch 16 makes the 16 full batches an estimate needs.
        Assert.IsNotNull(fixedRuns[0].Model.History[^1].GradientNoiseScale, "batch 16 measured the noise scale");
        Assert.IsNull(fixedRuns[1].Model.History[^1].GradientNoiseScale, "batch 32 makes only 9 batches an epoch");
        double noise = fixedRuns[0].Model.History[^1].GradientNoiseScale!.Value;
        int expected = AdaptiveStart.Fastest(fixedRuns.Select(e => (e.RequestedBatchSize, e.RowsPerSecond)), noise);
        var adaptive = result.Entries[2];
        Assert.AreEqual(expected, adaptive.RequestedBatchSize);
        Assert.AreEqual(expected, adaptive.Model.History[0].BatchSize, "the adaptive run's first epoch");
        Assert.IsTrue(adaptive.Model.History.All(h => h.BatchSize >= expected), "MinimumBatchSize defaults to the start");
        StringAssert.StartsWith(result.AdaptiveStartExplanation, $"The adaptive run started at batch size {expected}, ");
        StringAssert.Contains(result.AdaptiveStartExplanation, "measured at batch size 16 in epoch 3, its last measured epoch");
        StringAssert.Contains(result.Explain(), result.AdaptiveStartExplanation);
        Assert.IsNull(Sweep().AdaptiveStartExplanation, "AdaptiveSweepStart.BatchSize explains nothing");
    }

    [TestMethod]
    public void WithoutANoiseMeasurementTheMeasuredStartIsBatchSizeAndSaysWhy()
    {
        var result = Sweep(AdaptiveSweepStart.Measured, batchSizes: [64, 128]); // too few batches for an estimate
        Assert.AreEqual(8, result.Entries[2].RequestedBatchSize);
        StringAssert.StartsWith(result.AdaptiveStartExplanation, "The adaptive run started at BatchSize 8: no fixed run measured a gradient noise scale");
    }

    [TestMethod]
    public void AMeasuredStartWithoutAnAdaptiveRunIsAnError()
    {
        var ml = new MLContext(1);
        var data = new GeneratedDataView(50, 3, canShuffle: true);
        var e = Assert.ThrowsExactly<ArgumentException>(() => BatchSizeSweep.Run(ml, NeuralNetworkTask.MulticlassClassification,
            new NeuralNetworkOptions(), data, data, new BatchSizeSweepOptions { AdaptiveStart = AdaptiveSweepStart.Measured }));
        Assert.AreEqual(nameof(BatchSizeSweepOptions.AdaptiveStart), e.ParamName);
        StringAssert.Contains(e.Message, "IncludeAdaptive is false");
    }
}
