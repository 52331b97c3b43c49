using Microsoft.ML;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>CrossValidate takes the trainer (inside a full pipeline, or alone) as an IEstimator&lt;ITransformer&gt;.</summary>
[TestClass]
public sealed class CrossValidationTests
{
    private const int Rows = 900;

    [TestMethod]
    public void MulticlassCrossValidateGivesSensibleFolds()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TestData.Blobs(Rows, seed: 3));
        var pipeline = TestData.Featurize(ml, NeuralNetworkTask.MulticlassClassification)
            .Append(ml.MulticlassClassification.Trainers.NeuralNetwork(TestData.GoodOptions(NeuralNetworkTask.MulticlassClassification)));

        var folds = ml.MulticlassClassification.CrossValidate(data, pipeline, numberOfFolds: 3);

        Assert.HasCount(3, folds);
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, folds.Select(f => f.Fold).ToArray());
        foreach (var fold in folds)
        {
            Assert.IsGreaterThan(0.9, fold.Metrics.MicroAccuracy, $"fold {fold.Fold}");
            Assert.AreEqual(3, fold.Metrics.ConfusionMatrix.NumberOfClasses, $"fold {fold.Fold}");
            Assert.IsNotNull(fold.Model);
        }
        AssertHoldOutSetsPartitionTheData(folds.Select(f => f.ScoredHoldOutSet));
    }

    [TestMethod]
    public void BinaryCrossValidateGivesSensibleFolds()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TestData.Binary(Rows, seed: 3));
        var pipeline = TestData.Featurize(ml, NeuralNetworkTask.BinaryClassification)
            .Append(ml.BinaryClassification.Trainers.NeuralNetwork(TestData.GoodOptions(NeuralNetworkTask.BinaryClassification)));

        var folds = ml.BinaryClassification.CrossValidate(data, pipeline, numberOfFolds: 3);

        Assert.HasCount(3, folds);
        foreach (var fold in folds)
        {
            Assert.IsGreaterThan(0.9, fold.Metrics.AreaUnderRocCurve, $"fold {fold.Fold}");
            Assert.IsGreaterThan(0.8, fold.Metrics.Accuracy, $"fold {fold.Fold}");
            Assert.IsTrue(double.IsFinite(fold.Metrics.LogLoss), $"fold {fold.Fold}: calibrated metrics are computed");
        }
        AssertHoldOutSetsPartitionTheData(folds.Select(f => f.ScoredHoldOutSet));

        var nonCalibrated = ml.BinaryClassification.CrossValidateNonCalibrated(data, pipeline, numberOfFolds: 3);
        Assert.HasCount(3, nonCalibrated);
        Assert.IsTrue(nonCalibrated.All(f => f.Metrics.AreaUnderRocCurve > 0.9), "non-calibrated AUC per fold");
    }

    [TestMethod]
    public void RegressionCrossValidateGivesSensibleFolds()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TestData.Curve(Rows, seed: 3));
        var pipeline = TestData.Featurize(ml, NeuralNetworkTask.Regression)
            .Append(ml.Regression.Trainers.NeuralNetwork(TestData.GoodOptions(NeuralNetworkTask.Regression)));

        var folds = ml.Regression.CrossValidate(data, pipeline, numberOfFolds: 3);

        Assert.HasCount(3, folds);
        foreach (var fold in folds)
        {
            Assert.IsGreaterThan(0.8, fold.Metrics.RSquared, $"fold {fold.Fold}");
            Assert.IsLessThan(0.5, fold.Metrics.RootMeanSquaredError, $"fold {fold.Fold}");
        }
        AssertHoldOutSetsPartitionTheData(folds.Select(f => f.ScoredHoldOutSet));
    }

    [TestMethod]
    public void TrainerAloneCrossValidatesOnFeaturizedData()
    {
        // The trainer itself, not a chain, as CrossValidate's estimator: IEstimator<NeuralNetworkPredictionTransformer>
        // must be usable where IEstimator<ITransformer> is expected.
        var ml = new MLContext(seed: 1);
        var raw = ml.Data.LoadFromEnumerable(TestData.Curve(Rows, seed: 4));
        var data = TestData.Featurize(ml, NeuralNetworkTask.Regression).Fit(raw).Transform(raw);
        IEstimator<ITransformer> trainer = ml.Regression.Trainers.NeuralNetwork(TestData.GoodOptions(NeuralNetworkTask.Regression));

        var folds = ml.Regression.CrossValidate(data, trainer, numberOfFolds: 3);

        Assert.HasCount(3, folds);
        foreach (var fold in folds)
        {
            var network = fold.Model as NeuralNetworkPredictionTransformer;
            Assert.IsNotNull(network, $"fold {fold.Fold}: the model is the trainer's transformer");
            // Each fold trains on about two thirds of the rows.
            Assert.IsInRange(Rows / 2, Rows * 5 / 6, network.Model.History[0].Rows);
            Assert.IsGreaterThan(0.8, fold.Metrics.RSquared, $"fold {fold.Fold}");
        }
    }

    private static void AssertHoldOutSetsPartitionTheData(IEnumerable<IDataView> holdOutSets)
    {
        var counts = holdOutSets.Select(TestData.CountRows).ToArray();
        Assert.AreEqual((long)Rows, counts.Sum(), "every row is held out exactly once");
        Assert.IsTrue(counts.All(c => c > Rows / 6), $"folds are of similar size: {string.Join(", ", counts)}");
    }
}
