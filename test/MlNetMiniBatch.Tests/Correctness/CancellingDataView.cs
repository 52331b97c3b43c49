using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Correctness;

/// <summary>Passes another view through and cancels a token once its cursors together have moved a given number of
/// rows; it counts every move, so a test can tell how far a pass went after the cancellation.</summary>
internal sealed class CancellingDataView(IDataView inner, CancellationTokenSource cancellation, long cancelAfterRows) : IDataView
{
    private long _moves;

    /// <summary>Rows moved over by all cursors so far.</summary>
    public long Moves => Interlocked.Read(ref _moves);

    public bool CanShuffle => inner.CanShuffle;

    public DataViewSchema Schema => inner.Schema;

    public long? GetRowCount() => inner.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, inner.GetRowCursor(columnsNeeded, rand));

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private void Moved()
    {
        if (Interlocked.Increment(ref _moves) == cancelAfterRows)
            cancellation.Cancel();
    }

    private sealed class Cursor(CancellingDataView view, DataViewRowCursor inner) : DataViewRowCursor
    {
        public override DataViewSchema Schema => inner.Schema;
        public override long Position => inner.Position;
        public override long Batch => inner.Batch;

        public override bool MoveNext()
        {
            if (!inner.MoveNext())
                return false;
            view.Moved();
            return true;
        }

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => inner.GetGetter<TValue>(column);
        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
