namespace MlNetMiniBatch.Training;

/// <summary>
/// One mini-batch in reused arrays: features [capacity × featureCount] and targets [capacity × targetCount], both
/// row-major, and one weight per row.
/// Allocated once per training run; only <see cref="Count"/> changes from batch to batch.
/// </summary>
internal sealed class Batch
{
    public Batch(int capacity, int featureCount, int targetCount = 1)
    {
        FeatureCount = featureCount;
        TargetCount = targetCount;
        Grow(capacity);
    }

    public int Capacity { get; private set; }
    public int FeatureCount { get; }

    /// <summary>Target values per row: the label's vector size, 1 for a scalar label.</summary>
    public int TargetCount { get; }

    public float[] Features { get; private set; } = Array.Empty<float>();

    /// <summary>Per row, <see cref="TargetCount"/> values: class index (multiclass), 0/1 (binary), standardized label
    /// (regression), or one per output of a vector label.</summary>
    public float[] Targets { get; private set; } = Array.Empty<float>();

    public float[] Weights { get; private set; } = Array.Empty<float>();

    /// <summary>Rows filled, at most <see cref="Capacity"/>; fewer only for the last batch of an epoch.</summary>
    public int Count { get; set; }

    public ReadOnlySpan<float> FeatureRows => PendingFeatures is null
        ? Features.AsSpan(0, Count * FeatureCount)
        : throw new InvalidOperationException("The batch's features have not been gathered from the cache yet.");

    /// <summary>Per row, the cache row its features are still to be copied from (<see cref="PendingFeatures"/>).</summary>
    public int[] CacheRows { get; private set; } = Array.Empty<int>();

    /// <summary>Set when the reader left the feature copy to the compute threads; cleared by <see cref="GatherFeatures"/>.</summary>
    public CachedFeatures? PendingFeatures { get; set; }

    /// <summary>Copies the features still pending, on up to <paramref name="threads"/> threads.</summary>
    /// <exception cref="InvalidRowException">A row has a NaN or infinite feature.</exception>
    public void GatherFeatures(int threads)
    {
        if (PendingFeatures is not { } pending)
            return;
        PendingFeatures = null;
        pending.Gather(this, threads);
    }

    /// <summary>The targets of row <paramref name="row"/>.</summary>
    public Span<float> TargetRow(int row) => Targets.AsSpan(row * TargetCount, TargetCount);

    /// <summary>Enlarges the buffers, keeping the rows read so far. A batch starts small when the row count is not
    /// known, so a BatchSize far above the row count does not allocate for rows that never come.</summary>
    public void Grow(int capacity)
    {
        long length = (long)capacity * FeatureCount;
        if (length > Array.MaxLength)
            throw new InvalidOperationException(
                $"A batch of {capacity} rows × {FeatureCount} features does not fit in memory; use a smaller BatchSize.");
        var features = new float[length];
        Features.AsSpan().CopyTo(features);
        Features = features;
        var targets = new float[(long)capacity * TargetCount];
        Targets.AsSpan().CopyTo(targets);
        Targets = targets;
        var weights = new float[capacity];
        Weights.AsSpan().CopyTo(weights);
        Weights = weights;
        var cacheRows = new int[capacity];
        CacheRows.AsSpan().CopyTo(cacheRows);
        CacheRows = cacheRows;
        Capacity = capacity;
    }

    public double TotalWeight()
    {
        double sum = 0;
        for (int i = 0; i < Count; i++) sum += Weights[i];
        return sum;
    }
}
