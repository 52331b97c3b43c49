using Microsoft.ML;
using MlNetMiniBatch.Tests.Integration;

namespace MlNetMiniBatch.Tests.Correctness;

/// <summary>Class weights weight the training loss only (as in Keras): validation metrics are what Evaluate reports.</summary>
[TestClass]
public sealed class ClassWeightValidationTests
{
    [TestMethod]
    public void ValidationLossWithStrongClassWeightsIsTheUnweightedLogLossOfEvaluate()
    {
        var ml = new MLContext(1);
        var train = Synthetic.BlobsView(ml, 300, seed: 7);
        var validation = Synthetic.BlobsView(ml, 150, seed: 8);
        var options = TestData.Options(epochs: 2, 8);
        options.ClassWeights = [0.05f, 1f, 20f];

        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(train, validation);

        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(validation));
        var last = model.Model.History[^1].Validation!;
        Assert.AreEqual(metrics.LogLoss, last.Loss, 1e-5);
        Assert.AreEqual(metrics.MicroAccuracy, last.Accuracy!.Value, 1e-9);
        Assert.AreEqual(metrics.MacroAccuracy, last.MacroAccuracy!.Value, 1e-9);
    }

    [TestMethod]
    public void HeldOutValidationRowsAreNotClassWeightedEither()
    {
        var ml = new MLContext(1);
        var data = Synthetic.BlobsView(ml, 300, seed: 9);
        var options = TestData.Options(epochs: 2, 8);
        options.ValidationFraction = 0.3f;
        var weighted = TestData.Options(epochs: 2, 8);
        weighted.ValidationFraction = 0.3f;
        weighted.ClassWeights = [1f, 1f, 1f];
        var unweightedRun = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data).Model;
        var oneWeights = ml.MulticlassClassification.Trainers.NeuralNetwork(weighted).Fit(data).Model;
        Assert.AreEqual(unweightedRun.History[^1].ValidationLoss, oneWeights.History[^1].ValidationLoss, "weights of 1 change nothing");

        weighted.ClassWeights = [0.05f, 1f, 20f];
        weighted.Epochs = 1;
        weighted.Optimizer = NeuralNetworkOptimizer.Sgd;
        weighted.LearningRate = 1e-12f; // the weights stay at their initial values, so both losses see the same network
        options.Epochs = 1;
        options.Optimizer = NeuralNetworkOptimizer.Sgd;
        options.LearningRate = 1e-12f;
        var strong = ml.MulticlassClassification.Trainers.NeuralNetwork(weighted).Fit(data).Model;
        var plain = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data).Model;
        Assert.AreEqual(plain.History[0].ValidationLoss!.Value, strong.History[0].ValidationLoss!.Value, 1e-6);
        Assert.AreNotEqual(plain.History[0].TrainLoss, strong.History[0].TrainLoss, "the training loss is weighted");
    }
}
