using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Optimizers;

/// <summary>
/// An update rule over the flat parameter vector. State (moments, step count) lives in arrays the size of the
/// parameters, allocated once, so a step allocates nothing.
/// </summary>
internal abstract class Optimizer
{
    protected Optimizer(int parameterCount) => ParameterCount = parameterCount;

    protected int ParameterCount { get; }

    /// <summary>Number of updates made so far.</summary>
    public long Steps { get; set; }

    /// <summary>The arrays that make up the optimizer's state besides <see cref="Steps"/>, for checkpoints:
    /// saving them and restoring them in place resumes the exact same sequence of updates.</summary>
    public abstract float[][] State { get; }

    /// <summary>parameters ← update(parameters, gradient) with the given learning rate.</summary>
    public abstract void Step(Span<float> parameters, ReadOnlySpan<float> gradient, float learningRate);

    /// <summary>Whether the L2 term should be added to the gradient (false when the rule decays weights itself).</summary>
    public virtual bool WantsL2InGradient => true;

    public static Optimizer Create(NeuralNetworkOptions options, NetworkLayout layout) => options.Optimizer switch
    {
        NeuralNetworkOptimizer.Sgd => new SgdOptimizer(layout.ParameterCount, options.Momentum, options.Nesterov),
        NeuralNetworkOptimizer.Adam => new AdamOptimizer(layout, weightDecay: 0f),
        NeuralNetworkOptimizer.AdamW => new AdamOptimizer(layout, weightDecay: options.EffectiveL2),
        NeuralNetworkOptimizer.RmsProp => new RmsPropOptimizer(layout.ParameterCount, options.Momentum),
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.Optimizer, "Unknown optimizer."),
    };
}
