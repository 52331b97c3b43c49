namespace MlNetMiniBatch;

/// <summary>One pass over scored rows that counts each label's confusion matrix and keeps its scores for the AUC.</summary>
internal static class MultiLabelEvaluator
{
    public static MultiLabelClassificationMetrics Evaluate(IDataView data, DataViewSchema.Column label, DataViewSchema.Column score,
        DataViewSchema.Column predicted, string[] names)
    {
        int k = names.Length;
        // Per label: [true positives, false positives, false negatives, true negatives].
        var counts = new long[k, 4];
        // The exact AUC needs every score; one float and one bool per (row, label) is the size of the scored columns.
        var scores = new List<float>[k];
        var truths = new List<bool>[k];
        for (int j = 0; j < k; j++)
        {
            scores[j] = [];
            truths[j] = [];
        }
        long rows = 0, exactRows = 0, wrongPairs = 0;
        VBuffer<bool> labelValues = default, predictedValues = default;
        VBuffer<float> scoreValues = default;
        bool[] truth = new bool[k], prediction = new bool[k];
        float[] rowScores = new float[k];
        using (var cursor = data.GetRowCursor([label, score, predicted]))
        {
            var labelGetter = cursor.GetGetter<VBuffer<bool>>(label);
            var scoreGetter = cursor.GetGetter<VBuffer<float>>(score);
            var predictedGetter = cursor.GetGetter<VBuffer<bool>>(predicted);
            while (cursor.MoveNext())
            {
                labelGetter(ref labelValues);
                predictedGetter(ref predictedValues);
                scoreGetter(ref scoreValues);
                labelValues.CopyTo(truth);
                predictedValues.CopyTo(prediction);
                scoreValues.CopyTo(rowScores);
                int wrong = 0;
                for (int j = 0; j < k; j++)
                {
                    if (float.IsNaN(rowScores[j]))
                        throw new InvalidOperationException(
                            $"The score column '{score.Name}' is NaN in row {rows}, label '{names[j]}'; the AUC needs a score in every row. " +
                            "Check the model's input features for NaN or infinite values.");
                    counts[j, truth[j] ? (prediction[j] ? 0 : 2) : (prediction[j] ? 1 : 3)]++;
                    if (truth[j] != prediction[j])
                        wrong++;
                    scores[j].Add(rowScores[j]);
                    truths[j].Add(truth[j]);
                }
                wrongPairs += wrong;
                if (wrong == 0)
                    exactRows++;
                rows++;
            }
        }
        if (rows == 0)
            throw new ArgumentException("The scored data has no rows; multi-label metrics need at least one.", nameof(data));
        var perLabel = new MultiLabelPerLabelMetrics[k];
        long tp = 0, fp = 0, fn = 0;
        for (int j = 0; j < k; j++)
        {
            perLabel[j] = new MultiLabelPerLabelMetrics(names[j], counts[j, 0], counts[j, 1], counts[j, 2], counts[j, 3],
                AreaUnderRocCurve(scores[j], truths[j]));
            tp += counts[j, 0];
            fp += counts[j, 1];
            fn += counts[j, 2];
        }
        return new MultiLabelClassificationMetrics(rows, (double)wrongPairs / (rows * k), (double)exactRows / rows,
            MultiLabelPerLabelMetrics.F1(tp, fp, fn), perLabel);
    }

    /// <summary>The Mann–Whitney statistic: over the rows sorted by score, each true row counts the false rows below it,
    /// and the false rows of its own score one half each.</summary>
    internal static double AreaUnderRocCurve(List<float> scores, List<bool> truths)
    {
        float[] keys = [.. scores];
        bool[] positive = [.. truths];
        Array.Sort(keys, positive);
        double area = 0;
        long positives = 0, negativesBelow = 0;
        for (int start = 0; start < keys.Length;)
        {
            int end = start;
            long groupPositives = 0, groupNegatives = 0;
            for (; end < keys.Length && keys[end] == keys[start]; end++)
            {
                if (positive[end])
                    groupPositives++;
                else
                    groupNegatives++;
            }
            area += groupPositives * (negativesBelow + 0.5 * groupNegatives);
            positives += groupPositives;
            negativesBelow += groupNegatives;
            start = end;
        }
        return positives == 0 || negativesBelow == 0 ? double.NaN : area / ((double)positives * negativesBelow);
    }
}
