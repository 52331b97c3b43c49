using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MlNetMiniBatch.Optimizers;

/// <summary>
/// RMSProp as in Keras: s ← ρ·s + (1−ρ)·g²; without momentum p ← p − lr·g / (√s + ε);
/// with momentum μ: b ← μ·b + g / (√s + ε); p ← p − lr·b. Both are stored <see cref="Subnormal">without subnormals</see>.
/// </summary>
internal sealed class RmsPropOptimizer : Optimizer
{
    internal const float Rho = 0.9f, Epsilon = 1e-7f;

    private readonly float _momentum;
    private readonly float[] _meanSquare;
    private readonly float[] _buffer;

    public RmsPropOptimizer(int parameterCount, float momentum) : base(parameterCount)
    {
        _momentum = momentum;
        _meanSquare = new float[parameterCount];
        _buffer = momentum > 0 ? new float[parameterCount] : Array.Empty<float>();
    }

    public override float[][] State => [_meanSquare, _buffer];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update(Span<float> allParameters, ReadOnlySpan<float> allGradient, float learningRate, int start, int length)
    {
        var parameters = allParameters.Slice(start, length);
        var gradient = allGradient.Slice(start, length);
        var s = _meanSquare.AsSpan(start, length);
        var buffer = _momentum > 0 ? _buffer.AsSpan(start, length) : Span<float>.Empty;
        for (int i = Vectorized(parameters, gradient, s, buffer, _momentum, learningRate); i < parameters.Length; i++)
        {
            s[i] = Subnormal.Flush(Rho * s[i] + (1 - Rho) * gradient[i] * gradient[i]);
            float scaled = gradient[i] / (MathF.Sqrt(s[i]) + Epsilon);
            if (_momentum > 0)
            {
                buffer[i] = Subnormal.Flush(_momentum * buffer[i] + scaled);
                parameters[i] -= learningRate * buffer[i];
            }
            else
            {
                parameters[i] -= learningRate * scaled;
            }
        }
    }

    /// <summary>The vectorised part of the update, 16 (or Vector&lt;float&gt;.Count) floats at a time; returns how many
    /// leading elements it did. The same operations in the same order as the scalar tail, so every element's result is
    /// the same whichever part handles it. Compiled on its own, never inlined, like Adam's (see there).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Vectorized(Span<float> p, ReadOnlySpan<float> g, Span<float> s, Span<float> b, float momentum, float learningRate)
    {
        ref float rp = ref MemoryMarshal.GetReference(p);
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float rs = ref MemoryMarshal.GetReference(s);
        ref float rb = ref MemoryMarshal.GetReference(b);
        bool withMomentum = momentum > 0;
        int length = p.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var rho = Vector512.Create(Rho); var oneMinusRho = Vector512.Create(1 - Rho);
            var lr = Vector512.Create(learningRate); var eps = Vector512.Create(Epsilon); var mu = Vector512.Create(momentum);
            for (; i <= length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var gi = Vector512.LoadUnsafe(ref rg, (nuint)i);
                var si = Subnormal.Flush((rho * Vector512.LoadUnsafe(ref rs, (nuint)i)) + (oneMinusRho * gi * gi));
                si.StoreUnsafe(ref rs, (nuint)i);
                var scaled = gi / (Vector512.Sqrt(si) + eps);
                if (withMomentum)
                {
                    var bi = Subnormal.Flush((mu * Vector512.LoadUnsafe(ref rb, (nuint)i)) + scaled);
                    bi.StoreUnsafe(ref rb, (nuint)i);
                    scaled = bi;
                }
                (Vector512.LoadUnsafe(ref rp, (nuint)i) - (lr * scaled)).StoreUnsafe(ref rp, (nuint)i);
            }
        }
        else if (Vector.IsHardwareAccelerated)
        {
            var rho = new Vector<float>(Rho); var oneMinusRho = new Vector<float>(1 - Rho);
            var lr = new Vector<float>(learningRate); var eps = new Vector<float>(Epsilon); var mu = new Vector<float>(momentum);
            for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var gi = Vector.LoadUnsafe(ref rg, (nuint)i);
                var si = Subnormal.Flush((rho * Vector.LoadUnsafe(ref rs, (nuint)i)) + (oneMinusRho * gi * gi));
                si.StoreUnsafe(ref rs, (nuint)i);
                var scaled = gi / (Vector.SquareRoot(si) + eps);
                if (withMomentum)
                {
                    var bi = Subnormal.Flush((mu * Vector.LoadUnsafe(ref rb, (nuint)i)) + scaled);
                    bi.StoreUnsafe(ref rb, (nuint)i);
                    scaled = bi;
                }
                (Vector.LoadUnsafe(ref rp, (nuint)i) - (lr * scaled)).StoreUnsafe(ref rp, (nuint)i);
            }
        }
        return i;
    }
}
