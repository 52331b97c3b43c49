namespace MlNetMiniBatch.Training;

/// <summary>Where one pass's batches come from: a cursor over the data view (<see cref="BatchReader"/>) or the
/// streaming shuffle's temporary copy (<see cref="Shuffling.ShuffledReader"/>).</summary>
internal interface IBatchReader : IDisposable
{
    /// <summary>Fills the batch with up to <paramref name="batchSize"/> valid rows; false when the pass is over and
    /// nothing was read. Fewer rows than batchSize come only at the end of the pass.</summary>
    bool Read(Batch batch, int batchSize);

    /// <summary>Rows skipped as invalid (only with SkipInvalidRows; otherwise the first one throws).</summary>
    long SkippedRows { get; }

    /// <summary>Whether <see cref="PassOver"/> keeps <see cref="Read"/>'s batch boundaries: every row it passes over
    /// is one that Read would have put in a batch. False when invalid rows are skipped, as only reading a row tells.</summary>
    bool CanPassOver { get; }

    /// <summary>Moves past up to <paramref name="rows"/> rows of the pass without reading their features, label or
    /// weight; returns how many, fewer only at the end of the pass.</summary>
    int PassOver(int rows);
}
