using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>
/// The noise-scale estimator says "no estimate" instead of returning a wild value when an epoch cannot tell |G|² from
/// zero: too few groups of batches, or a |G|² estimate within one standard error of zero.
/// </summary>
[TestClass]
public sealed class NoiseEstimateConfidenceTests
{
    private const int Parameters = 64, BatchSize = 32;

    /// <summary>One epoch of <paramref name="batches"/> batch gradients G + noise of variance σ²/b per parameter.</summary>
    private static double? Epoch(double signal, double sigma, int batches, int seed)
    {
        var random = new Random(seed);
        var estimator = new GradientNoiseEstimator(Parameters, seed);
        estimator.StartEpoch(1);
        var gradient = new float[Parameters];
        for (int b = 0; b < batches; b++)
        {
            for (int j = 0; j < Parameters; j++)
                gradient[j] = (float)(signal + sigma * Synthetic.Gaussian(random) / Math.Sqrt(BatchSize));
            estimator.Add(gradient, BatchSize);
        }
        return estimator.EpochEstimate(long.MaxValue);
    }

    [TestMethod]
    public void AGradientLostInItsNoiseGivesNoEstimate()
    {
        // G = 0: the true B_simple is infinite, and any finite value is noise. The former estimator reported one whenever
        // its |G|² estimate happened to come out positive (22 of these 40 epochs, up to 184,000). Within one standard
        // error of zero none is reported, so the few left (a t statistic above 1: about one in six) are also the least
        // wild: B_simple ≤ tr(Σ) / (one standard error of |G|²).
        var estimates = Enumerable.Range(1, 40).Select(seed => Epoch(signal: 0, sigma: 1, batches: 64, seed)).ToArray();
        double[] reported = estimates.Where(e => e is not null).Select(e => e!.Value).ToArray();
        string values = $"{reported.Length} of 40 epochs reported {string.Join(", ", reported.Select(e => e.ToString("G3")))}";
        Assert.IsLessThanOrEqualTo(12, reported.Length, values);
        Assert.IsTrue(reported.All(e => e < 5_000), values);
    }

    [TestMethod]
    public void AClearGradientIsStillMeasured()
    {
        // B_simple = σ² / G² = 100 per parameter; 64 batches of 32 rows (16 groups) tell |G|² from zero.
        for (int seed = 1; seed <= 10; seed++)
        {
            double? estimate = Epoch(signal: 0.1, sigma: 1, batches: 64, seed);
            Assert.IsNotNull(estimate, $"seed {seed}");
            Assert.AreEqual(100, estimate.Value, 30, $"seed {seed}");
        }
    }

    [TestMethod]
    public void FewerThanFourGroupsOfBatchesGiveNoEstimate()
    {
        // A 9,025-row epoch at batch 1024 has 8 full batches: two groups, which gave 2,870 in one epoch and 886,000 in the
        // next. Even a clear gradient is not reported from so few; from four groups it is.
        Assert.AreEqual(4, GradientNoiseEstimator.MinimumGroups);
        Assert.IsNull(Epoch(signal: 1, sigma: 1, batches: 4 * 3 + 3, seed: 1));
        Assert.IsNotNull(Epoch(signal: 1, sigma: 1, batches: 4 * 4, seed: 1));
    }
}
