namespace MlNetMiniBatch.Training;

/// <summary>A data view plus how to read it: its columns, class weights and, with a validation split, which side.</summary>
internal sealed class DataSource(IDataView data, TrainingColumns columns, NeuralNetworkOptions options, ValidationSplit? split, bool heldOutSide, string name)
{
    public IDataView Data => data;

    public bool CanShuffle => data.CanShuffle;

    private long _rowsRead;

    public BatchReader Open(int? shuffleSeed, float labelMean, float labelStd)
    {
        _rowsRead = 0;
        try
        {
            return new(data, columns, shuffleSeed is { } seed && data.CanShuffle ? new Random(seed) : null, options.SkipInvalidRows,
                labelMean, labelStd, options.ClassWeights, split, heldOutSide);
        }
        catch (Exception e) when (DataReadException.IsSourceFailure(e))
        {
            throw DataReadException.Failed(name, 0, e);
        }
    }

    /// <summary>Reads the next batch; at an invalid row, scans the data once more to report how many rows are bad.
    /// Whatever else the cursor throws is the source failing (a dropped connection, an unconvertible value), reported
    /// with the data's name and the rows read so far.</summary>
    public bool Read(BatchReader reader, Batch batch, int batchSize)
    {
        try
        {
            bool any = reader.Read(batch, batchSize);
            _rowsRead += batch.Count;
            return any;
        }
        catch (InvalidRowException)
        {
            throw DataScans.InvalidRows(data, columns, name);
        }
        catch (Exception e) when (DataReadException.IsConversionFailure(e))
        {
            throw DataReadException.WrongType(data, columns, name, _rowsRead, e);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw DataReadException.Failed(name, _rowsRead, e);
        }
    }
}
