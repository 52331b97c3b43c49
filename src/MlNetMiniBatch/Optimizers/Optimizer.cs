using System.Numerics.Tensors;
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

    // A folded L2 term, gradient scale or observer handles the gradient this many floats at a time, next to the block's
    // update, so that the update and they read the block from L1 (three 8 KiB arrays for SGD with momentum).
    private const int FoldedBlock = 2048;

    private float[] _parameters = [];
    private float[] _gradient = [];
    private float _learningRate;
    private float _l2, _gradientScale = 1;
    private NetworkLayout? _layout;
    private IGradientObserver? _observer;

    protected Optimizer(int parameterCount) => ParameterCount = parameterCount;

    /// <summary>Steps that added an L2 term themselves: lets tests prove that a run took this path.</summary>
    internal static long StepsWithL2Term => Interlocked.Read(ref _stepsWithL2Term);

    private static long _stepsWithL2Term;

    protected int ParameterCount { get; }

    /// <summary>Number of updates made so far.</summary>
    public long Steps { get; set; }

    /// <summary>The arrays that make up the optimizer's state besides <see cref="Steps"/>, for checkpoints:
    /// saving them and restoring them in place resumes the exact same sequence of updates.</summary>
    public abstract float[][] State { get; }

    /// <summary>Whether the L2 term should be added to the gradient (false when the rule decays weights itself).</summary>
    public virtual bool WantsL2InGradient => true;

    /// <summary>parameters ← update(parameters, gradient) with the given learning rate, on up to <paramref name="threads"/> threads.
    /// With <paramref name="l2"/> &gt; 0 the update uses gradient + l2 · W for the weights of <paramref name="layout"/>,
    /// added into <paramref name="gradient"/> (<see cref="L2Term"/>) block by block within the step's own pass over the
    /// parameters: the same bits as the term added to the gradient before the step. With <paramref name="gradientScale"/>
    /// ≠ 1 (<see cref="GlobalNormClipping"/>) the update uses that gradient times the scale, multiplied in the same way
    /// block by block: the same bits as the gradient scaled before the step. An <paramref name="observer"/> reads each
    /// block in between, after the L2 term and before the scale.</summary>
    public void Step(float[] parameters, float[] gradient, float learningRate, int threads = 1, float l2 = 0, NetworkLayout? layout = null,
        float gradientScale = 1, IGradientObserver? observer = null)
    {
        if (l2 > 0 && layout is null)
            throw new ArgumentNullException(nameof(layout), "An L2 term needs the layout, which says where the weights are.");
        Steps++;
        BeginStep(parameters, learningRate);
        (_l2, _layout, _gradientScale, _observer) = (l2 > 0 ? l2 : 0, layout, gradientScale, observer);
        if (_l2 > 0)
            Interlocked.Increment(ref _stepsWithL2Term);
        int parts = parameters.Length < ParallelThreshold ? 1 : Math.Max(1, threads);
        if (parts == 1)
        {
            UpdateRange(parameters, gradient, learningRate, 0, parameters.Length);
            _observer = null;
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
            (_parameters, _gradient, _observer) = ([], [], null);
        }
    }

    /// <summary>Work done once per step before the element-wise update (step counters, decoupled weight decay).</summary>
    protected virtual void BeginStep(float[] parameters, float learningRate) { }

    /// <summary>The element-wise update of parameters [start, start + length).</summary>
    protected abstract void Update(Span<float> parameters, ReadOnlySpan<float> gradient, float learningRate, int start, int length);

    private void UpdateRange(float[] parameters, float[] gradient, float learningRate, int start, int length)
    {
        if (_l2 == 0 && _gradientScale == 1 && _observer is null)
        {
            Update(parameters, gradient, learningRate, start, length);
            return;
        }
        for (int block = start, end = start + length; block < end; block += FoldedBlock)
        {
            int count = Math.Min(FoldedBlock, end - block);
            if (_l2 > 0)
                L2Term.Add(_layout!, parameters, gradient, _l2, block, count);
            // The observer reads the block before the scale changes it, else after the update (which does not change the
            // gradient) has brought the block into L1: read before it, each sampled line would be a cache miss.
            bool scaled = _gradientScale != 1;
            if (scaled)
            {
                _observer?.Observe(gradient.AsSpan(block, count), block);
                TensorPrimitives.Multiply(gradient.AsSpan(block, count), _gradientScale, gradient.AsSpan(block, count));
            }
            Update(parameters, gradient, learningRate, block, count);
            if (!scaled)
                _observer?.Observe(gradient.AsSpan(block, count), block);
        }
    }

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
            optimizer.UpdateRange(optimizer._parameters, optimizer._gradient, optimizer._learningRate, start, end - start);
        }

        private readonly int Boundary(int part) => part >= Parts ? Length : (int)((long)Length * part / Parts) & ~15;
    }
}
