using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>Invalid rows, empty data, invalid options and scoring data of the wrong shape fail with clear messages.</summary>
[TestClass]
public sealed class BadDataAndOptionsTests
{
    public sealed class VectorRow
    {
        public float Label { get; set; }
        [VectorType(3)] public float[] Features { get; set; } = [];
    }

    public sealed class WideRow
    {
        public float Label { get; set; }
        [VectorType(4)] public float[] Features { get; set; } = [];
    }

    private static readonly int[] BadRows = [4, 9, 30];

    [TestMethod]
    public void NaNFeaturesAreCountedAndTheFirstRowIsNamed()
    {
        var ml = new MLContext(seed: 1);
        // Cached, so training reads the rows shuffled; the report still counts rows in cursor order.
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(WithBadFeatures(200)));
        var trainer = ml.Regression.Trainers.NeuralNetwork(TestData.Options(epochs: 2, 4));

        var error = Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(data));

        Assert.Contains("3 of 200 rows", error.Message);
        Assert.Contains("3 with NaN or infinite values in feature column 'Features'", error.Message);
        Assert.Contains("the first is row 4", error.Message);
        Assert.Contains("SkipInvalidRows = true", error.Message);
        Assert.Contains("ReplaceMissingValues", error.Message);
    }

    [TestMethod]
    public void NaNLabelIsReportedAsAMissingLabel()
    {
        var ml = new MLContext(seed: 1);
        var rows = TestData.Curve(100, seed: 31).Select(p => new VectorRow { Label = p.Label, Features = [p.X, p.Y, p.Noise] }).ToArray();
        rows[17].Label = float.NaN;
        var trainer = ml.Regression.Trainers.NeuralNetwork(TestData.Options(epochs: 1, 4));

        var error = Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(rows)));

        Assert.Contains("1 of 100 rows", error.Message);
        Assert.Contains("missing or out-of-range label in column 'Label'", error.Message);
        Assert.Contains("the first is row 17", error.Message);
    }

    [TestMethod]
    public void SkipInvalidRowsTrainsAndLogsTheCount()
    {
        var ml = new MLContext(seed: 1);
        var log = new LogCapture(ml);
        var options = TestData.Options(epochs: 2, 4);
        options.SkipInvalidRows = true;

        var model = ml.Regression.Trainers.NeuralNetwork(options).Fit(ml.Data.Cache(ml.Data.LoadFromEnumerable(WithBadFeatures(200))));

        Assert.IsTrue(model.Model.History.All(h => h.Rows == 197), "every epoch trains on the 197 valid rows");
        Assert.IsTrue(model.Model.History.All(h => double.IsFinite(h.TrainLoss)), "NaN rows do not reach the loss");
        var skipped = log.FromTrainer(ChannelMessageKind.Warning).Where(m => m.Message.Contains("Skipped 3", StringComparison.Ordinal)).ToArray();
        Assert.HasCount(1, skipped, "the count is logged once, not once per epoch");
        Assert.IsTrue(model.Model.GetWeights(0).ToArray().All(float.IsFinite), "weights stay finite");
    }

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void EmptyDataFailsClearly(NeuralNetworkTask task)
    {
        var ml = new MLContext(seed: 1);
        // Fit the featurizer on real rows (so the label key has its classes), then apply it to no rows.
        var featurizer = TestData.Featurize(ml, task).Fit(TestData.Load(ml, task, 30, seed: 32));
        IDataView empty = task switch
        {
            NeuralNetworkTask.MulticlassClassification => ml.Data.LoadFromEnumerable(Array.Empty<ClassPoint>()),
            NeuralNetworkTask.BinaryClassification => ml.Data.LoadFromEnumerable(Array.Empty<BinaryPoint>()),
            _ => ml.Data.LoadFromEnumerable(Array.Empty<RegressionPoint>()),
        };
        var trainer = TestData.Trainer(ml, task, TestData.Options(epochs: 1, 4));

        var error = Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(featurizer.Transform(empty)));

        Assert.Contains("has no rows", error.Message);
        Assert.Contains("Check the data source", error.Message);
    }

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void ZeroBatchSizeIsRejected(NeuralNetworkTask task)
    {
        var ml = new MLContext(seed: 1);
        var options = TestData.Options();
        options.BatchSize = 0;

        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => TestData.Trainer(ml, task, options));
        Assert.Contains("BatchSize must be at least 1", error.Message);
        Assert.AreEqual("BatchSize", error.ParamName);

        var simple = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => task switch
        {
            NeuralNetworkTask.MulticlassClassification => ml.MulticlassClassification.Trainers.NeuralNetwork(batchSize: 0),
            NeuralNetworkTask.BinaryClassification => ml.BinaryClassification.Trainers.NeuralNetwork(batchSize: 0),
            _ => ml.Regression.Trainers.NeuralNetwork(batchSize: 0),
        });
        Assert.Contains("BatchSize must be at least 1", simple.Message);
    }

    [TestMethod]
    [DataRow("Epochs", "Epochs must be at least 1, but was 0")]
    [DataRow("LearningRate", "LearningRate must be positive and finite, but was -1")]
    [DataRow("HiddenLayers", "HiddenLayers[1] must be at least 1, but was 0")]
    [DataRow("Momentum", "Momentum must be in [0, 1), but was 1")]
    public void InvalidOptionIsRejectedWhenTheTrainerIsCreated(string option, string message)
    {
        var ml = new MLContext(seed: 1);
        var options = TestData.Options();
        switch (option)
        {
            case "Epochs": options.Epochs = 0; break;
            case "LearningRate": options.LearningRate = -1; break;
            case "HiddenLayers": options.HiddenLayers = [8, 0]; break;
            default: options.Momentum = 1; options.Optimizer = NeuralNetworkOptimizer.Sgd; break;
        }

        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Regression.Trainers.NeuralNetwork(options));

        Assert.AreEqual(option, error.ParamName);
        Assert.Contains(message, error.Message);
    }

    [TestMethod]
    public void OptionsAreCopiedWhenTheTrainerIsCreated()
    {
        // Breaking the options after creating the trainer neither fails nor changes the trainer.
        var ml = new MLContext(seed: 1);
        var options = TestData.Options(epochs: 2, 4);
        var trainer = ml.Regression.Trainers.NeuralNetwork(options);
        options.Epochs = 0;
        options.HiddenLayers[0] = 0;

        var model = trainer.Fit(ml.Data.LoadFromEnumerable(WithBadFeatures(50, bad: [])));

        Assert.HasCount(2, model.Model.History);
        CollectionAssert.AreEqual(new[] { 3, 4, 1 }, model.Model.LayerSizes.ToArray());
    }

    [TestMethod]
    public void ScoringDataWithAnotherFeatureCountIsRejected()
    {
        var ml = new MLContext(seed: 1);
        var model = ml.Regression.Trainers.NeuralNetwork(TestData.Options(epochs: 1, 4))
            .Fit(ml.Data.LoadFromEnumerable(WithBadFeatures(50, bad: [])));
        var wide = ml.Data.LoadFromEnumerable(new[] { new WideRow { Features = [1, 2, 3, 4] } });

        var error = Assert.ThrowsExactly<ArgumentException>(() => model.Transform(wide));
        Assert.Contains("'Features' has 4 features, but the network was trained on 3", error.Message);
        Assert.Contains("same pipeline", error.Message);

        var engineError = Assert.ThrowsExactly<ArgumentException>(() => ml.Model.CreatePredictionEngine<WideRow, RegressionScore>(model));
        Assert.Contains("has 4 features, but the network was trained on 3", engineError.Message);

        var missing = ml.Data.LoadFromEnumerable(TestData.Curve(5, seed: 1));
        var missingError = Assert.ThrowsExactly<ArgumentException>(() => model.Transform(missing));
        Assert.Contains("'Features'", missingError.Message);
        Assert.Contains("not in the input", missingError.Message);
    }

    /// <summary>Regression rows with NaN or infinite features at <paramref name="bad"/> (default rows 4, 9 and 30).</summary>
    private static VectorRow[] WithBadFeatures(int count, int[]? bad = null)
    {
        var rows = TestData.Curve(count, seed: 33).Select(p => new VectorRow { Label = p.Label, Features = [p.X, p.Y, p.Noise] }).ToArray();
        var badRows = bad ?? BadRows;
        for (int i = 0; i < badRows.Length; i++)
            rows[badRows[i]].Features[i % 3] = i == 1 ? float.PositiveInfinity : float.NaN;
        return rows;
    }
}
