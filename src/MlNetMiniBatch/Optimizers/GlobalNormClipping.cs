using System.Numerics.Tensors;
using MlNetMiniBatch.Kernels;

namespace MlNetMiniBatch.Optimizers;

/// <summary>
/// Clipping by the global norm: the update uses g · min(1, clip / ‖g‖₂), the norm taken over all parameters together
/// (Keras's <c>global_clipnorm</c>, PyTorch's <c>clip_grad_norm_</c>). ‖g‖² is summed in fixed blocks, each block's
/// float sum of squares added in block order in double, so that the sum is split across the threads and its bits do
/// not depend on how many there are. The scale is applied by the optimizer's step, block by block just before each
/// update (<see cref="Optimizer.Step"/>), rather than by a pass of its own over the gradient on the calling thread.
/// </summary>
internal sealed unsafe class GlobalNormClipping
{
    internal const int Block = 4096;

    private readonly float _clip;
    private readonly int _parameterCount;
    private readonly double[] _blockSums;

    public GlobalNormClipping(int parameterCount, float clip)
    {
        _clip = clip;
        _parameterCount = parameterCount;
        _blockSums = new double[(parameterCount + Block - 1) / Block];
    }

    /// <summary>The factor the step multiplies the gradient by: 1 when ‖g‖₂ ≤ clip (or is NaN), else clip / ‖g‖₂.</summary>
    public float Scale(float[] gradient, int threads)
    {
        double norm = Math.Sqrt(SquaredNorm(gradient, threads));
        return norm > _clip ? (float)(_clip / norm) : 1f;
    }

    /// <summary>‖g‖² over the first parameterCount values, the same bits on any number of threads.</summary>
    internal double SquaredNorm(float[] gradient, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gradient.Length, _parameterCount, nameof(gradient));
        int parts = _parameterCount < Optimizer.ParallelThreshold ? 1 : Math.Clamp(threads, 1, _blockSums.Length);
        fixed (float* g = gradient)
        fixed (double* sums = _blockSums)
        {
            var work = new BlockSquares { Gradient = g, Length = _parameterCount, Sums = sums, Blocks = _blockSums.Length, Parts = parts };
            WorkerPool.Shared.Run(in work, parts, parts);
        }
        double total = 0;
        for (int b = 0; b < _blockSums.Length; b++)
        {
            total += _blockSums[b];
        }
        return total;
    }

    /// <summary>One pool item per contiguous run of blocks, each block's sum of squares in its own slot.</summary>
    private struct BlockSquares : IParallelWork
    {
        public float* Gradient;
        public int Length;
        public double* Sums;
        public int Blocks;
        public int Parts;

        public readonly void Run(int index)
        {
            int first = (int)((long)Blocks * index / Parts), last = (int)((long)Blocks * (index + 1) / Parts);
            for (int b = first; b < last; b++)
            {
                int start = b * Block;
                Sums[b] = TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(Gradient + start, Math.Min(Block, Length - start)));
            }
        }
    }
}
