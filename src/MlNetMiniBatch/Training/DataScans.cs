using Microsoft.ML.Runtime;

namespace MlNetMiniBatch.Training;

/// <summary>Whole passes over the data that read no more than one row at a time: the regression label's
/// statistics before training, and the count of bad rows when training meets one. Both check the training's
/// cancellation token at every row, so cancelling stops them too.</summary>
internal static class DataScans
{
    /// <summary>Weighted mean and standard deviation of each target over the valid labels (Welford, in double); a row
    /// with any missing element counts for none, as training skips it. A constant target gets a deviation of 1.</summary>
    public static (float[] Mean, float[] StandardDeviation) LabelStatistics(IDataView data, TrainingColumns columns, CancellationToken cancellation)
    {
        var needed = columns.Weight is { } w ? new[] { columns.Label, w } : new[] { columns.Label };
        using var cursor = data.GetRowCursor(needed);
        var label = LabelGetter.Create(cursor, columns.Label, columns.ClassCount);
        var weight = columns.Weight is { } wc ? NumericGetter.Create(cursor, wc) : null;
        int k = columns.TargetCount;
        var y = new float[k];
        var mean = new double[k];
        var m2 = new double[k];
        double totalWeight = 0;
        float rowWeight = 1;
        while (cursor.MoveNext())
        {
            cancellation.ThrowIfCancellationRequested();
            weight?.Invoke(ref rowWeight);
            if (!label.TryGet(y) || !(rowWeight > 0 && float.IsFinite(rowWeight)))
                continue;
            totalWeight += rowWeight;
            for (int j = 0; j < k; j++)
            {
                double delta = y[j] - mean[j];
                mean[j] += rowWeight / totalWeight * delta;
                m2[j] += rowWeight * delta * (y[j] - mean[j]);
            }
        }
        var means = new float[k];
        var deviations = new float[k];
        for (int j = 0; j < k; j++)
        {
            double std = totalWeight > 0 ? Math.Sqrt(m2[j] / totalWeight) : 0;
            means[j] = (float)mean[j];
            deviations[j] = std > 1e-12 && double.IsFinite(std) ? (float)std : 1f;
        }
        return (means, deviations);
    }

    /// <summary>Counts the rows that cannot be trained on, in cursor order, and builds the error that reports them. With a
    /// validation split, only the rows on the given side are counted; the first bad row is still numbered in the whole view.</summary>
    public static InvalidOperationException InvalidRows(IDataView data, TrainingColumns columns, string dataName, CancellationToken cancellation,
        ValidationSplit? split = null, bool heldOutSide = false)
    {
        using var cursor = data.GetRowCursor(columns.All);
        var getId = split is null ? null : cursor.GetIdGetter();
        var features = cursor.GetGetter<VBuffer<float>>(columns.Features);
        var label = LabelGetter.Create(cursor, columns.Label, columns.ClassCount);
        var weight = columns.Weight is { } w ? NumericGetter.Create(cursor, w) : null;
        VBuffer<float> buffer = default;
        var labelValues = new float[columns.TargetCount];
        var counts = new Dictionary<RowProblem, long>();
        long first = -1, row = 0;
        int firstBadElement = -1;
        for (long position = 0; cursor.MoveNext(); position++)
        {
            cancellation.ThrowIfCancellationRequested();
            if (split is not null && !split.OnSide(heldOutSide, label, getId!))
                continue;
            row++;
            var problem = BatchReader.Check(features, label, weight, ref buffer, labelValues, out _);
            if (problem == RowProblem.None)
                continue;
            counts[problem] = counts.GetValueOrDefault(problem) + 1;
            if (first < 0)
            {
                first = position;
                firstBadElement = problem == RowProblem.MissingLabel ? label.BadElement : -1;
            }
        }
        long total = counts.Values.Sum();
        var parts = counts.Select(p => p.Key switch
        {
            RowProblem.NonFiniteFeature => $"{p.Value} with NaN or infinite values in feature column '{columns.Features.Name}'",
            RowProblem.MissingLabel when label.Count > 1 => $"{p.Value} with a NaN or infinite element in the vector label column '{columns.Label.Name}'",
            RowProblem.MissingLabel => $"{p.Value} with a missing or out-of-range label in column '{columns.Label.Name}'",
            _ => $"{p.Value} with a negative, NaN or infinite weight in column '{columns.Weight?.Name}'",
        });
        return new InvalidOperationException(
            $"The {dataName} data has {total} of {row} rows that cannot be trained on ({string.Join("; ", parts)}); " +
            $"the first is row {first} (0-based, in cursor order){(firstBadElement >= 0 ? $", at element {firstBadElement} of its label" : "")}. Fix the data (mlContext.Transforms.ReplaceMissingValues, " +
            "mlContext.Data.FilterRowsByMissingValues), or set NeuralNetworkOptions.SkipInvalidRows = true to skip such rows " +
            "(they are then counted in the log).");
    }
}
