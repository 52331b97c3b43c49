using System.Numerics;
using System.Runtime.CompilerServices;

namespace MlNetMiniBatch.Optimizers;

/// <summary>
/// SGD with optional momentum in PyTorch's form: v ← μ·v + g; p ← p − lr·v, or with Nesterov p ← p − lr·(g + μ·v).
/// With μ = 0 it is plain p ← p − lr·g. One pass over the arrays.
/// </summary>
internal sealed class SgdOptimizer : Optimizer
{
    private readonly float _momentum;
    private readonly bool _nesterov;
    private readonly float[] _velocity;

    public SgdOptimizer(int parameterCount, float momentum, bool nesterov) : base(parameterCount)
    {
        _momentum = momentum;
        _nesterov = nesterov;
        _velocity = momentum > 0 ? new float[parameterCount] : Array.Empty<float>();
    }

    public override float[][] State => [_velocity];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradient, float learningRate, int start, int length)
    {
        var p = parameters.Slice(start, length);
        var g = gradient.Slice(start, length);
        if (_momentum == 0)
        {
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(g, -learningRate, p, p);
            return;
        }
        var v = _velocity.AsSpan(start, length);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var mu = new Vector<float>(_momentum);
            var rate = new Vector<float>(learningRate);
            for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var gi = new Vector<float>(g.Slice(i));
                var vi = new Vector<float>(v.Slice(i)) * mu + gi;
                vi.CopyTo(v.Slice(i));
                var step = _nesterov ? gi + mu * vi : vi;
                (new Vector<float>(p.Slice(i)) - rate * step).CopyTo(p.Slice(i));
            }
        }
        for (; i < length; i++)
        {
            v[i] = v[i] * _momentum + g[i];
            p[i] -= learningRate * (_nesterov ? g[i] + _momentum * v[i] : v[i]);
        }
    }
}
