using Microsoft.ML;

namespace MlNetMiniBatch.Tests.Data;

/// <summary>Training straight from a PostgreSQL table through ML.NET's DatabaseLoader (no cache, no copy in memory).</summary>
[TestClass]
public sealed class PostgresTrainingTests
{
    internal static NeuralNetworkOptions Options(int epochs) => new()
    {
        HiddenLayers = [32], BatchSize = 64, Epochs = epochs, LearningRate = 3e-3f, Seed = 1, NumberOfThreads = 2,
    };

    /// <summary>Accuracy on rows drawn like the table's but never stored in it.</summary>
    internal static double TestAccuracy(MLContext ml, ITransformer model) =>
        ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(QuadrantRow.Generate(5_000, seed: 99)))).MicroAccuracy;

    [TestMethod]
    public void TrainsFromA100kRowTableWithEveryRowOncePerEpoch()
    {
        using var table = PostgresTable.Create(rows: 100_000, seed: 1);
        var ml = new MLContext(seed: 1);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.NeuralNetwork(Options(epochs: 2)));

        var model = pipeline.Fit(table.Load(ml));

        long rows = table.Count();
        Assert.AreEqual(100_000, rows);
        var history = model.LastTransformer.Model.History;
        Assert.HasCount(2, history);
        foreach (var epoch in history)
            Assert.AreEqual(rows, epoch.Rows, $"epoch {epoch.Epoch}");
        // The table's rows are independent draws, so this holds in cursor order as well as under a streaming shuffle.
        double accuracy = TestAccuracy(ml, model);
        Assert.IsGreaterThan(0.93, accuracy, $"test accuracy {accuracy}");
    }
}
