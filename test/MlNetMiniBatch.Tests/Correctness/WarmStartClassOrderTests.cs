using Microsoft.ML;
using MlNetMiniBatch.Tests.Integration;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Correctness;

/// <summary>
/// MapValueToKey numbers classes by first appearance, so new data can number the same classes in another order. Warm
/// start must match outputs by class name (and refuse other class sets), or it trains "a" toward "c" and mislabels scores.
/// </summary>
[TestClass]
public sealed class WarmStartClassOrderTests
{
    [TestMethod]
    public void ANewKeyOrderOfTheSameClassesKeepsEveryScoreWithItsClass()
    {
        var ml = new MLContext(1);
        var rows = Synthetic.Blobs(300, seed: 5);                                  // a, b, c, a, b, c, …
        var reordered = rows.OrderBy(r => r.Label == "c" ? 0 : r.Label == "a" ? 1 : 2).ToArray(); // c first, then a, then b
        var trained = TestData.Options(epochs: 10, 8);
        trained.LearningRate = 0.01f;
        var (first, firstData) = Fit(ml, rows, trained, null);
        var (second, secondData) = Fit(ml, reordered, Frozen(), first.Model);
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, first.Model.ClassNames!.ToArray());
        CollectionAssert.AreEqual(new[] { "c", "a", "b" }, second.Model.ClassNames!.ToArray(), "the new model follows the new key order");

        // Same rows, same features: each class keeps its probability whatever its key number.
        var before = ScoresByClass(first, firstData);
        var after = ScoresByClass(second, secondData);
        var reorderedBefore = reordered.Select(r => Array.IndexOf(rows, r)).Select(i => before[i]).ToArray();
        for (int r = 0; r < after.Length; r++)
            foreach (var name in new[] { "a", "b", "c" })
                Assert.AreEqual(reorderedBefore[r][name], after[r][name], 1e-4, $"row {r}, class {name}");

        // The pipeline's own evaluation agrees: the warm-started model is as accurate as the one it started from.
        var accuracyBefore = ml.MulticlassClassification.Evaluate(first.Transform(firstData)).MicroAccuracy;
        var accuracyAfter = ml.MulticlassClassification.Evaluate(second.Transform(secondData)).MicroAccuracy;
        Assert.IsGreaterThan(0.9, accuracyBefore);
        Assert.AreEqual(accuracyBefore, accuracyAfter, 1e-9);
    }

    [TestMethod]
    public void WarmStartOnADifferentSetOfClassesNamesBothSets()
    {
        var ml = new MLContext(1);
        var rows = Synthetic.Blobs(90, seed: 6);
        var (first, _) = Fit(ml, rows, TestData.Options(epochs: 1, 4), null);
        var other = rows.Select(r => new Synthetic.ClassRow { Label = r.Label == "b" ? "z" : r.Label, Features = r.Features }).ToArray();

        var error = Assert.ThrowsExactly<ArgumentException>(() => Fit(ml, other, Frozen(), first.Model));

        Assert.AreEqual("initialModel", error.ParamName);
        Assert.Contains("'a', 'b', 'c'", error.Message);
        Assert.Contains("'a', 'z', 'c'", error.Message);
        Assert.Contains("only in the model: 'b'", error.Message);
        Assert.Contains("only in the data: 'z'", error.Message);
    }

    /// <summary>A learning rate so small that the warm-started weights stay what they were, so scores can be compared.</summary>
    private static NeuralNetworkOptions Frozen()
    {
        var options = TestData.Options(epochs: 1, 8);
        options.Optimizer = NeuralNetworkOptimizer.Sgd;
        options.LearningRate = 1e-12f;
        return options;
    }

    private static (NeuralNetworkPredictionTransformer Model, IDataView Data) Fit(MLContext ml, Synthetic.ClassRow[] rows,
        NeuralNetworkOptions options, NeuralNetworkModelParameters? initial)
    {
        var raw = ml.Data.LoadFromEnumerable(rows);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(raw).Transform(raw);
        var trainer = ml.MulticlassClassification.Trainers.NeuralNetwork(options);
        var model = initial is null ? trainer.Fit(data) : trainer.Fit(data, initial);
        return (model, data);
    }

    /// <summary>Each row's probabilities keyed by the class names of the Score column's slot names.</summary>
    private static Dictionary<string, float>[] ScoresByClass(ITransformer model, IDataView data)
    {
        var scored = model.Transform(data);
        VBuffer<ReadOnlyMemory<char>> slotNames = default;
        scored.Schema["Score"].GetSlotNames(ref slotNames);
        var names = slotNames.DenseValues().Select(n => n.ToString()).ToArray();
        return scored.GetColumn<float[]>("Score").Select(s => names.Zip(s).ToDictionary(p => p.First, p => p.Second)).ToArray();
    }
}
