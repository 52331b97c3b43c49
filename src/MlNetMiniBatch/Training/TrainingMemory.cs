using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Training;

/// <summary>The bytes of working memory a training run holds at a batch size: what grows with the batch (batch rows,
/// twice with the prefetch thread; every layer's pre-activations, activations and gradients, as <see cref="LayerBuffers"/>
/// holds them) plus what the model needs (gradient, optimizer state, and each thread's GEMM scratch, bounded by the layer
/// widths).</summary>
internal static class TrainingMemory
{
    public static long Bytes(NetworkLayout layout, int batchSize, NeuralNetworkOptions options)
    {
        long b = batchSize;
        long perRow = (layout.InputSize + 2) * (options.EffectiveThreads > 1 ? 2L : 1L); // features, target, weight; a second batch is read ahead
        int hiddenBuffers = LayerBuffers.KeepsPreActivation(options.Activation) ? 3 : 2;
        for (int l = 0; l < layout.LayerCount; l++)
            perRow += (l < layout.LayerCount - 1 ? hiddenBuffers : 2) * (long)layout.FanOut(l); // z, f(z) and dZ; the logits are their own f(z)
        if (options.Dropout > 0)
            for (int l = 0; l < layout.LayerCount - 1; l++)
                perRow += 2L * layout.FanOut(l);                  // mask and masked output
        perRow += layout.OutputSize;                               // logit gradient
        perRow += BatchLoss.FloatsPerRow;                          // loss terms and the metrics' run sums
        int optimizerCopies = options.Optimizer switch
        {
            NeuralNetworkOptimizer.Sgd => options.Momentum > 0 ? 1 : 0,
            NeuralNetworkOptimizer.RmsProp => options.Momentum > 0 ? 2 : 1,
            _ => 2,
        };
        long perModel = (long)layout.ParameterCount * (1 + optimizerCopies); // gradient + optimizer state
        return (sizeof(float) * (b * perRow + perModel)) + ((long)options.EffectiveThreads * GemmScratchBytesPerThread(layout));
    }

    /// <summary>The most scratch one thread's products keep for the network (<see cref="Gemm.ScratchBytesPerThread"/>):
    /// every product's C is at most the widest layer after the input wide, except the output layer's weight gradient when
    /// it is computed as its transpose, whose C is the last hidden layer wide.</summary>
    internal static long GemmScratchBytesPerThread(NetworkLayout layout)
    {
        int top = layout.LayerCount - 1;
        long narrow = (long)layout.FanIn(top) * layout.OutputSize;
        int widest = Math.Max(layout.Sizes.Skip(1).Max(), layout.FanIn(top));
        return Gemm.ScratchBytesPerThread(widest, narrow);
    }
}
