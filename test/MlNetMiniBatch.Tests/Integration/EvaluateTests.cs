using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>The catalogs' Evaluate accepts the trainer's scored output and shows that the network learned.</summary>
[TestClass]
public sealed class EvaluateTests
{
    private const NeuralNetworkTask Multiclass = NeuralNetworkTask.MulticlassClassification;
    private const NeuralNetworkTask Binary = NeuralNetworkTask.BinaryClassification;
    private const NeuralNetworkTask Regression = NeuralNetworkTask.Regression;

    [TestMethod]
    public void MulticlassEvaluateShowsLearning()
    {
        var (ml, fitted, test) = Fit(Multiclass);
        var metrics = ml.MulticlassClassification.Evaluate(fitted.Transform(test));

        Assert.IsGreaterThan(0.9, metrics.MicroAccuracy);
        Assert.IsGreaterThan(0.9, metrics.MacroAccuracy);
        Assert.IsLessThan(0.3, metrics.LogLoss);
        Assert.AreEqual(3, metrics.ConfusionMatrix.NumberOfClasses);
        Assert.AreEqual(3, metrics.PerClassLogLoss.Count);
    }

    [TestMethod]
    public void BinaryEvaluateShowsLearning()
    {
        var (ml, fitted, test) = Fit(Binary);
        var metrics = ml.BinaryClassification.Evaluate(fitted.Transform(test));

        Assert.IsGreaterThan(0.9, metrics.AreaUnderRocCurve);
        Assert.IsGreaterThan(0.85, metrics.Accuracy);
        Assert.IsLessThan(0.5, metrics.LogLoss);
        Assert.IsGreaterThan(0.3, metrics.LogLossReduction);

        var nonCalibrated = ml.BinaryClassification.EvaluateNonCalibrated(fitted.Transform(test));
        Assert.AreEqual(metrics.AreaUnderRocCurve, nonCalibrated.AreaUnderRocCurve, 1e-9);
        Assert.AreEqual(metrics.Accuracy, nonCalibrated.Accuracy, 1e-9);
    }

    [TestMethod]
    public void RegressionEvaluateShowsLearning()
    {
        var (ml, fitted, test) = Fit(Regression);
        var metrics = ml.Regression.Evaluate(fitted.Transform(test));

        Assert.IsGreaterThan(0.8, metrics.RSquared);
        // The label is sin(1.5x) + 0.5y² + N(0, 0.1²): an RMSE near 0.1 is the floor, 0.9 is the label's own spread.
        Assert.IsLessThan(0.4, metrics.RootMeanSquaredError);
    }

    [TestMethod]
    [DataRow(Multiclass)]
    [DataRow(Binary)]
    [DataRow(Regression)]
    public void SimpleOverloadTrainsAndEvaluates(NeuralNetworkTask task)
    {
        var ml = new MLContext(seed: 1);
        var data = TestData.Load(ml, task, 600, seed: 11);
        var featurize = TestData.Featurize(ml, task);
        IEstimator<ITransformer> trainer = task switch
        {
            Multiclass => ml.MulticlassClassification.Trainers.NeuralNetwork(hiddenLayers: [8], batchSize: 16, epochs: 15),
            Binary => ml.BinaryClassification.Trainers.NeuralNetwork(hiddenLayers: [8], batchSize: 16, epochs: 15),
            _ => ml.Regression.Trainers.NeuralNetwork(hiddenLayers: [8], batchSize: 16, epochs: 15),
        };
        var fitted = featurize.Append(trainer).Fit(data);
        var scored = fitted.Transform(data);

        double quality = task switch
        {
            Multiclass => ml.MulticlassClassification.Evaluate(scored).MicroAccuracy,
            Binary => ml.BinaryClassification.Evaluate(scored).AreaUnderRocCurve,
            _ => ml.Regression.Evaluate(scored).RSquared,
        };
        // Fifteen short epochs at the default learning rate are enough to beat chance / the mean predictor clearly.
        Assert.IsGreaterThan(task == Regression ? 0.3 : 0.8, quality);

        var network = fitted.LastTransformer as NeuralNetworkPredictionTransformer;
        Assert.IsNotNull(network);
        Assert.HasCount(15, network.Model.History);
        Assert.AreEqual(38, network.Model.History[0].Iterations); // ceil(600 / 16)
        Assert.AreEqual(600L, network.Model.History[0].Rows);
        CollectionAssert.AreEqual(new[] { 3, 8, task == Multiclass ? 3 : 1 }, network.Model.LayerSizes.ToArray());
    }

    [TestMethod]
    [DataRow(Multiclass)]
    [DataRow(Binary)]
    [DataRow(Regression)]
    public void TrainingLossFallsOverEpochs(NeuralNetworkTask task)
    {
        var (_, fitted, _) = Fit(task);
        var history = fitted.LastTransformer.Model.History;

        Assert.HasCount(TestData.GoodOptions(task).Epochs, history);
        CollectionAssert.AreEqual(Enumerable.Range(1, history.Count).ToArray(), history.Select(h => h.Epoch).ToArray());
        Assert.IsTrue(history.All(h => double.IsFinite(h.TrainLoss)), "every epoch reports a finite loss");
        Assert.IsLessThan(history[0].TrainLoss * 0.5, history[^1].TrainLoss);
    }

    private static (MLContext Ml, TransformerChain<NeuralNetworkPredictionTransformer> Fitted, IDataView Test) Fit(NeuralNetworkTask task)
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.Cache(TestData.Load(ml, task, 1200, seed: 1));
        var test = TestData.Load(ml, task, 400, seed: 2);
        var pipeline = TestData.Featurize(ml, task).Append(TestData.Trainer(ml, task, TestData.GoodOptions(task)));
        return (ml, pipeline.Fit(train), test);
    }
}
