using Microsoft.ML;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>
/// Without gradient clipping the optimizer's update runs inside the backward pass, block by block; with clipping it
/// is a separate pass. Both must give every parameter exactly the same update.
/// </summary>
[TestClass]
public sealed class FusedStepTests
{
    [TestMethod]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0f, false, 0f, 1, 32)]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0.9f, false, 1e-3f, 2, 32)]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0.9f, true, 0f, 2, 32)]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0.9f, false, 1e-3f, 2, 300)]
    [DataRow(NeuralNetworkOptimizer.Adam, 0f, false, 1e-3f, 1, 32)]
    [DataRow(NeuralNetworkOptimizer.Adam, 0f, false, 0f, 2, 32)]
    [DataRow(NeuralNetworkOptimizer.RmsProp, 0.5f, false, 1e-3f, 2, 32)]
    [DataRow(NeuralNetworkOptimizer.AdamW, 0f, false, 1e-2f, 2, 32)]
    public void UpdateInsideTheBackwardPassEqualsTheSeparateStepBitForBit(NeuralNetworkOptimizer optimizer, float momentum,
        bool nesterov, float l2, int threads, int batchSize)
    {
        // 4 inputs (packed GEMM path) and 3 inputs (few-rows path of the first layer's weight gradient); odd widths
        // give ragged blocks, and 128 × 65 × 32 is large enough for the weight gradient to be split across threads.
        // Batch 300: each block of dW is finished over two k passes (the step must wait for the second).
        foreach (var data in new[] { Synthetic.BlobsView(new MLContext(1), 400), new GeneratedDataView(400, 3, canShuffle: true) })
        {
            float[] Train(float? clip)
            {
                var options = new NeuralNetworkOptions
                {
                    HiddenLayers = [128, 65], BatchSize = batchSize, Epochs = 2, Seed = 5, NumberOfThreads = threads,
                    Optimizer = optimizer, Momentum = momentum, Nesterov = nesterov, L2Regularization = l2, LearningRate = 0.01f,
                    GradientClipNorm = clip,
                };
                var model = new MLContext(1).MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data);
                return Enumerable.Range(0, model.Model.LayerCount)
                    .SelectMany(l => model.Model.GetWeights(l).ToArray().Concat(model.Model.GetBiases(l).ToArray())).ToArray();
            }

            var fused = Train(clip: null);
            var separate = Train(clip: float.MaxValue); // clipping that never triggers, but needs the whole gradient first
            CollectionAssert.AreEqual(separate, fused);
        }
    }

    [TestMethod]
    public void AdamWDoesNotFuse_ItsDecayChangesTheWeightsBeforeTheBackwardPass()
    {
        var layout = new NetworkLayout([4, 8, 3]);
        Assert.IsFalse(Optimizer.Create(new NeuralNetworkOptions { Optimizer = NeuralNetworkOptimizer.AdamW, L2Regularization = 1e-2f }, layout).CanFuseIntoBackward);
        Assert.IsTrue(Optimizer.Create(new NeuralNetworkOptions { Optimizer = NeuralNetworkOptimizer.Adam }, layout).CanFuseIntoBackward);
        Assert.IsTrue(Optimizer.Create(new NeuralNetworkOptions { Optimizer = NeuralNetworkOptimizer.Sgd, Momentum = 0.9f }, layout).CanFuseIntoBackward);
    }
}
