namespace MlNetMiniBatch;

/// <summary>What one epoch (one pass over the training rows) did: how many updates, over how many rows, and the losses.</summary>
public sealed class EpochSummary
{
    internal EpochSummary(int epoch, int iterations, long rows, double trainLoss, double? validationLoss, TimeSpan elapsed)
    {
        Epoch = epoch;
        Iterations = iterations;
        Rows = rows;
        TrainLoss = trainLoss;
        ValidationLoss = validationLoss;
        Elapsed = elapsed;
    }

    /// <summary>1-based epoch number within this training run.</summary>
    public int Epoch { get; }

    /// <summary>Parameter updates made this epoch: ceil(Rows / BatchSize), or floor with DropLastPartialBatch.</summary>
    public int Iterations { get; }

    /// <summary>Rows trained on this epoch (rows of a dropped last partial batch and skipped invalid rows are not counted).</summary>
    public long Rows { get; }

    /// <summary>Example-weighted mean loss over the rows of this epoch, each row's loss taken in the forward pass of its
    /// batch, before that batch's update. Cross-entropy (multiclass), log-loss (binary) or mean squared error in label
    /// units (regression); the L2 penalty is not included.</summary>
    public double TrainLoss { get; }

    /// <summary>Example-weighted mean loss over the validation rows after this epoch; null without validation data.</summary>
    public double? ValidationLoss { get; }

    /// <summary>Wall time of the epoch, validation included.</summary>
    public TimeSpan Elapsed { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"epoch {Epoch}: {Iterations} iterations, {Rows} rows, train loss {TrainLoss:G5}" +
        (ValidationLoss is { } v ? $", validation loss {v:G5}" : "") + $", {Elapsed.TotalSeconds:F2} s";
}
