using MlNetMiniBatch.Training;
using MlNetMiniBatch.Training.Shuffling;

namespace MlNetMiniBatch.Tests.Training.Shuffling;

/// <summary>Deals synthetic rows straight into a <see cref="ShuffleStore"/> and reads epochs back, without a trainer:
/// feature 0 of row i is i, so the order an epoch delivered can be read off the batches.</summary>
internal static class ShuffleFixture
{
    public static string NewDirectory()
    {
        string path = Path.Combine(Path.GetTempPath(), "mlnetminibatch-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Row i: feature 0 = i, the others (odd rows only, so both record forms occur) a function of i;
    /// target = <paramref name="label"/>(i), weight = 1 + i % 3.</summary>
    public static ShuffleStore Deal(int rows, int features, long memoryLimit, string directory, int seed, Func<int, int> label)
    {
        int next = 0;
        return ShuffleStore.Deal(batch =>
        {
            int n = 0;
            for (; n < batch.Capacity && next < rows; n++, next++)
            {
                var row = batch.Features.AsSpan(n * features, features);
                for (int j = 0; j < features; j++)
                    row[j] = Feature(next, j);
                batch.Targets[n] = label(next);
                batch.Weights[n] = 1 + next % 3;
            }
            batch.Count = n;
            return n > 0;
        }, () => 0, features, memoryLimit, directory, seed);
    }

    public static float Feature(int row, int j) => j == 0 ? row : row % 2 == 1 ? (row % 5) + j : 0f;

    /// <summary>Reads one epoch in batches; returns the rows' indices in delivery order and the batch sizes.</summary>
    public static (List<int> Rows, List<int> BatchSizes, List<float> Targets) ReadEpoch(ShuffleStore store, int epochKey, int batchSize, bool checkRows = true)
    {
        var rows = new List<int>();
        var sizes = new List<int>();
        var targets = new List<float>();
        var batch = new Batch(Math.Min(batchSize, 64), store.FeatureCount);
        using var reader = new ShuffledReader(store, epochKey);
        while (reader.Read(batch, batchSize))
        {
            sizes.Add(batch.Count);
            for (int i = 0; i < batch.Count; i++)
            {
                int row = (int)batch.Features[i * store.FeatureCount];
                rows.Add(row);
                targets.Add(batch.Targets[i]);
                if (!checkRows)
                    continue;
                for (int j = 1; j < store.FeatureCount; j++)
                    if (batch.Features[i * store.FeatureCount + j] != Feature(row, j))
                        throw new AssertFailedException($"row {row} feature {j} came back as {batch.Features[i * store.FeatureCount + j]}");
                if (batch.Weights[i] != 1 + row % 3)
                    throw new AssertFailedException($"row {row} weight came back as {batch.Weights[i]}");
            }
        }
        return (rows, sizes, targets);
    }
}
