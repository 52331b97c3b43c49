using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Tests.Integration;

namespace MlNetMiniBatch.Tests.MultiLabel;

/// <summary>Labels a multi-label trainer cannot use are refused before training, in Fit and in GetOutputSchema, with the
/// column, what was found and the fix.</summary>
[TestClass]
public sealed class MultiLabelErrorTests
{
    public sealed class VariableLabel
    {
        [VectorType(4)] public float[] Features { get; set; } = [];
        public bool[] Label { get; set; } = [];
    }

    public sealed class SingleLabel
    {
        [VectorType(4)] public float[] Features { get; set; } = [];
        [VectorType(3)] public float[] Label { get; set; } = [];
    }

    public sealed class NarrowLabel
    {
        [VectorType(4)] public float[] Features { get; set; } = [];
        [VectorType(2)] public bool[] Label { get; set; } = [];
    }

    public sealed class ScalarLabel
    {
        [VectorType(4)] public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }

    [TestMethod]
    public void AVariableSizeLabelIsRefused()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable([new VariableLabel { Features = [1, 2, 3, 4], Label = [true, false] }]);

        foreach (var error in BothChecks(ml, data))
        {
            StringAssert.Contains(error.Message, "'Label' is a vector of variable size");
            StringAssert.Contains(error.Message, "[VectorType(k)]");
            Assert.AreEqual("LabelColumnName", error.ParamName);
        }
    }

    /// <summary>Boolean has no missing value, so a multi-label row is never invalid for its label: a label with missing
    /// values comes as numbers (NaN), which the trainer refuses, so that the user decides what a missing label means.</summary>
    [TestMethod]
    public void ALabelOfSinglesEvenWithNaNIsRefusedAsTheWrongElementType()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable([new SingleLabel { Features = [1, 2, 3, 4], Label = [1, float.NaN, 0] }]);

        foreach (var error in BothChecks(ml, data))
        {
            StringAssert.Contains(error.Message, "'Label' has type");
            StringAssert.Contains(error.Message, "needs a vector of Boolean");
            StringAssert.Contains(error.Message, "Regression.Trainers.NeuralNetwork");
            Assert.AreEqual("LabelColumnName", error.ParamName);
        }
    }

    [TestMethod]
    public void AScalarBooleanLabelStaysBinaryClassification()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 20).Select(i => new ScalarLabel { Features = [i, 1, 2, 3], Label = i % 2 == 0 }));
        var model = ml.BinaryClassification.Trainers.NeuralNetwork(MultiLabelData.Options(epochs: 1)).Fit(data);

        Assert.AreEqual(NeuralNetworkTask.BinaryClassification, model.Model.Task);
        Assert.AreEqual(BooleanDataViewType.Instance, model.Transform(data).Schema["PredictedLabel"].Type);
    }

    [TestMethod]
    public void AWarmStartModelOfAnotherLabelWidthOrTaskIsRefused()
    {
        var (ml, _, trained) = MultiLabelData.Train(rows: 50, MultiLabelData.Options(epochs: 1));
        var model = trained.LastTransformer.Model;
        var trainer = ml.BinaryClassification.Trainers.NeuralNetwork(MultiLabelData.Options(epochs: 1));
        var narrow = ml.Data.LoadFromEnumerable([new NarrowLabel { Features = [1, 2, 3, 4], Label = [true, false] }]);
        var scalar = ml.Data.LoadFromEnumerable([new ScalarLabel { Features = [1, 2, 3, 4], Label = true }]);

        var width = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(narrow, model));
        StringAssert.Contains(width.Message, "predicts 3");
        StringAssert.Contains(width.Message, "label 'Label' has 2");
        Assert.AreEqual("initialModel", width.ParamName);

        var task = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(scalar, model));
        StringAssert.Contains(task.Message, "trained for MultiLabelClassification, but this trainer does BinaryClassification");
    }

    private static IEnumerable<ArgumentException> BothChecks(MLContext ml, IDataView data)
    {
        var trainer = ml.BinaryClassification.Trainers.NeuralNetwork(MultiLabelData.Options(epochs: 1));
        yield return Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(data));
        yield return Assert.ThrowsExactly<ArgumentException>(() => trainer.GetOutputSchema(TestData.ShapeOf(data.Schema)));
    }
}
