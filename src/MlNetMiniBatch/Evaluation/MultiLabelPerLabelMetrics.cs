namespace MlNetMiniBatch;

/// <summary>One label's metrics within <see cref="MultiLabelClassificationMetrics"/>. A ratio whose denominator is 0
/// (precision with no predicted positive, recall with no true positive row, F1 with neither) is 0, as scikit-learn's
/// <c>zero_division=0</c>.</summary>
public sealed class MultiLabelPerLabelMetrics
{
    internal MultiLabelPerLabelMetrics(string name, long truePositives, long falsePositives, long falseNegatives, long trueNegatives,
        double areaUnderRocCurve)
    {
        Name = name;
        TruePositives = truePositives;
        FalsePositives = falsePositives;
        FalseNegatives = falseNegatives;
        TrueNegatives = trueNegatives;
        Accuracy = Ratio(truePositives + trueNegatives, truePositives + falsePositives + falseNegatives + trueNegatives);
        Precision = Ratio(truePositives, truePositives + falsePositives);
        Recall = Ratio(truePositives, truePositives + falseNegatives);
        F1Score = F1(truePositives, falsePositives, falseNegatives);
        AreaUnderRocCurve = areaUnderRocCurve;
    }

    /// <summary>The label's slot name (from the label column's SlotNames), or its index when the column has none.</summary>
    public string Name { get; }

    /// <summary>Rows whose label is true and predicted true.</summary>
    public long TruePositives { get; }

    /// <summary>Rows whose label is false but predicted true.</summary>
    public long FalsePositives { get; }

    /// <summary>Rows whose label is true but predicted false.</summary>
    public long FalseNegatives { get; }

    /// <summary>Rows whose label is false and predicted false.</summary>
    public long TrueNegatives { get; }

    /// <summary>The share of rows whose label is predicted rightly.</summary>
    public double Accuracy { get; }

    /// <summary>TP / (TP + FP).</summary>
    public double Precision { get; }

    /// <summary>TP / (TP + FN).</summary>
    public double Recall { get; }

    /// <summary>2·TP / (2·TP + FP + FN), the harmonic mean of precision and recall.</summary>
    public double F1Score { get; }

    /// <summary>The probability that a random true row scores above a random false row (ties count one half), from the
    /// <c>Score</c> column; NaN when the label is the same in every row, as the ROC curve is then undefined.</summary>
    public double AreaUnderRocCurve { get; }

    internal static double F1(long truePositives, long falsePositives, long falseNegatives) =>
        Ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives);

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;
}
