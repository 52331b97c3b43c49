using MlNetMiniBatch.Distributed;
using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Tests.Distributed;

/// <summary>How the gradient's layers are grouped into the buckets summed across ranks during backward.</summary>
[TestClass]
public sealed class GradientBucketsTests
{
    // 784-256-128-10: layer 0 holds 200,960 parameters, layer 1 32,896, layer 2 1,290.
    private static readonly NetworkLayout FashionMnist = new([784, 256, 128, 10]);

    [TestMethod]
    public void BucketsFormFromTheOutputLayerDownAndCloseOnceTheyHoldTheMinimum()
    {
        var perLayer = GradientBuckets.Plan(FashionMnist, 1);
        CollectionAssert.AreEqual(new[] { (233_856, 1_290), (200_960, 32_896), (0, 200_960) }, perLayer.Slices.ToArray());
        CollectionAssert.AreEqual(new[] { 2, 1, 0 }, Enumerable.Range(0, 3).Select(perLayer.ClosedBy).ToArray(), "layer 0 closes the last bucket");

        var fused = GradientBuckets.Plan(FashionMnist, 16_384);
        CollectionAssert.AreEqual(new[] { (200_960, 34_186), (0, 200_960) }, fused.Slices.ToArray(), "the two top layers share one reduction");
        CollectionAssert.AreEqual(new[] { 1, 0, -1 }, Enumerable.Range(0, 3).Select(fused.ClosedBy).ToArray());

        var one = GradientBuckets.Plan(FashionMnist, 65_536);
        CollectionAssert.AreEqual(new[] { (0, FashionMnist.ParameterCount) }, one.Slices.ToArray(), "34,186 is below the minimum, so layer 0 joins");
    }

    [TestMethod]
    public void ANegativeBucketSizeIsRefusedNamingTheOptionAndZeroTurnsOverlapOff()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => DistributedTraining.Mpi(gradientBucketSize: -1));

        Assert.AreEqual("gradientBucketSize", error.ParamName);
        Assert.Contains("or 0 to sum the whole gradient after backward", error.Message);
        Assert.AreEqual(0, DistributedTraining.MpiPerRankData(gradientBucketSize: 0).GradientBucketSize);
    }
}
