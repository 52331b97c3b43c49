namespace MlNetMiniBatch;

/// <summary>What <see cref="BatchSizeSweep.Run"/> tries and for how long.</summary>
public sealed class BatchSizeSweepOptions
{
    /// <summary>Batch sizes to train with, in order.</summary>
    /// <value>Default { 1, 8, 32, 128, 512, <see cref="BatchSizeSweep.FullBatch"/> }.</value>
    public IReadOnlyList<int> BatchSizes { get; set; } = [1, 8, 32, 128, 512, BatchSizeSweep.FullBatch];

    /// <summary>Equal wall-clock budget per batch size; null gives every batch size the same number of epochs
    /// (NeuralNetworkOptions.Epochs). With a time budget, each run stops at the first epoch end past the budget.</summary>
    /// <value>Default null.</value>
    public TimeSpan? TimeBudget { get; set; }

    /// <summary>Most epochs per run under a time budget.</summary>
    /// <value>Default 1000.</value>
    public int MaximumEpochs { get; set; } = 1000;

    /// <summary>Validation loss to reach; each entry reports the time, epochs and updates it took (null if never).</summary>
    /// <value>Default null.</value>
    public double? TargetValidationLoss { get; set; }

    /// <summary>Whether to add, after the fixed batch sizes, one run with <see cref="NeuralNetworkOptions.AdaptiveBatchSize"/>
    /// on: it starts at the options' BatchSize and uses their MinimumBatchSize, MaximumBatchSize and LearningRateScaling.</summary>
    /// <value>Default false.</value>
    public bool IncludeAdaptive { get; set; }

    /// <summary>Where the adaptive run starts: at the options' BatchSize, or at the batch size the fixed runs' rows/s and
    /// noise scale predict to be fastest (<see cref="AdaptiveSweepStart.Measured"/>; the fixed runs then measure the
    /// gradient noise scale, as MeasureGradientNoise does). Only with <see cref="IncludeAdaptive"/>.</summary>
    /// <value>Default <see cref="AdaptiveSweepStart.BatchSize"/>.</value>
    public AdaptiveSweepStart AdaptiveStart { get; set; }

    internal void Validate()
    {
        if (BatchSizes is null || BatchSizes.Count == 0)
            throw new ArgumentException("BatchSizes must list at least one batch size.", nameof(BatchSizes));
        foreach (int b in BatchSizes)
            if (b < 1)
                throw new ArgumentOutOfRangeException(nameof(BatchSizes), b, $"Every batch size must be at least 1, but one was {b}.");
        if (TimeBudget is { } t && t <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(TimeBudget), t, "TimeBudget must be positive.");
        if (MaximumEpochs < 1)
            throw new ArgumentOutOfRangeException(nameof(MaximumEpochs), MaximumEpochs, "MaximumEpochs must be at least 1.");
        if (!Enum.IsDefined(AdaptiveStart))
            throw new ArgumentOutOfRangeException(nameof(AdaptiveStart), AdaptiveStart, "AdaptiveStart must be BatchSize or Measured.");
        if (AdaptiveStart == AdaptiveSweepStart.Measured && !IncludeAdaptive)
            throw new ArgumentException("AdaptiveStart = Measured chooses where the adaptive run starts, but IncludeAdaptive is false, so there is " +
                                        "no adaptive run: set IncludeAdaptive = true, or leave AdaptiveStart at BatchSize.", nameof(AdaptiveStart));
    }
}
