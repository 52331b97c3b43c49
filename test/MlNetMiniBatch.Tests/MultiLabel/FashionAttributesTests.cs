using System.Globalization;
using Microsoft.ML;

namespace MlNetMiniBatch.Tests.MultiLabel;

/// <summary>Real multi-label data: five attributes of Fashion-MNIST images derived from their class, trained with the
/// settings of tools/fashion_attributes_sklearn.py (128 ReLU units, Adam 0.001, batches of 32, 10 epochs, 10,000
/// training and 2,000 test rows), so the metrics it prints compare with scikit-learn's MLPClassifier.</summary>
[TestClass]
public sealed class FashionAttributesTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void TheNetworkLearnsTheAttributesOfFashionMnist()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.Cache(FashionAttributes.Load(ml, train: true, rows: 10_000));
        var test = FashionAttributes.Load(ml, train: false, rows: 2_000);
        var model = ml.BinaryClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions
        {
            HiddenLayers = [128], BatchSize = 32, Epochs = 10, Optimizer = NeuralNetworkOptimizer.Adam, LearningRate = 0.001f, Seed = 1,
        }).Fit(train);
        var metrics = ml.BinaryClassification.EvaluateMultiLabel(model.Transform(test));

        TestContext.WriteLine(Describe(metrics, model.Model.History[^1].TrainLoss));
        CollectionAssert.AreEqual(FashionAttributes.Names, metrics.PerLabel.Select(l => l.Name).ToArray());
        // scikit-learn's MLPClassifier on the same rows: Hamming loss 0.023, subset accuracy 0.910, micro F1 0.959, macro F1 0.949.
        Assert.IsLessThan(0.035, metrics.HammingLoss);
        Assert.IsGreaterThan(0.87, metrics.SubsetAccuracy);
        Assert.IsGreaterThan(0.94, metrics.MicroF1);
        Assert.IsGreaterThan(0.92, metrics.MacroF1);
        foreach (var label in metrics.PerLabel)
            Assert.IsGreaterThan(0.98, label.AreaUnderRocCurve, label.Name);
    }

    private static string Describe(MultiLabelClassificationMetrics m, double trainLoss)
    {
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"final training loss {trainLoss:F4} (mean over labels)"),
            string.Create(CultureInfo.InvariantCulture,
                $"HammingLoss {m.HammingLoss:F4}  SubsetAccuracy {m.SubsetAccuracy:F4}  MicroF1 {m.MicroF1:F4}  MacroF1 {m.MacroF1:F4}"),
        };
        lines.AddRange(m.PerLabel.Select(l => string.Create(CultureInfo.InvariantCulture,
            $"  {l.Name,-13} accuracy {l.Accuracy:F4}  precision {l.Precision:F4}  recall {l.Recall:F4}  F1 {l.F1Score:F4}  AUC {l.AreaUnderRocCurve:F4}")));
        return string.Join(Environment.NewLine, lines);
    }
}
