using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Tests.Network;

/// <summary>A bias gradient split by columns across threads is each column's sum in row order, the bits of one thread.</summary>
[TestClass]
public sealed class BiasGradientTests
{
    [TestMethod]
    [DataRow(512, 256)]
    [DataRow(700, 100)] // a width that is no multiple of the 16-column ranges
    [DataRow(300, 250)]
    public void SplitByColumnsTheSumsAreTheBitsOfRowOrder(int rows, int width)
    {
        Assert.IsTrue((long)rows * width >= BiasGradient.MinFloats, "the case must be large enough to split");
        var random = new Random(rows + width);
        var dZ = Enumerable.Range(0, rows * width).Select(_ => (float)(random.NextDouble() * 2 - 1) * 1e-3f).ToArray();
        var expected = new float[width];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < width; j++)
                expected[j] += dZ[(r * width) + j];
        }

        foreach (int threads in new[] { 1, 2, 3, 4 })
        {
            var dB = Enumerable.Repeat(float.NaN, width).ToArray(); // every column must be overwritten
            long dispatched = BiasGradient.Dispatched;
            BiasGradient.Sum(dZ, rows, width, dB, threads);
            Assert.AreEqual(threads > 1, BiasGradient.Dispatched > dispatched, $"{threads} threads: split");
            CollectionAssert.AreEqual(expected, dB, $"{threads} threads");
        }
    }

    [TestMethod]
    public void ASmallSumStaysOnTheCallingThread()
    {
        const int rows = 32, width = 256; // a batch-32 step's widest bias: 8,192 floats, under BiasGradient.MinFloats
        long dispatched = BiasGradient.Dispatched;
        var dB = new float[width];
        BiasGradient.Sum(new float[rows * width], rows, width, dB, threads: 2);
        Assert.AreEqual(dispatched, BiasGradient.Dispatched);
    }
}
