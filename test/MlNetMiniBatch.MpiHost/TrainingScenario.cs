using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.MpiHost;

/// <summary>The training the host's "train" scenarios run on every rank, and the tests run in one process to compare.</summary>
public static class TrainingScenario
{
    public const int Rows = 300, Epochs = 3;

    public sealed class Row
    {
        public string Label { get; set; } = "";
        [VectorType(4)] public float[] Features { get; set; } = [];
    }

    /// <summary>Three noisy clusters in 4 dimensions, the label mapped to a key, in a cache so that it shuffles.</summary>
    public static IDataView Data(MLContext ml)
    {
        var random = new Random(7);
        var rows = Enumerable.Range(0, Rows).Select(i =>
        {
            int k = i % 3;
            return new Row { Label = "abc"[k].ToString(), Features = [.. Enumerable.Range(0, 4).Select(d => (d == k ? 1f : 0f) + 0.4f * (float)(random.NextDouble() - 0.5))] };
        }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        return ml.Data.Cache(ml.Transforms.Conversion.MapValueToKey(nameof(Row.Label)).Fit(data).Transform(data));
    }

    /// <summary>Batch 32: ten updates an epoch, the last of 12 rows, all of them on rank 0 of 2.</summary>
    public static NeuralNetworkOptions Options() => new()
    {
        HiddenLayers = [8],
        Epochs = Epochs,
        BatchSize = 32,
        LearningRate = 0.01f,
        Seed = 3,
        NumberOfThreads = 1,
    };

    public static NeuralNetworkModelParameters Train(NeuralNetworkOptions options) =>
        new MLContext(1).MulticlassClassification.Trainers.NeuralNetwork(options).Fit(Data(new MLContext(1))).Model;
}
