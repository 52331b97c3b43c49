using Microsoft.ML;
using MlNetMiniBatch.Tests.Integration;

namespace MlNetMiniBatch.Tests.Correctness;

/// <summary>Each (seed, epoch) pair shuffles on its own: a benchmark over several seeds never reuses a row order.</summary>
[TestClass]
public sealed class ShuffleSeedTests
{
    [TestMethod]
    public void SeedOneEpochTwoDoesNotShuffleLikeSeedTwoEpochOne()
    {
        var seedOne = Orders(seed: 1, epochs: 2);
        var seedTwo = Orders(seed: 2, epochs: 1);

        Assert.HasCount(2, seedOne);
        Assert.HasCount(1, seedTwo);
        CollectionAssert.AreNotEqual(seedOne[0], seedOne[1], "every epoch has its own order");
        CollectionAssert.AreNotEqual(seedOne[1], seedTwo[0], "seed 1's epoch 2 must not repeat seed 2's epoch 1");
        CollectionAssert.AreEqual(seedOne[0], Orders(seed: 1, epochs: 1)[0], "the order is still a function of the seed");
    }

    private static List<long[]> Orders(int seed, int epochs)
    {
        var data = new GeneratedDataView(200, 4, canShuffle: true);
        var options = TestData.Options(epochs, 4);
        options.Seed = seed;
        options.NumberOfThreads = 1;
        new MLContext(1).MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data);
        return data.Orders;
    }
}
