using System.Globalization;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch;

/// <summary>
/// The adaptive run's first batch size under <see cref="AdaptiveSweepStart.Measured"/>. In McCandlish et al.'s model a
/// run at batch B needs S_min·(1 + B_noise/B) updates to reach a loss, and on this machine an update at batch B takes
/// B / r(B) seconds, r(B) being the rows/s the fixed run at B measured; so the time to the loss is proportional to
/// (B + B_noise) / r(B). Small batches lose on the machine's per-row speed, large ones on the rows an update spends past
/// the noise scale. Epoch 1 decides the most (the adaptive rule then moves the batch by at most 2× an epoch), so the
/// start is the fixed batch size that minimises that product.
/// </summary>
internal static class AdaptiveStart
{
    /// <summary>The start and a sentence saying how it was chosen.</summary>
    public static (int BatchSize, string Explanation) Choose(IReadOnlyList<BatchSizeSweepEntry> fixedRuns, NeuralNetworkOptions options,
        long trainingRows, double? target)
    {
        var c = CultureInfo.InvariantCulture;
        var measuringRuns = fixedRuns.Where(e => GradientNoise.LastMeasured(e.Model.History) is not null).OrderBy(e => e.BatchSize).ToList();
        // The noise scale is read from the run at the options' BatchSize (the batch the user would have used), else from
        // the smallest measured one: at large batches few batches make an epoch and the estimate is the least certain.
        var reference = measuringRuns.FirstOrDefault(e => e.RequestedBatchSize == options.BatchSize) ?? measuringRuns.FirstOrDefault();
        if (reference is null)
            return (options.BatchSize, string.Format(c,
                "The adaptive run started at BatchSize {0}: no fixed run measured a gradient noise scale to choose a start from.", options.BatchSize));
        var history = reference.Model.History;
        var atTarget = target is { } t ? GradientNoise.FirstReaching(history, t) : null;
        var noiseEpoch = atTarget?.GradientNoiseScale is > 0 ? atTarget : GradientNoise.LastMeasured(history)!;
        double noise = noiseEpoch.GradientNoiseScale!.Value;
        int minimum = options.MinimumBatchSize ?? 1, maximum = options.MaximumBatchSize ?? NeuralNetworkOptions.Defaults.MaximumBatchSize;
        var candidates = fixedRuns
            .Where(e => e.RequestedBatchSize < trainingRows && e.RowsPerSecond > 0 && e.RequestedBatchSize >= minimum && e.RequestedBatchSize <= maximum)
            .Select(e => (e.RequestedBatchSize, e.RowsPerSecond)).ToList();
        if (candidates.Count == 0)
            return (options.BatchSize, string.Format(c,
                "The adaptive run started at BatchSize {0}: no fixed batch size below the row count lies within [MinimumBatchSize {1}, MaximumBatchSize {2}].",
                options.BatchSize, minimum, maximum));
        int start = Fastest(candidates, noise);
        double rate = candidates.First(x => x.RequestedBatchSize == start).RowsPerSecond;
        return (start, string.Format(c,
            "The adaptive run started at batch size {0}, the fixed batch size B with the least predicted time to a loss, (B + B_noise) / rows/s: " +
            "B_noise {1:F0} (measured at batch size {2} in epoch {3}, {4}), {5:N0} rows/s at batch size {0}.",
            start, noise, reference.RequestedBatchSize, noiseEpoch.Epoch,
            atTarget == noiseEpoch ? "the epoch it reached the target validation loss" : "its last measured epoch", rate));
    }

    /// <summary>The batch size minimising (B + <paramref name="noiseScale"/>) / rows/s; the smaller one on a tie.</summary>
    public static int Fastest(IEnumerable<(int BatchSize, double RowsPerSecond)> measured, double noiseScale) =>
        measured.OrderBy(m => (m.BatchSize + noiseScale) / m.RowsPerSecond).ThenBy(m => m.BatchSize).First().BatchSize;
}
