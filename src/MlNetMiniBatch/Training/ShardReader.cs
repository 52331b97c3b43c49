namespace MlNetMiniBatch.Training;

/// <summary>
/// One rank's rows of a pass that every rank reads in the same order: of each global batch of the inner reader, the
/// rows [start, end). The inner reader fills a whole global batch, reading every row, so the batch boundaries, and
/// which rows each rank gets, are the same on every rank even when invalid rows are skipped; a rank whose share of a
/// batch is empty (the last, short batch) gets an empty batch and still returns true, as the pass is not over for the
/// others. <see cref="PassOverShardReader"/> reads only the rank's own rows where the boundaries allow it.
/// </summary>
internal sealed class ShardReader(IBatchReader inner, Batch whole, int start, int end) : IBatchReader
{
    public long SkippedRows => inner.SkippedRows;

    public bool CanPassOver => inner.CanPassOver;

    public int PassOver(int rows) => inner.PassOver(rows);

    /// <param name="batchSize">The global batch size: the rows every rank's reader consumes per call.</param>
    public bool Read(Batch batch, int batchSize)
    {
        if (!inner.Read(whole, batchSize))
        {
            batch.Count = 0;
            return false;
        }
        // Every rank reads every row here, so every row's features are checked too.
        whole.GatherFeatures(threads: 1);
        int from = Math.Min(start, whole.Count), rows = Math.Min(end, whole.Count) - from, d = whole.FeatureCount, k = whole.TargetCount;
        if (rows > batch.Capacity)
            batch.Grow(rows);
        whole.Features.AsSpan(from * d, rows * d).CopyTo(batch.Features);
        whole.Targets.AsSpan(from * k, rows * k).CopyTo(batch.Targets);
        whole.Weights.AsSpan(from, rows).CopyTo(batch.Weights);
        batch.Count = rows;
        return true;
    }

    public void Dispose() => inner.Dispose();
}
