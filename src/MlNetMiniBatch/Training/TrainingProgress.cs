namespace MlNetMiniBatch;

/// <summary>A progress report: sent after batches (at most every <see cref="NeuralNetworkOptions.ProgressInterval"/>)
/// and after every epoch.</summary>
public sealed class TrainingProgress
{
    internal TrainingProgress(int epoch, int epochs, int batch, int? batchesPerEpoch, long rowsSeen, double runningLoss,
        TimeSpan elapsed, TimeSpan? estimatedRemaining, EpochSummary? epochSummary, int batchSize)
    {
        BatchSize = batchSize;
        Epoch = epoch;
        Epochs = epochs;
        Batch = batch;
        BatchesPerEpoch = batchesPerEpoch;
        RowsSeen = rowsSeen;
        RunningLoss = runningLoss;
        Elapsed = elapsed;
        EstimatedRemaining = estimatedRemaining;
        EpochSummary = epochSummary;
    }

    /// <summary>1-based epoch being trained.</summary>
    public int Epoch { get; }

    /// <summary>Epochs requested.</summary>
    public int Epochs { get; }

    /// <summary>Batches (iterations) done in this epoch so far.</summary>
    public int Batch { get; }

    /// <summary>Rows per batch in this epoch (chosen per epoch with AdaptiveBatchSize; the last batch may be smaller).</summary>
    public int BatchSize { get; }

    /// <summary>Batches in this epoch, when known: from the row count and this epoch's batch size, or the previous
    /// epoch's count when the row count is not known and the batch size did not change.</summary>
    public int? BatchesPerEpoch { get; }

    /// <summary>Rows trained on since training started.</summary>
    public long RowsSeen { get; }

    /// <summary>Weighted mean training loss over this epoch's batches so far.</summary>
    public double RunningLoss { get; }

    /// <summary>Time since training started.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Estimated time until the last epoch ends, when the batch count is known.</summary>
    public TimeSpan? EstimatedRemaining { get; }

    /// <summary>The finished epoch's summary on the report sent at the end of an epoch; null on batch reports.</summary>
    public EpochSummary? EpochSummary { get; }

    /// <summary>Whether this report marks the end of an epoch.</summary>
    public bool IsEpochEnd => EpochSummary is not null;
}

/// <summary>Passed to <see cref="NeuralNetworkOptions.OnEpochEnd"/> after every epoch; set <see cref="StopTraining"/>
/// to end training after this epoch.</summary>
public sealed class EpochEndContext
{
    internal EpochEndContext(EpochSummary summary, IReadOnlyList<EpochSummary> history)
    {
        Summary = summary;
        History = history;
    }

    /// <summary>The epoch that just ended.</summary>
    public EpochSummary Summary { get; }

    /// <summary>All epochs so far, this one last.</summary>
    public IReadOnlyList<EpochSummary> History { get; }

    /// <summary>Set to true to stop after this epoch (the model then reports <see cref="TrainingStopReason.Callback"/>).</summary>
    public bool StopTraining { get; set; }
}
