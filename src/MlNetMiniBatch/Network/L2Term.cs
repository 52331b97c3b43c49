using System.Numerics.Tensors;

namespace MlNetMiniBatch.Network;

/// <summary>
/// The L2 penalty's gradient, l2 · W, added to the weights' gradient (not the biases'). Element-wise and unfused, so a
/// range added in any pieces, on any thread, gives the same bits: the ranks' reduction adds the whole vector, the
/// clipping norm's pass and the optimizer's step a block at a time, each on whichever thread handles the block.
/// </summary>
internal static class L2Term
{
    /// <summary>gradient ← W · l2 + gradient for the weights among parameters [start, start + count).</summary>
    public static void Add(NetworkLayout layout, ReadOnlySpan<float> parameters, Span<float> gradient, float l2, int start, int count)
    {
        for (int l = 0; l < layout.LayerCount; l++)
        {
            int from = Math.Max(start, layout.WeightOffset(l));
            int to = Math.Min(start + count, layout.WeightOffset(l) + layout.WeightCount(l));
            if (from < to)
            {
                var dW = gradient.Slice(from, to - from);
                TensorPrimitives.MultiplyAdd(parameters.Slice(from, to - from), l2, dW, dW);
            }
        }
    }
}
