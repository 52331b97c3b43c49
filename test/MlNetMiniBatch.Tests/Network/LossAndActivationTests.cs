using MlNetMiniBatch.Network;
using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Tests.Network;

[TestClass]
public sealed class LossAndActivationTests
{
    [TestMethod]
    public void SoftmaxCrossEntropyIsStableForHugeLogits()
    {
        float[] logits = [1000f, -1000f, 999f];
        var gradient = new float[3];
        double loss = TrainingTask.For(NeuralNetworkTask.MulticlassClassification).Loss(logits, [2f], [1f], 1, 3, 1, gradient);
        Assert.AreEqual(1 + Math.Log(1 + Math.Exp(-1) + Math.Exp(-2000)), loss, 1e-9);
        Assert.IsTrue(gradient.All(float.IsFinite));
        Assert.AreEqual(0f, gradient.Sum(), 1e-6f);
    }

    [TestMethod]
    public void SigmoidLogLossIsStableForHugeLogits()
    {
        var gradient = new float[2];
        double loss = TrainingTask.For(NeuralNetworkTask.BinaryClassification).Loss([500f, -500f], [0f, 0f], [1f, 1f], 2, 1, 2, gradient);
        Assert.AreEqual(500, loss, 1e-9);
        Assert.AreEqual(0.5f, gradient[0], 1e-6f);
        Assert.AreEqual(0f, gradient[1], 1e-6f);
    }

    [TestMethod]
    public void ErfMatchesKnownValues()
    {
        // erf(0.5), erf(1), erf(2) to 9 digits (Abramowitz and Stegun, table 7.1)
        Assert.AreEqual(0.520499878f, Activations.Erf(0.5f), 3e-7f);
        Assert.AreEqual(0.842700793f, Activations.Erf(1f), 3e-7f);
        Assert.AreEqual(-0.995322265f, Activations.Erf(-2f), 3e-7f);
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(3)]
    [DataRow(17)]
    [DataRow(33)]
    [DataRow(257)]
    public void ActivationsMatchScalarDefinitionsAtOddLengths(int length)
    {
        var random = new Random(length);
        var z = Enumerable.Range(0, length).Select(_ => 3 * Synthetic.Gaussian(random)).ToArray();
        var a = new float[length];
        foreach (var activation in Enum.GetValues<NeuralNetworkActivation>())
        {
            Activations.Forward(activation, z, a);
            for (int i = 0; i < length; i++)
            {
                double x = z[i];
                double expected = activation switch
                {
                    NeuralNetworkActivation.ReLU => Math.Max(0, x),
                    NeuralNetworkActivation.LeakyReLU => x > 0 ? x : 0.01 * x,
                    NeuralNetworkActivation.Tanh => Math.Tanh(x),
                    NeuralNetworkActivation.Sigmoid => 1 / (1 + Math.Exp(-x)),
                    _ => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))),
                };
                Assert.AreEqual(expected, a[i], 1e-5 * (1 + Math.Abs(expected)), $"{activation}({x})");
            }
        }
    }

    [TestMethod]
    public void InitializationVarianceSuitsTheActivation()
    {
        var layout = new NetworkLayout(new[] { 400, 300, 10 });
        var parameters = new float[layout.ParameterCount];
        WeightInitializer.Initialize(layout, NeuralNetworkActivation.ReLU, parameters, new Random(1));
        Assert.AreEqual(2.0 / 400, Variance(layout.Weights((ReadOnlySpan<float>)parameters, 0)), 0.1 * 2.0 / 400, "He for ReLU");
        Assert.AreEqual(2.0 / 310, Variance(layout.Weights((ReadOnlySpan<float>)parameters, 1)), 0.1 * 2.0 / 310, "Glorot for the output layer");
        WeightInitializer.Initialize(layout, NeuralNetworkActivation.Tanh, parameters, new Random(1));
        Assert.AreEqual(2.0 / 700, Variance(layout.Weights((ReadOnlySpan<float>)parameters, 0)), 0.1 * 2.0 / 700, "Glorot for tanh");
        Assert.IsTrue(layout.Bias((ReadOnlySpan<float>)parameters, 0).ToArray().All(b => b == 0));
    }

    private static double Variance(ReadOnlySpan<float> values)
    {
        double sum = 0, sumSquares = 0;
        foreach (float v in values) { sum += v; sumSquares += (double)v * v; }
        double mean = sum / values.Length;
        return sumSquares / values.Length - mean * mean;
    }

    // Reference erf in double (Numerical Recipes' erfc with fractional error below 1.2e-7).
    private static double Erf(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
            t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - r : r - 1;
    }
}
