using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.TrainingHost;

/// <summary>The data and options shared by the host process and the test that resumes its checkpoint, so both
/// processes train exactly the same run.</summary>
public static class ResumeScenario
{
    public const int Epochs = 6;
    public const int BatchSize = 16;

    public static IDataView Data(MLContext ml) => ml.Data.Cache(StreamedData(ml));

    /// <summary>The same rows, not cached: a view that cannot shuffle, so <see cref="StreamedOptions"/> trains them
    /// through the streaming shuffle.</summary>
    public static IDataView StreamedData(MLContext ml)
    {
        var random = new Random(12);
        var rows = Enumerable.Range(0, 600).Select(i =>
        {
            int k = i % 3;
            var features = Enumerable.Range(0, 8).Select(j => (j % 3 == k ? 1f : 0f) + (float)(random.NextDouble() - 0.5)).ToArray();
            return new Row { Label = (uint)k, Features = features, Weight = 1 + k };
        }).ToArray();
        var definition = SchemaDefinition.Create(typeof(Row));
        definition["Label"].ColumnType = new KeyDataViewType(typeof(uint), 3);
        return ml.Data.LoadFromEnumerable(rows, definition);
    }

    /// <summary>Everything that shapes the sequence of updates: Adam state, dropout masks, shuffling, a schedule,
    /// a validation split and early-stopping bookkeeping all have to survive the restart.</summary>
    public static NeuralNetworkOptions Options(string checkpointDirectory, int epochs = Epochs) => new()
    {
        HiddenLayers = [32, 16], BatchSize = BatchSize, Epochs = epochs, Seed = 21, NumberOfThreads = 1, Dropout = 0.2f,
        LearningRateSchedule = LearningRateSchedule.CosineDecay(1e-4f, warmupEpochs: 1), ValidationFraction = 0.2f,
        EarlyStoppingPatience = 50, CheckpointDirectory = checkpointDirectory, ResumeFromCheckpoint = true,
    };

    /// <summary><see cref="Options"/> with the streaming shuffle's files under <paramref name="shuffleDirectory"/>, in
    /// the smallest memory limit: the 480 training rows do not fit in it, so every epoch shuffles in two groups.</summary>
    public static NeuralNetworkOptions StreamedOptions(string checkpointDirectory, string shuffleDirectory)
    {
        var options = Options(checkpointDirectory);
        options.ShuffleTemporaryDirectory = shuffleDirectory;
        options.ShuffleMemoryLimit = 16 << 10;
        return options;
    }

    public sealed class Row
    {
        public uint Label { get; set; }
        [VectorType(8)] public float[] Features { get; set; } = [];

        /// <summary>Not used by <see cref="Options"/>: there for tests that resume with an example weight column.</summary>
        public float Weight { get; set; }
    }
}
