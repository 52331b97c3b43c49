namespace MlNetMiniBatch.Training;

/// <summary>A data view plus how to read it: its columns, class weights and, with a validation split, which side.</summary>
internal sealed class DataSource(IDataView data, TrainingColumns columns, NeuralNetworkOptions options, ValidationSplit? split, bool heldOutSide, string name)
{
    public IDataView Data => data;

    public bool CanShuffle => data.CanShuffle;

    public BatchReader Open(int? shuffleSeed, float labelMean, float labelStd) => new(data, columns,
        shuffleSeed is { } seed && data.CanShuffle ? new Random(seed) : null, options.SkipInvalidRows, labelMean, labelStd,
        options.ClassWeights, split, heldOutSide);

    /// <summary>Reads the next batch; at an invalid row, scans the data once more to report how many rows are bad.</summary>
    public bool Read(BatchReader reader, Batch batch, int batchSize)
    {
        try
        {
            return reader.Read(batch, batchSize);
        }
        catch (InvalidRowException)
        {
            throw DataScans.InvalidRows(data, columns, name);
        }
    }
}
