using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>Fit(data, model.Model) continues from the given weights; a model that cannot continue is refused clearly.</summary>
[TestClass]
public sealed class WarmStartTests
{
    public sealed class WideRow
    {
        public float Label { get; set; }
        [VectorType(4)] public float[] Features { get; set; } = [];
    }

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void WarmStartContinuesFromTheGivenWeights(NeuralNetworkTask task)
    {
        var ml = new MLContext(seed: 1);
        var data = Featurized(ml, task, 600, seed: 60);
        var trainer = TestData.Trainer(ml, task, TestData.Options(epochs: 5));

        var first = trainer.Fit(data);
        var before = first.Model.GetWeights(0).ToArray();
        var second = trainer.Fit(data, first.Model);

        var h1 = first.Model.History;
        var h2 = second.Model.History;
        Assert.IsLessThan(h1[0].TrainLoss, h2[0].TrainLoss, "the second run starts where the first ended, not from scratch");
        // Its first epoch is about as good as the first run's last one (the optimizer state restarts, so allow some slack).
        Assert.IsLessThan(h1[^1].TrainLoss * 1.25, h2[0].TrainLoss);
        Assert.HasCount(5, h2);
        CollectionAssert.AreEqual(first.Model.LayerSizes.ToArray(), second.Model.LayerSizes.ToArray());
        CollectionAssert.AreEqual(before, first.Model.GetWeights(0).ToArray(), "warm start does not modify the initial model");
        CollectionAssert.AreNotEqual(before, second.Model.GetWeights(0).ToArray(), "the warm-started run trained");
    }

    [TestMethod]
    public void WarmStartKeepsTheClassNames()
    {
        var ml = new MLContext(seed: 1);
        var data = Featurized(ml, NeuralNetworkTask.MulticlassClassification, 600, seed: 61);
        var options = TestData.GoodOptions(NeuralNetworkTask.MulticlassClassification);
        options.Epochs = 3;
        var trainer = ml.MulticlassClassification.Trainers.NeuralNetwork(options);

        var second = trainer.Fit(data, trainer.Fit(data).Model);

        CollectionAssert.AreEquivalent(TestData.ClassNames, second.Model.ClassNames!.ToArray());
        var metrics = ml.MulticlassClassification.Evaluate(second.Transform(data));
        Assert.IsGreaterThan(0.9, metrics.MicroAccuracy);
    }

    [TestMethod]
    public void WarmStartOnNewDataOfAnotherFeatureCountFails()
    {
        var ml = new MLContext(seed: 1);
        var trainer = ml.Regression.Trainers.NeuralNetwork(TestData.Options(epochs: 1));
        var model = trainer.Fit(Featurized(ml, NeuralNetworkTask.Regression, 100, seed: 62));
        var wide = ml.Data.LoadFromEnumerable(TestData.Curve(100, seed: 63)
            .Select(p => new WideRow { Label = p.Label, Features = [p.X, p.Y, p.Noise, 0] }));

        var error = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(wide, model.Model));

        Assert.AreEqual("initialModel", error.ParamName);
        Assert.Contains("reads 3 features", error.Message);
        Assert.Contains("'Features' has 4", error.Message);
        Assert.Contains("same feature pipeline", error.Message);
    }

    [TestMethod]
    public void WarmStartFromAnotherTaskFails()
    {
        var ml = new MLContext(seed: 1);
        var regression = ml.Regression.Trainers.NeuralNetwork(TestData.Options(epochs: 1))
            .Fit(Featurized(ml, NeuralNetworkTask.Regression, 100, seed: 64));
        var binary = ml.BinaryClassification.Trainers.NeuralNetwork(TestData.Options(epochs: 1));

        var error = Assert.ThrowsExactly<ArgumentException>(
            () => binary.Fit(Featurized(ml, NeuralNetworkTask.BinaryClassification, 100, seed: 65), regression.Model));

        Assert.AreEqual("initialModel", error.ParamName);
        Assert.Contains("Regression", error.Message);
        Assert.Contains("BinaryClassification", error.Message);
    }

    [TestMethod]
    public void WarmStartWithAnotherClassCountFails()
    {
        var ml = new MLContext(seed: 1);
        var trainer = ml.MulticlassClassification.Trainers.NeuralNetwork(TestData.Options(epochs: 1));
        var model = trainer.Fit(Featurized(ml, NeuralNetworkTask.MulticlassClassification, 100, seed: 66));
        var twoClasses = TestData.Blobs(100, seed: 67).Where(p => p.Label != "gamma").ToArray();
        var data = TestData.Featurize(ml, NeuralNetworkTask.MulticlassClassification).Fit(ml.Data.LoadFromEnumerable(twoClasses))
            .Transform(ml.Data.LoadFromEnumerable(twoClasses));

        var error = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(data, model.Model));

        Assert.Contains("3 classes", error.Message);
        Assert.Contains("'Label' has 2", error.Message);
        Assert.Contains("same label key mapping", error.Message);
    }

    private static IDataView Featurized(MLContext ml, NeuralNetworkTask task, int rows, int seed)
    {
        var raw = TestData.Load(ml, task, rows, seed);
        return ml.Data.Cache(TestData.Featurize(ml, task).Fit(raw).Transform(raw));
    }
}
