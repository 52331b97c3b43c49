namespace MlNetMiniBatch;

/// <summary>
/// How well a multi-label classifier's <c>PredictedLabel</c> and <c>Score</c> vectors match a vector-of-Boolean label,
/// over every row of the evaluated data (rows count equally; example weights are not used).
/// </summary>
public sealed class MultiLabelClassificationMetrics
{
    internal MultiLabelClassificationMetrics(long rows, double hammingLoss, double subsetAccuracy, double microF1,
        IReadOnlyList<MultiLabelPerLabelMetrics> perLabel)
    {
        Rows = rows;
        HammingLoss = hammingLoss;
        SubsetAccuracy = subsetAccuracy;
        MicroF1 = microF1;
        PerLabel = perLabel;
        MacroF1 = perLabel.Average(l => l.F1Score);
    }

    /// <summary>The number of rows evaluated.</summary>
    public long Rows { get; }

    /// <summary>The share of (row, label) pairs predicted wrongly: 0 is perfect.</summary>
    public double HammingLoss { get; }

    /// <summary>The share of rows whose every label is predicted rightly (exact match).</summary>
    public double SubsetAccuracy { get; }

    /// <summary>F1 of the true and false positives and false negatives pooled over all labels.</summary>
    public double MicroF1 { get; }

    /// <summary>The mean over labels of each label's <see cref="MultiLabelPerLabelMetrics.F1Score"/>.</summary>
    public double MacroF1 { get; }

    /// <summary>The metrics of each label, in the label vector's order.</summary>
    public IReadOnlyList<MultiLabelPerLabelMetrics> PerLabel { get; }
}
