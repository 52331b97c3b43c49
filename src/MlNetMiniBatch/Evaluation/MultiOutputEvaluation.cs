namespace MlNetMiniBatch.Evaluation;

/// <summary>
/// One pass over a scored view: per output, the label's running mean and sum of squared deviations (Welford, in double,
/// so a large label mean costs no precision) and the sums of squared and absolute errors. Memory does not grow with rows.
/// </summary>
internal static class MultiOutputEvaluation
{
    public static MultiOutputRegressionMetrics Evaluate(IDataView data, string labelColumnName, string scoreColumnName)
    {
        ArgumentNullException.ThrowIfNull(data);
        var label = Column(data.Schema, labelColumnName, "label", nameof(labelColumnName));
        var score = Column(data.Schema, scoreColumnName, "score", nameof(scoreColumnName));
        int k = ((VectorDataViewType)label.Type).Size;
        if (((VectorDataViewType)score.Type).Size != k)
            throw new ArgumentException(
                $"The score column '{score.Name}' has {((VectorDataViewType)score.Type).Size} values per row, but the label column '{label.Name}' has {k}; " +
                "score the data with the model trained on this label.", nameof(scoreColumnName));

        var mean = new double[k];
        var squares = new double[k];
        var squaredError = new double[k];
        var absoluteError = new double[k];
        long rows = 0;
        using (var cursor = data.GetRowCursor([label, score]))
        {
            var getLabel = cursor.GetGetter<VBuffer<float>>(label);
            var getScore = cursor.GetGetter<VBuffer<float>>(score);
            VBuffer<float> labels = default, scores = default;
            var y = new float[k];
            var p = new float[k];
            while (cursor.MoveNext())
            {
                getLabel(ref labels);
                getScore(ref scores);
                labels.CopyTo(y);
                scores.CopyTo(p);
                for (int j = 0; j < k; j++)
                    if (!float.IsFinite(y[j]))
                        throw new InvalidOperationException(
                            $"Row {rows} (0-based) of the label column '{label.Name}' has {y[j]} at element {j}; every label value must be a " +
                            "finite number. Remove such rows first (mlContext.Data.FilterRowsByMissingValues) or replace the values.");
                rows++;
                for (int j = 0; j < k; j++)
                {
                    double delta = y[j] - mean[j];
                    mean[j] += delta / rows;
                    squares[j] += delta * (y[j] - mean[j]);
                    double error = y[j] - (double)p[j];
                    squaredError[j] += error * error;
                    absoluteError[j] += Math.Abs(error);
                }
            }
        }
        if (rows == 0)
            throw new InvalidOperationException($"The data has no rows to evaluate on (label column '{label.Name}').");
        var names = Scoring.SlotNames.Read(label, k) ?? Scoring.SlotNames.Read(score, k);
        var perOutput = new OutputRegressionMetrics[k];
        for (int j = 0; j < k; j++)
            perOutput[j] = new OutputRegressionMetrics(j, names?[j] ?? $"{j}", absoluteError[j] / rows, squaredError[j] / rows,
                squares[j] > 0 ? 1 - squaredError[j] / squares[j] : double.NaN);
        return new MultiOutputRegressionMetrics(perOutput);
    }

    private static DataViewSchema.Column Column(DataViewSchema schema, string name, string role, string parameter)
    {
        var column = schema.GetColumnOrNull(name) ?? throw new ArgumentException(
            $"The {role} column '{name}' was not found (columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}). " +
            $"Pass its name as {parameter}.", parameter);
        if (column.Type is not VectorDataViewType { IsKnownSize: true } vector || vector.ItemType != NumberDataViewType.Single)
            throw new ArgumentException(
                $"The {role} column '{name}' has type {column.Type}, but multi-output regression metrics need a known-size vector of Single " +
                "(the label the model was trained on, and the Score column it outputs).", parameter);
        return column;
    }
}
