using System.Diagnostics;
using Microsoft.ML;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>The stream's look at the batch after the current one (the trainer warms its rows): it is the batch that
/// <see cref="BatchStream.Next"/> hands out next, rows as read, and there is none without a reader thread or at the end.</summary>
[TestClass]
public sealed class BatchStreamTests
{
    private const int BatchSize = 50, Rows = 230; // 5 batches, the last of 30 rows

    [TestMethod]
    public void ThePeekedBatchIsTheNextOneWithTheRowsItWasReadWith()
    {
        var (source, reader, features) = Open();
        using var owned = source;
        using var stream = new BatchStream(source, reader, new Batch(BatchSize, features), new Batch(BatchSize, features), BatchSize, prefetch: true);
        Assert.IsFalse(stream.TryPeekNext(out _), "nothing is current yet");
        Assert.IsTrue(stream.Next(out var current));
        int batches = 1;
        while (true)
        {
            var peeked = WaitForPeek(stream);
            if (peeked is null)
                break;
            int[] noted = peeked.CacheRows.AsSpan(0, peeked.Count).ToArray();
            Assert.AreNotSame(current, peeked, "the next batch is the other buffer");
            Assert.IsTrue(stream.Next(out current), $"batch {batches + 1}");
            Assert.AreSame(peeked, current);
            CollectionAssert.AreEqual(noted, current.CacheRows.AsSpan(0, current.Count).ToArray(), "the rows it was peeked with");
            batches++;
        }
        Assert.AreEqual((Rows + BatchSize - 1) / BatchSize, batches, "peeking neither skips nor repeats a batch");
        Assert.IsFalse(stream.Next(out _));
    }

    [TestMethod]
    public void WithoutAReaderThreadThereIsNoNextBatchToPeekAt()
    {
        var (source, reader, features) = Open();
        using var owned = source;
        using var stream = new BatchStream(source, reader, new Batch(BatchSize, features), new Batch(BatchSize, features), BatchSize, prefetch: false);
        while (stream.Next(out _))
            Assert.IsFalse(stream.TryPeekNext(out _));
    }

    /// <summary>The peeked batch once the reader has filled it; null when the pass ends first (no later batch ever shows).</summary>
    private static Batch? WaitForPeek(BatchStream stream)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(1))
        {
            if (stream.TryPeekNext(out var next))
                return next;
            Thread.Sleep(1);
        }
        return null;
    }

    private static (DataSource Source, IBatchReader Reader, int Features) Open()
    {
        var ml = new MLContext(1);
        var random = new Random(3);
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(Enumerable.Range(0, Rows).Select(i => new Row
        {
            Features = [(float)random.NextDouble(), (float)random.NextDouble()],
            Label = (uint)(i % 2),
        })));
        using (var cursor = data.GetRowCursor(data.Schema))
            while (cursor.MoveNext()) { }
        var options = new NeuralNetworkOptions();
        var columns = TrainingColumns.Bind(data.Schema, NeuralNetworkTask.MulticlassClassification, options, "training");
        var source = DataSource.Training(data, columns, options, null);
        return (source, source.Open(7, TargetScaling.Identity, gatherLater: true), columns.FeatureCount);
    }

    private sealed class Row
    {
        [Microsoft.ML.Data.VectorType(2)] public float[] Features = [];
        [Microsoft.ML.Data.KeyType(2)] public uint Label;
    }
}
