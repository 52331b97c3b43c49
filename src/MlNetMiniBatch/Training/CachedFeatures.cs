using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Kernels;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Reads the feature column of a filled CacheDataView in place: each row is copied once, from the cache's stored
/// values straight into the batch row, in the same pass as the finite check. The feature getter instead copies the
/// row into a VBuffer first, which the batch copy then reads again; on a shuffled pass that extra copy and the
/// getter's per-row work cost about a third of the reader's time. The cursor still decides the order (and waits
/// for rows); its row id is the cache's row index.
/// The copy can also be left for later (<see cref="Gather"/>): the reader then only notes each row's cache index, and
/// the compute threads copy the batch together before its forward pass. Copying is almost all of a cached read, and
/// a reader thread doing it beside as many compute threads as cores takes a core's time slices away from the GEMMs.
/// </summary>
internal sealed class CachedFeatures
{
    /// <summary>Rows one pool item copies: a few microseconds, so that claiming items costs little beside them.</summary>
    private const int RowsPerItem = 16;

    private readonly CachedVectorColumn _column;
    private readonly ValueGetter<DataViewRowId> _getRowIndex;
    private DataViewRowId _rowIndex;
    private Batch? _batch; // the batch being gathered on the worker pool
    private int _nonFinite;

    private CachedFeatures(CachedVectorColumn column, DataViewRowCursor cursor)
    {
        _column = column;
        _getRowIndex = cursor.GetIdGetter();
    }

    /// <summary>The in-place reader for <paramref name="cursor"/>'s rows, or null when <paramref name="data"/> is not a
    /// filled CacheDataView holding <paramref name="features"/> as <paramref name="featureCount"/> floats a row.</summary>
    public static CachedFeatures? TryCreate(IDataView data, DataViewSchema.Column features, int featureCount, DataViewRowCursor cursor)
        => CachedVectorColumn.TryOpen(data, features) is { } column && column.Length == featureCount ? new CachedFeatures(column, cursor) : null;

    /// <summary>The cursor's current row, as an index into the cache.</summary>
    public int CurrentRow()
    {
        _getRowIndex(ref _rowIndex);
        return checked((int)_rowIndex.Low);
    }

    /// <summary>Writes the current row's features densely to <paramref name="row"/>; false when one is NaN or infinite
    /// (then <paramref name="row"/> holds whatever was copied before the check failed).</summary>
    public bool TryRead(Span<float> row) => TryCopy(CurrentRow(), row);

    /// <summary>Copies the features of every row of <paramref name="batch"/> from the cache rows it noted, on up to
    /// <paramref name="threads"/> threads, in items of <see cref="RowsPerItem"/> rows; the same values whichever thread
    /// copies a row.</summary>
    /// <exception cref="InvalidRowException">A row has a NaN or infinite feature.</exception>
    public void Gather(Batch batch, int threads)
    {
        _nonFinite = 0;
        int items = threads > 1 ? Math.Min(WorkerPool.MaxItems, (batch.Count + RowsPerItem - 1) / RowsPerItem) : 1;
        if (items <= 1)
        {
            CopyRows(batch, 0, batch.Count);
        }
        else
        {
            _batch = batch;
            var handle = GCHandle.Alloc(this);
            try
            {
                WorkerPool.Shared.Run(new RowWork { Features = GCHandle.ToIntPtr(handle) }, items, threads);
            }
            finally
            {
                handle.Free();
                _batch = null;
            }
        }
        if (_nonFinite != 0)
            throw new InvalidRowException(RowProblem.NonFiniteFeature);
    }

    /// <summary>
    /// Copies rows [start, end), after touching the first and the last cache line of each of them and of the next
    /// item's rows. The rows lie anywhere in a cache of hundreds of megabytes, a page or two apiece: copied cold, most
    /// of their time is the address translation, which the hardware prefetcher cannot start across a jump. Touched
    /// together, the rows' page walks overlap one another, and the next item's overlap this item's copy (a thread's
    /// items are consecutive: the pool gives each thread a contiguous run).
    /// </summary>
    private void CopyRows(Batch batch, int start, int end)
    {
        int d = batch.FeatureCount;
        var rows = batch.CacheRows;
        TouchRows(batch, start, Math.Min(batch.Count, end + RowsPerItem));
        if (start < end)
            Prefetch(rows[start]);
        for (int i = start; i < end; i++)
        {
            // Asking for the next row while copying this one overlaps their memory latencies.
            if (i + 1 < end)
                Prefetch(rows[i + 1]);
            if (!TryCopy(rows[i], batch.Features.AsSpan(i * d, d)))
                Volatile.Write(ref _nonFinite, 1);
        }
    }

    /// <summary>Touches the first and the last cache line of each row of [start, end) (a row spans at most two pages).</summary>
    private unsafe void TouchRows(Batch batch, int start, int end)
    {
        if (!Sse.IsSupported)
            return;
        var rows = batch.CacheRows;
        for (int i = start; i < end; i++)
        {
            _column.Values(rows[i], out var head, out var tail);
            var last = tail.IsEmpty ? head : tail;
            if (last.IsEmpty)
                continue;
            fixed (float* h = head)
            fixed (float* l = last)
            {
                if (!head.IsEmpty)
                    Sse.Prefetch0(h);
                Sse.Prefetch0(l + last.Length - 1);
            }
        }
    }

    private unsafe void Prefetch(int index)
    {
        if (!Sse.IsSupported)
            return;
        _column.Values(index, out var head, out var tail);
        fixed (float* h = head)
        fixed (float* t = tail)
        {
            for (int i = 0; i < head.Length; i += 16)
                Sse.Prefetch0(h + i);
            for (int i = 0; i < tail.Length; i += 16)
                Sse.Prefetch0(t + i);
        }
    }

    /// <summary>Safe on any number of threads at once: the filled cache is only read.</summary>
    private bool TryCopy(int index, Span<float> row)
    {
        if (_column.Values(index, out var head, out var tail))
            return BatchReader.AllFinite(head, row) && BatchReader.AllFinite(tail, row.Slice(head.Length));
        if (!BatchReader.AllFinite(head) || !BatchReader.AllFinite(tail))
            return false;
        _column.Indices(index, out var indexHead, out var indexTail);
        row.Clear();
        // The values and the indices are stored apart, so the two may break across blocks at different places.
        for (int i = 0; i < head.Length + tail.Length; i++)
        {
            int slot = i < indexHead.Length ? indexHead[i] : indexTail[i - indexHead.Length];
            row[slot] = i < head.Length ? head[i] : tail[i - head.Length];
        }
        return true;
    }

    private struct RowWork : IParallelWork
    {
        public IntPtr Features;

        public readonly void Run(int index)
        {
            var features = (CachedFeatures)GCHandle.FromIntPtr(Features).Target!;
            var batch = features._batch!;
            int start = index * RowsPerItem;
            features.CopyRows(batch, start, Math.Min(batch.Count, start + RowsPerItem));
        }
    }
}
