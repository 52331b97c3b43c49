using Microsoft.ML;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>With options Seed = null the trainer draws its seed from the MLContext: same MLContext seed, same weights.</summary>
[TestClass]
public sealed class SeedTests
{
    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void SameMLContextSeedGivesBitIdenticalWeights(NeuralNetworkTask task)
    {
        var first = Train(task, contextSeed: 5);
        var second = Train(task, contextSeed: 5);

        for (int layer = 0; layer < first.LayerCount; layer++)
        {
            CollectionAssert.AreEqual(Bits(first.GetWeights(layer)), Bits(second.GetWeights(layer)), $"weights of layer {layer}");
            CollectionAssert.AreEqual(Bits(first.GetBiases(layer)), Bits(second.GetBiases(layer)), $"biases of layer {layer}");
        }
        CollectionAssert.AreEqual(first.History.Select(h => h.TrainLoss).ToArray(), second.History.Select(h => h.TrainLoss).ToArray());
    }

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void DifferentMLContextSeedsGiveDifferentWeights(NeuralNetworkTask task)
    {
        var five = Train(task, contextSeed: 5);
        var six = Train(task, contextSeed: 6);

        CollectionAssert.AreNotEqual(Bits(five.GetWeights(0)), Bits(six.GetWeights(0)));
        // Not just a few entries: a different initialisation changes essentially every weight.
        int same = Bits(five.GetWeights(0)).Zip(Bits(six.GetWeights(0))).Count(p => p.First == p.Second);
        Assert.IsLessThan(five.GetWeights(0).Length / 10, same);
    }

    [TestMethod]
    public void ExplicitSeedOverridesTheMLContextSeed()
    {
        var five = Train(NeuralNetworkTask.Regression, contextSeed: 5, optionsSeed: 123);
        var six = Train(NeuralNetworkTask.Regression, contextSeed: 6, optionsSeed: 123);

        CollectionAssert.AreEqual(Bits(five.GetWeights(0)), Bits(six.GetWeights(0)));
    }

    [TestMethod]
    public void ShuffledTrainingFromTheSameSeedIsRepeatable()
    {
        // Cached data shuffles every epoch (a hash of seed and epoch); the order must come from the seed alone.
        var first = Train(NeuralNetworkTask.BinaryClassification, contextSeed: 7, cache: true);
        var second = Train(NeuralNetworkTask.BinaryClassification, contextSeed: 7, cache: true);
        var unshuffled = Train(NeuralNetworkTask.BinaryClassification, contextSeed: 7, cache: false);

        CollectionAssert.AreEqual(Bits(first.GetWeights(1)), Bits(second.GetWeights(1)));
        CollectionAssert.AreNotEqual(Bits(first.GetWeights(1)), Bits(unshuffled.GetWeights(1)), "shuffling changes the visiting order");
    }

    private static NeuralNetworkModelParameters Train(NeuralNetworkTask task, int contextSeed, int? optionsSeed = null, bool cache = true)
    {
        var ml = new MLContext(seed: contextSeed);
        var raw = TestData.Load(ml, task, 300, seed: 50);
        IDataView data = TestData.Featurize(ml, task).Fit(raw).Transform(raw);
        if (cache)
            data = ml.Data.Cache(data);
        var options = TestData.Options(epochs: 3, 8, 4);
        options.Seed = optionsSeed;
        return TestData.Trainer(ml, task, options).Fit(data).Model;
    }

    private static int[] Bits(ReadOnlyMemory<float> values) => values.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();
}
