using System.Numerics.Tensors;

namespace MlNetMiniBatch.Optimizers;

/// <summary>
/// SGD with optional momentum in PyTorch's form: v ← μ·v + g; p ← p − lr·v, or with Nesterov p ← p − lr·(g + μ·v).
/// With μ = 0 it is plain p ← p − lr·g.
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

    public override void Step(Span<float> parameters, ReadOnlySpan<float> gradient, float learningRate)
    {
        Steps++;
        if (_momentum == 0)
        {
            TensorPrimitives.MultiplyAdd(gradient, -learningRate, parameters, parameters);
            return;
        }
        var v = _velocity.AsSpan();
        TensorPrimitives.MultiplyAdd(v, _momentum, gradient, v);
        if (_nesterov)
        {
            for (int i = 0; i < parameters.Length; i++)
                parameters[i] -= learningRate * (gradient[i] + _momentum * v[i]);
        }
        else
        {
            TensorPrimitives.MultiplyAdd(v, -learningRate, parameters, parameters);
        }
    }
}
