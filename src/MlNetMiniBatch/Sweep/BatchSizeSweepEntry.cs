namespace MlNetMiniBatch;

/// <summary>One batch size's run in a <see cref="BatchSizeSweep"/>.</summary>
public sealed class BatchSizeSweepEntry
{
    internal BatchSizeSweepEntry(int requestedBatchSize, int batchSize, bool isAdaptive, NeuralNetworkPredictionTransformer transformer,
        TimeSpan wallTime, long peakManagedBytes, long trainingBufferBytes, double? target)
    {
        RequestedBatchSize = requestedBatchSize;
        BatchSize = batchSize;
        IsAdaptive = isAdaptive;
        Transformer = transformer;
        var history = Model.History;
        Epochs = history.Count;
        Updates = history.Sum(h => (long)h.Iterations);
        WallTime = wallTime;
        PeakManagedBytes = peakManagedBytes;
        TrainingBufferBytes = trainingBufferBytes;
        RowsPerSecond = history.Sum(h => h.Rows) / Math.Max(1e-9, history.Sum(h => h.Elapsed.TotalSeconds));
        if (target is { } t)
        {
            var elapsed = TimeSpan.Zero;
            long updates = 0;
            foreach (var epoch in history)
            {
                elapsed += epoch.Elapsed;
                updates += epoch.Iterations;
                if (epoch.ValidationLoss <= t)
                {
                    (TimeToTarget, UpdatesToTarget, EpochsToTarget) = (elapsed, updates, epoch.Epoch);
                    break;
                }
            }
        }
    }

    /// <summary>The same run measured against another target validation loss (time, updates and epochs to it recomputed
    /// from the history).</summary>
    internal BatchSizeSweepEntry WithTarget(double? target) =>
        new(RequestedBatchSize, BatchSize, IsAdaptive, Transformer, WallTime, PeakManagedBytes, TrainingBufferBytes, target);

    /// <summary>Whether this is the run with AdaptiveBatchSize on (see <see cref="EpochSummary.BatchSize"/> in the
    /// history for each epoch's size).</summary>
    public bool IsAdaptive { get; }

    /// <summary>The batch size asked for (<see cref="BatchSizeSweep.FullBatch"/> for full batch); the adaptive run's
    /// starting batch size.</summary>
    public int RequestedBatchSize { get; }

    /// <summary>The batch size used: the requested one, or the row count when that is smaller; for the adaptive run,
    /// the largest it chose.</summary>
    public int BatchSize { get; }

    /// <summary>The trained model, with its full history.</summary>
    public NeuralNetworkModelParameters Model => Transformer.Model;

    /// <summary>The trained transformer: scores other data (e.g. a test set) with this run's final weights.</summary>
    public NeuralNetworkPredictionTransformer Transformer { get; }

    /// <summary>Epochs trained.</summary>
    public int Epochs { get; }

    /// <summary>Parameter updates made in all.</summary>
    public long Updates { get; }

    /// <summary>Wall time of the whole run, validation included.</summary>
    public TimeSpan WallTime { get; }

    /// <summary>Managed memory the run held at the end of its first epoch (after a full collection, so live objects
    /// only: batch buffers, activations, gradients, optimizer state), relative to the heap before the run.</summary>
    public long PeakManagedBytes { get; }

    /// <summary>Bytes of the trainer's own working buffers at this batch size (batch, activations, gradients,
    /// optimizer state): what the batch size costs in memory, computed exactly.</summary>
    public long TrainingBufferBytes { get; }

    /// <summary>Training rows per second of epoch time.</summary>
    public double RowsPerSecond { get; }

    /// <summary>Metrics of the last epoch on the training rows.</summary>
    public EpochMetrics FinalTrain => Model.History[^1].Train;

    /// <summary>Metrics of the last epoch on the validation rows.</summary>
    public EpochMetrics? FinalValidation => Model.History[^1].Validation;

    /// <summary>Epoch time until the validation loss first reached the target; null without a target or if never reached.</summary>
    public TimeSpan? TimeToTarget { get; }

    /// <summary>Updates made until the validation loss first reached the target.</summary>
    public long? UpdatesToTarget { get; }

    /// <summary>Epoch in which the validation loss first reached the target.</summary>
    public int? EpochsToTarget { get; }
}
