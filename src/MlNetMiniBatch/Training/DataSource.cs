using Microsoft.ML.Runtime;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training.Shuffling;

namespace MlNetMiniBatch.Training;

/// <summary>A data view plus how to read it: its columns, class weights and, with a validation split, which side.
/// A training source over a view that cannot shuffle holds the streaming shuffle's copy (<see cref="PrepareShuffle"/>)
/// and deletes it on dispose. Class weights apply to training data only (as in Keras), so validation metrics, early
/// stopping and RestoreBestWeights judge the same unweighted loss that ML.NET's Evaluate reports.</summary>
internal sealed class DataSource(IDataView data, TrainingColumns columns, NeuralNetworkOptions options, ValidationSplit? split, bool heldOutSide,
    string name, bool isTraining) : IDisposable
{
    private ShuffleStore? _store;

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

    /// <summary>The streaming shuffle's copy, once dealt; null when the view shuffles itself or Shuffle is off.</summary>
    public ShuffleStore? Streamed => _store;

    private long _rowsRead;


    /// <param name="gatherLater">Whether the batches may come with their feature copy left to <see cref="Gather"/>.</param>
    public IBatchReader Open(int? shuffleSeed, TargetScaling scaling, bool gatherLater = false)
    {
        _rowsRead = 0;
        if (shuffleSeed is { } key && _store is not null)
            return new ShuffledReader(_store, key);
        try
        {
            // A vector label's ClassWeights weigh each label's positive term in its task's loss, not the row.
            var rowClassWeights = isTraining && columns.TargetCount == 1 ? options.ClassWeights : null;
            return new BatchReader(data, columns, shuffleSeed is { } seed && data.CanShuffle ? new Random(seed) : null, options.SkipInvalidRows,
                scaling, rowClassWeights, split, heldOutSide, gatherLater);
        }
        catch (Exception e) when (DataReadException.IsSourceFailure(e))
        {
            throw DataReadException.Failed(name, 0, e);
        }
    }

    /// <summary>Reads the next batch; at an invalid row, scans the data once more to report how many rows are bad.
    /// Whatever else the cursor throws is the source failing (a dropped connection, an unconvertible value), reported
    /// with the data's name and the rows read so far.</summary>
    public bool Read(IBatchReader reader, Batch batch, int batchSize)
    {
        try
        {
            bool any = reader.Read(batch, batchSize);
            _rowsRead += batch.Count;
            return any;
        }
        catch (InvalidRowException)
        {
            throw DataScans.InvalidRows(data, columns, name, options.CancellationToken, split, heldOutSide);
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

    /// <summary>Copies a batch's pending features (<see cref="Batch.GatherFeatures"/>) on up to <paramref name="threads"/>
    /// threads; a NaN or infinite one is reported as <see cref="Read"/> reports it.</summary>
    public void Gather(Batch batch, int threads)
    {
        try
        {
            batch.GatherFeatures(threads);
        }
        catch (InvalidRowException)
        {
            throw DataScans.InvalidRows(data, columns, name, options.CancellationToken, split, heldOutSide);
        }
    }

    /// <summary>Picks how rows get shuffled and logs it in one line: the view's own shuffling cursor, the streaming
    /// shuffle (dealt here, before the first batch, which also counts the rows), or none with Shuffle = false.</summary>
    public void PrepareShuffle(int seed, TargetScaling scaling, IChannel channel)
    {
        if (!options.Shuffle)
        {
            channel.Info(MessageSensitivity.None, "NeuralNetwork shuffle: off (Shuffle = false); every epoch reads the rows in cursor order.");
            return;
        }
        if (data.CanShuffle)
        {
            channel.Info(MessageSensitivity.None, "NeuralNetwork shuffle: the data view's own shuffling cursor, a new order every epoch.");
            return;
        }
        long limit = options.ShuffleMemoryLimit;
        long minimum = ShuffleStore.MinimumLimit(columns.FeatureCount, columns.TargetCount);
        if (limit < minimum)
            throw new ArgumentOutOfRangeException(nameof(options.ShuffleMemoryLimit), limit,
                $"ShuffleMemoryLimit must hold at least a few rows of {columns.FeatureCount} features ({minimum} bytes), but was {limit}. Raise it.");
        string parent = options.ShuffleTemporaryDirectory ?? Path.GetTempPath();
        var reader = (BatchReader)Open(null, scaling);
        try
        {
            _store = ShuffleStore.Deal(batch => Read(reader, batch, batch.Capacity), () => reader.SkippedRows, columns.FeatureCount,
                limit, parent, seed, columns.TargetCount);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"The streaming shuffle could not write its temporary copy of the {name} data under '{parent}': {e.Message} " +
                "It needs about as much free space as the feature data. Set NeuralNetworkOptions.ShuffleTemporaryDirectory to a writable " +
                "directory with room, or set Shuffle = false to train in cursor order.", e);
        }
        finally
        {
            reader.Dispose();
        }
        string split = _store.SplitShards > 0
            ? $" ({_store.BytesWritten} written: {_store.SplitShards} shards larger than the memory limit were dealt again)"
            : "";
        channel.Info(MessageSensitivity.None,
            $"NeuralNetwork shuffle: streaming (the view cannot shuffle): {_store.Rows} rows dealt into {_store.Shards.Count} shards, " +
            $"{_store.DataBytes} bytes on disk in '{_store.DirectoryPath}'{split}; each epoch shuffles groups of up to " +
            $"{_store.ReadBuffer().Length} bytes in memory (ShuffleMemoryLimit = {limit}).");
    }

    public void Dispose() => _store?.Dispose();
}
