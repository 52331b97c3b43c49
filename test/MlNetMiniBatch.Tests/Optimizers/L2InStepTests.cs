using Microsoft.ML;
using MlNetMiniBatch.Optimizers;

namespace MlNetMiniBatch.Tests.Optimizers;

/// <summary>
/// The L2 term added inside the optimizer's step (when nothing reads the gradient before the step), or inside the
/// clipping norm's pass (with GradientClipNorm), gives the bits of the term added to the gradient in the backward pass
/// (the path taken when the noise estimate reads the gradient first), for every optimizer that takes L2 in its
/// gradient, with a model large enough that the step and the norm are split across two threads.
/// </summary>
[TestClass]
public sealed class L2InStepTests
{
    private const int Features = 256, Hidden = 160; // 41,123 parameters: above Optimizer.ParallelThreshold

    [TestMethod]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0f, false)]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0.9f, false)]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0.9f, true)]
    [DataRow(NeuralNetworkOptimizer.RmsProp, 0f, false)]
    [DataRow(NeuralNetworkOptimizer.RmsProp, 0.5f, false)]
    [DataRow(NeuralNetworkOptimizer.Adam, 0f, false)]
    public void L2InTheStepGivesTheBitsOfL2InTheGradient(NeuralNetworkOptimizer optimizer, float momentum, bool nesterov)
    {
        Assert.IsGreaterThan(Optimizer.ParallelThreshold, (Features * Hidden) + Hidden + (Hidden * 3) + 3);
        long before = Optimizer.StepsWithL2Term;
        float[] inStep = Fit(optimizer, momentum, nesterov, l2: 0.01f, clip: null, noise: false);
        long steps = Optimizer.StepsWithL2Term - before;
        Assert.AreEqual(6, steps, "2 epochs of 3 batches, each step adding the term");

        float[] inBackward = Fit(optimizer, momentum, nesterov, l2: 0.01f, clip: null, noise: true);
        Assert.AreEqual(steps, Optimizer.StepsWithL2Term - before, "with the noise estimate the term is in the gradient before the step");
        CollectionAssert.AreEqual(inBackward, inStep);

        CollectionAssert.AreNotEqual(Fit(optimizer, momentum, nesterov, l2: 0, clip: null, noise: false), inStep, "the term changes the weights");
    }

    /// <summary>With clipping, the term joins in the norm's pass, before the norm is taken: the bits of the term added in
    /// the backward pass, with a limit the gradients reach.</summary>
    [TestMethod]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0.9f)]
    [DataRow(NeuralNetworkOptimizer.Adam, 0f)]
    public void L2InTheClippingNormsPassGivesTheBitsOfL2InTheGradient(NeuralNetworkOptimizer optimizer, float momentum)
    {
        long before = Optimizer.StepsWithL2Term;
        float[] inNormPass = Fit(optimizer, momentum, false, l2: 0.01f, clip: 0.05f, noise: false);
        Assert.AreEqual(before, Optimizer.StepsWithL2Term, "the step did not add the term");
        CollectionAssert.AreEqual(Fit(optimizer, momentum, false, l2: 0.01f, clip: 0.05f, noise: true), inNormPass);

        CollectionAssert.AreNotEqual(Fit(optimizer, momentum, false, l2: 0.01f, clip: null, noise: false), inNormPass, "the clip was reached");
        CollectionAssert.AreNotEqual(Fit(optimizer, momentum, false, l2: 0, clip: 0.05f, noise: false), inNormPass, "the term changes the weights");
    }

    private static float[] Fit(NeuralNetworkOptimizer optimizer, float momentum, bool nesterov, float l2, float? clip, bool noise)
    {
        var ml = new MLContext(1);
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [Hidden], BatchSize = 100, Epochs = 2, Seed = 5, NumberOfThreads = 2, Optimizer = optimizer,
            Momentum = momentum, Nesterov = nesterov, LearningRate = 0.01f, L2Regularization = l2, GradientClipNorm = clip,
            MeasureGradientNoise = noise,
        };
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(new GeneratedDataView(300, Features, canShuffle: true)).Model;
        return Enumerable.Range(0, model.LayerCount).SelectMany(l => model.GetWeights(l).ToArray().Concat(model.GetBiases(l).ToArray())).ToArray();
    }
}
