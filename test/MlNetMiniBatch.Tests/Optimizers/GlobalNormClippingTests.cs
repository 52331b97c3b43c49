using Microsoft.ML;
using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;

namespace MlNetMiniBatch.Tests.Optimizers;

/// <summary>
/// Clipping by the global norm: the norm's sum, split across threads in fixed blocks, has the same bits on any number
/// of threads; the scale applied inside the optimizer's step gives the bits of the gradient scaled before it; and a
/// clipped Fit split across two threads gives the one-thread weights.
/// </summary>
[TestClass]
public sealed class GlobalNormClippingTests
{
    [TestMethod]
    public void ScaleIsClipOverTheNormOnlyAboveTheClip()
    {
        var clipping = new GlobalNormClipping(new NetworkLayout([1, 1]), clip: 1);
        Assert.AreEqual(0.2f, clipping.Scale([3, 4], threads: 1));
        Assert.AreEqual(1f, clipping.Scale([0.3f, 0.4f], threads: 1));
        Assert.AreEqual(1f, clipping.Scale([float.NaN, 1], threads: 1), "a NaN gradient is left for the divergence check");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => clipping.Scale([1], threads: 1));
    }

    [TestMethod]
    public void TheSquaredNormHasTheSameBitsOnOneTwoAndThreeThreads()
    {
        const int length = (25 * GlobalNormClipping.Block) + 123; // a ragged last block, and over the parallel threshold
        Assert.IsGreaterThan(Optimizer.ParallelThreshold, length);
        var random = new Random(3);
        var gradient = Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Exp(6 * random.NextDouble()))).ToArray();
        var layout = new NetworkLayout([length - 1, 1]); // (length - 1) weights and 1 bias
        Assert.AreEqual(length, layout.ParameterCount);
        var clipping = new GlobalNormClipping(layout, clip: 1);

        long before = WorkerPool.Shared.DispatchedBatches;
        double one = clipping.SquaredNorm(gradient, threads: 1);
        Assert.AreEqual(before, WorkerPool.Shared.DispatchedBatches, "one thread sums on the caller");
        double exact = gradient.Sum(g => (double)g * g);
        Assert.AreEqual(exact, one, exact * 1e-6);
        foreach (int threads in new[] { 2, 3 })
        {
            before = WorkerPool.Shared.DispatchedBatches;
            Assert.AreEqual(BitConverter.DoubleToInt64Bits(one), BitConverter.DoubleToInt64Bits(clipping.SquaredNorm(gradient, threads)), $"{threads} threads");
            if (Environment.ProcessorCount > 1)
                Assert.AreEqual(before + 1, WorkerPool.Shared.DispatchedBatches, $"{threads} threads: the sum was split across the pool");
        }
    }

    [TestMethod]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0f, false)]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0.9f, true)]
    [DataRow(NeuralNetworkOptimizer.RmsProp, 0.5f, false)]
    [DataRow(NeuralNetworkOptimizer.Adam, 0f, false)]
    public void ScalingInTheStepGivesTheBitsOfTheGradientScaledBeforeIt(NeuralNetworkOptimizer kind, float momentum, bool nesterov)
    {
        var layout = new NetworkLayout([300, 110, 3]); // 33,443 parameters: the step is split across threads
        Assert.IsGreaterThan(Optimizer.ParallelThreshold, layout.ParameterCount);
        var options = new NeuralNetworkOptions { Optimizer = kind, Momentum = momentum, Nesterov = nesterov };
        var random = new Random(7);
        var start = Enumerable.Range(0, layout.ParameterCount).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var gradients = Enumerable.Range(0, 3)
            .Select(_ => Enumerable.Range(0, layout.ParameterCount).Select(_ => (float)random.NextDouble() - 0.5f).ToArray()).ToArray();
        const float scale = 0.37f;

        float[] Train(bool inStep)
        {
            var optimizer = Optimizer.Create(options, layout);
            var parameters = (float[])start.Clone();
            foreach (var g in gradients)
            {
                var gradient = (float[])g.Clone();
                if (!inStep)
                    System.Numerics.Tensors.TensorPrimitives.Multiply(gradient, scale, gradient);
                optimizer.Step(parameters, gradient, 0.01f, threads: 2, gradientScale: inStep ? scale : 1);
            }
            return parameters.Concat(optimizer.State.SelectMany(s => s)).ToArray();
        }

        float[] scaledInStep = Train(inStep: true);
        CollectionAssert.AreEqual(Train(inStep: false), scaledInStep);
        CollectionAssert.AreNotEqual(Unscaled(options, layout, start, gradients), scaledInStep.Take(layout.ParameterCount).ToArray(),
            "the scale changes the update");
    }

    [TestMethod]
    public void AClippedFitHasTheSameBitsOnOneAndTwoThreads()
    {
        float[] one = Fit(NeuralNetworkOptimizer.Sgd, 0.9f, false, clip: 0.05f, threads: 1);
        CollectionAssert.AreEqual(one, Fit(NeuralNetworkOptimizer.Sgd, 0.9f, false, clip: 0.05f, threads: 2));
        CollectionAssert.AreNotEqual(Fit(NeuralNetworkOptimizer.Sgd, 0.9f, false, clip: null, threads: 1), one, "the clip was reached");
    }

    private static float[] Unscaled(NeuralNetworkOptions options, NetworkLayout layout, float[] start, float[][] gradients)
    {
        var optimizer = Optimizer.Create(options, layout);
        var parameters = (float[])start.Clone();
        foreach (var g in gradients)
        {
            optimizer.Step(parameters, (float[])g.Clone(), 0.01f, threads: 2);
        }
        return parameters;
    }

    private static float[] Fit(NeuralNetworkOptimizer optimizer, float momentum, bool nesterov, float? clip, int threads)
    {
        var ml = new MLContext(1);
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [160], BatchSize = 100, Epochs = 2, Seed = 5, NumberOfThreads = threads, Optimizer = optimizer,
            Momentum = momentum, Nesterov = nesterov, LearningRate = 0.05f, GradientClipNorm = clip,
        };
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(new GeneratedDataView(300, 256, canShuffle: true)).Model;
        return Enumerable.Range(0, model.LayerCount).SelectMany(l => model.GetWeights(l).ToArray().Concat(model.GetBiases(l).ToArray())).ToArray();
    }
}
