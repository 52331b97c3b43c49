namespace MlNetMiniBatch.Scoring;

/// <summary>A vector column's SlotNames annotation as text, read through the public annotation API only.</summary>
internal static class SlotNames
{
    /// <summary>The column's <paramref name="size"/> slot names, or null when it has none of that size.</summary>
    public static string[]? Read(DataViewSchema.Column column, int size)
    {
        if (column.Annotations.Schema.GetColumnOrNull(ScoreColumns.SlotNames) is not { Type: VectorDataViewType { ItemType: TextDataViewType } type }
            || type.Size != size)
            return null;
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.Annotations.GetValue(ScoreColumns.SlotNames, ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }
}
