using Microsoft.ML;
using MlNetMiniBatch.Examples;
using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Optimizers;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>
/// A full Fit at the main example's size (784-256-128-10 on Fashion-MNIST rows) gives the same weights and losses,
/// bit for bit, on 1, 2 and 3 threads. Smaller networks stay below the parallel thresholds of the GEMM and the
/// optimizer, so the test checks both its sizes against those thresholds and that the worker pool really ran.
/// </summary>
[TestClass]
public sealed class ThreadCountDeterminismTests
{
    private const int TrainRows = 2000;
    private const int BatchSize = 32;
    private static readonly int[] Hidden = [256, 128];

    [TestMethod]
    public void AFullFitAtFashionMnistSizeIsBitIdenticalOnOneTwoAndThreeThreads()
    {
        var ml = new MLContext(1);
        var data = ml.Data.Cache(FashionMnistData.Load(ml, TestData.ShippedFashionMnist(), train: true, maxRows: TrainRows));

        // The first layer's forward product and the optimizer step are both over their parallel thresholds.
        Assert.IsGreaterThanOrEqualTo(Gemm.ParallelThreshold, (long)BatchSize * Hidden[0] * FashionMnistData.PixelCount);
        Assert.IsGreaterThanOrEqualTo(Optimizer.ParallelThreshold, FashionMnistData.PixelCount * Hidden[0]);

        (float[] Weights, double[] Losses, long Dispatches) Train(int threads)
        {
            long before = WorkerPool.Shared.DispatchedBatches;
            var model = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions
            {
                HiddenLayers = Hidden, BatchSize = BatchSize, Epochs = 1, Seed = 5, NumberOfThreads = threads,
            }).Fit(data).Model;
            long dispatches = WorkerPool.Shared.DispatchedBatches - before;
            CollectionAssert.AreEqual(new[] { FashionMnistData.PixelCount, 256, 128, 10 }, model.LayerSizes.ToArray());
            var weights = Enumerable.Range(0, model.LayerCount)
                .SelectMany(l => model.GetWeights(l).ToArray().Concat(model.GetBiases(l).ToArray())).ToArray();
            return (weights, model.History.Select(h => h.TrainLoss).ToArray(), dispatches);
        }

        var one = Train(1);
        Assert.AreEqual(0, one.Dispatches, "one thread never hands work to the pool");
        int steps = (TrainRows + BatchSize - 1) / BatchSize;
        foreach (int threads in new[] { 2, 3 })
        {
            var many = Train(threads);
            // Each step hands at least two batches to the pool: the first layer's forward GEMM and the optimizer step.
            Assert.IsGreaterThanOrEqualTo(2 * steps, many.Dispatches, $"{threads} threads: the worker pool ran");
            CollectionAssert.AreEqual(one.Weights.Select(BitConverter.SingleToInt32Bits).ToArray(),
                many.Weights.Select(BitConverter.SingleToInt32Bits).ToArray(), $"{threads} threads: the same weights");
            CollectionAssert.AreEqual(one.Losses, many.Losses, $"{threads} threads: the same losses");
        }
    }
}
