using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Tests.Network;

/// <summary>The vectorised dropout mask draws what the scalar counter-based draws give, element for element.</summary>
[TestClass]
public sealed class DropoutMaskTests
{
    [TestMethod]
    [DataRow(0.1f)]
    [DataRow(0.5f)]
    [DataRow(0.9f)]
    public void MaskEqualsTheScalarDrawsAtEveryLengthAndOffset(float rate)
    {
        float keep = 1 / (1 - rate);
        var random = new Random(7);
        int dropped = 0, total = 0;
        foreach (int length in new[] { 0, 1, 15, 16, 17, 31, 32, 33, 100, 384, 1000 })
        {
            ulong stream = (ulong)random.NextInt64(), offset = (ulong)random.Next(0, 1 << 20);
            var mask = new float[length];
            DropoutMask.Fill(mask, stream, offset, rate, keep);
            for (int i = 0; i < length; i++)
            {
                float expected = CounterRandom.NextFloat(stream, offset + (ulong)i) < rate ? 0f : keep;
                Assert.AreEqual(expected, mask[i], $"length {length}, element {i}");
            }
            dropped += mask.Count(m => m == 0);
            total += length;
        }
        Assert.AreEqual(rate, (double)dropped / total, 0.05, "the share of dropped units follows the rate");
    }
}
