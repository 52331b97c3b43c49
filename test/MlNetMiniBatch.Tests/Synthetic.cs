using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests;

/// <summary>Small generated data sets with a known structure, seeded so every run sees the same rows.</summary>
internal static class Synthetic
{
    public sealed class ClassRow
    {
        public string Label { get; set; } = "";
        [VectorType(4)] public float[] Features { get; set; } = [];
        public float Weight { get; set; } = 1;
    }

    public sealed class BinaryRow
    {
        public bool Label { get; set; }
        [VectorType(4)] public float[] Features { get; set; } = [];
    }

    public sealed class RegressionRow
    {
        public float Label { get; set; }
        [VectorType(4)] public float[] Features { get; set; } = [];
    }

    /// <summary>Three Gaussian blobs in 4 dimensions, labels "a", "b", "c".</summary>
    public static ClassRow[] Blobs(int rows, int seed = 1)
    {
        var random = new Random(seed);
        var centers = new[] { new[] { 2f, 0, 0, 1 }, new[] { -2f, 1, 0, 0 }, new[] { 0f, -2, 1, -1 } };
        return Enumerable.Range(0, rows).Select(i =>
        {
            int k = i % 3;
            return new ClassRow { Label = "abc"[k].ToString(), Features = centers[k].Select(c => c + Gaussian(random) * 0.7f).ToArray() };
        }).ToArray();
    }

    public static BinaryRow[] Binary(int rows, int seed = 1)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ =>
        {
            var x = Enumerable.Range(0, 4).Select(_ => Gaussian(random)).ToArray();
            return new BinaryRow { Features = x, Label = x[0] * x[1] + 0.5f * x[2] > 0 };
        }).ToArray();
    }

    /// <summary>y = sin(x0) + x1² − 0.5·x2 + noise (x3 is irrelevant), scaled by <paramref name="scale"/>.</summary>
    public static RegressionRow[] Regression(int rows, int seed = 1, float scale = 1, float noise = 0.05f)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ =>
        {
            var x = Enumerable.Range(0, 4).Select(_ => Gaussian(random)).ToArray();
            float y = MathF.Sin(x[0]) + x[1] * x[1] - 0.5f * x[2] + noise * Gaussian(random);
            return new RegressionRow { Features = x, Label = scale * y };
        }).ToArray();
    }

    /// <summary>Multiclass blobs with the label mapped to a key, cached so it can shuffle.</summary>
    public static IDataView BlobsView(MLContext ml, int rows, int seed = 1)
    {
        var data = ml.Data.LoadFromEnumerable(Blobs(rows, seed));
        return ml.Data.Cache(ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data));
    }

    public static float Gaussian(Random random)
    {
        double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
