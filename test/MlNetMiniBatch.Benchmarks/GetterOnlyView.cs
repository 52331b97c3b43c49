using Microsoft.ML;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>The same rows and cursors as the view inside, but not a CacheDataView: the trainer reads them through the
/// getters, as it did before it read a cache's stored columns in place, so one run can time both paths.</summary>
internal sealed class GetterOnlyView(IDataView inner) : IDataView
{
    public bool CanShuffle => inner.CanShuffle;

    public DataViewSchema Schema => inner.Schema;

    public long? GetRowCount() => inner.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        inner.GetRowCursor(columnsNeeded, rand);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        inner.GetRowCursorSet(columnsNeeded, n, rand);
}
