using MlNetMiniBatch.Examples;

namespace MlNetMiniBatch.Tests.Examples;

/// <summary>The examples' PNG plots: files that are valid PNGs of the requested size, and inputs checked.</summary>
[TestClass]
public sealed class PlotTests
{
    private string _directory = "";

    [TestInitialize]
    public void CreateDirectory() =>
        _directory = Directory.CreateTempSubdirectory("mlnetminibatch-plots-").FullName;

    [TestCleanup]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    internal static EpochSummary Epoch(int epoch, double trainLoss, double? trainAccuracy, double? validationLoss,
        double? validationAccuracy, double? rSquared = null) =>
        new(epoch, iterations: 10, rows: 300, learningRate: 1e-3f,
            new EpochMetrics(trainLoss, trainAccuracy, rSquared: rSquared),
            validationLoss is { } v ? new EpochMetrics(v, validationAccuracy, rSquared: rSquared) : null,
            TimeSpan.FromSeconds(0.5), gradientNoiseScale: null, batchSize: 30);

    private static List<EpochSummary> ClassificationHistory(int epochs, bool validation) =>
        Enumerable.Range(1, epochs)
            .Select(e => Epoch(e, 1.0 / e, 1 - 0.5 / e, validation ? 1.2 / e : null, validation ? 1 - 0.6 / e : null))
            .ToList();

    [TestMethod]
    [DataRow(1200, 450)]
    [DataRow(640, 300)]
    [DataRow(333, 211)] // odd width: two panels of unequal share must still fill it
    public void LearningCurvePlotWritesPngOfRequestedSize(int width, int height)
    {
        string path = Path.Combine(_directory, "curve.png");
        LearningCurvePlot.SavePng(path, ClassificationHistory(10, validation: true), width, height);
        Assert.AreEqual((width, height), PngFile.ReadSize(path));
    }

    [TestMethod]
    public void LearningCurvePlotHasDefaultSizeAndCreatesDirectory()
    {
        string path = Path.Combine(_directory, "nested", "dir", "curve.png");
        LearningCurvePlot.SavePng(path, ClassificationHistory(3, validation: false));
        Assert.AreEqual((LearningCurvePlot.DefaultWidth, LearningCurvePlot.DefaultHeight), PngFile.ReadSize(path));
    }

    [TestMethod]
    public void LearningCurvePanelsFollowTheTask()
    {
        var classification = LearningCurvePlot.CreatePanels(ClassificationHistory(4, validation: true));
        CollectionAssert.AreEqual(new[] { "Loss", "Accuracy" }, classification.Select(p => p.Title).ToArray());
        foreach (LinePlot panel in classification)
        {
            CollectionAssert.AreEqual(new[] { "train", "validation" }, panel.Series.Select(s => s.Label).ToArray());
            CollectionAssert.AreEqual(new[] { 1.0, 2, 3, 4 }, panel.Series[0].X.ToArray());
        }
        Assert.AreEqual(0.5, classification[0].Series[0].Y[1], 1e-12); // train loss 1/2 in epoch 2
        Assert.AreEqual(1 - 0.6 / 3, classification[1].Series[1].Y[2], 1e-12); // validation accuracy in epoch 3

        var noValidation = LearningCurvePlot.CreatePanels(ClassificationHistory(4, validation: false));
        Assert.HasCount(1, noValidation[0].Series);
        Assert.IsTrue(noValidation[0].ShowLegend, "a lone line is still labelled 'train'");

        var regression = LearningCurvePlot.CreatePanels(new[] { Epoch(1, 2.0, null, 2.5, null, rSquared: 0.3), Epoch(2, 1.0, null, 1.5, null, rSquared: 0.6) });
        CollectionAssert.AreEqual(new[] { "Loss", "R²" }, regression.Select(p => p.Title).ToArray());

        var lossOnly = LearningCurvePlot.CreatePanels(new[] { Epoch(1, 2.0, null, null, null) });
        Assert.HasCount(1, lossOnly);
        string path = Path.Combine(_directory, "loss-only.png");
        LearningCurvePlot.SavePng(path, new[] { Epoch(1, 2.0, null, null, null) }, 500, 300);
        Assert.AreEqual((500, 300), PngFile.ReadSize(path));
    }

    [TestMethod]
    public void LearningCurvePlotRejectsEmptyHistory() =>
        Assert.ThrowsExactly<ArgumentException>(() => LearningCurvePlot.SavePng(Path.Combine(_directory, "x.png"), Array.Empty<EpochSummary>()));

    [TestMethod]
    public void LinePlotWritesPngOfRequestedSize()
    {
        double[] batchSizes = { 1, 8, 32, 128, 512, 9000 };
        var plot = new LinePlot("Rows per second", "batch size", "rows/s") { LogScaleX = true }
            .Add("rows/s", batchSizes, new[] { 900.0, 5000, 14000, 30000, 41000, 43000 })
            .Add("peak MB", batchSizes, new[] { 10.0, 11, 12, 20, 60, 700 }, dashed: true);
        string path = Path.Combine(_directory, "sweep.png");
        plot.SavePng(path, 800, 500);
        Assert.AreEqual((800, 500), PngFile.ReadSize(path));

        // Many points (no markers), less than a decade on a log axis, and several panels in one image.
        double[] seconds = Enumerable.Range(1, 500).Select(i => 1 + i / 100.0).ToArray();
        var loss = new LinePlot("Validation loss", "seconds", "loss") { LogScaleX = true }
            .Add("batch 32", seconds, seconds.Select(s => 1 / s).ToArray());
        var epochs = new LinePlot("Validation loss", "epoch", "loss") { IntegerX = true }
            .Add("batch 32", new[] { 1.0, 2, 3 }, new[] { 0.9, double.NaN, 0.5 });
        var empty = new LinePlot("Nothing yet", "x", "y");
        string panels = Path.Combine(_directory, "panels.png");
        LinePlot.SavePng(panels, 1500, 400, new[] { loss, epochs, empty });
        Assert.AreEqual((1500, 400), PngFile.ReadSize(panels));
    }

    [TestMethod]
    public void LinePlotChecksItsInput()
    {
        var plot = new LinePlot("t", "x", "y");
        Assert.ThrowsExactly<ArgumentException>(() => plot.Add("a", new[] { 1.0, 2 }, new[] { 1.0 }));
        var log = new LinePlot("t", "x", "y") { LogScaleX = true };
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => log.Add("a", new[] { 0.0, 1 }, new[] { 1.0, 2 }));
        Assert.IsEmpty(log.Series);
        Assert.ThrowsExactly<ArgumentException>(() => LinePlot.SavePng(Path.Combine(_directory, "x.png"), 100, 100, Array.Empty<LinePlot>()));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => plot.SavePng(Path.Combine(_directory, "x.png"), 0, 100));

        // The series keeps a copy: changing the caller's array afterwards does not change the plot.
        double[] ys = { 1, 2 };
        plot.Add("b", new[] { 1.0, 2 }, ys);
        ys[0] = 99;
        Assert.AreEqual(1.0, plot.Series[0].Y[0]);
    }
}
