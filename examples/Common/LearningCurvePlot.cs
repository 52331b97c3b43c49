namespace MlNetMiniBatch.Examples;

/// <summary>
/// A learning-curve PNG from a trainer's history: loss per epoch on the left and the task's headline metric per epoch
/// on the right (accuracy for classification, R² for regression), each with a training and, when the history has
/// validation metrics, a validation line.
/// </summary>
public static class LearningCurvePlot
{
    /// <summary>Default image width in pixels (two panels of 600).</summary>
    public const int DefaultWidth = 1200;

    /// <summary>Default image height in pixels.</summary>
    public const int DefaultHeight = 450;

    /// <summary>Writes the learning curves of <paramref name="history"/> (e.g. <c>model.Model.History</c>) to
    /// <paramref name="path"/> as a PNG of <paramref name="width"/> × <paramref name="height"/> pixels.</summary>
    public static void SavePng(string path, IReadOnlyList<EpochSummary> history, int width = DefaultWidth, int height = DefaultHeight) =>
        LinePlot.SavePng(path, width, height, CreatePanels(history));

    /// <summary>The panels <see cref="SavePng"/> draws: loss, then accuracy (or R²) when the task has it.</summary>
    public static IReadOnlyList<LinePlot> CreatePanels(IReadOnlyList<EpochSummary> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0)
            throw new ArgumentException("The history has no epochs.", nameof(history));

        var panels = new List<LinePlot> { Panel(history, "Loss", "loss (mean per row)", m => m.Loss) };
        if (history[0].Train.Accuracy is not null)
            panels.Add(Panel(history, "Accuracy", "accuracy", m => m.Accuracy));
        else if (history[0].Train.RSquared is not null)
            panels.Add(Panel(history, "R²", "R²", m => m.RSquared));
        return panels;
    }

    private static LinePlot Panel(IReadOnlyList<EpochSummary> history, string title, string yLabel, Func<EpochMetrics, double?> metric)
    {
        var plot = new LinePlot(title, "epoch", yLabel) { IntegerX = true, ShowLegend = true }; // "train" even when alone
        double[] epochs = history.Select(e => (double)e.Epoch).ToArray();
        plot.Add("train", epochs, history.Select(e => metric(e.Train) ?? double.NaN).ToArray());
        if (history.Any(e => e.Validation is not null))
            plot.Add("validation", epochs, history.Select(e => e.Validation is { } v ? metric(v) ?? double.NaN : double.NaN).ToArray());
        return plot;
    }
}
