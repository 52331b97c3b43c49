using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Evaluation;

/// <summary>EvaluateMultiLabel on hand-made scored rows, against values computed by hand (and by scikit-learn's
/// hamming_loss, accuracy_score, f1_score and roc_auc_score on the same arrays).</summary>
[TestClass]
public sealed class MultiLabelEvaluationTests
{
    public sealed class ScoredRow
    {
        [VectorType(3)] public bool[] Label { get; set; } = [];
        [VectorType(3)] public float[] Score { get; set; } = [];
        [VectorType(3)] public bool[] PredictedLabel { get; set; } = [];
    }

    // Label c has a tie between a true row and a false row (0.4), which counts one half in its AUC.
    private static readonly ScoredRow[] Rows =
    [
        Row([true, false, true], [0.9f, 0.2f, 0.4f], [true, false, false]),
        Row([false, true, true], [0.1f, 0.8f, 0.7f], [false, true, true]),
        Row([true, true, false], [0.6f, 0.9f, 0.3f], [false, true, false]),
        Row([false, false, false], [0.7f, 0.1f, 0.4f], [true, false, true]),
        Row([false, false, true], [0.2f, 0.3f, 0.9f], [false, false, true]),
    ];

    [TestMethod]
    public void MetricsMatchHandComputedValues()
    {
        var ml = new MLContext(seed: 1);
        var metrics = ml.BinaryClassification.EvaluateMultiLabel(View(ml, Rows, ["footwear", "upper body", "has sleeves"]));

        Assert.AreEqual(5, metrics.Rows);
        Assert.AreEqual(4.0 / 15, metrics.HammingLoss, 1e-12);
        Assert.AreEqual(2.0 / 5, metrics.SubsetAccuracy, 1e-12);
        Assert.AreEqual(10.0 / 14, metrics.MicroF1, 1e-12);
        Assert.AreEqual((0.5 + 1 + 2.0 / 3) / 3, metrics.MacroF1, 1e-12);
        CollectionAssert.AreEqual(new[] { "footwear", "upper body", "has sleeves" }, metrics.PerLabel.Select(l => l.Name).ToArray());

        var a = metrics.PerLabel[0];
        Assert.AreEqual((1L, 1L, 1L, 2L), (a.TruePositives, a.FalsePositives, a.FalseNegatives, a.TrueNegatives));
        Assert.AreEqual(3.0 / 5, a.Accuracy, 1e-12);
        Assert.AreEqual(0.5, a.Precision, 1e-12);
        Assert.AreEqual(0.5, a.Recall, 1e-12);
        Assert.AreEqual(0.5, a.F1Score, 1e-12);
        Assert.AreEqual(5.0 / 6, a.AreaUnderRocCurve, 1e-12);

        var b = metrics.PerLabel[1];
        Assert.AreEqual(1.0, b.Accuracy, 1e-12);
        Assert.AreEqual(1.0, b.F1Score, 1e-12);
        Assert.AreEqual(1.0, b.AreaUnderRocCurve, 1e-12);

        var c = metrics.PerLabel[2];
        Assert.AreEqual(2.0 / 3, c.Precision, 1e-12);
        Assert.AreEqual(2.0 / 3, c.Recall, 1e-12);
        Assert.AreEqual(2.0 / 3, c.F1Score, 1e-12);
        Assert.AreEqual(5.5 / 6, c.AreaUnderRocCurve, 1e-12);
    }

    [TestMethod]
    public void LabelsWithoutSlotNamesAreNamedByIndex()
    {
        var ml = new MLContext(seed: 1);
        var metrics = ml.BinaryClassification.EvaluateMultiLabel(ml.Data.LoadFromEnumerable(Rows));

        CollectionAssert.AreEqual(new[] { "0", "1", "2" }, metrics.PerLabel.Select(l => l.Name).ToArray());
    }

    [TestMethod]
    public void ALabelThatNeverChangesHasNoAucAndZeroRatios()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows.Select(r => Row([false, r.Label[1], r.Label[2]], r.Score, [false, r.PredictedLabel[1], r.PredictedLabel[2]])).ToArray();
        var never = ml.BinaryClassification.EvaluateMultiLabel(ml.Data.LoadFromEnumerable(rows)).PerLabel[0];

        Assert.IsTrue(double.IsNaN(never.AreaUnderRocCurve));
        Assert.AreEqual(1.0, never.Accuracy);
        Assert.AreEqual(0.0, never.Precision);
        Assert.AreEqual(0.0, never.Recall);
        Assert.AreEqual(0.0, never.F1Score);
    }

    public sealed class ScalarRow
    {
        public bool Label { get; set; }
        [VectorType(3)] public float[] Score { get; set; } = [];
        [VectorType(3)] public bool[] PredictedLabel { get; set; } = [];
    }

    public sealed class NarrowScoreRow
    {
        [VectorType(3)] public bool[] Label { get; set; } = [];
        [VectorType(2)] public float[] Score { get; set; } = [];
        [VectorType(3)] public bool[] PredictedLabel { get; set; } = [];
    }

    [TestMethod]
    public void WrongColumnsAreNamedWithTheFix()
    {
        var ml = new MLContext(seed: 1);
        var scalar = ml.Data.LoadFromEnumerable([new ScalarRow { Label = true, Score = [1, 2, 3], PredictedLabel = [true, true, true] }]);
        var narrow = ml.Data.LoadFromEnumerable([new NarrowScoreRow { Label = [true, true, true], Score = [1, 2], PredictedLabel = [true, true, true] }]);

        var label = Assert.ThrowsExactly<ArgumentException>(() => ml.BinaryClassification.EvaluateMultiLabel(scalar));
        StringAssert.Contains(label.Message, "'Label' has type Boolean");
        StringAssert.Contains(label.Message, "known-size vector of Boolean");
        Assert.AreEqual("labelColumnName", label.ParamName);

        var score = Assert.ThrowsExactly<ArgumentException>(() => ml.BinaryClassification.EvaluateMultiLabel(narrow));
        StringAssert.Contains(score.Message, "'Score'");
        StringAssert.Contains(score.Message, "a vector of 3 Single");
        Assert.AreEqual("scoreColumnName", score.ParamName);

        var missing = Assert.ThrowsExactly<ArgumentException>(() => ml.BinaryClassification.EvaluateMultiLabel(ml.Data.LoadFromEnumerable(Rows), predictedLabelColumnName: "Predicted"));
        StringAssert.Contains(missing.Message, "'Predicted' was not found");
        Assert.AreEqual("predictedLabelColumnName", missing.ParamName);
    }

    private static ScoredRow Row(bool[] label, float[] score, bool[] predicted) => new() { Label = label, Score = score, PredictedLabel = predicted };

    private static IDataView View(MLContext ml, ScoredRow[] rows, string[] labelNames)
    {
        var schema = SchemaDefinition.Create(typeof(ScoredRow));
        var names = new VBuffer<ReadOnlyMemory<char>>(labelNames.Length, labelNames.Select(n => n.AsMemory()).ToArray());
        schema[nameof(ScoredRow.Label)].AddAnnotation("SlotNames", names,
            new VectorDataViewType(TextDataViewType.Instance, labelNames.Length));
        return ml.Data.LoadFromEnumerable(rows, schema);
    }
}
