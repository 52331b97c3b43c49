using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;

namespace MlNetMiniBatch.Tests.Optimizers;

/// <summary>
/// Each update rule against its textbook form, step by step, computed here element by element in double. The model
/// (300 → 110, 33,110 parameters: vector bodies, scalar tails, and above the size at which a step is split across
/// threads) runs five steps with a new gradient each time.
/// </summary>
[TestClass]
public sealed class OptimizerTests
{
    private static readonly NetworkLayout Layout = new([300, 110]);
    private const float LearningRate = 0.01f;

    [TestMethod]
    [DataRow(0f, false, 1)]
    [DataRow(0.9f, false, 1)]
    [DataRow(0.9f, false, 2)]
    [DataRow(0.9f, true, 2)]
    public void SgdFollowsPyTorchsMomentumForm(float momentum, bool nesterov, int threads)
    {
        var velocity = new double[Layout.ParameterCount];
        Check(new NeuralNetworkOptions { Optimizer = NeuralNetworkOptimizer.Sgd, Momentum = momentum, Nesterov = nesterov }, threads,
            (p, g, i, _) =>
            {
                velocity[i] = momentum * velocity[i] + g;
                return p - LearningRate * (nesterov ? g + momentum * velocity[i] : velocity[i]);
            });
    }

    [TestMethod]
    [DataRow(NeuralNetworkOptimizer.Adam, 1)]
    [DataRow(NeuralNetworkOptimizer.Adam, 2)]
    [DataRow(NeuralNetworkOptimizer.AdamW, 2)]
    public void AdamFollowsTheBiasCorrectedForm_AdamWAlsoShrinksTheWeights(NeuralNetworkOptimizer kind, int threads)
    {
        const double decay = 0.05;
        var m = new double[Layout.ParameterCount];
        var v = new double[Layout.ParameterCount];
        int weights = Layout.WeightCount(0);
        Check(new NeuralNetworkOptions { Optimizer = kind, L2Regularization = kind == NeuralNetworkOptimizer.AdamW ? (float)decay : null }, threads,
            (p, g, i, t) =>
            {
                if (kind == NeuralNetworkOptimizer.AdamW && i < weights)
                    p *= 1 - LearningRate * decay;
                m[i] = AdamOptimizer.Beta1 * m[i] + (1 - AdamOptimizer.Beta1) * g;
                v[i] = AdamOptimizer.Beta2 * v[i] + (1 - AdamOptimizer.Beta2) * g * g;
                double mHat = m[i] / (1 - Math.Pow(AdamOptimizer.Beta1, t));
                double vHat = v[i] / (1 - Math.Pow(AdamOptimizer.Beta2, t));
                return p - LearningRate * mHat / (Math.Sqrt(vHat) + AdamOptimizer.Epsilon);
            });
    }

    [TestMethod]
    [DataRow(0f, 2)]
    [DataRow(0.5f, 2)]
    public void RmsPropFollowsKerasForm(float momentum, int threads)
    {
        var s = new double[Layout.ParameterCount];
        var b = new double[Layout.ParameterCount];
        Check(new NeuralNetworkOptions { Optimizer = NeuralNetworkOptimizer.RmsProp, Momentum = momentum }, threads,
            (p, g, i, _) =>
            {
                s[i] = RmsPropOptimizer.Rho * s[i] + (1 - RmsPropOptimizer.Rho) * g * g;
                double scaled = g / (Math.Sqrt(s[i]) + RmsPropOptimizer.Epsilon);
                if (momentum == 0)
                    return p - LearningRate * scaled;
                b[i] = momentum * b[i] + scaled;
                return p - LearningRate * b[i];
            });
    }

    /// <summary>Five steps of the optimizer against <paramref name="reference"/>(p, g, index, step number from 1).</summary>
    /// <summary>The vector body and the scalar tail of each update give an element the same bits: 33 parameters whose
    /// inputs are all alike (32 in the body at any vector width, the last in the tail) stay alike over steps whose
    /// gradients change.</summary>
    [TestMethod]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0.9f, false)]
    [DataRow(NeuralNetworkOptimizer.Sgd, 0.9f, true)]
    [DataRow(NeuralNetworkOptimizer.Adam, 0f, false)]
    [DataRow(NeuralNetworkOptimizer.RmsProp, 0f, false)]
    [DataRow(NeuralNetworkOptimizer.RmsProp, 0.5f, false)]
    public void TheVectorBodyAndTheScalarTailGiveTheSameBits(NeuralNetworkOptimizer kind, float momentum, bool nesterov)
    {
        var layout = new NetworkLayout([32, 1]);
        Assert.AreEqual(33, layout.ParameterCount);
        var optimizer = Optimizer.Create(new NeuralNetworkOptions { Optimizer = kind, Momentum = momentum, Nesterov = nesterov }, layout);
        var parameters = Enumerable.Repeat(0.3f, layout.ParameterCount).ToArray();
        var random = new Random(2);
        for (int step = 0; step < 5; step++)
        {
            float g = (float)(random.NextDouble() - 0.5);
            optimizer.Step(parameters, Enumerable.Repeat(g, layout.ParameterCount).ToArray(), LearningRate);
        }
        Assert.AreNotEqual(0.3f, parameters[0], "the steps moved the parameters");
        foreach (var values in optimizer.State.Where(s => s.Length > 0).Prepend(parameters))
            Assert.AreEqual(1, values.Select(BitConverter.SingleToInt32Bits).Distinct().Count(), "every element has the same bits");
    }

    private static void Check(NeuralNetworkOptions options, int threads, Func<double, double, int, int, double> reference)
    {
        var optimizer = Optimizer.Create(options, Layout);
        var random = new Random(11);
        var parameters = Enumerable.Range(0, Layout.ParameterCount).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var expected = parameters.Select(p => (double)p).ToArray();
        for (int t = 1; t <= 5; t++)
        {
            var gradient = Enumerable.Range(0, Layout.ParameterCount).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            for (int i = 0; i < expected.Length; i++)
                expected[i] = reference(expected[i], gradient[i], i, t);
            optimizer.Step(parameters, gradient, LearningRate, threads);
            for (int i = 0; i < expected.Length; i++)
            {
                if (Math.Abs(parameters[i] - expected[i]) > 2e-6 * Math.Max(1, Math.Abs(expected[i])))
                    Assert.Fail($"step {t}, parameter {i} of {expected.Length}: {parameters[i]} but the reference gives {expected[i]}");
            }
        }
    }
}
