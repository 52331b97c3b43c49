using System.Globalization;

namespace MlNetMiniBatch.Examples;

/// <summary>
/// The PNG plots of a <see cref="BatchSizeSweepResult"/>: validation loss against epochs, against updates (log x) and
/// against seconds, one line per batch size (with the target as a dashed line when the sweep has one); and the
/// training memory and the throughput against the batch size (log x).
/// </summary>
public static class SweepPlots
{
    /// <summary>Default image width in pixels.</summary>
    public const int DefaultWidth = 900;

    /// <summary>Default image height in pixels.</summary>
    public const int DefaultHeight = 560;

    /// <summary>File names of the plots, in the order <see cref="SavePngs"/> writes them.</summary>
    public static readonly IReadOnlyList<string> FileNames =
    [
        "validation-loss-vs-epochs.png",
        "validation-loss-vs-updates.png",
        "validation-loss-vs-seconds.png",
        "memory-vs-batch-size.png",
        "rows-per-second-vs-batch-size.png",
    ];

    /// <summary>Writes the plots of <paramref name="result"/> into <paramref name="directory"/> (created if needed).</summary>
    /// <returns>The full paths of the files written, in the order of <see cref="FileNames"/>.</returns>
    public static IReadOnlyList<string> SavePngs(BatchSizeSweepResult result, string directory,
        int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        IReadOnlyList<LinePlot> plots = CreatePlots(result);
        var paths = new List<string>();
        for (int i = 0; i < plots.Count; i++)
        {
            string path = Path.GetFullPath(Path.Combine(directory, FileNames[i]));
            plots[i].SavePng(path, width, height);
            paths.Add(path);
        }
        return paths;
    }

    /// <summary>The plots <see cref="SavePngs"/> draws, in the order of <see cref="FileNames"/>.</summary>
    public static IReadOnlyList<LinePlot> CreatePlots(BatchSizeSweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Entries.Count == 0)
            throw new ArgumentException("The sweep has no runs.", nameof(result));
        return
        [
            LossPlot(result, "Validation loss per epoch", "epoch", integerX: true, logX: false,
                history => history.Select(h => (double)h.Epoch)),
            LossPlot(result, "Validation loss per update", "parameter updates (log scale)", integerX: false, logX: true,
                history => Cumulative(history.Select(h => (double)h.Iterations))),
            LossPlot(result, "Validation loss over time", "seconds of training", integerX: false, logX: false,
                history => Cumulative(history.Select(h => h.Elapsed.TotalSeconds))),
            BatchSizePlot(result, "Training memory", "MB",
                ("training buffers (computed)", e => e.TrainingBufferBytes / 1e6),
                ("managed heap held after epoch 1 (measured)", e => e.PeakManagedBytes / 1e6)),
            BatchSizePlot(result, "Throughput", "training rows per second", ("rows/s", e => e.RowsPerSecond)),
        ];
    }

    /// <summary>Legend text of a run: "batch 32", or "full batch (9000)" when the batch was all the rows.</summary>
    public static string Label(BatchSizeSweepEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.IsAdaptive)
            return string.Create(CultureInfo.InvariantCulture, $"adaptive ({entry.Model.History[0].BatchSize}→{entry.Model.History[^1].BatchSize})");
        return entry.RequestedBatchSize > entry.BatchSize
            ? string.Create(CultureInfo.InvariantCulture, $"full batch ({entry.BatchSize})")
            : string.Create(CultureInfo.InvariantCulture, $"batch {entry.BatchSize}");
    }

    private static LinePlot LossPlot(BatchSizeSweepResult result, string title, string xLabel, bool integerX, bool logX,
        Func<IReadOnlyList<EpochSummary>, IEnumerable<double>> x)
    {
        var plot = new LinePlot(title, xLabel, "validation loss") { IntegerX = integerX, LogScaleX = logX, ShowLegend = true };
        double lowest = double.PositiveInfinity, highest = double.NegativeInfinity;
        foreach (BatchSizeSweepEntry entry in result.Entries)
        {
            double[] xs = x(entry.Model.History).ToArray();
            plot.Add(Label(entry), xs, entry.Model.History.Select(h => h.ValidationLoss ?? double.NaN).ToArray());
            lowest = Math.Min(lowest, xs.Min());
            highest = Math.Max(highest, xs.Max());
        }
        if (result.TargetValidationLoss is { } target && double.IsFinite(target))
            plot.Add(string.Create(CultureInfo.InvariantCulture, $"target {target:G3}"), [lowest, highest], [target, target], dashed: true);
        return plot;
    }

    private static LinePlot BatchSizePlot(BatchSizeSweepResult result, string title, string yLabel,
        params (string Label, Func<BatchSizeSweepEntry, double> Y)[] series)
    {
        var plot = new LinePlot(title, "batch size (log scale)", yLabel)
        {
            LogScaleX = true, ShowLegend = series.Length > 1 || result.Entries.Any(e => e.IsAdaptive),
        };
        var entries = result.Entries.Where(e => !e.IsAdaptive).OrderBy(e => e.BatchSize).ToList();
        double[] batchSizes = entries.Select(e => (double)e.BatchSize).ToArray();
        foreach (var (label, y) in series)
            plot.Add(label, batchSizes, entries.Select(y).ToArray());
        // The adaptive run has no single batch size: one point per series, at the largest batch it chose.
        foreach (var adaptive in result.Entries.Where(e => e.IsAdaptive))
            foreach (var (label, y) in series)
                plot.Add($"{Label(adaptive)}, {label}", [adaptive.BatchSize], [y(adaptive)]);
        return plot;
    }

    private static IEnumerable<double> Cumulative(IEnumerable<double> values)
    {
        double sum = 0;
        foreach (double value in values)
            yield return sum += value;
    }
}
