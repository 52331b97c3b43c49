namespace MlNetMiniBatch.Training;

/// <summary>
/// Each epoch's batch size and learning-rate factor under <see cref="NeuralNetworkOptions.AdaptiveBatchSize"/>.
/// Both are pure functions of the options and the epochs already trained (their batch sizes and noise scales), so a
/// run resumed from a checkpoint, whose history is saved, continues with exactly the batch sizes and rates of an
/// uninterrupted run without any state of its own.
/// </summary>
internal static class AdaptiveBatchSize
{
    /// <summary>Most the batch size may grow (or shrink) by from one epoch to the next: a noise scale read from one
    /// epoch's gradients is an estimate, and a bounded step lets the next epoch's measurement correct it.</summary>
    internal const int MaximumStep = 2;

    /// <summary>Chosen batch sizes are multiples of this (once at least this large): GEMM tiles and SIMD rows come in
    /// multiples of 8, and a change smaller than 8 rows is not worth a different update count.</summary>
    internal const int Granularity = 8;

    /// <summary>The batch size of the epoch after <paramref name="history"/>.</summary>
    public static int For(NeuralNetworkOptions options, IReadOnlyList<EpochSummary> history)
    {
        if (!options.AdaptiveBatchSize || history.Count == 0)
            return options.BatchSize;
        var last = history[^1];
        int current = last.BatchSize > 0 ? last.BatchSize : options.BatchSize; // 0: an old file that did not record it
        if (last.GradientNoiseScale is { } noise && double.IsFinite(noise) && noise > 0)
        {
            double target = Math.Clamp(noise, (double)current / MaximumStep, Math.Min((double)current * MaximumStep, int.MaxValue));
            current = RoundTowardCurrent(target, current);
        }
        return Math.Clamp(current, options.EffectiveMinimumBatchSize, options.EffectiveMaximumBatchSize);
    }

    /// <summary>What the schedule's rate is multiplied by in an epoch trained at <paramref name="batchSize"/> rows, the
    /// options' rate being the one for BatchSize (see <see cref="NeuralNetworkLearningRateScaling"/>).</summary>
    public static double LearningRateFactor(NeuralNetworkOptions options, IReadOnlyList<EpochSummary> history, int batchSize)
    {
        if (!options.AdaptiveBatchSize || batchSize == options.BatchSize)
            return 1;
        double start = options.BatchSize, scale = batchSize / start;
        switch (options.EffectiveLearningRateScaling)
        {
            case NeuralNetworkLearningRateScaling.Linear:
                return scale;
            case NeuralNetworkLearningRateScaling.SquareRoot:
                return Math.Sqrt(scale);
            case NeuralNetworkLearningRateScaling.AdaScale:
                // The batch only left BatchSize because some epoch measured a noise scale; the latest one is the best guess.
                double noise = history.LastOrDefault(h => h.GradientNoiseScale is > 0 && double.IsFinite(h.GradientNoiseScale.Value))?.GradientNoiseScale ?? 0;
                return (1 + noise / start) / (1 + noise / batchSize);
            default:
                return 1;
        }
    }

    /// <summary>Rounds to a multiple of <see cref="Granularity"/> on the side of <paramref name="current"/>, so a rounded
    /// step never overshoots the target or the bound on the step, and a target within 8 rows keeps the batch size.</summary>
    private static int RoundTowardCurrent(double target, int current)
    {
        int unit = target >= Granularity ? Granularity : 1;
        bool growing = target > current;
        int rounded = (int)(growing ? Math.Floor(target / unit) : Math.Ceiling(target / unit)) * unit;
        return growing ? Math.Max(rounded, current) : Math.Min(rounded, current);
    }
}
