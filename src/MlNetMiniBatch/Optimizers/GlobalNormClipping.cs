using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Optimizers;

/// <summary>
/// Clipping by the global norm: the update uses g · min(1, clip / ‖g‖₂), the norm taken over all parameters together
/// (Keras's <c>global_clipnorm</c>, PyTorch's <c>clip_grad_norm_</c>). ‖g‖² is summed in fixed blocks, each block's
/// float sum of squares added in block order in double, so that the sum is split across the threads and its bits do
/// not depend on how many there are. The same pass can first add the L2 term to each block (<see cref="L2Term"/>), so
/// that the norm is the regularised gradient's without a pass of its own. The scale is applied by the optimizer's step,
/// block by block just before each update (<see cref="Optimizer.Step"/>), rather than by a pass over the gradient on the
/// calling thread.
/// </summary>
internal sealed class GlobalNormClipping
{
    internal const int Block = 4096;

    private readonly float _clip;
    private readonly NetworkLayout _layout;
    private readonly double[] _blockSums;
    private float[] _gradient = [], _parameters = [];
    private float _l2;

    public GlobalNormClipping(NetworkLayout layout, float clip)
    {
        _clip = clip;
        _layout = layout;
        _blockSums = new double[(layout.ParameterCount + Block - 1) / Block];
    }

    /// <summary>The factor the step multiplies the gradient by: 1 when ‖g‖₂ ≤ clip (or is NaN), else clip / ‖g‖₂. With
    /// <paramref name="l2"/> &gt; 0 the gradient first gets the L2 term of <paramref name="parameters"/>' weights.</summary>
    public float Scale(float[] gradient, int threads, float l2 = 0, float[]? parameters = null)
    {
        double norm = Math.Sqrt(SquaredNorm(gradient, threads, l2, parameters));
        return norm > _clip ? (float)(_clip / norm) : 1f;
    }

    /// <summary>‖g‖² over the layout's parameters (after adding the L2 term), the same bits on any number of threads.</summary>
    internal double SquaredNorm(float[] gradient, int threads, float l2 = 0, float[]? parameters = null)
    {
        int length = _layout.ParameterCount;
        ArgumentOutOfRangeException.ThrowIfLessThan(gradient.Length, length, nameof(gradient));
        if (l2 > 0)
            ArgumentOutOfRangeException.ThrowIfLessThan((parameters ?? throw new ArgumentNullException(nameof(parameters))).Length, length, nameof(parameters));
        (_gradient, _parameters, _l2) = (gradient, parameters ?? [], l2 > 0 ? l2 : 0);
        int parts = length < Optimizer.ParallelThreshold ? 1 : Math.Clamp(threads, 1, _blockSums.Length);
        var handle = GCHandle.Alloc(this);
        try
        {
            WorkerPool.Shared.Run(new BlockSquares { Clipping = GCHandle.ToIntPtr(handle), Parts = parts }, parts, parts);
        }
        finally
        {
            handle.Free();
            (_gradient, _parameters) = ([], []);
        }
        double total = 0;
        for (int b = 0; b < _blockSums.Length; b++)
        {
            total += _blockSums[b];
        }
        return total;
    }

    private void SumBlocks(int first, int last)
    {
        int length = _layout.ParameterCount;
        for (int b = first; b < last; b++)
        {
            int start = b * Block, count = Math.Min(Block, length - start);
            if (_l2 > 0)
                L2Term.Add(_layout, _parameters, _gradient, _l2, start, count);
            _blockSums[b] = TensorPrimitives.SumOfSquares(_gradient.AsSpan(start, count));
        }
    }

    /// <summary>One pool item per contiguous run of blocks, each block's sum of squares in its own slot.</summary>
    private struct BlockSquares : IParallelWork
    {
        public IntPtr Clipping;
        public int Parts;

        public readonly void Run(int index)
        {
            var clipping = (GlobalNormClipping)GCHandle.FromIntPtr(Clipping).Target!;
            int blocks = clipping._blockSums.Length;
            clipping.SumBlocks((int)((long)blocks * index / Parts), (int)((long)blocks * (index + 1) / Parts));
        }
    }
}
