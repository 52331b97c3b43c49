namespace MlNetMiniBatch.Training;

/// <summary>
/// Judges one metric across epochs for early stopping and reduce-on-plateau. Its counters (the best value so far, the
/// epoch it came from and the epochs since: one count for early stopping, one the plateau schedule resets when it acts)
/// live in the <see cref="TrainingState"/>, so a checkpoint carries them.
/// </summary>
internal sealed class MetricMonitor
{
    private readonly NeuralNetworkMetric _metric;
    private readonly double _minDelta;
    private readonly bool _higherIsBetter;

    public MetricMonitor(NeuralNetworkMetric metric, double minDelta)
    {
        _metric = metric;
        _minDelta = minDelta;
        _higherIsBetter = metric is NeuralNetworkMetric.Accuracy or NeuralNetworkMetric.MacroAccuracy
            or NeuralNetworkMetric.AreaUnderRocCurve or NeuralNetworkMetric.RSquared;
    }

    /// <summary>Records the epoch's value (validation when there is some) in <paramref name="state"/>; returns whether
    /// it is the best so far.</summary>
    public bool Observe(EpochSummary summary, TrainingState state)
    {
        double? value = (summary.Validation ?? summary.Train).Get(_metric);
        bool improved = value is { } v && !double.IsNaN(v) &&
            (state.BestValue is not { } best || (_higherIsBetter ? v > best + _minDelta : v < best - _minDelta));
        if (improved)
        {
            state.BestValue = value;
            state.BestEpoch = summary.Epoch;
            state.EpochsWithoutImprovement = 0;
            state.PlateauWait = 0;
        }
        else
        {
            state.EpochsWithoutImprovement++;
            state.PlateauWait++;
        }
        return improved;
    }
}
