namespace MlNetMiniBatch;

/// <summary>What one epoch (one pass over the training rows) did: how many updates, over how many rows, at which
/// learning rate, and the metrics on the training and validation rows.</summary>
public sealed class EpochSummary
{
    internal EpochSummary(int epoch, int iterations, long rows, float learningRate, EpochMetrics train, EpochMetrics? validation,
        TimeSpan elapsed, double? gradientNoiseScale, int batchSize)
    {
        BatchSize = batchSize;
        Epoch = epoch;
        Iterations = iterations;
        Rows = rows;
        LearningRate = learningRate;
        Train = train;
        Validation = validation;
        Elapsed = elapsed;
        GradientNoiseScale = gradientNoiseScale;
    }

    /// <summary>1-based epoch number (continuing the count when training resumes from a checkpoint).</summary>
    public int Epoch { get; }

    /// <summary>Rows per update in this epoch: the options' BatchSize, or the size AdaptiveBatchSize chose for it
    /// (the last batch may be smaller). 0 in models saved before it was recorded (format 1, without training options).</summary>
    public int BatchSize { get; }

    /// <summary>Parameter updates made this epoch: ceil(Rows / BatchSize), or floor with DropLastPartialBatch.</summary>
    public int Iterations { get; }

    /// <summary>Rows trained on this epoch (rows of a dropped last partial batch and skipped invalid rows are not counted).</summary>
    public long Rows { get; }

    /// <summary>Learning rate used for every update of this epoch (the schedule's rate, times the batch-size factor of
    /// LearningRateScaling when AdaptiveBatchSize changed the batch size).</summary>
    public float LearningRate { get; }

    /// <summary>Metrics on the training rows, each row scored in the forward pass of its batch, before that batch's
    /// update (as Keras reports them); dropout is active in those passes.</summary>
    public EpochMetrics Train { get; }

    /// <summary>Metrics on the validation rows with the weights at the end of the epoch; null without validation data.</summary>
    public EpochMetrics? Validation { get; }

    /// <summary>Shortcut for <c>Train.Loss</c>: the example-weighted mean loss over this epoch's rows (L2 penalty not included).</summary>
    public double TrainLoss => Train.Loss;

    /// <summary>Shortcut for <c>Validation?.Loss</c>; null without validation data.</summary>
    public double? ValidationLoss => Validation?.Loss;

    /// <summary>Whether this epoch scored best on the monitored metric so far (see EarlyStoppingMetric).</summary>
    public bool IsBest { get; internal set; }

    /// <summary>Estimated gradient noise scale B_simple = tr(Σ)/|G|² for this epoch, when MeasureGradientNoise is on.</summary>
    public double? GradientNoiseScale { get; }

    /// <summary>Wall time of the epoch, validation included.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>The same epoch recorded at another batch size (old files, whose epochs did not store it).</summary>
    internal EpochSummary WithBatchSize(int batchSize) =>
        new(Epoch, Iterations, Rows, LearningRate, Train, Validation, Elapsed, GradientNoiseScale, batchSize) { IsBest = IsBest };

    /// <inheritdoc/>
    public override string ToString() =>
        $"epoch {Epoch}: batch {BatchSize}, {Iterations} iterations, {Rows} rows, lr {LearningRate:G3}, train {Train}" +
        (Validation is { } v ? $"; validation {v}" : "") +
        (GradientNoiseScale is { } b ? $"; noise scale {b:G3}" : "") + $"; {Elapsed.TotalSeconds:F2} s";
}
