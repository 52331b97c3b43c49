namespace MlNetMiniBatch;

/// <summary>
/// How well a multi-output regression predicts: each metric is the mean over the outputs of that output's metric, so
/// outputs count the same whatever their scale; <see cref="PerOutput"/> holds them one by one. Returned by
/// <c>mlContext.Regression.EvaluateMultiOutput</c>.
/// </summary>
public sealed class MultiOutputRegressionMetrics
{
    internal MultiOutputRegressionMetrics(IReadOnlyList<OutputRegressionMetrics> perOutput)
    {
        PerOutput = perOutput;
        MeanAbsoluteError = perOutput.Average(o => o.MeanAbsoluteError);
        MeanSquaredError = perOutput.Average(o => o.MeanSquaredError);
        RootMeanSquaredError = perOutput.Average(o => o.RootMeanSquaredError);
        RSquared = perOutput.Average(o => o.RSquared);
    }

    /// <summary>Mean over outputs of each output's mean absolute error, in label units.</summary>
    public double MeanAbsoluteError { get; }

    /// <summary>Mean over outputs of each output's mean squared error (the trainer's loss, in label units).</summary>
    public double MeanSquaredError { get; }

    /// <summary>Mean over outputs of each output's root mean squared error.</summary>
    public double RootMeanSquaredError { get; }

    /// <summary>Mean over outputs of each output's coefficient of determination; NaN when any output is constant.</summary>
    public double RSquared { get; }

    /// <summary>The metrics of each output, in the label's slot order.</summary>
    public IReadOnlyList<OutputRegressionMetrics> PerOutput { get; }
}

/// <summary>The regression metrics of one output of a multi-output regression.</summary>
public sealed class OutputRegressionMetrics
{
    internal OutputRegressionMetrics(int index, string name, double meanAbsoluteError, double meanSquaredError, double rSquared)
    {
        Index = index;
        Name = name;
        MeanAbsoluteError = meanAbsoluteError;
        MeanSquaredError = meanSquaredError;
        RootMeanSquaredError = Math.Sqrt(meanSquaredError);
        RSquared = rSquared;
    }

    /// <summary>The output's position in the label vector (0-based).</summary>
    public int Index { get; }

    /// <summary>The label's slot name for this output; its <see cref="Index"/> as text when the label has no SlotNames.</summary>
    public string Name { get; }

    /// <summary>Mean of |label − score|.</summary>
    public double MeanAbsoluteError { get; }

    /// <summary>Mean of (label − score)².</summary>
    public double MeanSquaredError { get; }

    /// <summary>√<see cref="MeanSquaredError"/>.</summary>
    public double RootMeanSquaredError { get; }

    /// <summary>1 − Σ(label − score)² / Σ(label − mean label)²; NaN when the label is constant.</summary>
    public double RSquared { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: MAE {MeanAbsoluteError:G4}, RMSE {RootMeanSquaredError:G4}, R² {RSquared:G4}";
}
