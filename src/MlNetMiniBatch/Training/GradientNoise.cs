namespace MlNetMiniBatch.Training;

/// <summary>
/// Reading the gradient noise scale (McCandlish et al., 2018) back from a training history. The noise scale grows as the
/// loss falls, so a value means little without the loss it was measured at: the suggestion names its epoch and loss,
/// and <see cref="AtLoss"/> reads it where the monitored loss first reached a level.
/// </summary>
internal static class GradientNoise
{
    /// <summary>The last epoch with a noise-scale estimate, or null.</summary>
    public static EpochSummary? LastMeasured(IReadOnlyList<EpochSummary> history) =>
        history.LastOrDefault(h => h.GradientNoiseScale is > 0 and var b && double.IsFinite(b));

    /// <summary>The first epoch whose loss (validation, else training) was at or below <paramref name="loss"/>, or null
    /// if none was.</summary>
    public static EpochSummary? FirstReaching(IReadOnlyList<EpochSummary> history, double loss)
    {
        if (double.IsNaN(loss))
            throw new ArgumentOutOfRangeException(nameof(loss), loss, "The loss level must be a number.");
        return history.FirstOrDefault(h => MonitoredLoss(h) <= loss);
    }

    /// <summary>The noise scale measured in <see cref="FirstReaching"/>'s epoch; null if the level was never reached or
    /// that epoch has no estimate.</summary>
    public static double? AtLoss(IReadOnlyList<EpochSummary> history, double loss) => FirstReaching(history, loss)?.GradientNoiseScale;

    public static int? SuggestBatchSize(IReadOnlyList<EpochSummary> history) =>
        LastMeasured(history)?.GradientNoiseScale is { } scale ? (int)Math.Clamp(Math.Round(scale), 1, int.MaxValue) : null;

    public static string? Explain(IReadOnlyList<EpochSummary> history)
    {
        if (LastMeasured(history) is not { } last || SuggestBatchSize(history) is not { } suggestion)
            return null;
        string lossName = last.Validation is not null ? "validation loss" : "training loss";
        return $"The gradient noise scale measured in the last measured epoch ({last.Epoch}, {lossName} {MonitoredLoss(last):G4}) " +
               $"was about {suggestion}: batches much smaller than {suggestion} rows make updates dominated by noise (more updates, " +
               $"each less useful), while batches much larger cost more rows per update for little extra progress. The noise scale " +
               "grows as the loss falls; NoiseScaleAtLoss(loss) gives the value measured when the loss first reached a given level.";
    }

    private static double MonitoredLoss(EpochSummary epoch) => epoch.ValidationLoss ?? epoch.TrainLoss;
}
