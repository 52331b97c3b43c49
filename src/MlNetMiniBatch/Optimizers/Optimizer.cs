using System.Runtime.InteropServices;
using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Optimizers;

/// <summary>
/// An update rule over the flat parameter vector. State (moments, step count) lives in arrays the size of the
/// parameters, allocated once, so a step allocates nothing. The update is element-wise, so a step is split into
/// contiguous ranges across the worker pool: it streams several arrays the size of the model, which on small batches
/// costs as much as the batch's arithmetic, and every element is updated the same way whatever the split.
/// </summary>
internal abstract class Optimizer
{
    // Below this many parameters a step runs on the caller: waking a worker would cost more.
    internal const int ParallelThreshold = 32 * 1024;

    private float[] _parameters = [];
    private float[] _gradient = [];
    private float _learningRate;

    protected Optimizer(int parameterCount) => ParameterCount = parameterCount;

    protected int ParameterCount { get; }

    /// <summary>Number of updates made so far.</summary>
    public long Steps { get; set; }

    /// <summary>The arrays that make up the optimizer's state besides <see cref="Steps"/>, for checkpoints:
    /// saving them and restoring them in place resumes the exact same sequence of updates.</summary>
    public abstract float[][] State { get; }

    /// <summary>Whether the L2 term should be added to the gradient (false when the rule decays weights itself).</summary>
    public virtual bool WantsL2InGradient => true;

    /// <summary>parameters ← update(parameters, gradient) with the given learning rate, on up to <paramref name="threads"/> threads.</summary>
    public void Step(float[] parameters, float[] gradient, float learningRate, int threads = 1)
    {
        Steps++;
        BeginStep(parameters, learningRate);
        int parts = parameters.Length < ParallelThreshold ? 1 : Math.Max(1, threads);
        if (parts == 1)
        {
            Update(parameters, gradient, learningRate, 0, parameters.Length);
            return;
        }
        (_parameters, _gradient, _learningRate) = (parameters, gradient, learningRate);
        var handle = GCHandle.Alloc(this);
        try
        {
            WorkerPool.Shared.Run(new StepWork { Optimizer = GCHandle.ToIntPtr(handle), Parts = parts, Length = parameters.Length }, parts, parts);
        }
        finally
        {
            handle.Free();
            (_parameters, _gradient) = ([], []);
        }
    }

    /// <summary>Work done once per step before the element-wise update (step counters, decoupled weight decay).</summary>
    protected virtual void BeginStep(float[] parameters, float learningRate) { }

    /// <summary>The element-wise update of parameters [start, start + length).</summary>
    protected abstract void Update(Span<float> parameters, ReadOnlySpan<float> gradient, float learningRate, int start, int length);

    public static Optimizer Create(NeuralNetworkOptions options, NetworkLayout layout) => options.Optimizer switch
    {
        NeuralNetworkOptimizer.Sgd => new SgdOptimizer(layout.ParameterCount, options.Momentum, options.Nesterov),
        NeuralNetworkOptimizer.Adam => new AdamOptimizer(layout, weightDecay: 0f),
        NeuralNetworkOptimizer.AdamW => new AdamOptimizer(layout, weightDecay: options.EffectiveL2),
        NeuralNetworkOptimizer.RmsProp => new RmsPropOptimizer(layout.ParameterCount, options.Momentum),
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.Optimizer, "Unknown optimizer."),
    };

    /// <summary>One pool item per contiguous range, boundaries on 16-float (cache line) multiples.</summary>
    private struct StepWork : IParallelWork
    {
        public IntPtr Optimizer;
        public int Parts;
        public int Length;

        public readonly void Run(int index)
        {
            var optimizer = (Optimizer)GCHandle.FromIntPtr(Optimizer).Target!;
            int start = Boundary(index), end = Boundary(index + 1);
            optimizer.Update(optimizer._parameters, optimizer._gradient, optimizer._learningRate, start, end - start);
        }

        private readonly int Boundary(int part) => part >= Parts ? Length : (int)((long)Length * part / Parts) & ~15;
    }
}
