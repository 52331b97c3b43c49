using Microsoft.ML;
using MlNetMiniBatch.Examples;
using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>
/// A full Fit at the main example's size (784-256-128-10 on Fashion-MNIST rows) gives the same weights and losses,
/// bit for bit, on 1, 2 and 3 threads (on fewer than 3 cores, 3 computes on the cores). Smaller networks stay below the parallel thresholds of the GEMM and the
/// optimizer, so the test checks both its sizes against those thresholds and that the worker pool really ran. At batch
/// 32 every product is split across the threads; at batch 256 the passes run as row slices, one per thread.
/// </summary>
[TestClass]
public sealed class ThreadCountDeterminismTests
{
    private const int TrainRows = 2000;
    private static readonly int[] Hidden = [256, 128];

    [TestMethod]
    [DataRow(32)]
    [DataRow(256)]
    public void AFullFitAtFashionMnistSizeIsBitIdenticalOnOneTwoAndThreeThreads(int batchSize)
    {
        var ml = new MLContext(1);
        var data = ml.Data.Cache(FashionMnistData.Load(ml, TestData.ShippedFashionMnist(), train: true, maxRows: TrainRows));

        // The first layer's forward product and the optimizer step are both over their parallel thresholds.
        Assert.IsGreaterThanOrEqualTo(Gemm.ParallelThreshold, (long)batchSize * Hidden[0] * FashionMnistData.PixelCount);
        Assert.IsGreaterThanOrEqualTo(Optimizer.ParallelThreshold, FashionMnistData.PixelCount * Hidden[0]);

        (float[] Weights, double[] Losses, long Dispatches, long Slices) Train(int threads)
        {
            long before = WorkerPool.Shared.DispatchedBatches, slicesBefore = RowSlices.Dispatched;
            var model = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions
            {
                HiddenLayers = Hidden, BatchSize = batchSize, Epochs = 1, Seed = 5, NumberOfThreads = threads,
            }).Fit(data).Model;
            long dispatches = WorkerPool.Shared.DispatchedBatches - before;
            CollectionAssert.AreEqual(new[] { FashionMnistData.PixelCount, 256, 128, 10 }, model.LayerSizes.ToArray());
            var weights = Enumerable.Range(0, model.LayerCount)
                .SelectMany(l => model.GetWeights(l).ToArray().Concat(model.GetBiases(l).ToArray())).ToArray();
            return (weights, model.History.Select(h => h.TrainLoss).ToArray(), dispatches, RowSlices.Dispatched - slicesBefore);
        }

        var one = Train(1);
        Assert.AreEqual(0, one.Dispatches, "one thread never hands work to the pool");
        int steps = (TrainRows + batchSize - 1) / batchSize;
        foreach (int threads in new[] { 2, 3 })
        {
            var many = Train(threads);
            // Each step hands at least two batches to the pool: the first layer's forward GEMM and the optimizer step.
            Assert.IsGreaterThanOrEqualTo(2 * steps, many.Dispatches, $"{threads} threads: the worker pool ran");
            // Every step of 256 rows (the last has 208) gives each thread at least RowSlices.MinRows rows.
            bool sliced = batchSize >= 3 * RowSlices.MinRows;
            Assert.AreEqual(sliced ? 2 * steps : 0, many.Slices, $"{threads} threads: the forward and backward passes ran as slices");
            CollectionAssert.AreEqual(one.Weights.Select(BitConverter.SingleToInt32Bits).ToArray(),
                many.Weights.Select(BitConverter.SingleToInt32Bits).ToArray(), $"{threads} threads: the same weights");
            CollectionAssert.AreEqual(one.Losses, many.Losses, $"{threads} threads: the same losses");
        }
    }

    /// <summary>
    /// NumberOfThreads above the cores computes on the cores: at a batch of exactly cores × RowSlices.MinRows rows, the
    /// cores' own count runs the passes as row slices, while splitting for more threads than that would give a slice
    /// fewer than MinRows rows and split every product instead. The weights are the cores' run's bits.
    /// </summary>
    [TestMethod]
    public void MoreThreadsThanCoresComputeOnTheCores()
    {
        int cores = Environment.ProcessorCount;
        if (cores < 2)
            Assert.Inconclusive("Needs at least 2 cores: on one, no run splits its work.");
        int batchSize = cores * RowSlices.MinRows, rows = 4 * batchSize;
        var ml = new MLContext(1);
        var data = ml.Data.Cache(FashionMnistData.Load(ml, TestData.ShippedFashionMnist(), train: true, maxRows: rows));

        (float[] Weights, long Slices) Train(int threads)
        {
            long slicesBefore = RowSlices.Dispatched;
            var model = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions
            {
                HiddenLayers = Hidden, BatchSize = batchSize, Epochs = 1, Seed = 5, NumberOfThreads = threads,
            }).Fit(data).Model;
            var weights = Enumerable.Range(0, model.LayerCount).SelectMany(l => model.GetWeights(l).ToArray()).ToArray();
            return (weights, RowSlices.Dispatched - slicesBefore);
        }

        var onCores = Train(cores);
        var oversubscribed = Train(cores + 3);
        Assert.AreEqual(2 * 4, onCores.Slices, "the cores' thread count runs each step's two passes as row slices");
        Assert.AreEqual(onCores.Slices, oversubscribed.Slices, "NumberOfThreads = cores + 3 splits its work as the cores' count does");
        CollectionAssert.AreEqual(onCores.Weights.Select(BitConverter.SingleToInt32Bits).ToArray(),
            oversubscribed.Weights.Select(BitConverter.SingleToInt32Bits).ToArray(), "the same weights");
    }
}
