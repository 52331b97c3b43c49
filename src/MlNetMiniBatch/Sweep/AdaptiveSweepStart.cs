namespace MlNetMiniBatch;

/// <summary>Where the adaptive run of a <see cref="BatchSizeSweep"/> starts (<see cref="BatchSizeSweepOptions.AdaptiveStart"/>).</summary>
public enum AdaptiveSweepStart
{
    /// <summary>At the options' BatchSize, as a single AdaptiveBatchSize training would.</summary>
    BatchSize = 0,

    /// <summary>At the fixed batch size predicted to reach a given loss in the least time, from what the fixed runs
    /// measured: their rows/s and the gradient noise scale (see <see cref="BatchSizeSweepResult.AdaptiveStartExplanation"/>).</summary>
    Measured = 1,
}
