using System.Numerics.Tensors;
using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Tests.Kernels;

/// <summary>The fused epilogues give exactly what the separate passes they replace give, on shapes that leave edge
/// tiles, through the few-row path (m ≤ 3) and the blocked path, on one and two threads.</summary>
[TestClass]
public sealed class GemmEpilogueTests
{
    public static IEnumerable<object[]> Shapes()
    {
        foreach (var activation in Enum.GetValues<NeuralNetworkActivation>())
            foreach (var (m, n, k) in new[] { (1, 3, 5), (3, 33, 17), (17, 65, 33), (40, 256, 300) })
                yield return new object[] { activation, m, n, k };
    }

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void BiasAndActivationEpilogueEqualsSeparatePasses(NeuralNetworkActivation activation, int m, int n, int k)
    {
        var a = Random(m * k, 1);
        var b = Random(k * n, 2);
        var bias = Random(n, 3);
        var expectedZ = new float[m * n];
        Gemm.Multiply(false, false, m, n, k, a, k, b, n, expectedZ, n, accumulate: false);
        for (int i = 0; i < m; i++)
            TensorPrimitives.Add(expectedZ.AsSpan(i * n, n), bias, expectedZ.AsSpan(i * n, n));
        var expectedA = new float[m * n];
        Activations.Forward(activation, expectedZ, expectedA);
        foreach (int threads in new[] { 1, 2 })
        {
            var z = new float[m * n];
            var activated = new float[m * n];
            Gemm.MultiplyAddBias(m, n, k, a, k, b, n, z, bias, activation, activated, threads);
            CollectionAssert.AreEqual(expectedZ, z, $"z, {threads} threads");
            if (activation is NeuralNetworkActivation.Tanh or NeuralNetworkActivation.Sigmoid)
            {
                // TensorPrimitives' vector and scalar paths round these differently: a tile's tail is not a row's tail.
                for (int i = 0; i < expectedA.Length; i++)
                    Assert.AreEqual(expectedA[i], activated[i], 4e-7f, $"f(z)[{i}], {threads} threads");
            }
            else
            {
                CollectionAssert.AreEqual(expectedA, activated, $"f(z), {threads} threads");
            }
        }
    }

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void DerivativeEpilogueEqualsSeparatePasses(NeuralNetworkActivation activation, int m, int n, int k)
    {
        var dz = Random(m * k, 4);
        var w = Random(n * k, 5);           // stored n × k, used transposed
        var z = Random(m * n, 6);
        var a = new float[m * n];
        Activations.Forward(activation, z, a);
        var mask = Random(m * n, 7).Select(v => v > 0 ? 2f : 0f).ToArray();
        var expected = new float[m * n];
        Gemm.Multiply(false, true, m, n, k, dz, k, w, k, expected, n, accumulate: false);
        TensorPrimitives.Multiply(expected, mask, expected);
        Activations.Backward(activation, z, a, expected);
        foreach (int threads in new[] { 1, 2 })
        {
            var actual = new float[m * n];
            Gemm.MultiplyTransposedTimesDerivative(m, n, k, dz, k, w, k, actual, activation, z, a, mask, threads);
            CollectionAssert.AreEqual(expected, actual, $"{threads} threads");
        }
    }
    [TestMethod]
    public void ReluEpilogueMatchesTensorPrimitivesMaxOnSpecialValues()
    {
        // The inline ReLU must give what TensorPrimitives.Max(z, 0) gives for every z, NaN and infinities included,
        // in the vector lanes and in the scalar tail alike (n = 53 leaves both in a 32-wide tile).
        const int m = 9, n = 53, k = 7;
        var a = Random(m * k, 8);
        var b = Random(k * n, 9);
        float[] special = { float.NaN, float.NegativeInfinity, float.PositiveInfinity, -0f, 1e-40f, -1e-40f, float.MaxValue, -float.MaxValue };
        var bias = Random(n, 10);
        for (int j = 0; j < n; j += 3)
            bias[j] = special[(j / 3) % special.Length];
        var expectedZ = new float[m * n];
        Gemm.Multiply(false, false, m, n, k, a, k, b, n, expectedZ, n, accumulate: false);
        for (int i = 0; i < m; i++)
            TensorPrimitives.Add(expectedZ.AsSpan(i * n, n), bias, expectedZ.AsSpan(i * n, n));
        var expectedA = new float[m * n];
        TensorPrimitives.Max(expectedZ, 0f, expectedA);
        var z = new float[m * n];
        var activated = new float[m * n];
        Gemm.MultiplyAddBias(m, n, k, a, k, b, n, z, bias, NeuralNetworkActivation.ReLU, activated, 1);
        for (int i = 0; i < z.Length; i++)
        {
            Assert.AreEqual(BitConverter.SingleToInt32Bits(expectedZ[i]), BitConverter.SingleToInt32Bits(z[i]), $"z[{i}]");
            Assert.AreEqual(BitConverter.SingleToInt32Bits(expectedA[i]), BitConverter.SingleToInt32Bits(activated[i]), $"f(z)[{i}] of {z[i]}");
        }
    }
}
