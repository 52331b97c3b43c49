using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>The trainer is an ML.NET trainer estimator like the built-ins: its TrainerInfo tells the truth, and the simple
/// catalog overloads take an example weight column.</summary>
[TestClass]
public sealed class TrainerSurfaceTests
{
    public sealed class WeightedRow
    {
        [VectorType(2)]
        public float[] Features { get; set; } = [];
        public float Label { get; set; }
        public bool Flag { get; set; }
        public float Weight { get; set; }
    }

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void EachCatalogGivesATrainerEstimatorWhoseInfoTellsTheTruth(NeuralNetworkTask task)
    {
        var ml = new MLContext(1);
        var trainer = TestData.Trainer(ml, task, TestData.Options(epochs: 1));

        ITrainerEstimator<NeuralNetworkPredictionTransformer, NeuralNetworkModelParameters> estimator = trainer;
        var info = estimator.Info;
        Assert.IsTrue(Flag(info, nameof(TrainerInfo.NeedNormalization)), "normalisation wanted");
        Assert.IsFalse(Flag(info, "NeedCalibration"), "no calibration");
        Assert.IsTrue(Flag(info, nameof(TrainerInfo.WantCaching)), "caching wanted");
        Assert.IsTrue(Flag(info, "SupportsValidation"), "validation supported");
        Assert.IsTrue(Flag(info, "SupportsIncrementalTraining"), "incremental training supported");

        // Used through the interface, as generic ML.NET code would.
        var data = TestData.Featurize(ml, task).Fit(TestData.Load(ml, task, 100, 2)).Transform(TestData.Load(ml, task, 100, 2));
        var model = FitThroughInterface(estimator, data);
        Assert.AreEqual(task, model.Task);
        Assert.AreEqual(1, model.History.Count);
    }

    /// <summary>ML.NET's own pipeline code reads these flags; some are internal to it, so the test reads them by name.</summary>
    private static bool Flag(TrainerInfo info, string property) =>
        (bool)typeof(TrainerInfo).GetProperty(property, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(info)!;

    private static TModel FitThroughInterface<TTransformer, TModel>(ITrainerEstimator<TTransformer, TModel> trainer, IDataView data)
        where TTransformer : ISingleFeaturePredictionTransformer<TModel> where TModel : class
        => trainer.Fit(data).Model;

    /// <summary>Rows of weight 0 have labels near −5 and rows of weight 1 labels near +5, with features unrelated to either,
    /// so the weighted mean label is 5 and the unweighted one 0: the network's mean prediction says which one it learned.</summary>
    [TestMethod]
    public void TheSimpleRegressionOverloadTrainsOnTheExampleWeights()
    {
        var ml = new MLContext(1);
        var random = new Random(3);
        var rows = Enumerable.Range(0, 400).Select(i => new WeightedRow
        {
            Features = [(float)random.NextDouble(), (float)random.NextDouble()],
            Weight = i % 2,
            Label = (i % 2 == 1 ? 5f : -5f) + (float)(random.NextDouble() * 2 - 1),
        }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);

        float weighted = MeanScore(ml, ml.Regression.Trainers.NeuralNetwork(exampleWeightColumnName: "Weight", hiddenLayers: [4], batchSize: 8, epochs: 40), data);
        float unweighted = MeanScore(ml, ml.Regression.Trainers.NeuralNetwork(hiddenLayers: [4], batchSize: 8, epochs: 40), data);

        Assert.AreEqual(5f, weighted, 1f, "with the weights, the mean prediction is the weighted label mean");
        Assert.AreEqual(0f, unweighted, 1f, "without them, the plain label mean");
    }

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void EachSimpleOverloadLooksForTheExampleWeightColumnItIsGiven(NeuralNetworkTask task)
    {
        var ml = new MLContext(1);
        var data = TestData.Featurize(ml, task).Fit(TestData.Load(ml, task, 50, 2)).Transform(TestData.Load(ml, task, 50, 2));
        NeuralNetworkTrainer trainer = task switch
        {
            NeuralNetworkTask.MulticlassClassification => ml.MulticlassClassification.Trainers.NeuralNetwork(exampleWeightColumnName: "RowWeight", epochs: 1),
            NeuralNetworkTask.BinaryClassification => ml.BinaryClassification.Trainers.NeuralNetwork(exampleWeightColumnName: "RowWeight", epochs: 1),
            _ => ml.Regression.Trainers.NeuralNetwork(exampleWeightColumnName: "RowWeight", epochs: 1),
        };

        var error = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(data));
        StringAssert.Contains(error.Message, "'RowWeight'");
        Assert.AreEqual("ExampleWeightColumnName", error.ParamName);
    }

    /// <summary>The task decides which label shapes it takes; multiclass takes one key per row, so a vector label fails in
    /// GetOutputSchema, before any training, naming the column.</summary>
    [TestMethod]
    public void TheMulticlassTrainerRefusesAVectorLabelInGetOutputSchema()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(new[] { new WeightedRow { Features = [1, 2], Label = 1 } });
        var shape = TestData.ShapeOf(ml.Transforms.Concatenate("Label", "Features").Fit(data).Transform(data).Schema);
        var trainer = ml.MulticlassClassification.Trainers.NeuralNetwork(epochs: 1);

        var error = Assert.ThrowsExactly<ArgumentException>(() => trainer.GetOutputSchema(shape));
        StringAssert.Contains(error.Message, "'Label' is a vector");
        Assert.AreEqual("LabelColumnName", error.ParamName);
    }

    private static float MeanScore(MLContext ml, NeuralNetworkTrainer trainer, IDataView data)
    {
        var scored = trainer.Fit(data).Transform(data);
        return ml.Data.CreateEnumerable<RegressionScore>(scored, reuseRowObject: false).Average(s => s.Score);
    }
}
