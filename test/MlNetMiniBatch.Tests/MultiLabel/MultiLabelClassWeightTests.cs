using Microsoft.ML;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.MultiLabel;

/// <summary>ClassWeights of a multi-label trainer are one positive weight per label.</summary>
[TestClass]
public sealed class MultiLabelClassWeightTests
{
    [TestMethod]
    public void AHighPositiveWeightTradesPrecisionForRecallOnItsLabelOnly()
    {
        var unweighted = Evaluate(null);
        var weighted = Evaluate([1f, 1f, 8f]);

        Assert.IsGreaterThan(unweighted.PerLabel[2].Recall, weighted.PerLabel[2].Recall);
        Assert.IsLessThan(unweighted.PerLabel[2].Precision, weighted.PerLabel[2].Precision);
        Assert.IsGreaterThan(weighted.PerLabel[2].FalseNegatives * 2, unweighted.PerLabel[2].FalseNegatives);
    }

    [TestMethod]
    public void TheReaderDoesNotWeighRowsByTheFirstLabel()
    {
        var ml = new MLContext(seed: 1);
        var data = MultiLabelData.Featurize(ml).Fit(MultiLabelData.View(ml, MultiLabelData.Points(40, seed: 11)))
            .Transform(MultiLabelData.View(ml, MultiLabelData.Points(40, seed: 11)));
        var options = MultiLabelData.Options();
        options.ClassWeights = [3f, 5f, 7f];
        var task = TrainingTask.For(NeuralNetworkTask.BinaryClassification, vectorLabel: true, options);
        var columns = TrainingColumns.Bind(data.Schema, task, options, "training");
        using var source = DataSource.Training(data, columns, options, split: null);
        using var reader = source.Open(null, TargetScaling.Identity);
        var batch = new Batch(40, columns.FeatureCount, columns.TargetCount);

        Assert.IsTrue(source.Read(reader, batch, 40));
        Assert.AreEqual(40, batch.Count);
        CollectionAssert.AreEqual(Enumerable.Repeat(1f, 40).ToArray(), batch.Weights.Take(40).ToArray(),
            "the positive weights belong to the loss; a row keeps its example weight");
    }

    [TestMethod]
    public void ClassWeightsOfAnotherLengthThanTheLabelAreRefused()
    {
        var options = MultiLabelData.Options(epochs: 1);
        options.ClassWeights = [1f, 2f];
        var error = Assert.ThrowsExactly<ArgumentException>(() => MultiLabelData.Train(rows: 50, options));
        StringAssert.Contains(error.Message, "ClassWeights has 2 values");
        StringAssert.Contains(error.Message, "3");
        Assert.AreEqual("ClassWeights", error.ParamName);
    }

    private static MultiLabelClassificationMetrics Evaluate(float[]? classWeights)
    {
        var options = MultiLabelData.Options(epochs: 8);
        options.ClassWeights = classWeights;
        var (ml, _, model) = MultiLabelData.Train(rows: 400, options);
        return ml.BinaryClassification.EvaluateMultiLabel(model.Transform(MultiLabelData.View(ml, MultiLabelData.Points(400, seed: 12))));
    }
}
