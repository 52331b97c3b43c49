using MlNetMiniBatch.Training.Shuffling;

namespace MlNetMiniBatch.Tests.Training.Shuffling;

/// <summary>
/// The streaming shuffle's copy collects the source's garbage every <see cref="SourceGarbage.Budget"/> bytes, so that
/// peak memory follows ShuffleMemoryLimit and not the row count. The source here allocates 128 MiB of small,
/// short-lived arrays, as a text or database reader does per row; left to itself, the GC on a machine that reports a
/// large L3 (this one reports 300 MiB) collects that a few times at most.
/// </summary>
[TestClass]
public sealed class SourceGarbageTests
{
    [TestMethod]
    public void TheCopyCollectsTheSourcesGarbageWithinTheBudget()
    {
        const long limit = 64L << 20; // budget 4 MiB
        const int batches = 512, arraysPerBatch = 64, arrayBytes = 4096; // 128 MiB in all
        string directory = ShuffleFixture.NewDirectory();
        int read = 0;
        long sink = 0;
        int before = GC.CollectionCount(0);
        using (var store = ShuffleStore.Deal(batch =>
               {
                   if (read++ == batches)
                       return false;
                   for (int i = 0; i < arraysPerBatch; i++)
                   {
                       var garbage = new byte[arrayBytes];
                       garbage[i] = 1;
                       sink += garbage[i];
                   }
                   batch.Features[0] = read;
                   batch.Targets[0] = 0;
                   batch.Weights[0] = 1;
                   batch.Count = 1;
                   return true;
               }, () => 0, featureCount: 1, limit, directory, seed: 1))
        {
            Assert.AreEqual(batches, store.Rows);
        }
        int collections = GC.CollectionCount(0) - before;
        long allocated = (long)batches * arraysPerBatch * arrayBytes;
        long expected = allocated / SourceGarbage.Budget(limit);
        Assert.AreEqual(batches * arraysPerBatch, sink);
        Assert.IsGreaterThanOrEqualTo(expected / 2, collections,
            $"{allocated >> 20} MiB of garbage at a budget of {SourceGarbage.Budget(limit) >> 20} MiB should take about {expected} collections");
        Directory.Delete(directory, recursive: true);
    }
}
