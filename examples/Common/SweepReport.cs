using System.Globalization;

namespace MlNetMiniBatch.Examples;

/// <summary>
/// Text about a <see cref="BatchSizeSweepResult"/>: a table with a row per batch size, a default target validation
/// loss chosen from the runs, and the comparison of the fastest batch size to that target with the batch size the
/// gradient noise scale suggests.
/// </summary>
public static class SweepReport
{
    /// <summary>The batch size whose run gives the gradient-noise suggestion: the trainer's default.</summary>
    public const int SuggestionBatchSize = NeuralNetworkOptions.Defaults.BatchSize;

    /// <summary>Factor within which the fastest and the suggested batch size count as agreeing (issue 6).</summary>
    public const double AgreementFactor = 4;

    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>The table: a header line, then a line per run in sweep order.</summary>
    public static IReadOnlyList<string> Table(BatchSizeSweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var lines = new List<string>
        {
            string.Format(C, "{0,-12} {1,6} {2,10} {3,7} {4,8} {5,8} {6,8} {7,8} {8,8} {9,7} {10,8} {11,10} {12,8}",
                "batch size", "epochs", "updates", "wall s", "rows/s", "buf MB", "heap MB", "train", "valid", "valid",
                "target", "updates", "noise"),
            string.Format(C, "{0,-12} {1,6} {2,10} {3,7} {4,8} {5,8} {6,8} {7,8} {8,8} {9,7} {10,8} {11,10} {12,8}",
                "", "", "", "", "", "", "", "loss", "loss", "acc", "in s", "to tgt", "scale"),
        };
        foreach (BatchSizeSweepEntry e in result.Entries)
            lines.Add(string.Format(C, "{0,-12} {1,6} {2,10:N0} {3,7:F1} {4,8:N0} {5,8:F2} {6,8:F2} {7,8:F4} {8,8} {9,7} {10,8} {11,10} {12,8}",
                Name(e), e.Epochs, e.Updates, e.WallTime.TotalSeconds, e.RowsPerSecond, e.TrainingBufferBytes / 1e6,
                e.PeakManagedBytes / 1e6, e.FinalTrain.Loss, Format(e.FinalValidation?.Loss, "F4"),
                Format(e.FinalValidation?.Accuracy, "F4"), Format(e.TimeToTarget?.TotalSeconds, "F1"),
                e.UpdatesToTarget?.ToString("N0", C) ?? "-", Format(e.Model.History[^1].GradientNoiseScale, "G3")));
        return lines;
    }

    /// <summary>The batch size of a run as the table shows it: "32", or "full (9000)" for all the rows.</summary>
    public static string Name(BatchSizeSweepEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.IsAdaptive)
            return string.Format(C, "adapt {0}-{1}", entry.Model.History[0].BatchSize, entry.Model.History[^1].BatchSize);
        return entry.RequestedBatchSize > entry.BatchSize
            ? string.Format(C, "full ({0})", entry.BatchSize)
            : entry.BatchSize.ToString(C);
    }

    /// <summary>
    /// A target validation loss chosen after the runs: 10% above the median of the runs' lowest validation losses.
    /// By construction at least half of the batch sizes reach it, and a batch size misses it only when it ends well
    /// behind the typical run, so the time to reach it compares the batch sizes on a loss most of them attain. An
    /// absolute number would not carry over between the shipped subset and the full set, or between budgets.
    /// </summary>
    /// <returns>The target; null when no run has a validation loss.</returns>
    public static double? DefaultTarget(BatchSizeSweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return DefaultTarget(result.Entries);
    }

    /// <summary><see cref="DefaultTarget(BatchSizeSweepResult)"/> over any runs, e.g. those of several seeds' sweeps.</summary>
    public static double? DefaultTarget(IEnumerable<BatchSizeSweepEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        double[] lowest = entries
            .Select(e => e.Model.History.Select(h => h.ValidationLoss ?? double.NaN).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Min())
            .Where(double.IsFinite).Order().ToArray();
        if (lowest.Length == 0)
            return null;
        double median = lowest.Length % 2 == 1 ? lowest[lowest.Length / 2] : (lowest[lowest.Length / 2 - 1] + lowest[lowest.Length / 2]) / 2;
        return 1.1 * median;
    }

    /// <summary>
    /// The batch size the gradient noise scale suggests, and the run it comes from: the run at the trainer's default
    /// batch size (<see cref="SuggestionBatchSize"/>) when the sweep has one — what a user training once with the
    /// defaults would be told — else the median of the runs' suggestions. Not the median by default: the noise scale
    /// grows as the gradient shrinks during training, and the runs end at very different stages (a full-batch run
    /// makes a few dozen updates, a batch-1 run tens of thousands), so their suggestions are not measurements of one
    /// quantity.
    /// </summary>
    public static (int? BatchSize, string Source) Suggestion(BatchSizeSweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Entries.FirstOrDefault(e => e.BatchSize == SuggestionBatchSize && !e.IsAdaptive) is { Model.SuggestedBatchSize: { } fromDefault })
            return (fromDefault, string.Format(C, "the batch-size-{0} run", SuggestionBatchSize));
        var measured = result.Entries.Where(e => !e.IsAdaptive && e.Model.SuggestedBatchSize is not null).OrderBy(e => e.Model.SuggestedBatchSize).ToList();
        if (measured.Count == 0)
            return (null, "no run (MeasureGradientNoise off, or too few batches per epoch)");
        BatchSizeSweepEntry median = measured[(measured.Count - 1) / 2];
        return (median.Model.SuggestedBatchSize, measured.Count == 1
            ? string.Format(C, "the batch-size-{0} run, the only one with a noise scale", Name(median))
            : string.Format(C, "the batch-size-{0} run, the median of {1} runs' suggestions", Name(median), measured.Count));
    }

    /// <summary>
    /// The noise scale the default-batch-size run measured in the epoch its validation loss first reached the target,
    /// and that epoch; null when the run has no noise scale there or never reached the target. The noise scale grows as
    /// training goes on (the gradient shrinks), so the batch size that is fastest *to a given loss* is best compared
    /// with the noise scale measured *at that loss*, rather than at the end of a run that kept going past it.
    /// </summary>
    public static (int? BatchSize, int? Epoch) NoiseScaleAtTarget(BatchSizeSweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var run = result.Entries.FirstOrDefault(e => e.BatchSize == SuggestionBatchSize && !e.IsAdaptive);
        if (run?.EpochsToTarget is not { } epoch || run.Model.History[epoch - 1].GradientNoiseScale is not { } scale)
            return (null, null);
        return ((int)Math.Max(1, Math.Round(scale)), epoch);
    }

    /// <summary>The same comparison as <see cref="Comparison"/>, against <see cref="NoiseScaleAtTarget"/>.</summary>
    public static string ComparisonAtTarget(BatchSizeSweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var (scale, epoch) = NoiseScaleAtTarget(result);
        BatchSizeSweepEntry? fastest = FastestFixed(result);
        if (fastest is null || scale is null)
            return "noise scale at the target loss: not measured (no batch-size-32 run reached the target with a noise scale)";
        double ratio = Math.Max(fastest.BatchSize, scale.Value) / (double)Math.Min(fastest.BatchSize, scale.Value);
        return string.Format(C, "noise scale of the batch-size-{0} run in epoch {1}, when it reached the target: {2} (against the fastest {3}: ratio {4:G3}, within a factor of {5}: {6})",
            SuggestionBatchSize, epoch, scale, Name(fastest), ratio, AgreementFactor, ratio <= AgreementFactor ? "yes" : "no");
    }

    /// <summary>The runs that reached the target within <paramref name="tolerance"/> (a fraction) of the fastest time,
    /// fastest first, e.g. "8 (13.6 s), 128 (13.8 s)": timings differ from run to run, so a batch size a few percent
    /// behind the fastest is not measurably slower.</summary>
    public static string NearFastest(BatchSizeSweepResult result, double tolerance = 0.1)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.FastestToTarget?.TimeToTarget is not { } fastest)
            return "none";
        return string.Join(", ", result.Entries
            .Where(e => e.TimeToTarget is { } t && t.TotalSeconds <= fastest.TotalSeconds * (1 + tolerance))
            .OrderBy(e => e.TimeToTarget)
            .Select(e => string.Format(C, "{0} ({1:F1} s)", Name(e), e.TimeToTarget!.Value.TotalSeconds)));
    }

    /// <summary>"fastest batch size to the target validation loss: X; suggested by the gradient noise scale: Y (ratio Z,
    /// within a factor of 4: yes/no)", where the ratio is the larger of the two over the smaller.</summary>
    public static string Comparison(BatchSizeSweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        BatchSizeSweepEntry? fastest = FastestFixed(result);
        int? suggested = Suggestion(result).BatchSize;
        string text = string.Format(C, "fastest batch size to the target validation loss: {0}; suggested by the gradient noise scale: {1}",
            fastest is null ? "none reached it" : Name(fastest), suggested?.ToString(C) ?? "none");
        if (fastest is null || suggested is null)
            return text;
        double ratio = Math.Max(fastest.BatchSize, suggested.Value) / (double)Math.Min(fastest.BatchSize, suggested.Value);
        return text + string.Format(C, " (ratio {0:G3}, within a factor of {1}: {2})", ratio, AgreementFactor,
            ratio <= AgreementFactor ? "yes" : "no");
    }

    /// <summary>The fixed batch size that reached the target first: what the noise scale's suggestion is compared with.</summary>
    private static BatchSizeSweepEntry? FastestFixed(BatchSizeSweepResult result) =>
        result.Entries.Where(e => !e.IsAdaptive && e.TimeToTarget is not null).MinBy(e => e.TimeToTarget);

    private static string Format(double? value, string format) => value?.ToString(format, C) ?? "-";
}
