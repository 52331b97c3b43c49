using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Correctness;

/// <summary>Sizes whose products overflow an int, or that would allocate gigabytes, fail with a clear message before
/// anything large is allocated: never an OverflowException or an out-of-memory crash.</summary>
[TestClass]
public sealed class SizeLimitTests
{
    private const int ManyClasses = 1 << 20; // the most classes a multiclass label may have

    public sealed class ManyClassRow
    {
        [KeyType(ManyClasses)] public uint Label { get; set; }
        [VectorType(4)] public float[] Features { get; set; } = [];
    }

    private static ManyClassRow[] ManyClassRows(int rows, int classesUsed) => Enumerable.Range(0, rows)
        .Select(i => new ManyClassRow { Label = (uint)(i % classesUsed) + 1, Features = [i % 3, i % 5, i % 7, 1] }).ToArray();

    [TestMethod]
    public void AValidationSplitOverAMillionClassesAllocatesMegabytesNotGigabytes()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(ManyClassRows(4000, 2000)); // 2 rows in each of 2,000 classes, the rest empty
        var options = new NeuralNetworkOptions();
        var columns = TrainingColumns.Bind(data.Schema, NeuralNetworkTask.MulticlassClassification, options, "training");
        Assert.AreEqual(ManyClasses, columns.ClassCount);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var split = ValidationSplit.Create(data, columns, NeuralNetworkTask.MulticlassClassification, 0.5f, seed: 1);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.IsLessThan(200L << 20, allocated, $"{allocated >> 20} MB (one 1,024-bin histogram per class would be 8 GB)");
        Assert.AreEqual(2000, split.ValidationRows, "still exact: one of the two rows of every class");
        Assert.AreEqual(2000, split.TrainingRows);
    }

    [TestMethod]
    public void FewerBinsPerClassKeepTheSameSplit()
    {
        // The threshold is the exact per-class quantile whatever the bin count, so coarser histograms hold out the same rows.
        Assert.AreEqual(10, ValidationSplit.BinBitsFor(3));
        Assert.AreEqual(10, ValidationSplit.BinBitsFor(ValidationSplit.MaxHistogramCells >> 10));
        Assert.AreEqual(1, ValidationSplit.BinBitsFor(ManyClasses));
        Assert.AreEqual(0, ValidationSplit.BinBitsFor(ValidationSplit.MaxHistogramCells));
    }

    [TestMethod]
    public void ClassesTimesBatchSizeBeyondOneArrayIsRefusedBeforeTraining()
    {
        var ml = new MLContext(1);
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(ManyClassRows(5000, 5000)));
        var options = new NeuralNetworkOptions { HiddenLayers = [], BatchSize = 4096, Epochs = 1, Seed = 1 };
        long before = GC.GetAllocatedBytesForCurrentThread();

        var error = Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data));

        Assert.AreEqual("BatchSize", error.ParamName);
        Assert.Contains($"4096 rows × {ManyClasses} values", error.Message);
        Assert.Contains($"Use BatchSize ≤ {Array.MaxLength / ManyClasses}", error.Message);
        Assert.IsLessThan(500L << 20, GC.GetAllocatedBytesForCurrentThread() - before, "refused before the batch buffers were allocated");
    }

    [TestMethod]
    public void AnEpochOfMoreUpdatesThanAnIntCountsIsRefusedBeforeTraining()
    {
        // Iterations stay an int (EpochSummary.Iterations is public); an epoch that would count past int.MaxValue is refused.
        var ml = new MLContext(1);
        var data = new GeneratedDataView(3_000_000_000L, 4, canShuffle: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)); // without the check, this would train for hours
        var options = new NeuralNetworkOptions { HiddenLayers = [4], BatchSize = 1, Epochs = 1, Seed = 1, Shuffle = false, CancellationToken = timeout.Token };

        var error = Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data));

        Assert.AreEqual("BatchSize", error.ParamName);
        Assert.Contains("3000000000 updates", error.Message);
        Assert.Contains("Use BatchSize ≥ 2", error.Message);
    }
}
