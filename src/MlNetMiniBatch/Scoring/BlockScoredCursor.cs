using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Scoring;

/// <summary>
/// The cursor behind <c>Transform</c>: reads up to <see cref="MaxBlockRows"/> rows ahead, scores them as one batch through
/// the same GEMM kernels as training (far faster than one matrix-vector product per row), then serves them one by one,
/// with the pass-through input columns taken from per-column buffers filled while reading ahead.
/// </summary>
internal sealed class BlockScoredCursor : DataViewRowCursor
{
    internal const int MaxBlockRows = 64;

    // A block holds every layer's values for each of its rows, the dense features included: wide inputs (hashed
    // n-grams, 2^25 slots) get fewer rows, down to one, so a block stays near 4 MB instead of 64 dense rows.
    private const long BlockFloats = 1 << 20;

    private readonly int _blockRows;

    private readonly DataViewRowCursor _input;
    private readonly NeuralNetworkModelParameters _model;
    private readonly int _inputCount;
    private readonly bool[] _activeOutputs;
    private readonly ColumnBuffer?[] _inputBuffers;
    private readonly ValueGetter<VBuffer<float>>? _getFeatures;
    private readonly ValueGetter<DataViewRowId> _getId;
    private readonly float[] _features, _outputs;
    private readonly long[] _batches;
    private readonly DataViewRowId[] _ids;
    private readonly LayerBuffers _buffers;
    private VBuffer<float> _featureBuffer;
    private int _filled, _current = -1;
    private long _position = -1;

    public BlockScoredCursor(DataViewRowCursor input, DataViewSchema outputSchema, DataViewSchema.Column featureColumn,
        NeuralNetworkModelParameters model, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        _input = input;
        _model = model;
        Schema = outputSchema;
        _inputCount = input.Schema.Count;
        _blockRows = BlockRows(model.Layout);
        _activeOutputs = new bool[outputSchema.Count - _inputCount];
        _inputBuffers = new ColumnBuffer?[_inputCount];
        foreach (var column in activeColumns)
        {
            if (column.Index >= _inputCount)
                _activeOutputs[column.Index - _inputCount] = true;
            else
                _inputBuffers[column.Index] = ColumnBuffer.Create(input, input.Schema[column.Index], _blockRows);
        }
        // Without an active score column the features were not asked of the input, and nothing is scored.
        _getFeatures = _activeOutputs.Any(a => a) ? input.GetGetter<VBuffer<float>>(featureColumn) : null;
        _getId = input.GetIdGetter();
        _features = new float[_blockRows * model.InputSize];
        _outputs = new float[_blockRows * model.ScoredValuesPerRow];
        _batches = new long[_blockRows];
        _ids = new DataViewRowId[_blockRows];
        _buffers = new LayerBuffers(model.Layout, model.Activation, _blockRows);
    }

    /// <summary>Rows read ahead per block for a network of this shape.</summary>
    internal static int BlockRows(NetworkLayout layout) => (int)Math.Clamp(BlockFloats / layout.Sizes.Sum(s => (long)s), 1, MaxBlockRows);

    public override DataViewSchema Schema { get; }

    public override long Position => _position;

    public override long Batch => _current >= 0 ? _batches[_current] : 0;

    public override bool MoveNext()
    {
        if (_current + 1 >= _filled && !ReadBlock())
            return false;
        _current++;
        _position++;
        return true;
    }

    private bool ReadBlock()
    {
        _filled = 0;
        _current = -1;
        int d = _model.InputSize;
        while (_filled < _blockRows && _input.MoveNext())
        {
            foreach (var buffer in _inputBuffers)
                buffer?.Capture(_filled);
            _batches[_filled] = _input.Batch;
            _getId(ref _ids[_filled]);
            if (_getFeatures is not null)
            {
                _getFeatures(ref _featureBuffer);
                if (_featureBuffer.Length != d)
                    throw new InvalidOperationException($"A row has {_featureBuffer.Length} features, but the model was trained on {d}.");
                _featureBuffer.CopyTo(_features.AsSpan(_filled * d, d));
            }
            _filled++;
        }
        if (_filled > 0 && _getFeatures is not null)
            _model.Score(_features, _filled, _buffers, _outputs);
        return _filled > 0;
    }

    public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = _ids[_current];

    public override bool IsColumnActive(DataViewSchema.Column column) => column.Index < _inputCount
        ? _inputBuffers[column.Index] is not null
        : _activeOutputs[column.Index - _inputCount];

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        if (!IsColumnActive(column))
            throw new InvalidOperationException($"Column '{column.Name}' was not requested when this cursor was created.");
        var getter = column.Index < _inputCount
            ? _inputBuffers[column.Index]!.Getter(() => _current)
            : OutputGetter(column.Name);
        return getter as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}.");
    }

    private Delegate OutputGetter(string name) => OutputGetters.Create(_model, name, _outputs, () => _current);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _input.Dispose();
        base.Dispose(disposing);
    }
}
