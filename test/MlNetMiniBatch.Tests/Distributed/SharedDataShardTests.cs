using Microsoft.ML;
using MlNetMiniBatch.Tests.Integration;

namespace MlNetMiniBatch.Tests.Distributed;

/// <summary>Shared data (DistributedTraining.Mpi()): each rank reads only its own share of every batch and passes over
/// the others' rows with the cursor, except with SkipInvalidRows, where every rank reads every row to agree on the batch
/// boundaries. Every rank a thread of this process over the loopback communicator.</summary>
[TestClass]
public sealed class SharedDataShardTests
{
    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification, 2, 300, 32, true, 0f, DisplayName = "2 ranks, cached")]
    [DataRow(NeuralNetworkTask.Regression, 3, 300, 32, true, 0f, DisplayName = "3 ranks, cached, the last batch's 12 rows miss rank 2")]
    [DataRow(NeuralNetworkTask.BinaryClassification, 3, 5, 4, true, 0f, DisplayName = "3 ranks, 5 rows at batch 4: ranks 1 and 2 idle in batch 2")]
    [DataRow(NeuralNetworkTask.BinaryClassification, 3, 1, 4, true, 0f, DisplayName = "3 ranks, 1 row: ranks 1 and 2 never get one")]
    [DataRow(NeuralNetworkTask.MulticlassClassification, 2, 300, 32, false, 0f, DisplayName = "2 ranks, streaming shuffle")]
    [DataRow(NeuralNetworkTask.MulticlassClassification, 3, 300, 32, false, 0.3f, DisplayName = "3 ranks, streaming shuffle, validation fraction")]
    [DataRow(NeuralNetworkTask.MulticlassClassification, 2, 300, 32, true, 0.3f, DisplayName = "2 ranks, cached, stratified validation fraction")]
    [DataRow(NeuralNetworkTask.Regression, 3, 100, 7, true, 0.25f, DisplayName = "3 ranks, cached, batch 7, validation fraction")]
    public void ReadingOnlyEachRanksShareTrainsTheWeightsOfReadingEveryRowBitForBit(NeuralNetworkTask task, int ranks, int rows, int batchSize,
        bool cache, float validationFraction)
    {
        NeuralNetworkOptions Options()
        {
            var options = TestData.Options(epochs: 3, 8);
            options.LearningRate = 0.01f;
            options.BatchSize = batchSize;
            options.ValidationFraction = validationFraction;
            return options;
        }
        IDataView Data(int rank) => LoopbackTraining.Data(task, rows, cache: cache);

        var everyRow = LoopbackTraining.Fit(ranks, task, Data, _ => Options(), readsEveryRow: true);
        var ownRows = LoopbackTraining.Fit(ranks, task, Data, _ => Options());

        for (int rank = 0; rank < ranks; rank++)
        {
            CollectionAssert.AreEqual(Bits(everyRow[rank]), Bits(ownRows[rank]), $"rank {rank}: the same weights as reading every row");
            CollectionAssert.AreEqual(everyRow[rank].History.Select(h => (h.Iterations, h.Rows, h.Train.Loss, h.Validation?.Loss)).ToArray(),
                ownRows[rank].History.Select(h => (h.Iterations, h.Rows, h.Train.Loss, h.Validation?.Loss)).ToArray(),
                $"rank {rank}: the same updates, rows and losses");
        }
        CollectionAssert.AreEqual(Bits(ownRows[0]), Bits(ownRows[ranks - 1]));
        Assert.AreEqual(validationFraction > 0, ownRows[0].History[0].Validation is not null);
    }

    [TestMethod]
    public void EachRankCallsTheFeatureGetterOnlyForItsOwnRows()
    {
        // 300 rows at batch 32 over 2 ranks: nine full batches of 16 + 16 rows, then the last 12 rows, all rank 0's.
        var task = NeuralNetworkTask.BinaryClassification;
        var alone = Hooked(task);
        LoopbackTraining.FitAlone(task, alone, Options(task, skipInvalidRows: false));
        var views = new[] { Hooked(task), Hooked(task) };

        LoopbackTraining.Fit(2, task, rank => views[rank], _ => Options(task, skipInvalidRows: false));

        Assert.AreEqual(Epochs * 300, alone.GetterCalls, "one process reads each row once per epoch, and nothing else reads features");
        Assert.AreEqual(Epochs * (9 * 16 + 12), views[0].GetterCalls, "rank 0: rows [0, 16) of every batch");
        Assert.AreEqual(Epochs * (9 * 16), views[1].GetterCalls, "rank 1: rows [16, 32) of every batch, none of the last");
        Assert.AreEqual(views[0].Moves, views[1].Moves, "both ranks' cursors still go over every row");
    }

    [TestMethod]
    public void WithSkipInvalidRowsEveryRankReadsEveryRowToAgreeOnTheBatches()
    {
        var task = NeuralNetworkTask.BinaryClassification;
        var views = new[] { Hooked(task), Hooked(task) };

        var models = LoopbackTraining.Fit(2, task, rank => views[rank], _ => Options(task, skipInvalidRows: true));

        Assert.AreEqual(Epochs * 300, views[0].GetterCalls);
        Assert.AreEqual(Epochs * 300, views[1].GetterCalls);
        CollectionAssert.AreEqual(Bits(models[0]), Bits(models[1]));
    }

    [TestMethod]
    public void AnInvalidRowInRankOnesShareFailsThereAndRankZeroFailsAtOnceNamingIt()
    {
        // In cursor order at batch 32, row 20 lies in rank 1's rows [16, 32) of the first batch: rank 0 passes over it.
        var task = NeuralNetworkTask.BinaryClassification;
        NeuralNetworkOptions InOrder() { var o = Options(task, skipInvalidRows: false); o.Shuffle = false; return o; }
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var results = LoopbackTraining.Run(2, task, _ => WithNaNFeature(row: 20), _ => InOrder());

        Assert.IsLessThan(LoopbackTraining.Timeout.TotalSeconds / 2, clock.Elapsed.TotalSeconds, "rank 0 did not wait out the timeout");
        Assert.IsInstanceOfType<InvalidOperationException>(results[1].Error);
        Assert.Contains("The training data has 1 of 300 rows that cannot be trained on", results[1].Error!.Message);
        Assert.Contains("the first is row 20", results[1].Error!.Message);
        Assert.IsNotNull(results[0].Error, "rank 0 cannot finish without rank 1");
        Assert.StartsWith("Loopback rank 0 of 2: the job was aborted: NeuralNetwork rank 1 of 2 failed", results[0].Error!.Message,
            "rank 0 did not read the row itself: it was stopped by rank 1's failure");
        Assert.Contains("the first is row 20", results[0].Error!.Message);
    }

    private const int Epochs = 3;

    private static RowHookDataView Hooked(NeuralNetworkTask task) =>
        new RowHookDataView(LoopbackTraining.Data(task, 300)).CountGetterCalls("Features");

    private static IDataView WithNaNFeature(int row)
    {
        var ml = new MLContext(1);
        var points = TestData.Binary(300, 50);
        points[row].X = float.NaN;
        var raw = ml.Data.LoadFromEnumerable(points);
        return ml.Data.Cache(TestData.Featurize(ml, NeuralNetworkTask.BinaryClassification).Fit(raw).Transform(raw));
    }

    private static NeuralNetworkOptions Options(NeuralNetworkTask task, bool skipInvalidRows)
    {
        var options = TestData.Options(Epochs, 8);
        options.LearningRate = 0.01f;
        options.SkipInvalidRows = skipInvalidRows;
        return options;
    }

    private static int[] Bits(NeuralNetworkModelParameters model) => [.. LoopbackTraining.Parameters(model).Select(BitConverter.SingleToInt32Bits)];
}
