namespace MlNetMiniBatch.Training;

/// <summary>
/// One rank's rows [start, end) of each global batch of a pass that every rank reads in the same order, reading only
/// those: the other ranks' rows are passed over with the cursor (<see cref="IBatchReader.PassOver"/>), their getters
/// never called. Every row counts toward its batch, so the boundaries are <see cref="ShardReader"/>'s and the rank trains
/// the same rows, bit for bit; an invalid row stops training only on the rank whose share holds it. A rank whose share
/// of a batch is empty still returns true while any rank's share is not, as the pass is not over for the others.
/// </summary>
internal sealed class PassOverShardReader(IBatchReader inner, int start, int end) : IBatchReader
{
    public long SkippedRows => inner.SkippedRows;

    public bool CanPassOver => inner.CanPassOver;

    public int PassOver(int rows) => inner.PassOver(rows);

    /// <param name="batchSize">The global batch size: the rows every rank's reader consumes per call.</param>
    public bool Read(Batch batch, int batchSize)
    {
        batch.Count = 0;
        int before = inner.PassOver(start);
        if (before < start)
            return before > 0;
        if (end > start && !inner.Read(batch, end - start))
            return before > 0;
        if (batch.Count < end - start)
            return true;
        int after = inner.PassOver(batchSize - end);
        return before + batch.Count + after > 0;
    }

    public void Dispose() => inner.Dispose();
}
