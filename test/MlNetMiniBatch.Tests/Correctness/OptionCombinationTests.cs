using Microsoft.ML;

namespace MlNetMiniBatch.Tests.Correctness;

/// <summary>An option that would do nothing with the others given is refused when the trainer is created, with a
/// message that names both options, instead of being silently ignored.</summary>
[TestClass]
public sealed class OptionCombinationTests
{
    [TestMethod]
    [DataRow(NeuralNetworkOptimizer.Adam)]
    [DataRow(NeuralNetworkOptimizer.AdamW)]
    public void MomentumWithAdamIsRefused(NeuralNetworkOptimizer optimizer)
    {
        var error = Refused(new NeuralNetworkOptions { Optimizer = optimizer, Momentum = 0.9f });
        Assert.AreEqual("Momentum", error.ParamName);
        Assert.Contains($"Optimizer = {optimizer}", error.Message);
        Assert.Contains("Momentum = 0.9", error.Message);
    }

    [TestMethod]
    public void EarlyStoppingMinDeltaWithoutPatienceIsRefused()
    {
        var error = Refused(new NeuralNetworkOptions { EarlyStoppingMinDelta = 0.01f });
        Assert.AreEqual("EarlyStoppingMinDelta", error.ParamName);
        Assert.Contains("EarlyStoppingPatience", error.Message);
    }

    [TestMethod]
    public void RestoreBestWeightsOffWithoutPatienceIsRefused()
    {
        var error = Refused(new NeuralNetworkOptions { RestoreBestWeights = false });
        Assert.AreEqual("RestoreBestWeights", error.ParamName);
        Assert.Contains("EarlyStoppingPatience", error.Message);
    }

    [TestMethod]
    public void DropoutWithoutAHiddenLayerIsRefused()
    {
        var error = Refused(new NeuralNetworkOptions { HiddenLayers = [], Dropout = 0.2f });
        Assert.AreEqual("Dropout", error.ParamName);
        Assert.Contains("HiddenLayers", error.Message);
    }

    [TestMethod]
    public void ClassWeightsOnRegressionAreRefused()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Synthetic.Regression(30));
        var error = Assert.ThrowsExactly<ArgumentException>(
            () => ml.Regression.Trainers.NeuralNetwork(new NeuralNetworkOptions { ClassWeights = [1, 2] }).Fit(data));
        Assert.AreEqual("ClassWeights", error.ParamName);
        Assert.Contains("regression", error.Message);
        Assert.Contains("ExampleWeightColumnName", error.Message);
    }

    [TestMethod]
    public void TheCombinationsThatDoSomethingAreAccepted()
    {
        var ml = new MLContext(1);
        ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions { Optimizer = NeuralNetworkOptimizer.Sgd, Momentum = 0.9f });
        ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions { Optimizer = NeuralNetworkOptimizer.RmsProp, Momentum = 0.5f });
        ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions { EarlyStoppingPatience = 2, EarlyStoppingMinDelta = 0.01f, RestoreBestWeights = false });
        ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions
        {
            EarlyStoppingMinDelta = 0.01f, LearningRateSchedule = LearningRateSchedule.ReduceOnPlateau(), // the plateau schedule uses the delta
        });
        ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions { HiddenLayers = [8], Dropout = 0.2f });
    }

    private static ArgumentException Refused(NeuralNetworkOptions options) =>
        Assert.ThrowsExactly<ArgumentException>(() => new MLContext(1).MulticlassClassification.Trainers.NeuralNetwork(options));
}
