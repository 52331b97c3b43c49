namespace MlNetMiniBatch;

/// <summary>
/// Loss and the task's headline metrics over one pass of rows, every row counted with its example weight (so a short
/// last batch weighs as much as its rows, not as much as a full batch). Metrics that do not apply to the task are null.
/// </summary>
public sealed class EpochMetrics
{
    internal EpochMetrics(double loss, double? accuracy = null, double? macroAccuracy = null, double? areaUnderRocCurve = null,
        double? rootMeanSquaredError = null, double? rSquared = null)
    {
        Loss = loss;
        Accuracy = accuracy;
        MacroAccuracy = macroAccuracy;
        AreaUnderRocCurve = areaUnderRocCurve;
        RootMeanSquaredError = rootMeanSquaredError;
        RSquared = rSquared;
    }

    /// <summary>Weighted mean loss: cross-entropy (multiclass), log-loss (binary), squared error in label units (regression).</summary>
    public double Loss { get; }

    /// <summary>Fraction of rows predicted right (classification; ML.NET's micro-accuracy).</summary>
    public double? Accuracy { get; }

    /// <summary>Mean over classes of each class's accuracy (multiclass; ML.NET's macro-accuracy).</summary>
    public double? MacroAccuracy { get; }

    /// <summary>Area under the ROC curve (binary), from a 65,536-bin histogram of probabilities (error below 1e-4).</summary>
    public double? AreaUnderRocCurve { get; }

    /// <summary>Root mean squared error in label units (regression).</summary>
    public double? RootMeanSquaredError { get; }

    /// <summary>Coefficient of determination (regression).</summary>
    public double? RSquared { get; }

    /// <summary>The value of <paramref name="metric"/>, or null when the task does not have it.</summary>
    public double? Get(NeuralNetworkMetric metric) => metric switch
    {
        NeuralNetworkMetric.Loss => Loss,
        NeuralNetworkMetric.Accuracy => Accuracy,
        NeuralNetworkMetric.MacroAccuracy => MacroAccuracy,
        NeuralNetworkMetric.AreaUnderRocCurve => AreaUnderRocCurve,
        NeuralNetworkMetric.RootMeanSquaredError => RootMeanSquaredError,
        NeuralNetworkMetric.RSquared => RSquared,
        _ => null,
    };

    /// <inheritdoc/>
    public override string ToString()
    {
        var parts = new List<string> { $"loss {Loss:G5}" };
        if (Accuracy is { } a) parts.Add($"accuracy {a:F4}");
        if (MacroAccuracy is { } m) parts.Add($"macro accuracy {m:F4}");
        if (AreaUnderRocCurve is { } auc) parts.Add($"AUC {auc:F4}");
        if (RootMeanSquaredError is { } rmse) parts.Add($"RMSE {rmse:G5}");
        if (RSquared is { } r2) parts.Add($"R² {r2:F4}");
        return string.Join(", ", parts);
    }
}

/// <summary>A metric that early stopping and reduce-on-plateau can watch.</summary>
public enum NeuralNetworkMetric
{
    /// <summary>The loss (lower is better). The default.</summary>
    Loss,
    /// <summary>Accuracy (higher is better; classification).</summary>
    Accuracy,
    /// <summary>Macro accuracy (higher is better; multiclass).</summary>
    MacroAccuracy,
    /// <summary>Area under the ROC curve (higher is better; binary).</summary>
    AreaUnderRocCurve,
    /// <summary>Root mean squared error (lower is better; regression).</summary>
    RootMeanSquaredError,
    /// <summary>R² (higher is better; regression).</summary>
    RSquared,
}

/// <summary>Why training ended.</summary>
public enum TrainingStopReason
{
    /// <summary>All requested epochs ran.</summary>
    Completed,
    /// <summary>The monitored metric did not improve for EarlyStoppingPatience epochs.</summary>
    EarlyStopping,
    /// <summary>The OnEpochEnd callback asked to stop.</summary>
    Callback,
}
