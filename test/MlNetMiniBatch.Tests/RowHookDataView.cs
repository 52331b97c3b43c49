using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests;

/// <summary>
/// Passes a view through unchanged and, once armed, runs an action when a cursor has moved a given number of rows
/// further: a way to make something happen to the source (cancel a token, drop a connection) at a known point of a
/// known pass. It counts every move, so a test can also tell how far a pass went afterwards, and, for one column, every
/// call of its getters, so a test can tell which rows were read rather than passed over.
/// </summary>
internal sealed class RowHookDataView(IDataView source) : IDataView
{
    private readonly object _gate = new();
    private int _rowsLeft = -1;
    private Action? _action;
    private long _moves;
    private string? _countedColumn;
    private long _getterCalls;

    /// <summary>Rows moved over by all cursors so far.</summary>
    public long Moves => Interlocked.Read(ref _moves);

    /// <summary>Calls so far of the getters of the column given to <see cref="CountGetterCalls"/>, over all cursors.</summary>
    public long GetterCalls => Interlocked.Read(ref _getterCalls);

    /// <summary>Counts every call of the getters of <paramref name="column"/> that cursors opened from now on make.</summary>
    public RowHookDataView CountGetterCalls(string column)
    {
        _countedColumn = column;
        return this;
    }

    /// <summary>Runs <paramref name="action"/> (once) when <paramref name="rows"/> more rows have been moved to.</summary>
    public void Arm(int rows, Action action)
    {
        lock (_gate)
            (_rowsLeft, _action) = (rows, action);
    }

    public bool CanShuffle => source.CanShuffle;

    public DataViewSchema Schema => source.Schema;

    public long? GetRowCount() => source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, source.GetRowCursor(columnsNeeded, rand));

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private void Moved()
    {
        Interlocked.Increment(ref _moves);
        Action? due = null;
        lock (_gate)
        {
            if (_rowsLeft > 0 && --_rowsLeft == 0)
                (due, _action) = (_action, null);
        }
        due?.Invoke();
    }

    private sealed class Cursor(RowHookDataView view, DataViewRowCursor inner) : DataViewRowCursor
    {
        public override DataViewSchema Schema => inner.Schema;
        public override long Position => inner.Position;
        public override long Batch => inner.Batch;
        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var getter = inner.GetGetter<TValue>(column);
            if (column.Name != view._countedColumn)
                return getter;
            return (ref TValue value) =>
            {
                Interlocked.Increment(ref view._getterCalls);
                getter(ref value);
            };
        }
        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool MoveNext()
        {
            bool moved = inner.MoveNext();
            if (moved)
                view.Moved();
            return moved;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
