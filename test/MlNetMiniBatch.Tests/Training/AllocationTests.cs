using Microsoft.ML;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>Steady-state training allocates nothing per batch: five times the rows cost no more than the per-epoch
/// objects (a cursor, a reader, a prefetch thread) already cost, never something per batch or per row.</summary>
[TestClass]
public sealed class AllocationTests
{
    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void ExtraEpochsAllocateNothingPerBatch(int threads)
    {
        const int batchSize = 32, fewRows = 8_000, manyRows = 40_000;
        var ml = new MLContext(1);
        long Allocated(int rows)
        {
            var options = new NeuralNetworkOptions
            {
                HiddenLayers = [16], BatchSize = batchSize, Epochs = 2, Seed = 1, Shuffle = false, NumberOfThreads = threads,
            };
            var trainer = ml.MulticlassClassification.Trainers.NeuralNetwork(options);
            var data = new GeneratedDataView(rows, 20, canShuffle: false);
            long before = GC.GetTotalAllocatedBytes(precise: true);
            trainer.Fit(data);
            return GC.GetTotalAllocatedBytes(precise: true) - before;
        }
        Allocated(manyRows); // warm up: JIT tiers, pools, kernel packing buffers
        // The least of three runs: the JIT's background recompilation allocates on other threads now and then.
        long few = Enumerable.Range(0, 3).Min(_ => Allocated(fewRows));
        long many = Enumerable.Range(0, 3).Min(_ => Allocated(manyRows));
        double perBatch = (many - few) / (2.0 * (manyRows - fewRows) / batchSize);
        Assert.IsLessThan(4.0, perBatch, $"{perBatch:F1} bytes per batch ({few:N0} vs {many:N0} bytes)");
    }
}
