using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace MlNetMiniBatch.Network;

/// <summary>Hidden-layer non-linearities and their derivatives, element-wise over spans.</summary>
internal static class Activations
{
    internal const float LeakySlope = 0.01f;

    /// <summary>a = f(z).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(NeuralNetworkActivation activation, ReadOnlySpan<float> z, Span<float> a)
    {
        switch (activation)
        {
            case NeuralNetworkActivation.ReLU: TensorPrimitives.Max(z, 0f, a); break;
            case NeuralNetworkActivation.LeakyReLU: LeakyRelu(z, a); break;
            case NeuralNetworkActivation.Tanh: TensorPrimitives.Tanh(z, a); break;
            case NeuralNetworkActivation.Sigmoid: TensorPrimitives.Sigmoid(z, a); break;
            case NeuralNetworkActivation.GELU:
                for (int i = 0; i < z.Length; i++) a[i] = Gelu(z[i]);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, null);
        }
    }

    /// <summary>gradient ← gradient ⊙ f'(z), given z and a = f(z) (whichever the derivative is cheaper from).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(NeuralNetworkActivation activation, ReadOnlySpan<float> z, ReadOnlySpan<float> a, Span<float> gradient)
    {
        switch (activation)
        {
            case NeuralNetworkActivation.ReLU: ScaleWherePositive(z, gradient, 0f); break;
            case NeuralNetworkActivation.LeakyReLU: ScaleWherePositive(z, gradient, LeakySlope); break;
            case NeuralNetworkActivation.Tanh:
                for (int i = 0; i < gradient.Length; i++) gradient[i] *= 1f - a[i] * a[i];
                break;
            case NeuralNetworkActivation.Sigmoid:
                for (int i = 0; i < gradient.Length; i++) gradient[i] *= a[i] * (1f - a[i]);
                break;
            case NeuralNetworkActivation.GELU:
                for (int i = 0; i < gradient.Length; i++) gradient[i] *= GeluDerivative(z[i]);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, null);
        }
    }

    private static void LeakyRelu(ReadOnlySpan<float> z, Span<float> a)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var slope = new Vector<float>(LeakySlope);
            for (; i <= z.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(z.Slice(i));
                Vector.Max(v, v * slope).CopyTo(a.Slice(i));
            }
        }
        for (; i < z.Length; i++) a[i] = z[i] > 0 ? z[i] : LeakySlope * z[i];
    }

    /// <summary>gradient[i] *= z[i] &gt; 0 ? 1 : negativeScale.</summary>
    private static void ScaleWherePositive(ReadOnlySpan<float> z, Span<float> gradient, float negativeScale)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var one = Vector<float>.One;
            var neg = new Vector<float>(negativeScale);
            for (; i <= gradient.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var positive = Vector.GreaterThan(new Vector<float>(z.Slice(i)), Vector<float>.Zero);
                var scale = Vector.ConditionalSelect(positive, one, neg);
                (new Vector<float>(gradient.Slice(i)) * scale).CopyTo(gradient.Slice(i));
            }
        }
        for (; i < gradient.Length; i++) gradient[i] *= z[i] > 0 ? 1f : negativeScale;
    }

    private const float InvSqrt2 = 0.70710678118654752f;
    private const float InvSqrt2Pi = 0.39894228040143268f;

    internal static float Gelu(float x) => 0.5f * x * (1f + Erf(x * InvSqrt2));

    /// <summary>d/dx x·Φ(x) = Φ(x) + x·φ(x).</summary>
    internal static float GeluDerivative(float x) =>
        0.5f * (1f + Erf(x * InvSqrt2)) + x * InvSqrt2Pi * MathF.Exp(-0.5f * x * x);

    /// <summary>Error function, Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7, below float resolution near 1).</summary>
    internal static float Erf(float x)
    {
        float sign = x < 0 ? -1f : 1f;
        x = MathF.Abs(x);
        float t = 1f / (1f + 0.3275911f * x);
        float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
        return sign * (1f - poly * MathF.Exp(-x * x));
    }
}
