using Microsoft.ML;
using MlNetMiniBatch.Examples;

namespace MlNetMiniBatch.Tests.Sweep;

/// <summary>BatchSizeSweepOptions.IncludeAdaptive: one AdaptiveBatchSize run after the fixed ones, on every plot.</summary>
[TestClass]
public sealed class AdaptiveSweepTests
{
    private const int TrainRows = 300;

    private static BatchSizeSweepResult Sweep()
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
            new BatchSizeSweepOptions { BatchSizes = [16, 32], IncludeAdaptive = true });
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
}
