using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Training.Shuffling;

namespace MlNetMiniBatch.Tests.Tasks;

/// <summary>mlContext.Regression.EvaluateMultiOutput against numbers worked out by hand, its errors, and the streaming
/// shuffle's record of k targets.</summary>
[TestClass]
public sealed class EvaluateMultiOutputTests
{
    public sealed class Scored
    {
        [VectorType(2)]
        public float[] Label { get; set; } = [];

        [VectorType(2)]
        public float[] Score { get; set; } = [];
    }

    [TestMethod]
    public void MetricsAreEachOutputsAndTheirMeans()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(new[]
        {
            new Scored { Label = [1, 10], Score = [1, 12] },
            new Scored { Label = [2, 20], Score = [2, 18] },
            new Scored { Label = [3, 30], Score = [4, 30] },
        });

        var metrics = ml.Regression.EvaluateMultiOutput(data);

        // Output 0: errors 0, 0, 1; labels around 2 with Σ(y − ȳ)² = 2. Output 1: errors 2, 2, 0; Σ(y − ȳ)² = 200.
        var first = metrics.PerOutput[0];
        var second = metrics.PerOutput[1];
        Assert.AreEqual(1 / 3.0, first.MeanAbsoluteError, 1e-12);
        Assert.AreEqual(1 / 3.0, first.MeanSquaredError, 1e-12);
        Assert.AreEqual(Math.Sqrt(1 / 3.0), first.RootMeanSquaredError, 1e-12);
        Assert.AreEqual(1 - 1 / 2.0, first.RSquared, 1e-12);
        Assert.AreEqual(4 / 3.0, second.MeanAbsoluteError, 1e-12);
        Assert.AreEqual(8 / 3.0, second.MeanSquaredError, 1e-12);
        Assert.AreEqual(1 - 8 / 200.0, second.RSquared, 1e-12);
        Assert.AreEqual((1 / 3.0 + 4 / 3.0) / 2, metrics.MeanAbsoluteError, 1e-12);
        Assert.AreEqual((1 / 3.0 + 8 / 3.0) / 2, metrics.MeanSquaredError, 1e-12);
        Assert.AreEqual((Math.Sqrt(1 / 3.0) + Math.Sqrt(8 / 3.0)) / 2, metrics.RootMeanSquaredError, 1e-12);
        Assert.AreEqual((0.5 + 0.96) / 2, metrics.RSquared, 1e-12);
    }

    [TestMethod]
    public void ANaNLabelAWrongColumnAndAWidthMismatchAreClearErrors()
    {
        var ml = new MLContext(1);
        var nan = ml.Data.LoadFromEnumerable(new[] { new Scored { Label = [1, 2], Score = [1, 2] }, new Scored { Label = [1, float.NaN], Score = [1, 2] } });
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Regression.EvaluateMultiOutput(nan));
        Assert.Contains("Row 1", error.Message);
        Assert.Contains("element 1", error.Message);
        Assert.Contains("'Label'", error.Message);

        var missing = Assert.ThrowsExactly<ArgumentException>(() => ml.Regression.EvaluateMultiOutput(nan, scoreColumnName: "Prediction"));
        Assert.Contains("'Prediction' was not found", missing.Message);
        Assert.AreEqual("scoreColumnName", missing.ParamName);

        var narrow = ml.Data.LoadFromEnumerable(new[] { new Narrow { Label = [1, 2], Score = [1, 2, 3] } });
        var width = Assert.ThrowsExactly<ArgumentException>(() => ml.Regression.EvaluateMultiOutput(narrow));
        Assert.Contains("3 values per row", width.Message);
        Assert.Contains("has 2", width.Message);
    }

    public sealed class Narrow
    {
        [VectorType(2)]
        public float[] Label { get; set; } = [];

        [VectorType(3)]
        public float[] Score { get; set; } = [];
    }

    [TestMethod]
    public void AShuffleRecordKeepsEveryTargetOfARowDenseOrSparse()
    {
        float[] targets = [1.5f, -0f, float.Epsilon];
        var record = new byte[ShuffleRecord.MaxBytes(6, 3)];
        foreach (var features in new[] { new float[] { 1, 2, 3, 4, 5, 6 }, [0, 0, 7, 0, 0, 0] })
        {
            int length = ShuffleRecord.Encode(features, targets, 0.25f, record);
            Assert.AreEqual(length, ShuffleRecord.Length(record, 6, 3));
            var row = new float[6];
            var decoded = new float[3];
            ShuffleRecord.Decode(record, row, decoded, out float weight);
            CollectionAssert.AreEqual(features, row);
            CollectionAssert.AreEqual(targets.Select(BitConverter.SingleToInt32Bits).ToArray(), decoded.Select(BitConverter.SingleToInt32Bits).ToArray());
            Assert.AreEqual(0.25f, weight);
        }
    }
}
