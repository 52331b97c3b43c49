using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>What the trainer writes to mlContext.Log: one Info line saying how rows are shuffled, then one per epoch.</summary>
[TestClass]
public sealed class LoggingTests
{
    private const int Epochs = 4;

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void OneInfoLinePerEpoch(NeuralNetworkTask task)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.Cache(TestData.Featurize(ml, task).Fit(TestData.Load(ml, task, 200, seed: 40)).Transform(TestData.Load(ml, task, 200, seed: 40)));
        var log = new LogCapture(ml);

        var model = TestData.Trainer(ml, task, TestData.Options(epochs: Epochs, 4)).Fit(data);

        var info = log.FromTrainer(ChannelMessageKind.Info);
        Assert.HasCount(1 + Epochs, info, string.Join("\n", info.Select(m => m.Message)));
        Assert.Contains("shuffle: the data view's own shuffling cursor", info[0].Message);
        for (int epoch = 1; epoch <= Epochs; epoch++)
        {
            var line = info[epoch].Message;
            Assert.Contains($"epoch {epoch}:", line);
            Assert.Contains($"({epoch}/{Epochs})", line);
            Assert.Contains("train loss", line);
            Assert.Contains(model.Model.History[epoch - 1].TrainLoss.ToString("G5", System.Globalization.CultureInfo.CurrentCulture), line);
        }
        Assert.IsEmpty(log.FromTrainer(ChannelMessageKind.Warning), "a cached view shuffles without warnings");
        Assert.IsEmpty(log.FromTrainer(ChannelMessageKind.Error));
    }

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void UnshuffleableDataStreamsShuffledAndSaysSo(NeuralNetworkTask task)
    {
        var ml = new MLContext(seed: 1);
        var raw = TestData.Load(ml, task, 200, seed: 41);
        var data = TestData.Featurize(ml, task).Fit(raw).Transform(raw);
        Assert.IsFalse(data.CanShuffle, "LoadFromEnumerable cannot shuffle");
        var log = new LogCapture(ml);
        var options = TestData.Options(epochs: Epochs, 4);
        options.Shuffle = true;

        TestData.Trainer(ml, task, options).Fit(data);

        Assert.IsEmpty(log.FromTrainer(ChannelMessageKind.Warning));
        var info = log.FromTrainer(ChannelMessageKind.Info);
        Assert.HasCount(1 + Epochs, info);
        Assert.Contains("shuffle: streaming (the view cannot shuffle): 200 rows", info[0].Message);
        Assert.Contains("bytes on disk in", info[0].Message);
    }

    [TestMethod]
    public void CachedDataDoesNotWarn()
    {
        var ml = new MLContext(seed: 1);
        var log = new LogCapture(ml);
        var raw = TestData.Load(ml, NeuralNetworkTask.Regression, 200, seed: 42);
        var pipeline = TestData.Featurize(ml, NeuralNetworkTask.Regression)
            .AppendCacheCheckpoint(ml)
            .Append(ml.Regression.Trainers.NeuralNetwork(TestData.Options(epochs: 2, 4)));

        pipeline.Fit(raw);
        TestData.Trainer(ml, NeuralNetworkTask.Regression, TestData.Options(epochs: 2, 4))
            .Fit(ml.Data.Cache(TestData.Featurize(ml, NeuralNetworkTask.Regression).Fit(raw).Transform(raw)));

        Assert.IsEmpty(log.Messages.Where(m => m.Message.Contains("AppendCacheCheckpoint", StringComparison.Ordinal)));
        Assert.HasCount(6, log.FromTrainer(ChannelMessageKind.Info), "the shuffle line and two epochs, each from two runs");
    }

    [TestMethod]
    public void ShuffleFalseOnUnshuffleableDataDoesNotWarn()
    {
        var ml = new MLContext(seed: 1);
        var raw = TestData.Load(ml, NeuralNetworkTask.BinaryClassification, 200, seed: 43);
        var data = TestData.Featurize(ml, NeuralNetworkTask.BinaryClassification).Fit(raw).Transform(raw);
        var log = new LogCapture(ml);
        var options = TestData.Options(epochs: 2, 4);
        options.Shuffle = false;

        ml.BinaryClassification.Trainers.NeuralNetwork(options).Fit(data);

        Assert.IsEmpty(log.FromTrainer(ChannelMessageKind.Warning));
        Assert.Contains("shuffle: off (Shuffle = false)", log.FromTrainer(ChannelMessageKind.Info)[0].Message);
    }
}
