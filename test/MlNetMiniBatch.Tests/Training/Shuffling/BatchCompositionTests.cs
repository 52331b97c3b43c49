namespace MlNetMiniBatch.Tests.Training.Shuffling;

/// <summary>
/// Data sorted by label, as a CSV or a table often is, 8× larger than the shuffle's memory: the class composition of
/// the streaming shuffle's batches must be that of a uniform shuffle. Two statistics, each compared with a true
/// Fisher–Yates shuffle of the same rows: a chi-square homogeneity test of the histogram "rows of a class in a batch",
/// and the mean per-batch chi-square statistic against the class shares. A 1,000-row buffer shuffle (as tf.data's or
/// ML.NET's ShuffleRows pool) is run through the same checks and must fail them, so the checks can fail.
/// </summary>
[TestClass]
public sealed class BatchCompositionTests
{
    private const int Classes = 10, RowsPerClass = 64_000, Rows = Classes * RowsPerClass, BatchSize = 32;
    private const int Bins = 9; // 0..7 rows of a class in a batch, and 8 or more
    private const double ChiSquareCritical001 = 26.12; // df 8, p = 0.001

    [TestMethod]
    [DataRow(2L << 20, DisplayName = "2 MiB: 64 shards, the data about 7 groups")]
    [DataRow(64L << 10, DisplayName = "64 KiB: shards larger than a group are dealt again, the data about 230 groups")]
    public void StreamedBatchesHaveTheClassCompositionOfAUniformShuffle(long memoryLimit)
    {
        string directory = ShuffleFixture.NewDirectory();
        using (var store = ShuffleFixture.Deal(Rows, 2, memoryLimit, directory, seed: 3, label: i => i / RowsPerClass))
        {
            Assert.IsLessThan(store.DataBytes / 6, store.ReadBuffer().Length, "the data must be several groups, not one uniform permutation");
            var uniform = Batches(UniformOrder(seed: 11));
            for (int epoch = 1; epoch <= 2; epoch++)
            {
                var streamed = Batches(ShuffleFixture.ReadEpoch(store, epoch, BatchSize, checkRows: false).Rows);
                double homogeneity = Homogeneity(Histogram(streamed), Histogram(uniform));
                Assert.IsLessThan(ChiSquareCritical001, homogeneity, $"epoch {epoch}: class-count histogram differs from a uniform shuffle's");
                AssertMeanStatisticMatches(streamed, uniform, $"epoch {epoch}");
            }

            var buffered = Batches(BufferShuffle(poolSize: 1000, seed: 5));
            Assert.IsGreaterThan(ChiSquareCritical001, Homogeneity(Histogram(buffered), Histogram(uniform)), "a 1,000-row pool must fail the same test");
        }
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>Class counts of every full batch, [batch][class].</summary>
    private static int[][] Batches(IReadOnlyList<int> order)
    {
        Assert.HasCount(Rows, order);
        var batches = new int[Rows / BatchSize][];
        for (int b = 0; b < batches.Length; b++)
        {
            batches[b] = new int[Classes];
            for (int i = b * BatchSize; i < (b + 1) * BatchSize; i++)
                batches[b][order[i] / RowsPerClass]++;
        }
        return batches;
    }

    private static long[] Histogram(int[][] batches)
    {
        var histogram = new long[Bins];
        foreach (var counts in batches)
            foreach (int n in counts)
                histogram[Math.Min(n, Bins - 1)]++;
        return histogram;
    }

    /// <summary>Pearson's chi-square for two samples of one categorical variable (df = bins − 1).</summary>
    private static double Homogeneity(long[] a, long[] b)
    {
        double totalA = a.Sum(), totalB = b.Sum(), statistic = 0;
        for (int k = 0; k < a.Length; k++)
        {
            double column = a[k] + b[k];
            if (column == 0)
                continue;
            double expectedA = column * totalA / (totalA + totalB), expectedB = column * totalB / (totalA + totalB);
            statistic += (a[k] - expectedA) * (a[k] - expectedA) / expectedA + (b[k] - expectedB) * (b[k] - expectedB) / expectedB;
        }
        return statistic;
    }

    /// <summary>Per batch, Σ (count − B/C)² / (B/C); its mean must agree with the uniform shuffle's within 4 standard errors.</summary>
    private static void AssertMeanStatisticMatches(int[][] streamed, int[][] uniform, string what)
    {
        var (meanS, varS) = MeanAndVariance(streamed.Select(Statistic));
        var (meanU, varU) = MeanAndVariance(uniform.Select(Statistic));
        double standardError = Math.Sqrt(varS / streamed.Length + varU / uniform.Length);
        Assert.IsLessThan(4 * standardError, Math.Abs(meanS - meanU), $"{what}: mean batch chi-square {meanS:F3} vs uniform {meanU:F3}");

        static double Statistic(int[] counts)
        {
            double expected = (double)BatchSize / Classes;
            return counts.Sum(n => (n - expected) * (n - expected) / expected);
        }
    }

    private static (double Mean, double Variance) MeanAndVariance(IEnumerable<double> values)
    {
        var list = values.ToList();
        double mean = list.Average();
        return (mean, list.Sum(v => (v - mean) * (v - mean)) / (list.Count - 1));
    }

    private static int[] UniformOrder(int seed)
    {
        var order = Enumerable.Range(0, Rows).ToArray();
        new Random(seed).Shuffle(order);
        return order;
    }

    /// <summary>A pool of <paramref name="poolSize"/> rows filled in storage order; each step emits a random one and refills.</summary>
    private static List<int> BufferShuffle(int poolSize, int seed)
    {
        var random = new Random(seed);
        var pool = new List<int>(poolSize);
        var order = new List<int>(Rows);
        for (int next = 0; order.Count < Rows;)
        {
            while (pool.Count < poolSize && next < Rows)
                pool.Add(next++);
            int pick = random.Next(pool.Count);
            order.Add(pool[pick]);
            pool[pick] = pool[^1];
            pool.RemoveAt(pool.Count - 1);
        }
        return order;
    }
}
