using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>The reader's finite-feature check, in its vector bodies and scalar tails.</summary>
[TestClass]
public sealed class FiniteCheckTests
{
    [TestMethod]
    public void EveryNonFiniteValueIsFoundWhereverItSits_AndFiniteRowsAreCopiedExactly()
    {
        var random = new Random(3);
        foreach (int length in new[] { 1, 7, 16, 37, 784 })
        {
            var row = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2e6 - 1e6)).ToArray();
            row[0] = float.MaxValue;
            row[^1] = -float.Epsilon;
            var copy = new float[length + 3];
            Assert.IsTrue(BatchReader.AllFinite(row));
            Assert.IsTrue(BatchReader.AllFinite(row, copy));
            CollectionAssert.AreEqual(row, copy.Take(length).ToArray());
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                for (int at = 0; at < length; at++)
                {
                    var withBad = (float[])row.Clone();
                    withBad[at] = bad;
                    Assert.IsFalse(BatchReader.AllFinite(withBad), $"{bad} at {at} of {length}");
                    Assert.IsFalse(BatchReader.AllFinite(withBad, copy), $"{bad} at {at} of {length} (copying)");
                }
            }
        }
    }
}
