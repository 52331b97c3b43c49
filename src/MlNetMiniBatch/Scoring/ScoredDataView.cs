namespace MlNetMiniBatch.Scoring;

/// <summary>The data view returned by <c>Transform</c>: the input, lazily scored row by row as cursors move.</summary>
internal sealed partial class ScoredDataView : IDataView
{
    private readonly IDataView _input;
    private readonly NeuralNetworkPredictionTransformer _transformer;

    public ScoredDataView(IDataView input, NeuralNetworkPredictionTransformer transformer)
    {
        _input = input;
        _transformer = transformer;
        Schema = transformer.GetOutputSchema(input.Schema);
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => _input.CanShuffle;

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var active = columnsNeeded.ToArray();
        return Wrap(_input.GetRowCursor(InputColumns(active), rand), active);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        var active = columnsNeeded.ToArray();
        return _input.GetRowCursorSet(InputColumns(active), n, rand).Select(c => Wrap(c, active)).ToArray();
    }

    /// <summary>Block scoring reads rows ahead, so it needs a deep copy of every pass-through value; a column that
    /// cannot be copied (a reference type other than text) is served straight from the input, row by row.</summary>
    private DataViewRowCursor Wrap(DataViewRowCursor input, DataViewSchema.Column[] active)
    {
        var features = _input.Schema[_transformer.FeatureColumnName];
        return active.All(c => c.Index >= _input.Schema.Count || ColumnBuffer.CanBuffer(c.Type))
            ? new BlockScoredCursor(input, Schema, features, _transformer.Model, active)
            : new ScoredCursor(input, Schema, features, _transformer.Model, active, ownsInput: true);
    }

    private IEnumerable<DataViewSchema.Column> InputColumns(DataViewSchema.Column[] active)
        => ScoringDependencies.InputColumns(_input.Schema, _transformer.FeatureColumnName, active);
}

/// <summary>Which input columns a set of output columns needs: pass-through columns themselves, and the features
/// for any score column.</summary>
internal static class ScoringDependencies
{
    public static IEnumerable<DataViewSchema.Column> InputColumns(DataViewSchema input, string featureColumnName,
        IEnumerable<DataViewSchema.Column> outputColumns)
    {
        var needed = new HashSet<int>();
        foreach (var column in outputColumns)
            needed.Add(column.Index < input.Count ? column.Index : input[featureColumnName].Index);
        return needed.Order().Select(i => input[i]);
    }
}
