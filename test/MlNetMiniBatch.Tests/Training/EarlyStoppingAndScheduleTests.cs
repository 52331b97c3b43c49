using Microsoft.ML;

namespace MlNetMiniBatch.Tests.Training;

[TestClass]
public sealed class EarlyStoppingAndScheduleTests
{
    /// <summary>Training rows from the blobs, validation rows with random labels: the better the network fits the
    /// training rows, the worse its validation loss, so validation loss has an early minimum.</summary>
    private static (IDataView Train, IDataView Validation) OverfittingData(MLContext ml)
    {
        var train = Synthetic.Blobs(150);
        var random = new Random(4);
        var validation = Synthetic.Blobs(150, seed: 8).Select(r => { r.Label = "abc"[random.Next(3)].ToString(); return r; }).ToArray();
        var map = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(train));
        return (ml.Data.Cache(map.Transform(ml.Data.LoadFromEnumerable(train))), map.Transform(ml.Data.LoadFromEnumerable(validation)));
    }

    private static NeuralNetworkOptions Options(int epochs) => new()
    {
        HiddenLayers = [32], BatchSize = 16, Epochs = epochs, Seed = 2, NumberOfThreads = 1, LearningRate = 0.01f,
    };

    private static float[] AllWeights(NeuralNetworkModelParameters model) =>
        Enumerable.Range(0, model.LayerCount).SelectMany(l => model.GetWeights(l).ToArray().Concat(model.GetBiases(l).ToArray())).ToArray();

    [TestMethod]
    public void StopsPatienceEpochsAfterTheBestAndRestoresItsWeights()
    {
        var ml = new MLContext(1);
        var (train, validation) = OverfittingData(ml);
        var options = Options(30);
        options.EarlyStoppingPatience = 2;
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(train, validation).Model;

        Assert.AreEqual(TrainingStopReason.EarlyStopping, model.StopReason);
        int best = model.BestEpoch!.Value;
        Assert.HasCount(best + 2, model.History, "stops exactly patience epochs after the best");
        var validationLosses = model.History.Select(h => h.ValidationLoss!.Value).ToArray();
        Assert.AreEqual(validationLosses.Min(), validationLosses[best - 1]);
        Assert.IsTrue(model.History[best - 1].IsBest);
        Assert.IsFalse(model.History.Skip(best).Any(h => h.IsBest));

        // The same seed replays the same trajectory, so a run of exactly `best` epochs ends with the best epoch's weights.
        var reference = ml.MulticlassClassification.Trainers.NeuralNetwork(Options(best)).Fit(train, validation).Model;
        CollectionAssert.AreEqual(AllWeights(reference), AllWeights(model));
    }

    [TestMethod]
    public void RestoreBestWeightsAlsoAppliesWhenPatienceNeverRunsOut()
    {
        var ml = new MLContext(1);
        var (train, validation) = OverfittingData(ml);
        var options = Options(8);
        options.EarlyStoppingPatience = 100;
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(train, validation).Model;
        Assert.AreEqual(TrainingStopReason.Completed, model.StopReason);
        Assert.HasCount(8, model.History);
        int best = model.BestEpoch!.Value;
        Assert.IsLessThan(8, best, "the data makes an early epoch the best");
        var reference = ml.MulticlassClassification.Trainers.NeuralNetwork(Options(best)).Fit(train, validation).Model;
        CollectionAssert.AreEqual(AllWeights(reference), AllWeights(model));

        options.RestoreBestWeights = false;
        var last = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(train, validation).Model;
        var full = ml.MulticlassClassification.Trainers.NeuralNetwork(Options(8)).Fit(train, validation).Model;
        CollectionAssert.AreEqual(AllWeights(full), AllWeights(last));
    }

    [TestMethod]
    public void WithoutValidationDataTheTrainLossIsMonitored()
    {
        var ml = new MLContext(1);
        var (train, _) = OverfittingData(ml);
        var options = Options(6);
        options.EarlyStoppingPatience = 1;
        options.EarlyStoppingMinDelta = 1e6f; // nothing counts as an improvement after the first epoch
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(train).Model;
        Assert.AreEqual(TrainingStopReason.EarlyStopping, model.StopReason);
        Assert.AreEqual(1, model.BestEpoch);
        Assert.HasCount(2, model.History);
    }

    [TestMethod]
    public void EarlyStoppingCanWatchAccuracy()
    {
        var ml = new MLContext(1);
        var (train, validation) = OverfittingData(ml);
        var options = Options(20);
        options.EarlyStoppingPatience = 3;
        options.EarlyStoppingMetric = NeuralNetworkMetric.Accuracy;
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(train, validation).Model;
        var accuracies = model.History.Select(h => h.Validation!.Accuracy!.Value).ToArray();
        Assert.AreEqual(accuracies.Max(), accuracies[model.BestEpoch!.Value - 1]);

        options.EarlyStoppingMetric = NeuralNetworkMetric.AreaUnderRocCurve;
        var error = Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(train));
        StringAssert.Contains(error.Message, "AreaUnderRocCurve");
    }

    public static IEnumerable<object[]> Schedules() =>
    [
        [LearningRateSchedule.Constant(), new[] { 0.1, 0.1, 0.1, 0.1, 0.1, 0.1 }],
        [LearningRateSchedule.StepDecay(2, 0.5f), new[] { 0.1, 0.1, 0.05, 0.05, 0.025, 0.025 }],
        [LearningRateSchedule.ExponentialDecay(0.9f), new[] { 0.1, 0.09, 0.081, 0.0729, 0.06561, 0.059049 }],
        // warm-up 0.05, 0.1; then cosine from 0.1 (epoch 3) to 0.01 (epoch 6)
        [LearningRateSchedule.CosineDecay(0.01f, warmupEpochs: 2),
            new[] { 0.05, 0.1, 0.1, 0.01 + 0.09 * 0.75, 0.01 + 0.09 * 0.25, 0.01 }],
    ];

    [TestMethod]
    [DynamicData(nameof(Schedules))]
    public void HistoryRecordsTheScheduledLearningRates(LearningRateSchedule schedule, double[] expected)
    {
        var ml = new MLContext(1);
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [4], Epochs = 6, Seed = 1, Optimizer = NeuralNetworkOptimizer.Sgd, LearningRate = 0.1f, LearningRateSchedule = schedule,
        };
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(Synthetic.BlobsView(ml, 60)).Model;
        var rates = model.History.Select(h => (double)h.LearningRate).ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], rates[i], 1e-6, $"epoch {i + 1}");
    }

    [TestMethod]
    public void ReduceOnPlateauCutsTheRateAfterPatienceEpochsWithoutImprovement()
    {
        var ml = new MLContext(1);
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [4], Epochs = 5, Seed = 1, LearningRate = 0.1f, Optimizer = NeuralNetworkOptimizer.Sgd,
            LearningRateSchedule = LearningRateSchedule.ReduceOnPlateau(factor: 0.5f, patience: 1, minimumRate: 0.02f),
            EarlyStoppingMinDelta = 1e6f, // only the first epoch improves
        };
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(Synthetic.BlobsView(ml, 60)).Model;
        var rates = model.History.Select(h => (double)h.LearningRate).ToArray();
        CollectionAssert.AreEqual(new[] { 0.1, 0.1, 0.05, 0.025, 0.02 }, rates.Select(r => Math.Round(r, 6)).ToArray());
    }
}
