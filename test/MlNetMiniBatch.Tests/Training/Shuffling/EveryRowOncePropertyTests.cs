using CsCheck;
using MlNetMiniBatch.Training.Shuffling;

namespace MlNetMiniBatch.Tests.Training.Shuffling;

/// <summary>The streaming shuffle's contract, for random row counts, feature counts, batch sizes and memory limits
/// (down to limits far smaller than one shard): every row comes back exactly once per epoch with its features, target
/// and weight intact; batches are full except the last; the order is a function of (seed, epoch) and changes with the epoch.</summary>
[TestClass]
public sealed class EveryRowOncePropertyTests
{
    [TestMethod]
    public void EveryRowIsReadExactlyOncePerEpoch()
    {
        string directory = ShuffleFixture.NewDirectory();
        var cases = Gen.Select(Gen.Int[0, 3000], Gen.Int[1, 40], Gen.Int[1, 300], Gen.Long[0, 300_000]);
        cases.Sample((rows, features, batchSize, extraMemory) =>
        {
            long limit = ShuffleStore.MinimumLimit(features) + extraMemory;
            using var store = ShuffleFixture.Deal(rows, features, limit, directory, seed: rows + features, label: i => i % 10);
            Assert.AreEqual(rows, store.Rows);
            List<int>? previous = null;
            for (int epoch = 1; epoch <= 2; epoch++)
            {
                var (order, sizes, targets) = ShuffleFixture.ReadEpoch(store, epoch, batchSize);
                Assert.HasCount(rows, order);
                CollectionAssert.AreEquivalent(Enumerable.Range(0, rows).ToList(), order, $"rows {rows}, features {features}, batch {batchSize}, limit {limit}");
                for (int i = 0; i < order.Count; i++)
                    Assert.AreEqual(order[i] % 10, targets[i]);
                Assert.IsTrue(sizes.Take(sizes.Count - 1).All(s => s == batchSize), "only the last batch may be short");
                CollectionAssert.AreEqual(order, ShuffleFixture.ReadEpoch(store, epoch, 7).Rows, "the same epoch gives the same order, whatever the batch size");
                if (previous is not null && rows >= 20)
                    CollectionAssert.AreNotEqual(previous, order, "a new order every epoch");
                previous = order;
            }
        }, iter: 60, threads: 1);
        Directory.Delete(directory, recursive: true);
    }
}
