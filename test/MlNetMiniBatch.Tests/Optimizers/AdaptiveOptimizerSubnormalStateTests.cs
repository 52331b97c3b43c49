using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;

namespace MlNetMiniBatch.Tests.Optimizers;

/// <summary>
/// Adam's and RMSProp's moments decay below the smallest normal float where the gradient stays zero; they are stored
/// as zero instead (the measured Adam step at batch 32 took 12 times as long with 6% of its state subnormal), without
/// moving any weight differently from the unflushed update. The reference below is the update written out in float,
/// never flushed. The model (300 → 110, 33,110 parameters) covers the vector bodies, the scalar tail and the split
/// across threads.
/// </summary>
[TestClass]
public sealed class AdaptiveOptimizerSubnormalStateTests
{
    private static readonly NetworkLayout Layout = new([300, 110]);
    private const int Steps = 1000;
    private const float Rate = 0.001f;

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void AdamMomentsBecomeZeroInsteadOfSubnormal_AndTheWeightsMoveAsWithout(int threads)
    {
        const float b1 = AdamOptimizer.Beta1, b2 = AdamOptimizer.Beta2;
        int n = Layout.ParameterCount;
        var m = new float[n];
        var v = new float[n];
        bool mSubnormal = false, vSubnormal = false;
        var state = Run(new NeuralNetworkOptions { Optimizer = NeuralNetworkOptimizer.Adam }, threads, (step, p, g) =>
        {
            float correction1 = 1 - MathF.Pow(b1, step);
            float sqrtCorrection2 = MathF.Sqrt(1 - MathF.Pow(b2, step));
            float size = Rate / correction1 * sqrtCorrection2, epsilon = AdamOptimizer.Epsilon * sqrtCorrection2;
            for (int i = 0; i < n; i++)
            {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                mSubnormal |= float.IsSubnormal(m[i]);
                vSubnormal |= float.IsSubnormal(v[i]);
                p[i] -= size * m[i] / (MathF.Sqrt(v[i]) + epsilon);
            }
        });
        Assert.IsTrue(mSubnormal && vSubnormal, "both unflushed moments went through subnormal values");
        AssertFlushed(state[0], m, "m");
        AssertFlushed(state[1], v, "v");
    }

    [TestMethod]
    [DataRow(0f, 1)]
    [DataRow(0.9f, 2)]
    public void RmsPropStateBecomesZeroInsteadOfSubnormal_AndTheWeightsMoveAsWithout(float momentum, int threads)
    {
        const float rho = RmsPropOptimizer.Rho;
        int n = Layout.ParameterCount;
        var s = new float[n];
        var b = new float[n];
        bool sawSubnormal = false;
        var state = Run(new NeuralNetworkOptions { Optimizer = NeuralNetworkOptimizer.RmsProp, Momentum = momentum }, threads, (_, p, g) =>
        {
            for (int i = 0; i < n; i++)
            {
                s[i] = rho * s[i] + (1 - rho) * g[i] * g[i];
                sawSubnormal |= float.IsSubnormal(s[i]);
                float scaled = g[i] / (MathF.Sqrt(s[i]) + RmsPropOptimizer.Epsilon);
                if (momentum > 0)
                {
                    b[i] = momentum * b[i] + scaled;
                    sawSubnormal |= float.IsSubnormal(b[i]);
                    p[i] -= Rate * b[i];
                }
                else
                {
                    p[i] -= Rate * scaled;
                }
            }
        });
        Assert.IsTrue(sawSubnormal, "the unflushed state went through subnormal values");
        AssertFlushed(state[0], s, "the mean square");
        if (momentum > 0)
            AssertFlushed(state[1], b, "the momentum buffer");
    }

    /// <summary>One tiny gradient, then none: the moments decay through the subnormal range within <see cref="Steps"/>
    /// (a gradient of 3e-18 puts Adam's v there at once, its m after about 420 steps and RMSProp's momentum buffer after about 620). Checks that the optimizer's
    /// weights equal the reference's after every step, and returns the optimizer's state.</summary>
    private static float[][] Run(NeuralNetworkOptions options, int threads, Action<int, float[], float[]> reference)
    {
        var optimizer = Optimizer.Create(options, Layout);
        int n = Layout.ParameterCount;
        var random = new Random(3);
        var parameters = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var expected = (float[])parameters.Clone();
        var gradient = new float[n];
        for (int step = 1; step <= Steps; step++)
        {
            for (int i = 0; i < n; i++)
                gradient[i] = step == 1 ? 3e-18f * (1 + i % 5) : 0f;
            optimizer.Step(parameters, gradient, Rate, threads);
            reference(step, expected, gradient);
        }
        CollectionAssert.AreEqual(expected, parameters, "every weight is where the unflushed update puts it");
        return optimizer.State;
    }

    /// <summary>A flushed value stays zero and an unflushed one never went subnormal, so the stored state is the
    /// reference's with its subnormals (and only those) replaced by zero.</summary>
    private static void AssertFlushed(float[] state, float[] reference, string name)
    {
        Assert.AreEqual(0, state.Count(float.IsSubnormal), $"no subnormal {name} is stored");
        Assert.IsTrue(state.Any(x => x == 0f) && reference.Any(x => x != 0f), $"some {name} decayed to zero");
        CollectionAssert.AreEqual(reference.Select(x => float.IsSubnormal(x) ? 0f : x).ToArray(), state,
            $"{name} is the unflushed {name} with its subnormals set to zero");
    }
}
