namespace MlNetMiniBatch.Scoring;

/// <summary>
/// An input row (or cursor) with the model's output columns appended. Input columns pass straight through; output
/// columns come from a <see cref="RowScorer"/>. Serves both <c>Transform</c>'s cursors and the row-to-row mapper
/// behind <c>PredictionEngine</c>.
/// </summary>
internal sealed class ScoredCursor : DataViewRowCursor
{
    private readonly DataViewRow _input;
    private readonly RowScorer? _scorer;
    private readonly bool[] _activeOutputs;
    private readonly int _inputCount;
    private readonly bool _ownsInput;

    /// <param name="ownsInput">True for a cursor made for this wrapper (disposed with it); false for a caller's row.</param>
    public ScoredCursor(DataViewRow input, DataViewSchema outputSchema, DataViewSchema.Column featureColumn,
        NeuralNetworkModelParameters model, IEnumerable<DataViewSchema.Column> activeColumns, bool ownsInput)
    {
        _input = input;
        _ownsInput = ownsInput;
        Schema = outputSchema;
        _inputCount = input.Schema.Count;
        _activeOutputs = new bool[outputSchema.Count - _inputCount];
        foreach (var column in activeColumns)
            if (column.Index >= _inputCount)
                _activeOutputs[column.Index - _inputCount] = true;
        if (_activeOutputs.Any(a => a))
            _scorer = new RowScorer(input, featureColumn, model);
    }

    public override DataViewSchema Schema { get; }

    public override long Position => _input.Position;

    public override long Batch => _input.Batch;

    public override bool MoveNext() => _input is DataViewRowCursor cursor
        ? cursor.MoveNext()
        : throw new NotSupportedException("This scored row wraps a single row; it cannot move.");

    public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column) => column.Index < _inputCount
        ? _input.IsColumnActive(_input.Schema[column.Index])
        : _activeOutputs[column.Index - _inputCount];

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        if (column.Index < _inputCount)
            return _input.GetGetter<TValue>(_input.Schema[column.Index]);
        if (!IsColumnActive(column))
            throw new InvalidOperationException($"Column '{column.Name}' was not requested when this cursor was created.");
        return _scorer!.GetGetter(column.Name) as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}.");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsInput)
            _input.Dispose();
        base.Dispose(disposing);
    }
}
