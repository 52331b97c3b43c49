using System.Globalization;

namespace MlNetMiniBatch.Examples;

/// <summary>One run of the sweep (a batch size, or the adaptive run) summarised over several seeds.</summary>
/// <param name="Name">The run as the tables name it ("32", "adapt 32-1024" from the first seed).</param>
/// <param name="IsAdaptive">Whether this is the AdaptiveBatchSize run.</param>
/// <param name="Seeds">Seeds the run was trained with.</param>
/// <param name="Updates">Mean parameter updates of the whole run.</param>
/// <param name="UpdatesToTarget">Mean updates until the target, over the seeds that reached it; null if none did.</param>
/// <param name="SecondsToTarget">Mean wall time (epoch time, validation included) until the target, over the seeds
/// that reached it; null if none did.</param>
/// <param name="SeedsAtTarget">Seeds whose run reached the target.</param>
/// <param name="FinalValidationLoss">Mean final validation loss; null without validation.</param>
/// <param name="TestAccuracy">Mean final test accuracy; null without a test set.</param>
public sealed record SeedMeans(string Name, bool IsAdaptive, int Seeds, double Updates, double? UpdatesToTarget, double? SecondsToTarget,
    int SeedsAtTarget, double? FinalValidationLoss, double? TestAccuracy)
{
    /// <summary>Whether every seed reached the target: a mean over the seeds that did would favour a run that missed it
    /// in its slow seeds, so only such runs compete on time.</summary>
    public bool AllSeedsReachedTarget => Seeds > 0 && SeedsAtTarget == Seeds;
}

/// <summary>
/// The same sweep trained with several seeds: one target for all of them, the means per run, and issue 13's three bars
/// for the adaptive run against the fixed batch sizes.
/// </summary>
public static class SweepSeeds
{
    /// <summary>Most the adaptive run's mean time to the target may be, as a multiple of the fastest fixed run's.</summary>
    public const double WallTimeBar = 1.1;

    /// <summary>Fixed batch size whose update count the adaptive run must stay below.</summary>
    public const int UpdatesBarBatchSize = 32;

    /// <summary>Most the adaptive run's mean test accuracy may trail the best fixed run's (a fraction: 0.3 points).</summary>
    public const double AccuracyPoints = 0.003;

    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>
    /// <see cref="SweepReport.DefaultTarget"/> over the runs of every seed together (10% above the median of all their
    /// lowest validation losses): one target for all seeds, so the times to it are means of one quantity.
    /// </summary>
    public static double? PooledTarget(IReadOnlyList<BatchSizeSweepResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count == 0)
            throw new ArgumentException("At least one seed's sweep is needed.", nameof(results));
        return SweepReport.DefaultTarget(results.SelectMany(r => r.Entries));
    }

    /// <summary>The means per run, in sweep order. Every seed's sweep must list the same runs in the same order.</summary>
    /// <param name="results">One sweep per seed, all measured against the same target.</param>
    /// <param name="testAccuracy">Final test accuracy of each entry, by seed then entry (null: no test set).</param>
    public static IReadOnlyList<SeedMeans> Means(IReadOnlyList<BatchSizeSweepResult> results, IReadOnlyList<IReadOnlyList<double>>? testAccuracy)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count == 0)
            throw new ArgumentException("At least one seed's sweep is needed.", nameof(results));
        int runs = results[0].Entries.Count;
        if (results.Any(r => r.Entries.Count != runs || r.TargetValidationLoss != results[0].TargetValidationLoss))
            throw new ArgumentException("Every seed's sweep must have the same runs and the same target validation loss.", nameof(results));
        if (testAccuracy is not null && (testAccuracy.Count != results.Count || testAccuracy.Any(a => a.Count != runs)))
            throw new ArgumentException($"testAccuracy needs one value per run ({runs}) for each seed ({results.Count}).", nameof(testAccuracy));
        var means = new List<SeedMeans>();
        for (int run = 0; run < runs; run++)
        {
            var entries = results.Select(r => r.Entries[run]).ToList();
            var reached = entries.Where(e => e.TimeToTarget is not null).ToList();
            var validation = entries.Select(e => e.FinalValidation?.Loss).ToList();
            means.Add(new SeedMeans(SweepReport.Name(entries[0]), entries[0].IsAdaptive, entries.Count, entries.Average(e => (double)e.Updates),
                reached.Count > 0 ? reached.Average(e => (double)e.UpdatesToTarget!.Value) : null,
                reached.Count > 0 ? reached.Average(e => e.TimeToTarget!.Value.TotalSeconds) : null, reached.Count,
                validation.All(v => v is not null) ? validation.Average() : null,
                testAccuracy?.Average(seed => seed[run])));
        }
        return means;
    }

    /// <summary>The means as a table: a header line, then a line per run.</summary>
    public static IReadOnlyList<string> Table(IReadOnlyList<SeedMeans> means)
    {
        ArgumentNullException.ThrowIfNull(means);
        const string Row = "{0,-16} {1,10} {2,11} {3,12} {4,8} {5,11} {6,10}";
        var lines = new List<string>
        {
            string.Format(C, Row, "run", "updates", "updates to", "s to target", "seeds at", "final valid", "final test"),
            string.Format(C, Row, "", "", "target", "(mean)", "target", "loss", "accuracy"),
        };
        foreach (var m in means)
            lines.Add(string.Format(C, Row, m.Name, m.Updates.ToString("N0", C), m.UpdatesToTarget?.ToString("N0", C) ?? "-",
                m.SecondsToTarget?.ToString("F1", C) ?? "-", $"{m.SeedsAtTarget}/{m.Seeds}", m.FinalValidationLoss?.ToString("F4", C) ?? "-",
                m.TestAccuracy?.ToString("F4", C) ?? "-"));
        return lines;
    }

    /// <summary>Issue 13's bars for the adaptive run, each line saying "met" or "NOT met" with the numbers compared.</summary>
    /// <returns>Three lines; one line saying so when the means have no adaptive run.</returns>
    public static IReadOnlyList<string> Bars(IReadOnlyList<SeedMeans> means)
    {
        ArgumentNullException.ThrowIfNull(means);
        if (means.FirstOrDefault(m => m.IsAdaptive) is not { } adaptive)
            return ["No adaptive run, so no bars to check."];
        var fixedRuns = means.Where(m => !m.IsAdaptive).ToList();
        return [TimeBar(adaptive, fixedRuns), UpdatesBar(adaptive, fixedRuns), AccuracyBar(adaptive, fixedRuns)];
    }

    private static string TimeBar(SeedMeans adaptive, List<SeedMeans> fixedRuns)
    {
        string bar = string.Format(C, "wall time to the target ≤ {0}× the fastest fixed run's", WallTimeBar);
        if (fixedRuns.Where(m => m.AllSeedsReachedTarget).MinBy(m => m.SecondsToTarget) is not { } fastest)
            return bar + ": not measured (no fixed run reached the target in every seed)";
        if (!adaptive.AllSeedsReachedTarget)
            return bar + string.Format(C, ": NOT met (the adaptive run reached it in {0} of {1} seeds; fastest fixed: {2}, {3:F1} s)",
                adaptive.SeedsAtTarget, adaptive.Seeds, fastest.Name, fastest.SecondsToTarget);
        double ratio = adaptive.SecondsToTarget!.Value / fastest.SecondsToTarget!.Value;
        return bar + string.Format(C, ": {0} ({1:F1} s against batch {2}'s {3:F1} s, {4:F2}×)",
            ratio <= WallTimeBar ? "met" : "NOT met", adaptive.SecondsToTarget, fastest.Name, fastest.SecondsToTarget, ratio);
    }

    private static string UpdatesBar(SeedMeans adaptive, List<SeedMeans> fixedRuns)
    {
        string bar = string.Format(C, "fewer updates than fixed batch {0}", UpdatesBarBatchSize);
        string name = UpdatesBarBatchSize.ToString(C);
        if (fixedRuns.FirstOrDefault(m => m.Name == name) is not { } reference)
            return bar + string.Format(C, ": not measured (no fixed batch-{0} run)", UpdatesBarBatchSize);
        return bar + string.Format(C, ": {0} ({1:N0} against {2:N0})", adaptive.Updates < reference.Updates ? "met" : "NOT met",
            adaptive.Updates, reference.Updates);
    }

    private static string AccuracyBar(SeedMeans adaptive, List<SeedMeans> fixedRuns)
    {
        string bar = string.Format(C, "final test accuracy within {0:F1} points of the best fixed run's", AccuracyPoints * 100);
        if (adaptive.TestAccuracy is not { } accuracy || fixedRuns.Where(m => m.TestAccuracy is not null).MaxBy(m => m.TestAccuracy) is not { } best)
            return bar + ": not measured (no test set)";
        return bar + string.Format(C, ": {0} ({1:F4} against batch {2}'s {3:F4})",
            accuracy >= best.TestAccuracy!.Value - AccuracyPoints ? "met" : "NOT met", accuracy, best.Name, best.TestAccuracy);
    }
}
