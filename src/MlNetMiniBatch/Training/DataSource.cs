namespace MlNetMiniBatch.Training;

/// <summary>A data view plus how to read it: its columns, class weights and, with a validation split, which side.
/// Class weights apply to training data only (as in Keras), so validation metrics, early stopping and RestoreBestWeights
/// judge the same unweighted loss that ML.NET's Evaluate reports.</summary>
internal sealed class DataSource(IDataView data, TrainingColumns columns, NeuralNetworkOptions options, ValidationSplit? split, bool heldOutSide,
    string name, bool isTraining)
{
    public static DataSource Training(IDataView data, TrainingColumns columns, NeuralNetworkOptions options, ValidationSplit? split) =>
        new(data, columns, options, split, heldOutSide: false, "training", isTraining: true);

    public static DataSource Validation(IDataView data, TrainingColumns columns, NeuralNetworkOptions options) =>
        new(data, columns, options, null, heldOutSide: false, "validation", isTraining: false);

    /// <summary>The rows of the training data that the split holds out.</summary>
    public static DataSource HeldOut(IDataView data, TrainingColumns columns, NeuralNetworkOptions options, ValidationSplit split) =>
        new(data, columns, options, split, heldOutSide: true, "held-out validation", isTraining: false);

    /// <summary>What messages call this data: "training", "validation" or "held-out validation".</summary>
    public string Name => name;

    public IDataView Data => data;

    public bool CanShuffle => data.CanShuffle;

    public BatchReader Open(int? shuffleSeed, float labelMean, float labelStd) => new(data, columns,
        shuffleSeed is { } seed && data.CanShuffle ? new Random(seed) : null, options.SkipInvalidRows, labelMean, labelStd,
        isTraining ? options.ClassWeights : null, split, heldOutSide);

    /// <summary>Reads the next batch; at an invalid row, scans the data once more to report how many rows are bad.</summary>
    public bool Read(BatchReader reader, Batch batch, int batchSize)
    {
        try
        {
            return reader.Read(batch, batchSize);
        }
        catch (InvalidRowException)
        {
            throw DataScans.InvalidRows(data, columns, name, options.CancellationToken, split, heldOutSide);
        }
    }
}
