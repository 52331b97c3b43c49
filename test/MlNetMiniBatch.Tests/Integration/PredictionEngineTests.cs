using Microsoft.ML;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>
/// PredictionEngine over a full pipeline (MapValueToKey for multiclass, Concatenate, NormalizeMinMax, the network)
/// gives the same scores as Transform, row after row, with no result left over from a previous call.
/// </summary>
[TestClass]
public sealed class PredictionEngineTests
{
    private const double Tolerance = 1e-6;
    private const int TestRows = 60;

    [TestMethod]
    public void MulticlassEngineMatchesTransform()
    {
        var ml = new MLContext(seed: 1);
        var test = TestData.Blobs(TestRows, seed: 8);
        var model = Fit(ml, NeuralNetworkTask.MulticlassClassification, ml.Data.LoadFromEnumerable(TestData.Blobs(600, seed: 7)));
        var expected = ml.Data.CreateEnumerable<ClassScore>(model.Transform(ml.Data.LoadFromEnumerable(test)), reuseRowObject: false).ToArray();
        using var engine = ml.Model.CreatePredictionEngine<ClassPoint, ClassScore>(model);

        AssertInAnyOrder(test, expected, (row, want) =>
        {
            var got = engine.Predict(row);
            Assert.AreEqual(want.PredictedLabel, got.PredictedLabel);
            Assert.HasCount(3, got.Score);
            for (int k = 0; k < 3; k++)
                Assert.AreEqual(want.Score[k], got.Score[k], Tolerance);
        });
        Assert.HasCount(3, expected.Select(e => e.PredictedLabel).Distinct(), "the test rows cover every class");
        Assert.IsGreaterThan(TestRows * 9 / 10, expected.Select(e => e.Score[0]).Distinct().Count(), "scores vary from row to row");
    }

    [TestMethod]
    public void BinaryEngineMatchesTransform()
    {
        var ml = new MLContext(seed: 1);
        var test = TestData.Binary(TestRows, seed: 8);
        var model = Fit(ml, NeuralNetworkTask.BinaryClassification, ml.Data.LoadFromEnumerable(TestData.Binary(600, seed: 7)));
        var expected = ml.Data.CreateEnumerable<BinaryScore>(model.Transform(ml.Data.LoadFromEnumerable(test)), reuseRowObject: false).ToArray();
        using var engine = ml.Model.CreatePredictionEngine<BinaryPoint, BinaryScore>(model);

        AssertInAnyOrder(test, expected, (row, want) =>
        {
            var got = engine.Predict(row);
            Assert.AreEqual(want.PredictedLabel, got.PredictedLabel);
            Assert.AreEqual(want.Score, got.Score, Tolerance);
            Assert.AreEqual(want.Probability, got.Probability, Tolerance);
        });
        Assert.HasCount(2, expected.Select(e => e.PredictedLabel).Distinct(), "both labels are predicted");
        Assert.IsGreaterThan(TestRows * 9 / 10, expected.Select(e => e.Score).Distinct().Count(), "scores vary from row to row");
        // The binary output agrees with itself: PredictedLabel is Score > 0 and Probability is the sigmoid of Score.
        foreach (var e in expected)
        {
            Assert.AreEqual(e.Score > 0, e.PredictedLabel);
            Assert.AreEqual(1 / (1 + Math.Exp(-e.Score)), e.Probability, 1e-5);
        }
    }

    [TestMethod]
    public void RegressionEngineMatchesTransform()
    {
        var ml = new MLContext(seed: 1);
        var test = TestData.Curve(TestRows, seed: 8);
        var model = Fit(ml, NeuralNetworkTask.Regression, ml.Data.LoadFromEnumerable(TestData.Curve(600, seed: 7)));
        var expected = ml.Data.CreateEnumerable<RegressionScore>(model.Transform(ml.Data.LoadFromEnumerable(test)), reuseRowObject: false).ToArray();
        using var engine = ml.Model.CreatePredictionEngine<RegressionPoint, RegressionScore>(model);

        AssertInAnyOrder(test, expected, (row, want) => Assert.AreEqual(want.Score, engine.Predict(row).Score, Tolerance));
        Assert.IsGreaterThan(TestRows * 9 / 10, expected.Select(e => e.Score).Distinct().Count(), "scores vary from row to row");
    }

    [TestMethod]
    public void ReusedInputAndOutputObjectsGiveFreshPredictions()
    {
        // A caller that mutates one input object and reuses one output object between calls must still get the
        // prediction for the current values.
        var ml = new MLContext(seed: 1);
        var test = TestData.Curve(TestRows, seed: 9);
        var model = Fit(ml, NeuralNetworkTask.Regression, ml.Data.LoadFromEnumerable(TestData.Curve(600, seed: 7)));
        var expected = ml.Data.CreateEnumerable<RegressionScore>(model.Transform(ml.Data.LoadFromEnumerable(test)), reuseRowObject: false)
            .Select(s => s.Score).ToArray();
        using var engine = ml.Model.CreatePredictionEngine<RegressionPoint, RegressionScore>(model);

        var input = new RegressionPoint();
        var output = new RegressionScore();
        for (int i = 0; i < test.Length; i++)
        {
            (input.X, input.Y, input.Noise) = (test[i].X, test[i].Y, test[i].Noise);
            engine.Predict(input, ref output);
            Assert.AreEqual(expected[i], output.Score, Tolerance, $"row {i}");
        }
    }

    [TestMethod]
    public void EnginesFromTheSameModelAgree()
    {
        var ml = new MLContext(seed: 1);
        var test = TestData.Blobs(TestRows, seed: 10);
        var model = Fit(ml, NeuralNetworkTask.MulticlassClassification, ml.Data.LoadFromEnumerable(TestData.Blobs(600, seed: 7)));
        using var first = ml.Model.CreatePredictionEngine<ClassPoint, ClassScore>(model);
        using var second = ml.Model.CreatePredictionEngine<ClassPoint, ClassScore>(model);

        // Interleave the engines on different rows: each keeps its own state.
        for (int i = 0; i + 1 < test.Length; i += 2)
        {
            var a = first.Predict(test[i]);
            var b = second.Predict(test[i + 1]);
            var a2 = second.Predict(test[i]);
            var b2 = first.Predict(test[i + 1]);
            CollectionAssert.AreEqual(a.Score, a2.Score, $"row {i}");
            CollectionAssert.AreEqual(b.Score, b2.Score, $"row {i + 1}");
        }
    }

    private static ITransformer Fit(MLContext ml, NeuralNetworkTask task, IDataView train)
        => TestData.Featurize(ml, task).Append(TestData.Trainer(ml, task, TestData.Options(epochs: 10))).Fit(train);

    /// <summary>Checks every row forwards, then backwards, then alternating ends, so a result cached from the
    /// previous call (or keyed to a call count) cannot pass.</summary>
    private static void AssertInAnyOrder<TRow, TScore>(TRow[] rows, TScore[] expected, Action<TRow, TScore> check)
    {
        Assert.HasCount(rows.Length, expected);
        var forward = Enumerable.Range(0, rows.Length).ToArray();
        var backward = forward.Reverse().ToArray();
        var alternating = forward.Select(i => i % 2 == 0 ? i / 2 : rows.Length - 1 - i / 2).ToArray();
        foreach (int i in forward.Concat(backward).Concat(alternating))
            check(rows[i], expected[i]);
    }
}
