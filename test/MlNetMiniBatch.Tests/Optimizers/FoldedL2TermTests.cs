using Microsoft.ML;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;

namespace MlNetMiniBatch.Tests.Optimizers;

/// <summary>
/// The L2 term folded into a pass over the gradient, the optimizer's step or the clipping norm's, gives the bits of the
/// term added to the whole gradient before that pass, for every optimizer that takes L2 in its gradient, on a model large
/// enough that both passes are split across two threads. In a Fit the term reaches the weights, and the noise estimate,
/// which reads the step's blocks, leaves the weights' bits alone.
/// </summary>
[TestClass]
public sealed class FoldedL2TermTests
{
    private const int Features = 256, Hidden = 160;
    private const float L2 = 0.01f, LearningRate = 0.01f;
    private static readonly NetworkLayout Layout = new([Features, Hidden, 3]); // 41,603 parameters

    [TestMethod]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0f, false)]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0.9f, false)]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0.9f, true)]
    [DataRow(NeuralNetworkOptimizer.RmsProp, 0f, false)]
    [DataRow(NeuralNetworkOptimizer.RmsProp, 0.5f, false)]
    [DataRow(NeuralNetworkOptimizer.Adam, 0f, false)]
    public void TheTermInTheStepGivesTheBitsOfTheTermAddedBefore(NeuralNetworkOptimizer kind, float momentum, bool nesterov)
    {
        Assert.IsGreaterThan(Optimizer.ParallelThreshold, Layout.ParameterCount);
        var options = new NeuralNetworkOptions { Optimizer = kind, Momentum = momentum, Nesterov = nesterov };
        var (start, gradients) = RandomSteps();

        float[] Train(float l2, bool folded)
        {
            var optimizer = Optimizer.Create(options, Layout);
            var parameters = (float[])start.Clone();
            foreach (var g in gradients)
            {
                var gradient = (float[])g.Clone();
                if (!folded)
                    L2Term.Add(Layout, parameters, gradient, l2, 0, Layout.ParameterCount);
                optimizer.Step(parameters, gradient, LearningRate, threads: 2, l2: folded ? l2 : 0, Layout);
            }
            return parameters.Concat(optimizer.State.SelectMany(s => s)).ToArray();
        }

        long before = Optimizer.StepsWithL2Term;
        float[] folded = Train(L2, folded: true);
        Assert.AreEqual(gradients.Length, Optimizer.StepsWithL2Term - before, "each step added the term");
        CollectionAssert.AreEqual(Train(L2, folded: false), folded);
        CollectionAssert.AreNotEqual(Train(0, folded: true), folded, "the term changes the update");
    }

    [TestMethod]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0.9f)]
    [DataRow(NeuralNetworkOptimizer.Adam, 0f)]
    public void TheTermInTheClippingNormsPassGivesTheBitsOfTheTermAddedBefore(NeuralNetworkOptimizer kind, float momentum)
    {
        var options = new NeuralNetworkOptions { Optimizer = kind, Momentum = momentum };
        var (start, gradients) = RandomSteps();

        float[] Train(bool folded, out int clipped)
        {
            var optimizer = Optimizer.Create(options, Layout);
            var clipping = new GlobalNormClipping(Layout, clip: 50);
            var parameters = (float[])start.Clone();
            clipped = 0;
            foreach (var g in gradients)
            {
                var gradient = (float[])g.Clone();
                if (!folded)
                    L2Term.Add(Layout, parameters, gradient, L2, 0, Layout.ParameterCount);
                float scale = clipping.Scale(gradient, threads: 2, folded ? L2 : 0, parameters);
                clipped += scale < 1 ? 1 : 0;
                optimizer.Step(parameters, gradient, LearningRate, threads: 2, gradientScale: scale);
            }
            return parameters.Concat(optimizer.State.SelectMany(s => s)).ToArray();
        }

        float[] folded = Train(folded: true, out int clipped);
        Assert.AreEqual(gradients.Length, clipped, "every gradient was clipped (norm about 59 against 50)");
        CollectionAssert.AreEqual(Train(folded: false, out _), folded);
    }

    [TestMethod]
    public void InAFitTheTermReachesTheWeightsAndTheNoiseEstimateLeavesThemAlone()
    {
        long before = Optimizer.StepsWithL2Term;
        var (plain, _) = Fit(L2, noise: false);
        Assert.AreEqual(34, Optimizer.StepsWithL2Term - before, "2 epochs of 17 batches, each step adding the term");
        var (measured, noiseScale) = Fit(L2, noise: true);
        Assert.IsNotNull(noiseScale, "the estimate was made");
        CollectionAssert.AreEqual(plain, measured);
        CollectionAssert.AreNotEqual(Fit(0, noise: false).Weights, plain, "the term changes the weights");
    }

    private static (float[] Start, float[][] Gradients) RandomSteps()
    {
        var random = new Random(7);
        float[] Vector() => Enumerable.Range(0, Layout.ParameterCount).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        return (Vector(), [Vector(), Vector(), Vector()]);
    }

    private static (float[] Weights, double? NoiseScale) Fit(float l2, bool noise)
    {
        var ml = new MLContext(1);
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [Hidden], BatchSize = 100, Epochs = 2, Seed = 5, NumberOfThreads = 2, Optimizer = NeuralNetworkOptimizer.Sgd,
            Momentum = 0.9f, LearningRate = LearningRate, L2Regularization = l2, MeasureGradientNoise = noise,
        };
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(new GeneratedDataView(1700, Features, canShuffle: true)).Model;
        var weights = Enumerable.Range(0, model.LayerCount).SelectMany(l => model.GetWeights(l).ToArray().Concat(model.GetBiases(l).ToArray())).ToArray();
        return (weights, model.History[^1].GradientNoiseScale);
    }
}
