using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Distributed;

/// <summary>Which layers' gradients are summed across ranks together. Backward finishes the output layer first, so the
/// buckets are formed from the output layer down, each closing at the first layer that brings it to at least the
/// minimum size: small layers share one reduction instead of paying its fixed cost each. Layer l's weights and bias
/// follow layer l - 1's in the parameter vector, so every bucket is one contiguous range of it.</summary>
internal sealed class GradientBuckets
{
    private readonly int[] _bucketClosedBy;

    private GradientBuckets(int[] bucketClosedBy, (int Start, int Length)[] slices)
    {
        _bucketClosedBy = bucketClosedBy;
        Slices = slices;
    }

    /// <summary>The buckets' ranges of the parameter vector, in the order they start (the output layer's first).</summary>
    public IReadOnlyList<(int Start, int Length)> Slices { get; }

    public int Count => Slices.Count;

    /// <summary>The bucket that <paramref name="layer"/>'s gradient completes, or -1 when its bucket waits for lower layers.</summary>
    public int ClosedBy(int layer) => _bucketClosedBy[layer];

    /// <param name="minimumSize">Parameters a bucket holds at least, unless it holds the first layer.</param>
    public static GradientBuckets Plan(NetworkLayout layout, int minimumSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minimumSize);
        var closedBy = new int[layout.LayerCount];
        var slices = new List<(int Start, int Length)>();
        int end = layout.ParameterCount;
        for (int l = layout.LayerCount - 1; l >= 0; l--)
        {
            int start = layout.WeightOffset(l);
            closedBy[l] = -1;
            if (end - start >= minimumSize || l == 0)
            {
                closedBy[l] = slices.Count;
                slices.Add((start, end - start));
                end = start;
            }
        }
        return new GradientBuckets(closedBy, [.. slices]);
    }
}
