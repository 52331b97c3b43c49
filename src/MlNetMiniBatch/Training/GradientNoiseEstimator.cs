using System.Numerics;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Estimates the gradient noise scale B_simple = tr(Σ) / |G|² (McCandlish et al., 2018, appendix A) from gradients the
/// training loop computes anyway. With b the batch size and k consecutive batches forming a big batch of kb rows,
/// E|G_b|² = |G|² + tr(Σ)/b, so the unbiased estimates are
///   |G|²  ≈ (kb·|G_kb|² − b·mean|G_b|²) / (kb − b)   and   tr(Σ) ≈ (mean|G_b|² − |G_kb|²) / (1/b − 1/kb).
/// Both are averaged over the epoch before their ratio is taken, since single estimates are very noisy.
/// Both are sums over parameters, so both are measured on the same evenly spread sample of the parameters: one
/// 16-float block in every <see cref="BlockStride"/>. That leaves their ratio unbiased and cuts the extra memory
/// traffic per batch (one fused pass: add into the group sum, square) to 1/BlockStride of a pass over the gradient.
/// Last partial batches are left out.
/// </summary>
internal sealed class GradientNoiseEstimator
{
    internal const int BatchesPerGroup = 4;
    internal const int BlockSize = 16, BlockStride = 8;

    private readonly int _parameterCount;
    private readonly float[] _groupSum;
    private int _inGroup, _groups;
    private double _smallNormSum, _gradientSquareSum, _traceSum;

    public GradientNoiseEstimator(int parameterCount)
    {
        _parameterCount = parameterCount;
        int blocks = (parameterCount + BlockSize - 1) / BlockSize;
        _groupSum = new float[(blocks + BlockStride - 1) / BlockStride * BlockSize];
    }

    public void StartEpoch()
    {
        Array.Clear(_groupSum);
        _inGroup = _groups = 0;
        _smallNormSum = _gradientSquareSum = _traceSum = 0;
    }

    /// <summary>Adds one full batch's (mean) gradient.</summary>
    public void Add(ReadOnlySpan<float> gradient, int batchSize)
    {
        _smallNormSum += AddAndSquareSampled(_groupSum, gradient);
        if (++_inGroup < BatchesPerGroup)
            return;
        double k = BatchesPerGroup, small = batchSize, big = k * batchSize;
        double bigNorm = SumOfSquares(_groupSum) / (k * k);
        double smallNorm = _smallNormSum / k;
        _gradientSquareSum += (big * bigNorm - small * smallNorm) / (big - small);
        _traceSum += (smallNorm - bigNorm) / (1 / small - 1 / big);
        _groups++;
        Array.Clear(_groupSum);
        _inGroup = 0;
        _smallNormSum = 0;
    }

    /// <summary>The epoch's estimate; null with too few batches or a non-positive |G|² estimate (gradient lost in noise).</summary>
    public double? EpochEstimate()
    {
        if (_groups == 0 || _gradientSquareSum <= 0)
            return null;
        return Math.Max(0, _traceSum) / _gradientSquareSum;
    }

    /// <summary>For every sampled block of g: sum ← sum + block, returning the sampled |g|².</summary>
    /// <remarks>Fully optimised from the first call: the tiered JIT's on-stack-replaced loop ran this many times slower.</remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private double AddAndSquareSampled(Span<float> sum, ReadOnlySpan<float> g)
    {
        double total = 0;
        int target = 0;
        for (int start = 0; start < _parameterCount; start += BlockSize * BlockStride, target += BlockSize)
        {
            int length = Math.Min(BlockSize, _parameterCount - start);
            var block = g.Slice(start, length);
            var into = sum.Slice(target, length);
            if (length == BlockSize && Vector<float>.Count <= BlockSize)
            {
                var squares = Vector<float>.Zero;
                for (int i = 0; i < BlockSize; i += Vector<float>.Count)
                {
                    var v = new Vector<float>(block.Slice(i));
                    (new Vector<float>(into.Slice(i)) + v).CopyTo(into.Slice(i));
                    squares += v * v;
                }
                total += Vector.Sum(squares);
            }
            else
            {
                for (int i = 0; i < length; i++)
                {
                    into[i] += block[i];
                    total += (double)block[i] * block[i];
                }
            }
        }
        return total;
    }

    private static double SumOfSquares(ReadOnlySpan<float> values) => System.Numerics.Tensors.TensorPrimitives.SumOfSquares(values);
}
