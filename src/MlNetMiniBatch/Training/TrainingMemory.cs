using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Training;

/// <summary>The bytes of working memory a training run holds at a batch size: what grows with the batch (batch rows,
/// twice with the prefetch thread; every layer's pre-activations, activations and gradients) plus what the model
/// needs (gradient, optimizer state).</summary>
internal static class TrainingMemory
{
    public static long Bytes(NetworkLayout layout, int batchSize, NeuralNetworkOptions options)
    {
        long b = batchSize;
        long perRow = (layout.InputSize + 2) * (options.EffectiveThreads > 1 ? 2L : 1L); // features, target, weight; a second batch is read ahead
        for (int l = 0; l < layout.LayerCount; l++)
            perRow += (l < layout.LayerCount - 1 ? 3 : 2) * (long)layout.FanOut(l); // z, f(z) and dZ; logits once
        if (options.Dropout > 0)
            for (int l = 0; l < layout.LayerCount - 1; l++)
                perRow += 2L * layout.FanOut(l);                  // mask and masked output
        perRow += layout.OutputSize;                               // logit gradient
        int optimizerCopies = options.Optimizer switch
        {
            NeuralNetworkOptimizer.Sgd => options.Momentum > 0 ? 1 : 0,
            NeuralNetworkOptimizer.RmsProp => options.Momentum > 0 ? 2 : 1,
            _ => 2,
        };
        long perModel = (long)layout.ParameterCount * (1 + optimizerCopies); // gradient + optimizer state
        return sizeof(float) * (b * perRow + perModel);
    }
}
