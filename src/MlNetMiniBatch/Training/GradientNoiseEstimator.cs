using System.Numerics.Tensors;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Estimates the gradient noise scale B_simple = tr(Σ) / |G|² (McCandlish et al., 2018, appendix A) from gradients the
/// training loop computes anyway. With b the batch size and k consecutive batches forming a big batch of kb rows,
/// E|G_b|² = |G|² + tr(Σ)/b, so the unbiased estimates are
///   |G|²  ≈ (kb·|G_kb|² − b·mean|G_b|²) / (kb − b)   and   tr(Σ) ≈ (mean|G_b|² − |G_kb|²) / (1/b − 1/kb).
/// Both are averaged over the epoch before their ratio is taken, since single estimates are very noisy.
/// Cost per batch: one add and one squared norm over the gradient; last partial batches are left out.
/// </summary>
internal sealed class GradientNoiseEstimator
{
    internal const int BatchesPerGroup = 4;

    private readonly float[] _groupSum;
    private int _inGroup, _groups;
    private double _smallNormSum, _gradientSquareSum, _traceSum;

    public GradientNoiseEstimator(int parameterCount) => _groupSum = new float[parameterCount];

    public void StartEpoch()
    {
        Array.Clear(_groupSum);
        _inGroup = _groups = 0;
        _smallNormSum = _gradientSquareSum = _traceSum = 0;
    }

    /// <summary>Adds one full batch's (mean) gradient.</summary>
    public void Add(ReadOnlySpan<float> gradient, int batchSize)
    {
        TensorPrimitives.Add(_groupSum, gradient, _groupSum);
        _smallNormSum += TensorPrimitives.SumOfSquares(gradient);
        if (++_inGroup < BatchesPerGroup)
            return;
        double k = BatchesPerGroup, small = batchSize, big = k * batchSize;
        double bigNorm = TensorPrimitives.SumOfSquares(_groupSum) / (k * k);
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
}
