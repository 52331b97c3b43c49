using Microsoft.ML;
using MlNetMiniBatch.Examples;
using Spectre.Console;

namespace MlNetMiniBatch.Tests.Examples;

/// <summary>ConsoleProgress on a console that is not a terminal (redirected output, CI) and on one that is.</summary>
[TestClass]
public sealed class ConsoleProgressTests
{
    private static IAnsiConsole Console(StringWriter writer, bool terminal) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = terminal ? AnsiSupport.Yes : AnsiSupport.No,
        ColorSystem = terminal ? ColorSystemSupport.Standard : ColorSystemSupport.NoColors,
        Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
        Out = new AnsiConsoleOutput(writer),
    });

    /// <summary>What the trainer sends for <paramref name="epochs"/> epochs of <paramref name="batches"/> batches: batch
    /// reports (the first epoch without a known batch count, as for a view that does not know its row count) and an
    /// epoch report after each epoch.</summary>
    private static IEnumerable<TrainingProgress> Reports(int epochs, int batches)
    {
        long rows = 0;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            int? perEpoch = epoch == 1 ? null : batches;
            for (int batch = 1; batch <= batches; batch += 3)
            {
                rows += 96;
                TimeSpan? left = perEpoch is null ? null : TimeSpan.FromSeconds(epochs - epoch + 1);
                yield return new TrainingProgress(epoch, epochs, batch, perEpoch, rows, 1.0 / (epoch + batch), TimeSpan.FromSeconds(epoch), left, null, 32);
            }
            var summary = PlotTests.Epoch(epoch, 1.0 / epoch, 0.5 + epoch / 100.0, 1.1 / epoch, 0.5 + epoch / 110.0);
            yield return new TrainingProgress(epoch, epochs, batches, batches, rows, summary.TrainLoss, TimeSpan.FromSeconds(epoch), TimeSpan.Zero, summary, 32);
        }
    }

    [TestMethod]
    public void RedirectedConsoleGetsOneLinePerEpochAndNoEscapeCodes()
    {
        var writer = new StringWriter();
        var progress = new ConsoleProgress(Console(writer, terminal: false));
        Assert.IsFalse(progress.IsLive);

        int result = progress.Run(() =>
        {
            foreach (TrainingProgress report in Reports(epochs: 12, batches: 40))
                progress.Report(report);
            return 42;
        });

        Assert.AreEqual(42, result);
        string output = writer.ToString();
        Assert.DoesNotContain("\u001b", output);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.HasCount(12, lines);
        Assert.AreEqual("epoch  1/12  train loss 1.0000 acc 0.5100  valid loss 1.1000 acc 0.5091  0.5 s", lines[0]);
        Assert.StartsWith("epoch 12/12  train loss 0.0833", lines[11]);
    }

    [TestMethod]
    public void ReportsOutsideRunOnlyWriteEpochLines()
    {
        var writer = new StringWriter();
        var progress = new ConsoleProgress(Console(writer, terminal: true)) { WriteEpochLines = false };
        foreach (TrainingProgress report in Reports(epochs: 2, batches: 5))
            progress.Report(report);
        Assert.AreEqual("", writer.ToString());
    }

    [TestMethod]
    public void TerminalConsoleShowsLiveBarsAndEpochLines()
    {
        var writer = new StringWriter();
        var progress = new ConsoleProgress(Console(writer, terminal: true));
        Assert.IsTrue(progress.IsLive);

        progress.Run(() =>
        {
            foreach (TrainingProgress report in Reports(epochs: 3, batches: 30))
                progress.Report(report);
        });

        string output = writer.ToString();
        StringAssert.Contains(output, "epoch 3/3  train loss 0.3333");
        StringAssert.Contains(output, "Training, 960 rows/s"); // the bars were drawn at least once (the final refresh): 2,880 rows in 3 s
        StringAssert.Contains(output, "Epoch 3/3, batch 30/30");
    }

    [TestMethod]
    public void ExceptionFromTrainingPropagatesAndLeavesProgressReusable()
    {
        var writer = new StringWriter();
        var progress = new ConsoleProgress(Console(writer, terminal: true));
        Assert.ThrowsExactly<InvalidOperationException>(() => progress.Run(() => throw new InvalidOperationException("boom")));
        progress.Run(() => progress.Report(Reports(1, 3).Last()));
        StringAssert.Contains(writer.ToString(), "epoch 1/1");
    }

    [TestMethod]
    public void DrivesARealTrainerWithValidation()
    {
        var writer = new StringWriter();
        var progress = new ConsoleProgress(Console(writer, terminal: false));
        var ml = new MLContext(1);
        var trainer = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions
        {
            HiddenLayers = [8], BatchSize = 16, Epochs = 3, Seed = 1, NumberOfThreads = 1,
            ValidationFraction = 0.2f, Progress = progress, ProgressInterval = TimeSpan.Zero,
        });
        var model = progress.Run(() => trainer.Fit(new GeneratedDataView(400, 5, canShuffle: true)));

        Assert.HasCount(3, model.Model.History);
        string[] lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(3, lines);
        Assert.IsTrue(lines.All(l => l.Contains("valid loss", StringComparison.Ordinal)), writer.ToString());
    }
}
