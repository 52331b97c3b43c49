using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>
/// A missing column, or a label or feature column of the wrong type, fails with an ArgumentException that names the
/// column and says how to fix it — both when the trainer is fitted directly and when an estimator chain checks the
/// schema shape before fitting.
/// </summary>
[TestClass]
public sealed class BadColumnTests
{
    private const NeuralNetworkTask Multiclass = NeuralNetworkTask.MulticlassClassification;
    private const NeuralNetworkTask Binary = NeuralNetworkTask.BinaryClassification;
    private const NeuralNetworkTask Regression = NeuralNetworkTask.Regression;

    /// <summary>One row type with a label for every task and feature columns of several kinds.</summary>
    public sealed class MixedRow
    {
        public string Class { get; set; } = "";
        public bool Positive { get; set; }
        public float Target { get; set; }
        public float X { get; set; }
        public float Y { get; set; }
        public float Noise { get; set; }
        [VectorType(3)] public double[] DoubleFeatures { get; set; } = [];
        public float[] RaggedFeatures { get; set; } = [];
    }

    [TestMethod]
    [DataRow(Multiclass)]
    [DataRow(Binary)]
    [DataRow(Regression)]
    public void MissingLabelColumn(NeuralNetworkTask task)
        => AssertRejected(task, o => o.LabelColumnName = "Outcome", "LabelColumnName", "'Outcome'", "was not found", "NeuralNetworkOptions.LabelColumnName");

    [TestMethod]
    [DataRow(Multiclass)]
    [DataRow(Binary)]
    [DataRow(Regression)]
    public void MissingFeatureColumn(NeuralNetworkTask task)
        => AssertRejected(task, o => o.FeatureColumnName = "Pixels", "FeatureColumnName", "'Pixels'", "was not found", "NeuralNetworkOptions.FeatureColumnName");

    [TestMethod]
    [DataRow(Multiclass)]
    [DataRow(Binary)]
    [DataRow(Regression)]
    public void DoubleVectorFeatures(NeuralNetworkTask task)
        => AssertRejected(task, o => o.FeatureColumnName = "DoubleFeatures", "FeatureColumnName",
            "'DoubleFeatures'", "vector of Single", "Double", "ConvertType");

    [TestMethod]
    [DataRow(Multiclass)]
    [DataRow(Binary)]
    [DataRow(Regression)]
    public void ScalarFeature(NeuralNetworkTask task)
        => AssertRejected(task, o => o.FeatureColumnName = "X", "FeatureColumnName", "'X'", "vector of Single", "Concatenate");

    [TestMethod]
    [DataRow(Multiclass)]
    [DataRow(Binary)]
    [DataRow(Regression)]
    public void VariableSizeFeatureVector(NeuralNetworkTask task)
        => AssertRejected(task, o => o.FeatureColumnName = "RaggedFeatures", "FeatureColumnName",
            "'RaggedFeatures'", "variable size", "VectorType");

    [TestMethod]
    public void MulticlassLabelThatIsSingle()
        => AssertRejected(Multiclass, o => o.LabelColumnName = "Target", "LabelColumnName", "'Target'", "key type", "MapValueToKey(\"Target\")");

    [TestMethod]
    public void MulticlassLabelThatIsText()
        => AssertRejected(Multiclass, o => o.LabelColumnName = "Class", "LabelColumnName", "'Class'", "key type", "MapValueToKey(\"Class\")");

    [TestMethod]
    public void BinaryLabelThatIsNotBoolean()
        => AssertRejected(Binary, o => o.LabelColumnName = "Target", "LabelColumnName", "'Target'", "Boolean");

    [TestMethod]
    public void BinaryLabelThatIsAKey()
        => AssertRejected(Binary, o => o.LabelColumnName = "ClassKey", "LabelColumnName", "'ClassKey'", "Boolean");

    [TestMethod]
    public void RegressionLabelThatIsText()
        => AssertRejected(Regression, o => o.LabelColumnName = "Class", "LabelColumnName", "'Class'", "Single", "ConvertType(\"Class\"");

    [TestMethod]
    [DataRow(Multiclass)]
    [DataRow(Binary)]
    [DataRow(Regression)]
    public void GoodColumnsTrain(NeuralNetworkTask task)
    {
        // The same rows and pipeline with the right column names train: the failures above are about the columns alone.
        var ml = new MLContext(seed: 1);
        var options = OptionsFor(task);
        var model = Featurize(ml).Append(TestData.Trainer(ml, task, options)).Fit(Rows(ml));
        Assert.HasCount(1, model.LastTransformer.Model.History);
    }

    private static void AssertRejected(NeuralNetworkTask task, Action<NeuralNetworkOptions> breakIt, string paramName, params string[] mustContain)
    {
        var ml = new MLContext(seed: 1);
        var raw = Rows(ml);
        var featurized = Featurize(ml).Fit(raw).Transform(raw);
        var options = OptionsFor(task);
        breakIt(options);
        var trainer = TestData.Trainer(ml, task, options);

        var direct = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(featurized));
        var chained = Assert.ThrowsExactly<ArgumentException>(() => Featurize(ml).Append(trainer).Fit(raw));

        foreach (var error in new[] { direct, chained })
        {
            Assert.AreEqual(paramName, error.ParamName);
            foreach (var text in mustContain)
                Assert.Contains(text, error.Message);
        }
    }

    private static NeuralNetworkOptions OptionsFor(NeuralNetworkTask task)
    {
        var options = TestData.Options(epochs: 1, 4);
        options.LabelColumnName = task switch { Multiclass => "ClassKey", Binary => "Positive", _ => "Target" };
        return options;
    }

    /// <summary>ClassKey = key of Class (Class itself stays text), Features = [X, Y, Noise].</summary>
    private static IEstimator<ITransformer> Featurize(MLContext ml)
        => ml.Transforms.Conversion.MapValueToKey("ClassKey", "Class").Append(ml.Transforms.Concatenate("Features", "X", "Y", "Noise"));

    private static IDataView Rows(MLContext ml) => ml.Data.LoadFromEnumerable(TestData.Blobs(60, seed: 30).Select((p, i) => new MixedRow
    {
        Class = p.Label,
        Positive = p.X > 0,
        Target = p.X + p.Y,
        X = p.X,
        Y = p.Y,
        Noise = p.Noise,
        DoubleFeatures = [p.X, p.Y, p.Noise],
        RaggedFeatures = i % 2 == 0 ? [p.X, p.Y] : [p.X, p.Y, p.Noise],
    }).ToArray());
}
