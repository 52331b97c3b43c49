namespace MlNetMiniBatch;

/// <summary><c>mlContext.BinaryClassification.EvaluateMultiLabel</c>: metrics of a multi-label classifier, whose label,
/// <c>Score</c> and <c>PredictedLabel</c> are vectors of the same known size (one slot per label).</summary>
public static class MultiLabelEvaluation
{
    /// <summary>Hamming loss, subset accuracy, micro and macro F1, and each label's accuracy, precision, recall, F1 and AUC.</summary>
    /// <param name="catalog">The binary classification catalog.</param>
    /// <param name="data">Scored data, for example the output of a multi-label model's <c>Transform</c>.</param>
    /// <param name="labelColumnName">The true labels: a known-size vector of Boolean.</param>
    /// <param name="scoreColumnName">Per-label scores, higher meaning more likely true (logits or probabilities): a vector of Single
    /// of the label's size. Only the AUC reads it.</param>
    /// <param name="predictedLabelColumnName">The predictions: a vector of Boolean of the label's size.</param>
    public static MultiLabelClassificationMetrics EvaluateMultiLabel(this BinaryClassificationCatalog catalog, IDataView data,
        string labelColumnName = DefaultColumnNames.Label, string scoreColumnName = DefaultColumnNames.Score,
        string predictedLabelColumnName = DefaultColumnNames.PredictedLabel)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        var label = Column(data.Schema, labelColumnName, nameof(labelColumnName), BooleanDataViewType.Instance, size: null);
        int labels = ((VectorDataViewType)label.Type).Size;
        var score = Column(data.Schema, scoreColumnName, nameof(scoreColumnName), NumberDataViewType.Single, labels);
        var predicted = Column(data.Schema, predictedLabelColumnName, nameof(predictedLabelColumnName), BooleanDataViewType.Instance, labels);
        return MultiLabelEvaluator.Evaluate(data, label, score, predicted, LabelNames(label, labels));
    }

    private static DataViewSchema.Column Column(DataViewSchema schema, string name, string parameter, PrimitiveDataViewType itemType, int? size)
    {
        var column = schema.GetColumnOrNull(name) ?? throw new ArgumentException(
            $"The column '{name}' was not found in the scored data (columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}). " +
            $"Pass its name as {parameter}.", parameter);
        string wanted = size is { } k ? $"a vector of {k} {itemType} (one per label)" : $"a known-size vector of {itemType} (one per label)";
        if (column.Type is not VectorDataViewType { IsKnownSize: true } vector || vector.ItemType != itemType || (size is { } n && vector.Size != n))
            throw new ArgumentException(
                $"The column '{name}' has type {column.Type}, but multi-label evaluation needs {wanted}. " +
                "Score the data with a model trained on a vector-of-Boolean label, or pass the right column names.", parameter);
        return column;
    }

    private static string[] LabelNames(DataViewSchema.Column label, int labels)
    {
        var names = Enumerable.Range(0, labels).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var slotNames = Scoring.SlotNames.Read(label, labels);
        for (int i = 0; slotNames is not null && i < labels; i++)
            if (slotNames[i].Length > 0)
                names[i] = slotNames[i];
        return names;
    }
}
