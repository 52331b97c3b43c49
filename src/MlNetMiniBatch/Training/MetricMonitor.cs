namespace MlNetMiniBatch.Training;

/// <summary>
/// Watches one metric across epochs for early stopping and reduce-on-plateau: the best value so far, the epoch it came
/// from and the epochs since (two counters: one for early stopping, one the plateau schedule resets when it acts).
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

    public double? Best { get; set; }
    public int? BestEpoch { get; set; }
    public int EpochsWithoutImprovement { get; set; }
    public int PlateauWait;

    /// <summary>Records the epoch's value (validation when there is some); returns whether it is the best so far.</summary>
    public bool Observe(EpochSummary summary)
    {
        double? value = (summary.Validation ?? summary.Train).Get(_metric);
        bool improved = value is { } v && !double.IsNaN(v) &&
            (Best is not { } best || (_higherIsBetter ? v > best + _minDelta : v < best - _minDelta));
        if (improved)
        {
            Best = value;
            BestEpoch = summary.Epoch;
            EpochsWithoutImprovement = 0;
            PlateauWait = 0;
        }
        else
        {
            EpochsWithoutImprovement++;
            PlateauWait++;
        }
        return improved;
    }
}
