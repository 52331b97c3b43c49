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
        StringAssert.Contains(width.Message, "has 3 outputs");
        StringAssert.Contains(width.Message, "label 'Label' needs 2");
        Assert.AreEqual("initialModel", width.ParamName);

        var task = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(scalar, model));
        StringAssert.Contains(task.Message, "trained for MultiLabelClassification, but this trainer does BinaryClassification");
    }

    [TestMethod]
    public void ValidationDataOfAnotherLabelWidthIsRefused()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable([new NarrowLabel { Features = [1, 2, 3, 4], Label = [true, false] }]);
        var validation = ml.Data.LoadFromEnumerable([new SingleLabelOfBooleans { Features = [1, 2, 3, 4], Label = [true, false, true] }]);

        var error = Assert.ThrowsExactly<ArgumentException>(() =>
            ml.BinaryClassification.Trainers.NeuralNetwork(MultiLabelData.Options(epochs: 1)).Fit(train, validation));
        StringAssert.Contains(error.Message, "3 label values, the training data 4 and 2");
        Assert.AreEqual("validationData", error.ParamName);
    }

    [TestMethod]
    public void ATrainerMadeForMultiLabelTakesClassWeightsAsPositiveWeightsAndRefusesAScalarLabel()
    {
        var ml = new MLContext(seed: 1);
        var options = MultiLabelData.Options(epochs: 1);
        options.ClassWeights = [1f, 2f, 3f];
        var trainer = new NeuralNetworkTrainer(ml, NeuralNetworkTask.MultiLabelClassification, options);
        var scalar = ml.Data.LoadFromEnumerable([new ScalarLabel { Features = [1, 2, 3, 4], Label = true }]);

        var error = Assert.ThrowsExactly<ArgumentException>(() => trainer.GetOutputSchema(TestData.ShapeOf(scalar.Schema)));
        StringAssert.Contains(error.Message, "'Label' is a scalar, but multi-label classification needs a vector of Boolean");
        var task = (MlNetMiniBatch.Tasks.MultiLabelTask)MlNetMiniBatch.Tasks.TrainingTask.For(NeuralNetworkTask.MultiLabelClassification, vectorLabel: true, options);
        float[] logit = [0.5f], positive = [1], weight = [1];
        Assert.AreEqual(3 * MlNetMiniBatch.Tasks.MultiLabelTask.Instance.Loss(logit, positive, weight, 1, 1, 1, new float[1]),
            task.Loss([0f, 0f, 0.5f], [0f, 0f, 1f], weight, 1, 3, 1, new float[3]) * 3 - 2 * Math.Log(2), 1e-9,
            "the third label's positive term weighs 3");
    }

    public sealed class SingleLabelOfBooleans
    {
        [VectorType(4)] public float[] Features { get; set; } = [];
        [VectorType(3)] public bool[] Label { get; set; } = [];
    }

    private static IEnumerable<ArgumentException> BothChecks(MLContext ml, IDataView data)
    {
        var trainer = ml.BinaryClassification.Trainers.NeuralNetwork(MultiLabelData.Options(epochs: 1));
        yield return Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(data));
        yield return Assert.ThrowsExactly<ArgumentException>(() => trainer.GetOutputSchema(TestData.ShapeOf(data.Schema)));
    }
}
