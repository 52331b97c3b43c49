using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>
/// One trained model scored from many threads at once (an engine per thread, cursors over one scored view, a cursor
/// set) gives exactly the scores of a single thread, bit for bit: the model is shared and read-only, and every
/// scratch buffer belongs to one engine or cursor.
/// </summary>
[TestClass]
public sealed class ConcurrentScoringTests
{
    private const int Threads = 8;
    private const int Rows = 300; // several 64-row scoring blocks per cursor

    private sealed class Row
    {
        public string Label { get; set; } = "";
        [VectorType(4)] public float[] Features { get; set; } = [];
        public int Id { get; set; }
    }

    private sealed class Input
    {
        [VectorType(4)] public float[] Features { get; set; } = [];
    }

    private sealed class Output
    {
        public float[] Score { get; set; } = [];
    }

    private static (MLContext Ml, Row[] Rows, IDataView Keyed, ITransformer Model) Fit()
    {
        var ml = new MLContext(1);
        var rows = Synthetic.Blobs(Rows).Select((r, i) => new Row { Label = r.Label, Features = r.Features, Id = i }).ToArray();
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions { HiddenLayers = [16, 8], Epochs = 2, Seed = 1 }).Fit(keyed);
        return (ml, rows, keyed, model);
    }

    private static int[] Bits(float[] scores) => scores.Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>Runs <paramref name="work"/> on <paramref name="count"/> threads released together; rethrows their
    /// failures here (an assertion thrown on another thread would otherwise end the test process).</summary>
    private static T[] OnThreads<T>(int count, Func<int, T> work)
    {
        using var start = new Barrier(count);
        var results = new T[count];
        var errors = new Exception?[count];
        var threads = Enumerable.Range(0, count).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                results[t] = work(t);
            }
            catch (Exception e)
            {
                errors[t] = e;
            }
        })).ToArray();
        foreach (var thread in threads)
            thread.Start();
        foreach (var thread in threads)
            thread.Join();
        if (errors.Any(e => e is not null))
            throw new AggregateException(errors.OfType<Exception>());
        return results;
    }

    [TestMethod]
    public void OneEnginePerThreadFromEightThreadsScoresLikeOneThread()
    {
        var (ml, rows, _, model) = Fit();
        int[][] Predict(int rotation)
        {
            using var engine = ml.Model.CreatePredictionEngine<Input, Output>(model);
            var scores = new int[rows.Length][];
            // Each thread walks the rows from a different start, so threads score different rows at the same moment.
            for (int j = 0; j < rows.Length; j++)
            {
                int i = (j + rotation * 37) % rows.Length;
                scores[i] = Bits(engine.Predict(new Input { Features = rows[i].Features }).Score);
            }
            return scores;
        }

        var expected = Predict(0);
        var perThread = OnThreads(Threads, Predict);
        for (int t = 0; t < Threads; t++)
            for (int i = 0; i < rows.Length; i++)
                CollectionAssert.AreEqual(expected[i], perThread[t][i], $"thread {t}, row {i}");
    }

    /// <summary>Reads every row of <paramref name="cursor"/>: its Id and its score bits.</summary>
    private static Dictionary<int, int[]> ReadAll(DataViewRowCursor cursor)
    {
        var id = cursor.GetGetter<int>(cursor.Schema["Id"]);
        var score = cursor.GetGetter<VBuffer<float>>(cursor.Schema["Score"]);
        int rowId = 0;
        VBuffer<float> rowScore = default;
        var result = new Dictionary<int, int[]>();
        while (cursor.MoveNext())
        {
            id(ref rowId);
            score(ref rowScore);
            Assert.IsTrue(result.TryAdd(rowId, Bits(rowScore.DenseValues().ToArray())), $"row {rowId} served twice");
        }
        return result;
    }

    private static DataViewSchema.Column[] IdAndScore(IDataView scored) => [scored.Schema["Id"], scored.Schema["Score"]];

    private static void AssertSameScores(Dictionary<int, int[]> expected, Dictionary<int, int[]> actual, string what)
    {
        CollectionAssert.AreEquivalent(expected.Keys.ToArray(), actual.Keys.ToArray(), $"{what}: the same rows");
        foreach (var (rowId, bits) in expected)
            CollectionAssert.AreEqual(bits, actual[rowId], $"{what}, row {rowId}");
    }

    [TestMethod]
    public void ConcurrentTransformCursorsOverOneScoredViewScoreLikeOneCursor()
    {
        var (_, _, keyed, model) = Fit();
        var scored = model.Transform(keyed);
        Dictionary<int, int[]> expected;
        using (var cursor = scored.GetRowCursor(IdAndScore(scored)))
            expected = ReadAll(cursor);
        Assert.HasCount(Rows, expected);

        var perThread = OnThreads(Threads, _ =>
        {
            using var cursor = scored.GetRowCursor(IdAndScore(scored));
            return ReadAll(cursor);
        });
        for (int t = 0; t < Threads; t++)
            AssertSameScores(expected, perThread[t], $"thread {t}");
    }

    [TestMethod]
    public void ACursorSetOverTheScoredViewServesEveryRowOnceWithItsScores()
    {
        var (_, _, keyed, model) = Fit();
        var scored = model.Transform(keyed);
        Dictionary<int, int[]> expected;
        using (var cursor = scored.GetRowCursor(IdAndScore(scored)))
            expected = ReadAll(cursor);

        var cursors = scored.GetRowCursorSet(IdAndScore(scored), 4);
        Assert.IsGreaterThan(1, cursors.Length, "the cached input splits into several cursors, so the set is really parallel");
        try
        {
            var parts = OnThreads(cursors.Length, c => ReadAll(cursors[c]));
            var union = new Dictionary<int, int[]>();
            foreach (var part in parts)
                foreach (var (rowId, bits) in part)
                    Assert.IsTrue(union.TryAdd(rowId, bits), $"row {rowId} served by two cursors");
            AssertSameScores(expected, union, "cursor set");
        }
        finally
        {
            foreach (var cursor in cursors)
                cursor.Dispose();
        }
    }
}
