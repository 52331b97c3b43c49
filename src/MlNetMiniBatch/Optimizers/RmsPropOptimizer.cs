using System.Numerics;
using System.Runtime.CompilerServices;

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
        int i = 0;
        if (_momentum == 0 && Vector.IsHardwareAccelerated)
        {
            var rho = new Vector<float>(Rho); var oneMinusRho = new Vector<float>(1 - Rho);
            var lr = new Vector<float>(learningRate); var eps = new Vector<float>(Epsilon);
            for (; i <= parameters.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var g = new Vector<float>(gradient.Slice(i));
                var si = Subnormal.Flush(rho * new Vector<float>(s.Slice(i)) + oneMinusRho * g * g);
                si.CopyTo(s.Slice(i));
                (new Vector<float>(parameters.Slice(i)) - lr * g / (Vector.SquareRoot(si) + eps)).CopyTo(parameters.Slice(i));
            }
        }
        for (; i < parameters.Length; i++)
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
}
