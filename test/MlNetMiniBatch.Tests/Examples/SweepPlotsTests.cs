using System.Globalization;
using Microsoft.ML;
using MlNetMiniBatch.Examples;

namespace MlNetMiniBatch.Tests.Examples;

/// <summary>The batch-size sweep example's plots and report, on a tiny sweep of generated data.</summary>
[TestClass]
public sealed class SweepPlotsTests
{
    private static readonly Lazy<BatchSizeSweepResult> TinySweep = new(() =>
    {
        var ml = new MLContext(1);
        var train = ml.Data.Cache(new GeneratedDataView(240, 6, canShuffle: true));
        var validation = new GeneratedDataView(60, 6, canShuffle: false);
        var options = new NeuralNetworkOptions { HiddenLayers = [8], Epochs = 2, Seed = 1, NumberOfThreads = 1, MeasureGradientNoise = true };
        var sweep = new BatchSizeSweepOptions { BatchSizes = [8, BatchSizeSweep.FullBatch], TargetValidationLoss = 10 };
        return BatchSizeSweep.Run(ml, NeuralNetworkTask.MulticlassClassification, options, train, validation, sweep);
    });

    private string _directory = "";

    [TestInitialize]
    public void CreateDirectory() =>
        _directory = Directory.CreateTempSubdirectory("mlnetminibatch-sweep-plots-").FullName;

    [TestCleanup]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [TestMethod]
    public void EveryPlotIsAValidPngOfTheRequestedSize()
    {
        string directory = Path.Combine(_directory, "nested", "out");
        IReadOnlyList<string> paths = SweepPlots.SavePngs(TinySweep.Value, directory, 700, 420);
        CollectionAssert.AreEqual(SweepPlots.FileNames.Select(name => Path.Combine(directory, name)).ToArray(), paths.ToArray());
        foreach (string path in paths)
            Assert.AreEqual((700, 420), PngFile.ReadSize(path), path);

        foreach (string path in SweepPlots.SavePngs(TinySweep.Value, _directory))
            Assert.AreEqual((SweepPlots.DefaultWidth, SweepPlots.DefaultHeight), PngFile.ReadSize(path), path);
    }

    [TestMethod]
    public void ThePlotsDrawEveryRunAgainstTheRightAxes()
    {
        BatchSizeSweepResult result = TinySweep.Value;
        IReadOnlyList<LinePlot> plots = SweepPlots.CreatePlots(result);
        Assert.HasCount(SweepPlots.FileNames.Count, plots);
        BatchSizeSweepEntry small = result.Entries[0];
        var history = small.Model.History;

        // Loss plots: a line per batch size, then the target as a dashed line across the x range.
        foreach (LinePlot plot in plots.Take(3))
        {
            CollectionAssert.AreEqual(new[] { "batch 8", "full batch (240)", "target 10" }, plot.Series.Select(s => s.Label).ToArray());
            CollectionAssert.AreEqual(history.Select(h => h.ValidationLoss!.Value).ToArray(), plot.Series[0].Y.ToArray());
            Assert.IsTrue(plot.Series[2].Dashed);
            CollectionAssert.AreEqual(new[] { 10.0, 10.0 }, plot.Series[2].Y.ToArray());
        }
        CollectionAssert.AreEqual(new[] { 1.0, 2 }, plots[0].Series[0].X.ToArray());
        CollectionAssert.AreEqual(new[] { 30.0, 60 }, plots[1].Series[0].X.ToArray(), "cumulative updates: 240 rows / 8");
        CollectionAssert.AreEqual(new[] { 1.0, 2 }, plots[1].Series[1].X.ToArray(), "one update per full-batch epoch");
        Assert.IsTrue(plots[1].LogScaleX && !plots[0].LogScaleX && !plots[2].LogScaleX);
        Assert.AreEqual(history[0].Elapsed.TotalSeconds + history[1].Elapsed.TotalSeconds, plots[2].Series[0].X[1], 1e-9);
        Assert.AreEqual(plots[1].Series.Take(2).Min(s => s.X.Min()), plots[1].Series[2].X[0]);
        Assert.AreEqual(plots[1].Series.Take(2).Max(s => s.X.Max()), plots[1].Series[2].X[1]);

        // Memory and throughput against the batch size, on a log axis.
        foreach (LinePlot plot in plots.Skip(3))
        {
            Assert.IsTrue(plot.LogScaleX);
            Assert.IsTrue(plot.Series.All(s => s.X.SequenceEqual(new[] { 8.0, 240 })));
        }
        CollectionAssert.AreEqual(result.Entries.Select(e => e.TrainingBufferBytes / 1e6).ToArray(), plots[3].Series[0].Y.ToArray());
        CollectionAssert.AreEqual(result.Entries.Select(e => e.PeakManagedBytes / 1e6).ToArray(), plots[3].Series[1].Y.ToArray());
        CollectionAssert.AreEqual(result.Entries.Select(e => e.RowsPerSecond).ToArray(), plots[4].Series[0].Y.ToArray());

        // Without a target there is no target line.
        Assert.HasCount(2, SweepPlots.CreatePlots(result.WithTargetValidationLoss(null))[0].Series);
    }

    [TestMethod]
    public void TheReportTabulatesEveryRunAndComparesWithTheSuggestion()
    {
        BatchSizeSweepResult result = TinySweep.Value;
        IReadOnlyList<string> table = SweepReport.Table(result);
        Assert.HasCount(2 + 2, table);
        StringAssert.StartsWith(table[2], "8 ");
        StringAssert.StartsWith(table[3], "full (240) ");

        // The default target: 10% above the median (here the mean of two) of the runs' lowest validation losses.
        double[] lowest = result.Entries.Select(e => e.Model.History.Min(h => h.ValidationLoss!.Value)).ToArray();
        Assert.AreEqual(1.1 * lowest.Average(), SweepReport.DefaultTarget(result)!.Value, 1e-12);

        // No batch-32 run: the suggestion is the median of the runs' (only batch 8 measures a noise scale here).
        var (suggested, source) = SweepReport.Suggestion(result);
        Assert.AreEqual(result.Entries[0].Model.SuggestedBatchSize, suggested);
        Assert.AreEqual("the batch-size-8 run, the only one with a noise scale", source);
        Assert.IsNull(result.Entries[1].Model.SuggestedBatchSize, "one update per epoch: no noise scale");

        string comparison = SweepReport.Comparison(result);
        StringAssert.StartsWith(comparison, $"fastest batch size to the target validation loss: {SweepReport.Name(result.FastestToTarget!)}; " +
                                            $"suggested by the gradient noise scale: {suggested}");
        double ratio = Math.Max(result.FastestToTarget!.BatchSize, suggested!.Value) / (double)Math.Min(result.FastestToTarget.BatchSize, suggested.Value);
        StringAssert.EndsWith(comparison, $"within a factor of 4: {(ratio <= 4 ? "yes" : "no")})");
        StringAssert.Contains(SweepReport.Comparison(result.WithTargetValidationLoss(0)), "none reached it");

        // Both runs reach a target of 10 in their first epoch; within a huge tolerance both are listed, fastest first.
        var ordered = result.Entries.OrderBy(e => e.TimeToTarget).ToList();
        Assert.AreEqual(string.Join(", ", ordered.Select(e => string.Create(CultureInfo.InvariantCulture, $"{SweepReport.Name(e)} ({e.TimeToTarget!.Value.TotalSeconds:F1} s)"))),
            SweepReport.NearFastest(result, tolerance: 1e6));
        StringAssert.StartsWith(SweepReport.NearFastest(result, tolerance: 0), SweepReport.Name(result.FastestToTarget));
        Assert.AreEqual("none", SweepReport.NearFastest(result.WithTargetValidationLoss(0)));
    }

    [TestMethod]
    public void NoiseScaleAtTheTargetIsReadFromTheEpochTheDefaultBatchSizeReachedIt()
    {
        var ml = new MLContext(1);
        var train = ml.Data.Cache(new GeneratedDataView(2000, 6, canShuffle: true));
        var validation = new GeneratedDataView(200, 6, canShuffle: false);
        var options = new NeuralNetworkOptions { HiddenLayers = [8], Epochs = 4, Seed = 1, NumberOfThreads = 1, MeasureGradientNoise = true };
        var sweep = new BatchSizeSweepOptions { BatchSizes = [8, 32], TargetValidationLoss = 10 };
        var result = BatchSizeSweep.Run(ml, NeuralNetworkTask.MulticlassClassification, options, train, validation, sweep);
        var run = result.Entries.Single(e => e.BatchSize == 32);
        var (scale, epoch) = SweepReport.NoiseScaleAtTarget(result);
        Assert.AreEqual(1, epoch, "every loss is below 10 after the first epoch");
        Assert.AreEqual((int)Math.Round(run.Model.History[0].GradientNoiseScale!.Value), scale);
        StringAssert.Contains(SweepReport.ComparisonAtTarget(result), $"in epoch 1, when it reached the target: {scale}");
        var (none, _) = SweepReport.NoiseScaleAtTarget(TinySweep.Value); // batch sizes 8 and full: no default-size run
        Assert.IsNull(none);
    }
}
