using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;

namespace MlNetMiniBatch.Tests.Optimizers;

/// <summary>
/// SGD momentum stores a velocity that decays below the smallest normal float as zero (arithmetic on subnormals is
/// what made batch-32 steps several times slower), without moving any weight differently and keeping NaN.
/// The model (300 → 110, 33,110 parameters) covers the vector bodies, the scalar tail and the split across threads.
/// </summary>
[TestClass]
public sealed class SgdSubnormalVelocityTests
{
    private static readonly NetworkLayout Layout = new([300, 110]);

    [TestMethod]
    [DataRow(false, 1)]
    [DataRow(false, 2)]
    [DataRow(true, 2)]
    public void ADecayingVelocityBecomesZeroInsteadOfSubnormal_AndTheWeightsMoveAsWithout(bool nesterov, int threads)
    {
        const float momentum = 0.9f, rate = 0.05f;
        var optimizer = Optimizer.Create(new NeuralNetworkOptions { Optimizer = NeuralNetworkOptimizer.Sgd, Momentum = momentum, Nesterov = nesterov },
            Layout);
        int n = Layout.ParameterCount;
        var random = new Random(2);
        var parameters = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var expected = (float[])parameters.Clone();
        var velocity = new float[n]; // the same update in float, never flushed
        var gradient = new float[n];
        bool sawSubnormal = false;
        for (int step = 0; step < 400; step++)
        {
            // One small gradient, then none: μ^k · 1e-30 passes 2^−126 after about 180 steps.
            for (int i = 0; i < n; i++)
                gradient[i] = step == 0 ? 1e-30f * (1 + i % 5) : 0f;
            optimizer.Step(parameters, gradient, rate, threads);
            for (int i = 0; i < n; i++)
            {
                velocity[i] = velocity[i] * momentum + gradient[i];
                sawSubnormal |= float.IsSubnormal(velocity[i]);
                expected[i] -= rate * (nesterov ? gradient[i] + momentum * velocity[i] : velocity[i]);
            }
        }
        Assert.IsTrue(sawSubnormal, "the unflushed velocity went through subnormal values");
        float[] state = optimizer.State[0];
        Assert.AreEqual(0, state.Count(float.IsSubnormal), "no subnormal velocity is stored");
        Assert.IsTrue(state.All(v => v == 0f), "the decayed velocity is zero");
        CollectionAssert.AreEqual(expected, parameters, "every weight is where the unflushed update puts it");
    }

    [TestMethod]
    public void ANaNGradientStillReachesTheVelocityAndTheWeights()
    {
        var optimizer = Optimizer.Create(new NeuralNetworkOptions { Optimizer = NeuralNetworkOptimizer.Sgd, Momentum = 0.9f }, Layout);
        var parameters = new float[Layout.ParameterCount];
        var gradient = new float[Layout.ParameterCount];
        gradient[5] = float.NaN;
        gradient[^1] = float.PositiveInfinity; // the scalar tail
        optimizer.Step(parameters, gradient, 0.1f, threads: 2);
        Assert.IsTrue(float.IsNaN(optimizer.State[0][5]) && float.IsNaN(parameters[5]));
        Assert.IsTrue(float.IsPositiveInfinity(optimizer.State[0][^1]) && float.IsNegativeInfinity(parameters[^1]));
    }
}
