using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Limits that the sizes of a run must respect, checked before anything large is allocated: a batch buffer of the
/// widest layer must fit in one array, the working memory must fit in the machine, and an epoch's updates must fit in
/// <see cref="EpochSummary.Iterations"/> (an int). Each failure says which option to change and to what.
/// </summary>
internal static class TrainingSize
{
    /// <summary>Checks what is known before training and returns the batch size of evaluation passes (at least 256
    /// rows, as large as a training batch, never larger than one array allows; an adaptive run's buffers are bounded by
    /// MaximumBatchSize, so it evaluates in batches of that size). The largest batch sets the memory, the smallest the
    /// number of updates.</summary>
    public static int Check(NetworkLayout layout, NeuralNetworkOptions options, long? knownRows)
    {
        long maxRows = MaxRows(layout);
        if (knownRows is { } rows)
        {
            long batchRows = Math.Max(1, Math.Min(options.EffectiveMaximumBatchSize, rows));
            if (batchRows > maxRows)
                throw BatchTooLarge(layout, batchRows);
            long updates = (rows + options.EffectiveMinimumBatchSize - 1) / options.EffectiveMinimumBatchSize;
            if (updates > int.MaxValue)
                throw new ArgumentException(
                    $"The training data has {rows} rows, so an epoch at BatchSize {options.BatchSize} makes {updates} updates, more than " +
                    $"EpochSummary.Iterations counts ({int.MaxValue}). Use BatchSize ≥ {(rows + int.MaxValue - 1) / int.MaxValue}.",
                    nameof(options.BatchSize));
            long bytes = TrainingMemory.Bytes(layout, (int)batchRows, options);
            long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
            if (bytes > available)
                throw new InvalidOperationException(
                    $"Training at BatchSize {options.BatchSize} needs about {bytes / (1 << 20)} MB of working memory for a " +
                    $"{string.Join('-', layout.Sizes)} network, more than the {available / (1 << 20)} MB this process can use. " +
                    "Lower BatchSize or make the layers (or the feature vector) smaller.");
        }
        return (int)Math.Min(options.AdaptiveBatchSize ? options.EffectiveMaximumBatchSize : Math.Max(options.BatchSize, 256), maxRows);
    }

    /// <summary>Before buffers grow to <paramref name="rows"/> rows (the row count was not known in advance).</summary>
    public static void CheckRows(NetworkLayout layout, int rows)
    {
        if (rows > MaxRows(layout))
            throw BatchTooLarge(layout, rows);
    }

    public static InvalidOperationException TooManyIterations(int batchSize) => new(
        $"An epoch reached {int.MaxValue} updates, the most EpochSummary.Iterations counts, at BatchSize {batchSize}. " +
        "Raise BatchSize so that an epoch makes fewer updates.");

    /// <summary>Rows whose widest layer still fits in one float array.</summary>
    private static long MaxRows(NetworkLayout layout) => Array.MaxLength / layout.MaxWidth;

    private static ArgumentException BatchTooLarge(NetworkLayout layout, long rows) => new(
        $"A batch of {rows} rows × {layout.MaxWidth} values (the widest layer of the {string.Join('-', layout.Sizes)} network) " +
        $"is more than one array holds ({Array.MaxLength} floats). Use BatchSize ≤ {MaxRows(layout)}.", "BatchSize");
}
