using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>Reading the features of a filled CacheDataView in place gives the very batches the feature getter gives:
/// same rows in the same shuffled order, same bits, same skipped rows and the same error for a bad row.</summary>
[TestClass]
public sealed class CachedFeatureReadTests
{
    // Not a power of two, and enough rows for more than 2^20 stored values: rows straddle the cache's storage blocks.
    private const int Width = 1000;
    private const int Rows = 4_000;
    private const int BatchSize = 96;

    private sealed class Row
    {
        [VectorType(Width)] public VBuffer<float> Features;
        [KeyType(3)] public uint Label;
        public float Weight;
    }

    /// <summary>Dense rows, sparse rows (some with every index, which VBuffer makes dense, some with none) and, when asked, a few bad ones.</summary>
    private static IEnumerable<Row> MakeRows(bool sparse, bool withBadRows)
    {
        var random = new Random(7);
        for (int i = 0; i < Rows; i++)
        {
            int kind = sparse ? i % 5 : 0;
            int[] indices = kind switch
            {
                1 or 2 => Enumerable.Range(0, Width).Where(_ => random.Next(5) != 0).ToArray(),
                3 => Enumerable.Range(0, Width).ToArray(),
                4 => [],
                _ => null!,
            };
            int count = kind == 0 ? Width : indices.Length;
            var values = Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            uint label = (uint)(i % 3); // LoadFromEnumerable stores a key field 0-based
            float weight = (float)random.NextDouble() + 0.5f;
            if (withBadRows && i % 97 == 5)
            {
                switch (i % 3)
                {
                    case 0 when count > 0: values[random.Next(count)] = i % 2 == 0 ? float.NaN : float.NegativeInfinity; break;
                    case 1: label = 3; break; // out of range, read as the missing key
                    default: weight = -1; break;
                }
            }
            var features = kind == 0 ? new VBuffer<float>(Width, values) : new VBuffer<float>(Width, count, values, indices);
            yield return new Row { Features = features, Label = label, Weight = weight };
        }
    }

    private static IDataView FilledCache(MLContext ml, bool sparse, bool withBadRows)
    {
        var cache = ml.Data.Cache(ml.Data.LoadFromEnumerable(MakeRows(sparse, withBadRows).ToList()));
        // The last MoveNext returns once the filler has finished and frozen every column.
        using (var cursor = cache.GetRowCursor(cache.Schema))
            while (cursor.MoveNext()) { }
        return cache;
    }

    private static NeuralNetworkOptions Options(bool skip) => new() { ExampleWeightColumnName = "Weight", SkipInvalidRows = skip };

    /// <summary>Every batch of one shuffled pass (features, targets, weights, copied out) and the rows skipped; with
    /// <paramref name="gatherThreads"/> above 0, the training pass's way: the reader notes cache rows and the features are
    /// gathered afterwards on that many threads.</summary>
    private static (List<float[]> Batches, long Skipped) ReadPass(IDataView data, NeuralNetworkOptions options, int seed, bool expectInPlace,
        int gatherThreads = 0)
    {
        var columns = TrainingColumns.Bind(data.Schema, NeuralNetworkTask.MulticlassClassification, options, "training");
        using var source = DataSource.Training(data, columns, options, null);
        using var reader = source.Open(seed, TargetScaling.Identity, gatherLater: gatherThreads > 0);
        Assert.AreEqual(expectInPlace, ((BatchReader)reader).ReadsCacheInPlace, "which path the reader took");
        Assert.AreEqual(expectInPlace && gatherThreads > 0 && !options.SkipInvalidRows, ((BatchReader)reader).GathersLater, "whether the copy waits");
        var batch = new Batch(BatchSize, columns.FeatureCount);
        var batches = new List<float[]>();
        while (source.Read(reader, batch, BatchSize))
        {
            if (gatherThreads > 0)
                source.Gather(batch, gatherThreads);
            batches.Add([.. batch.FeatureRows, .. batch.Targets.AsSpan(0, batch.Count), .. batch.Weights.AsSpan(0, batch.Count), batch.Count]);
        }
        return (batches, reader.SkippedRows);
    }

    private static void AssertSameBits(List<float[]> expected, List<float[]> actual)
    {
        Assert.AreEqual(expected.Count, actual.Count, "batches");
        for (int b = 0; b < expected.Count; b++)
        {
            Assert.AreEqual(expected[b].Length, actual[b].Length, $"batch {b} length");
            for (int i = 0; i < expected[b].Length; i++)
                Assert.AreEqual(BitConverter.SingleToInt32Bits(expected[b][i]), BitConverter.SingleToInt32Bits(actual[b][i]), $"batch {b}, value {i}");
        }
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void InPlaceReadsGiveTheGettersBatchesBitForBit(bool sparse)
    {
        var ml = new MLContext(1);
        var cache = FilledCache(ml, sparse, withBadRows: false);
        var rows = MakeRows(sparse, withBadRows: false).ToList();
        Assert.IsGreaterThan(1L << 20, rows.Sum(r => (long)r.Features.GetValues().Length), "values fill more than one storage block");
        if (sparse)
            Assert.IsGreaterThan(1L << 20, rows.Where(r => !r.Features.IsDense).Sum(r => (long)r.Features.GetIndices().Length), "and indices too");
        var throughGetters = new PassThroughDataView(cache);
        for (int seed = 1; seed <= 2; seed++)
        {
            var (inPlace, _) = ReadPass(cache, Options(skip: false), seed, expectInPlace: true);
            var (getters, _) = ReadPass(throughGetters, Options(skip: false), seed, expectInPlace: false);
            Assert.AreEqual((Rows + BatchSize - 1) / BatchSize, inPlace.Count);
            AssertSameBits(getters, inPlace);
        }
        var (first, _) = ReadPass(cache, Options(skip: false), 1, expectInPlace: true);
        var (second, _) = ReadPass(cache, Options(skip: false), 2, expectInPlace: true);
        CollectionAssert.AreNotEqual(first[0], second[0], "each seed shuffles the rows its own way");
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void BadRowsAreSkippedAndReportedAsThroughTheGetters(bool sparse)
    {
        var ml = new MLContext(1);
        var cache = FilledCache(ml, sparse, withBadRows: true);
        var throughGetters = new PassThroughDataView(cache);

        var (inPlace, skippedInPlace) = ReadPass(cache, Options(skip: true), 3, expectInPlace: true);
        var (getters, skippedGetters) = ReadPass(throughGetters, Options(skip: true), 3, expectInPlace: false);
        Assert.AreEqual(skippedGetters, skippedInPlace);
        Assert.IsGreaterThan(20L, skippedInPlace, "bad features, labels and weights were all met");
        AssertSameBits(getters, inPlace);

        var inPlaceError = Assert.ThrowsExactly<InvalidOperationException>(() => ReadPass(cache, Options(skip: false), 3, expectInPlace: true));
        var gettersError = Assert.ThrowsExactly<InvalidOperationException>(() => ReadPass(throughGetters, Options(skip: false), 3, expectInPlace: false));
        Assert.AreEqual(gettersError.Message, inPlaceError.Message);
        StringAssert.Contains(inPlaceError.Message, "NaN or infinite values in feature column 'Features'");
    }

    [TestMethod]
    [DataRow(false, 1)]
    [DataRow(true, 1)]
    [DataRow(false, 2)]
    [DataRow(true, 3)]
    public void GatheringTheNotedRowsLaterGivesTheGettersBatchesBitForBit(bool sparse, int threads)
    {
        var ml = new MLContext(1);
        var cache = FilledCache(ml, sparse, withBadRows: false);
        var (getters, _) = ReadPass(new PassThroughDataView(cache), Options(skip: false), 4, expectInPlace: false);
        long before = MlNetMiniBatch.Kernels.WorkerPool.Shared.DispatchedBatches;
        var (gathered, _) = ReadPass(cache, Options(skip: false), 4, expectInPlace: true, gatherThreads: threads);
        long dispatched = MlNetMiniBatch.Kernels.WorkerPool.Shared.DispatchedBatches - before;
        AssertSameBits(getters, gathered);
        if (threads > 1)
            Assert.AreEqual((long)getters.Count, dispatched, "every batch's gather went to the worker pool");
        else
            Assert.AreEqual(0L, dispatched, "one thread gathers inline");
    }

    [TestMethod]
    public void AGatheredBadRowFailsWithTheGettersMessage()
    {
        var ml = new MLContext(1);
        var cache = FilledCache(ml, sparse: true, withBadRows: true);
        var gettersError = Assert.ThrowsExactly<InvalidOperationException>(
            () => ReadPass(new PassThroughDataView(cache), Options(skip: false), 3, expectInPlace: false));
        var gatheredError = Assert.ThrowsExactly<InvalidOperationException>(
            () => ReadPass(cache, Options(skip: false), 3, expectInPlace: true, gatherThreads: 2));
        Assert.AreEqual(gettersError.Message, gatheredError.Message);
        StringAssert.Contains(gatheredError.Message, "NaN or infinite values in feature column 'Features'");
    }

    [TestMethod]
    public void ANaNInTheDroppedLastBatchStillStopsAFitOnTheCache()
    {
        var ml = new MLContext(1);
        var rows = MakeRows(sparse: false, withBadRows: false).ToList();
        // In cursor order (Shuffle = false) the last row lands in the last, partial batch.
        var values = rows[^1].Features.DenseValues().ToArray();
        values[3] = float.NaN;
        rows[^1] = new Row { Features = new VBuffer<float>(Width, values), Label = rows[^1].Label, Weight = rows[^1].Weight };
        var cache = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows));
        using (var cursor = cache.GetRowCursor(cache.Schema))
            while (cursor.MoveNext()) { }
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [4], BatchSize = 96, Epochs = 1, Seed = 2, NumberOfThreads = 2, Shuffle = false, DropLastPartialBatch = true,
        }; // 4,000 rows at 96: the last batch holds 64 rows and is dropped
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(cache));
        StringAssert.Contains(error.Message, "NaN or infinite values in feature column 'Features'");
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void AFitThatGathersOnTheComputeThreadsLearnsTheSameBitsAsAFitThroughTheGetters(int threads)
    {
        var ml = new MLContext(1);
        var cache = FilledCache(ml, sparse: true, withBadRows: false);
        float[] Fit(IDataView data)
        {
            var options = new NeuralNetworkOptions
            {
                HiddenLayers = [8], BatchSize = 64, Epochs = 2, Seed = 5, NumberOfThreads = threads, ExampleWeightColumnName = "Weight",
                ValidationFraction = 0.2f,
            };
            return ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data).Model.Parameters.ToArray();
        }
        var gathered = Fit(cache);
        var getters = Fit(new PassThroughDataView(cache));
        CollectionAssert.AreEqual(getters.Select(BitConverter.SingleToInt32Bits).ToArray(), gathered.Select(BitConverter.SingleToInt32Bits).ToArray());
    }

    [TestMethod]
    public void AFitOnTheCacheLearnsTheSameBitsAsAFitThroughTheGetters()
    {
        var ml = new MLContext(1);
        var cache = FilledCache(ml, sparse: true, withBadRows: true);
        float[] Fit(IDataView data)
        {
            var options = new NeuralNetworkOptions
            {
                HiddenLayers = [8], BatchSize = 64, Epochs = 2, Seed = 5, NumberOfThreads = 1, ExampleWeightColumnName = "Weight",
                SkipInvalidRows = true, ValidationFraction = 0.2f, // the split reads row ids through the same cursor
            };
            return ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data).Model.Parameters.ToArray();
        }
        var inPlace = Fit(cache);
        var getters = Fit(new PassThroughDataView(cache));
        CollectionAssert.AreEqual(getters.Select(BitConverter.SingleToInt32Bits).ToArray(), inPlace.Select(BitConverter.SingleToInt32Bits).ToArray());
    }

    [TestMethod]
    public void ACacheThatHasNotCachedTheFeaturesYetIsReadThroughTheGetters()
    {
        var ml = new MLContext(1);
        var source = new RowHookDataView(ml.Data.LoadFromEnumerable(MakeRows(sparse: false, withBadRows: false).ToList()));
        var cache = ml.Data.Cache(source);
        var gate = new ManualResetEventSlim();
        source.Arm(10, () => gate.Wait(TimeSpan.FromSeconds(30)));
        try
        {
            var options = Options(skip: false);
            var columns = TrainingColumns.Bind(cache.Schema, NeuralNetworkTask.MulticlassClassification, options, "training");
            using var data = DataSource.Training(cache, columns, options, null);
            using var reader = data.Open(null, TargetScaling.Identity); // in cursor order: a shuffle would wait for the row count
            Assert.IsFalse(((BatchReader)reader).ReadsCacheInPlace, "the filler is held at row 10");
            gate.Set();
            var batch = new Batch(BatchSize, columns.FeatureCount);
            long rows = 0;
            while (data.Read(reader, batch, BatchSize))
                rows += batch.Count;
            Assert.AreEqual(Rows, rows);
        }
        finally
        {
            gate.Set();
        }
        var (afterwards, _) = ReadPass(cache, Options(skip: false), 1, expectInPlace: true);
        Assert.AreEqual((Rows + BatchSize - 1) / BatchSize, afterwards.Count);
    }

    /// <summary>The same rows through a view that is not a CacheDataView, so the reader must use the getters.</summary>
    private sealed class PassThroughDataView(IDataView inner) : IDataView
    {
        public bool CanShuffle => inner.CanShuffle;
        public DataViewSchema Schema => inner.Schema;
        public long? GetRowCount() => inner.GetRowCount();
        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => inner.GetRowCursor(columnsNeeded, rand);
        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            inner.GetRowCursorSet(columnsNeeded, n, rand);
    }
}
