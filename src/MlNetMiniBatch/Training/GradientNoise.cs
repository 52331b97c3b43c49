namespace MlNetMiniBatch.Training;

/// <summary>Gradient noise scale helpers (McCandlish et al., 2018); the estimator itself lands with MeasureGradientNoise.</summary>
internal static class GradientNoise
{
    public static int? SuggestBatchSize(IReadOnlyList<EpochSummary> history)
    {
        var last = history.LastOrDefault(h => h.GradientNoiseScale is > 0);
        if (last?.GradientNoiseScale is not { } scale || !double.IsFinite(scale))
            return null;
        return (int)Math.Clamp(Math.Round(scale), 1, int.MaxValue);
    }

    public static string? Explain(IReadOnlyList<EpochSummary> history)
    {
        var suggestion = SuggestBatchSize(history);
        if (suggestion is null)
            return null;
        return $"In epoch {history.Last(h => h.GradientNoiseScale is > 0).Epoch} the gradient noise scale was about {suggestion}: " +
               $"batches much smaller than {suggestion} rows make updates dominated by noise (more updates, each less useful), " +
               $"while batches much larger cost more rows per update for little extra progress.";
    }
}
