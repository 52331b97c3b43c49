using System.Globalization;

namespace MlNetMiniBatch;

/// <summary>The runs of a <see cref="BatchSizeSweep"/>, in the order of the batch sizes asked for.</summary>
public sealed class BatchSizeSweepResult
{
    internal BatchSizeSweepResult(IReadOnlyList<BatchSizeSweepEntry> entries, double? target, string? adaptiveStartExplanation)
    {
        Entries = entries;
        TargetValidationLoss = target;
        AdaptiveStartExplanation = adaptiveStartExplanation;
    }

    /// <summary>One entry per batch size.</summary>
    public IReadOnlyList<BatchSizeSweepEntry> Entries { get; }

    /// <summary>The target validation loss of the sweep, if any.</summary>
    public double? TargetValidationLoss { get; }

    /// <summary>How the adaptive run's first batch size was chosen under <see cref="AdaptiveSweepStart.Measured"/> (the
    /// predicted times, the noise scale and where it was read); null otherwise.</summary>
    public string? AdaptiveStartExplanation { get; }

    /// <summary>The entry that reached the target validation loss in the least time; null if none did.</summary>
    public BatchSizeSweepEntry? FastestToTarget => Entries.Where(e => e.TimeToTarget is not null).MinBy(e => e.TimeToTarget);

    /// <summary>The same runs measured against another target validation loss: every entry's time, updates and epochs to
    /// the target are recomputed from its history, so a target can be chosen after seeing the runs (e.g. from their
    /// final losses) without training again.</summary>
    /// <param name="target">The validation loss to reach; null for none.</param>
    public BatchSizeSweepResult WithTargetValidationLoss(double? target)
    {
        if (target is { } t && double.IsNaN(t))
            throw new ArgumentOutOfRangeException(nameof(target), t, "The target validation loss must be a number.");
        return new BatchSizeSweepResult(Entries.Select(e => e.WithTarget(target)).ToList(), target, AdaptiveStartExplanation);
    }

    /// <summary>A plain-language reading of the measured numbers: how updates, noise, speed and memory changed with
    /// the batch size, and which batch size reached the target first. Every statement is computed from the entries.</summary>
    public string Explain()
    {
        var c = CultureInfo.InvariantCulture;
        var sorted = Entries.Where(e => !e.IsAdaptive).OrderBy(e => e.BatchSize).ToList();
        var lines = new List<string>();
        if (sorted.Count < 2)
            return "Only one batch size was measured, so there is nothing to compare.";
        var small = sorted[0];
        var large = sorted[^1];
        lines.Add(string.Format(c,
            "Batch size {0} made {1:N0} updates per epoch, batch size {2} made {3:N0}: a smaller batch updates the weights more often per pass over the data.",
            small.BatchSize, small.Updates / Math.Max(1, small.Epochs), large.BatchSize, large.Updates / Math.Max(1, large.Epochs)));

        double Roughness(BatchSizeSweepEntry e) => e.Model.History.Count < 3 ? 0 : e.Model.History.Zip(e.Model.History.Skip(1))
            .Count(p => p.Second.ValidationLoss > p.First.ValidationLoss) / (double)(e.Model.History.Count - 1);
        var noisiest = sorted.MaxBy(Roughness)!;
        if (Roughness(noisiest) > 0)
            lines.Add(string.Format(c,
                "The validation loss went up from one epoch to the next in {0:P0} of epochs at batch size {1} (noisier updates) versus {2:P0} at batch size {3}.",
                Roughness(noisiest), noisiest.BatchSize, Roughness(large), large.BatchSize));

        var fastest = sorted.MaxBy(e => e.RowsPerSecond)!;
        lines.Add(string.Format(c,
            "Throughput rose from {0:N0} rows/s at batch size {1} to {2:N0} rows/s at batch size {3}{4}: larger batches use the vector units and cores better per row until the arithmetic saturates them.",
            small.RowsPerSecond, small.BatchSize, fastest.RowsPerSecond, fastest.BatchSize,
            fastest != large ? string.Format(c, ", then fell to {0:N0} rows/s at batch size {1}", large.RowsPerSecond, large.BatchSize) : ""));
        lines.Add(string.Format(c,
            "The trainer's working buffers grew from {0:N1} MB at batch size {1} to {2:N1} MB at batch size {3}; memory depends on the batch size and the model, not on the number of rows.",
            small.TrainingBufferBytes / 1e6, small.BatchSize, large.TrainingBufferBytes / 1e6, large.BatchSize));

        var best = sorted.Where(e => e.FinalValidation is not null).MinBy(e => e.FinalValidation!.Loss);
        if (best is not null)
            lines.Add(string.Format(c, "Within the budget the lowest final validation loss, {0:G4}, came from batch size {1}.",
                best.FinalValidation!.Loss, best.BatchSize));
        if (Entries.FirstOrDefault(e => e.IsAdaptive) is { } adaptive)
        {
            var history = adaptive.Model.History;
            lines.Add(string.Format(c,
                "The adaptive run went from batch size {0} to {1} over {2} epochs (sizes {3}), making {4:N0} updates{5}.",
                history[0].BatchSize, history[^1].BatchSize, history.Count, string.Join(", ", history.Select(h => h.BatchSize).Distinct()),
                adaptive.Updates, adaptive.FinalValidation is { } v ? string.Format(c, ", final validation loss {0:G4}", v.Loss) : ""));
            if (AdaptiveStartExplanation is not null)
                lines.Add(AdaptiveStartExplanation);
        }
        if (TargetValidationLoss is { } target)
        {
            lines.Add(FastestToTarget is { } winner
                ? string.Format(c, "{0} reached the target validation loss {1:G4} first, after {2:F1} s and {3:N0} updates.",
                    winner.IsAdaptive ? "The adaptive batch size" : "Batch size " + winner.BatchSize.ToString(c), target, winner.TimeToTarget!.Value.TotalSeconds, winner.UpdatesToTarget)
                : string.Format(c, "No batch size reached the target validation loss {0:G4} within the budget.", target));
        }
        return string.Join(Environment.NewLine, lines);
    }
}
