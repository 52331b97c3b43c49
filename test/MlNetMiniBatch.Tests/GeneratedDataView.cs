using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests;

/// <summary>
/// A data view whose rows are computed from their index and never stored: a multiclass key label (3 classes) and a
/// dense feature vector. Shuffled cursors visit a permutation drawn from the given Random and record it, so tests can
/// see the order each epoch used; with <c>canShuffle: false</c> it streams like a file reader.
/// </summary>
internal sealed class GeneratedDataView : IDataView
{
    private readonly long _rows;
    private readonly int _features;
    private readonly bool _canShuffle;

    public GeneratedDataView(long rows, int features, bool canShuffle)
    {
        _rows = rows;
        _features = features;
        _canShuffle = canShuffle;
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Label", new KeyDataViewType(typeof(uint), 3));
        builder.AddColumn("Features", new VectorDataViewType(NumberDataViewType.Single, features));
        Schema = builder.ToSchema();
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => _canShuffle;

    /// <summary>Row order of each cursor opened so far.</summary>
    public List<long[]> Orders { get; } = new();

    public long? GetRowCount() => _rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        long[]? order = null;
        if (rand is not null && _canShuffle)
        {
            order = Enumerable.Range(0, (int)_rows).Select(i => (long)i).ToArray();
            rand.Shuffle(order);
            Orders.Add(order);
        }
        return new Cursor(this, order);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => new[] { GetRowCursor(columnsNeeded, rand) };

    /// <summary>Feature j of row i: a smooth function of the row's class plus a deterministic wobble.</summary>
    public static float Feature(long row, int j) => (row % 3 == j % 3 ? 1f : 0f) + 0.3f * MathF.Sin(row * 0.7f + j);

    private sealed class Cursor(GeneratedDataView view, long[]? order) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => view.Schema;
        public override long Position => _position;
        public override long Batch => 0;
        private long Row => order is null ? _position : order[_position];

        public override bool MoveNext() => ++_position < view._rows;

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)Row, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index == 0)
                return (ValueGetter<TValue>)(Delegate)(ValueGetter<uint>)((ref uint v) => v = (uint)(Row % 3) + 1);
            return (ValueGetter<TValue>)(Delegate)(ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
            {
                var editor = VBufferEditor.Create(ref v, view._features);
                for (int j = 0; j < view._features; j++) editor.Values[j] = Feature(Row, j);
                v = editor.Commit();
            });
        }
    }
}
