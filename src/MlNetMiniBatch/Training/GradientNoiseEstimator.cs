using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Estimates the gradient noise scale B_simple = tr(Σ) / |G|² (McCandlish et al., 2018, appendix A) from gradients the
/// training loop computes anyway. With b the batch size and k consecutive batches forming a big batch of kb rows, the
/// mean squared norms S_b = mean|G_b|² and S_kb = |G_kb|² satisfy E S_x = |G|² + c_x·tr(Σ), which two equations give
/// |G|² and tr(Σ). Batches are drawn without replacement from the epoch's N rows, so c_x = (N − x) / (x·(N − 1)), not
/// 1/x: Σ and G are those of the training set itself, and a batch of all N rows has no noise. (With 1/x the estimate
/// runs high by a factor 1 / (1 − B/N), which matters as soon as the noise scale is a sizeable part of the data set.)
/// Both norms are averaged over the epoch before the ratio is taken, since single estimates are very noisy.
/// Models of up to <see cref="FullSampleLimit"/> parameters are measured whole. Larger ones are measured on one
/// 16-float block in every <see cref="BlockStride"/>, which cuts the extra memory traffic per batch to 1/BlockStride
/// of a pass over the gradient; which block of each stride is drawn from (seed, epoch, stride), so the sample covers
/// other units every epoch and both sums, sampled alike, keep an unbiased ratio. Last partial batches are left out.
/// An epoch reports no estimate when it cannot tell |G|² from zero: B_simple divides by |G|², so an estimate of |G|²
/// lost in its own noise gives any value up to infinity (an epoch of a few large batches read 2,870 one epoch and
/// 886,000 the next). Each group of batches gives its own unbiased |G|² estimate; below <see cref="MinimumGroups"/>
/// groups their spread is not known well enough, and otherwise the mean must exceed its standard error: within one
/// standard error of zero, |G|² could as well be zero and the noise scale infinite, and the values such epochs read
/// are the wild ones (on pure noise, the values reported fell from a range up to 184,000 to one under 3,000).
/// </summary>
internal sealed class GradientNoiseEstimator : IGradientObserver
{
    internal const int BatchesPerGroup = 4;
    internal const int BlockSize = 16, BlockStride = 8;

    /// <summary>Fewest groups of <see cref="BatchesPerGroup"/> batches an epoch needs for an estimate: with fewer, the
    /// spread of their |G|² estimates (1 or 2 degrees of freedom) says little about the mean's error.</summary>
    internal const int MinimumGroups = 4;

    /// <summary>Standard errors by which the epoch's |G|² estimate must exceed zero for its ratio to be reported. One,
    /// not two: during training the gradient also changes across the epoch, which widens the groups' spread, and two
    /// standard errors dropped mid-training epochs whose estimates were sound.</summary>
    internal const double SignificanceLevel = 1;

    /// <summary>Above this many parameters the estimator samples blocks. The full pass costs about as much per
    /// parameter as an optimizer step, so its share of a batch falls with the batch size, not the model size; up to
    /// this size (gradient and group sum fit the L2 cache) it stays small down to batch 32, and the sample's variance
    /// would not pay for itself.</summary>
    internal const int FullSampleLimit = 1 << 16;

    private readonly int _parameterCount;
    private readonly bool _sampleAll;
    private readonly ulong _seed;
    private readonly int[] _blockStarts;
    private readonly float[] _groupSum;
    // |g|² of each measured block of the current batch (one per stride when sampling, else one per 16 values), so that
    // blocks read on any thread add up in the same order.
    private readonly double[] _blockSquares;
    private int _inGroup, _groups, _batchSize;
    private double _smallNormInGroup, _smallNormSum, _bigNormSum;
    // Running (co)variances of the groups' small and big norms (Welford): the spread of the per-group |G|² estimates.
    private double _smallSquares, _bigSquares, _crossProducts;

    /// <param name="fullSampleLimit">Tests only: the parameter count up to which every parameter is measured.</param>
    public GradientNoiseEstimator(int parameterCount, int seed, int fullSampleLimit = FullSampleLimit)
    {
        _parameterCount = parameterCount;
        _sampleAll = parameterCount <= fullSampleLimit;
        _seed = (ulong)(uint)seed;
        int strides = _sampleAll ? 0 : (parameterCount + BlockSize * BlockStride - 1) / (BlockSize * BlockStride);
        _blockStarts = new int[strides];
        _groupSum = new float[_sampleAll ? parameterCount : strides * BlockSize];
        _blockSquares = new double[_sampleAll ? (parameterCount + BlockSize - 1) / BlockSize : strides];
    }

    /// <summary>Whether every parameter is measured (else a seeded sample of blocks that changes every epoch).</summary>
    public bool SamplesAllParameters => _sampleAll;

    public void StartEpoch(int epoch)
    {
        Array.Clear(_groupSum);
        _inGroup = _groups = 0;
        _smallNormInGroup = _smallNormSum = _bigNormSum = 0;
        _smallSquares = _bigSquares = _crossProducts = 0;
        ulong stream = CounterRandom.Hash(_seed ^ 0x6E6F697365UL, (ulong)(uint)epoch); // "noise": apart from dropout's streams
        for (int s = 0; s < _blockStarts.Length; s++)
        {
            int strideStart = s * BlockSize * BlockStride;
            int blocks = Math.Min(BlockStride, (_parameterCount - strideStart + BlockSize - 1) / BlockSize);
            _blockStarts[s] = strideStart + (int)(CounterRandom.Hash(stream, (ulong)s) % (ulong)blocks) * BlockSize;
        }
    }

    /// <summary>Adds one full batch's (mean) gradient; every batch of an epoch has the same size.</summary>
    public void Add(ReadOnlySpan<float> gradient, int batchSize)
    {
        Observe(gradient.Slice(0, _parameterCount), 0);
        EndBatch(batchSize);
    }

    /// <summary>Reads the measured blocks among gradient values [start, start + block.Length) of a full batch's gradient,
    /// start and the block's end on <see cref="BlockSize"/> boundaries (or at the end of the parameters); once every
    /// value has been read, <see cref="EndBatch"/> adds the batch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Observe(ReadOnlySpan<float> block, int start)
    {
        var sum = _groupSum.AsSpan();
        if (_sampleAll)
        {
            for (int i = 0; i < block.Length; i += BlockSize)
            {
                int length = Math.Min(BlockSize, block.Length - i);
                _blockSquares[(start + i) / BlockSize] = AddAndSquare(sum.Slice(start + i, length), block.Slice(i, length));
            }
            return;
        }
        const int StrideLength = BlockSize * BlockStride;
        for (int s = start / StrideLength, last = (start + block.Length - 1) / StrideLength; s <= last; s++)
        {
            int at = _blockStarts[s] - start;
            if (at >= 0 && at < block.Length)
            {
                int length = Math.Min(BlockSize, block.Length - at);
                _blockSquares[s] = AddAndSquare(sum.Slice(s * BlockSize, length), block.Slice(at, length));
            }
        }
    }

    /// <summary>Adds the batch whose gradient <see cref="Observe"/> has read in full.</summary>
    public void EndBatch(int batchSize)
    {
        _batchSize = batchSize;
        double squares = 0;
        for (int b = 0; b < _blockSquares.Length; b++)
        {
            squares += _blockSquares[b];
        }
        _smallNormInGroup += squares;
        if (++_inGroup < BatchesPerGroup)
            return;
        const double k = BatchesPerGroup;
        double big = TensorPrimitives.SumOfSquares<float>(_groupSum) / (k * k), small = _smallNormInGroup / k;
        double smallDeviation = small - (_groups > 0 ? _smallNormSum / _groups : 0), bigDeviation = big - (_groups > 0 ? _bigNormSum / _groups : 0);
        _bigNormSum += big;
        _smallNormSum += small;
        _groups++;
        double smallShift = small - _smallNormSum / _groups, bigShift = big - _bigNormSum / _groups;
        _smallSquares += smallDeviation * smallShift;
        _bigSquares += bigDeviation * bigShift;
        _crossProducts += smallDeviation * bigShift;
        Array.Clear(_groupSum);
        _inGroup = 0;
        _smallNormInGroup = 0;
    }

    /// <summary>The epoch's estimate, <paramref name="rows"/> being the rows the epoch drew its batches from; null with
    /// fewer than <see cref="MinimumGroups"/> groups of batches or a |G|² estimate within <see cref="SignificanceLevel"/>
    /// standard errors of zero (gradient lost in noise).</summary>
    public double? EpochEstimate(long rows)
    {
        if (_groups < MinimumGroups)
            return null;
        double small = _batchSize, big = BatchesPerGroup * small, n = Math.Max(rows, (long)big);
        double smallNorm = _smallNormSum / _groups, bigNorm = _bigNormSum / _groups;
        double cSmall = NoiseFactor(small, n), cBig = NoiseFactor(big, n);
        double trace = Math.Max(0, (smallNorm - bigNorm) / (cSmall - cBig));
        double gradientSquare = smallNorm - cSmall * trace;
        return gradientSquare > 0 && gradientSquare > SignificanceLevel * GradientSquareStandardError(cSmall, cBig) ? trace / gradientSquare : null;
    }

    /// <summary>Standard error of the mean of the groups' |G|² estimates (cSmall·big − cBig·small) / (cSmall − cBig).</summary>
    private double GradientSquareStandardError(double cSmall, double cBig)
    {
        double n = _groups - 1, d = cSmall - cBig;
        double variance = (cSmall * cSmall * _bigSquares + cBig * cBig * _smallSquares - 2 * cSmall * cBig * _crossProducts) / (n * d * d);
        return Math.Sqrt(Math.Max(0, variance) / _groups);
    }

    /// <summary>E|G_x|² = |G|² + NoiseFactor(x, N)·tr(Σ) for a batch of x rows drawn without replacement from N.</summary>
    private static double NoiseFactor(double batch, double rows) => rows > 1 ? (rows - batch) / (batch * (rows - 1)) : 1 / batch;

    /// <summary>sum ← sum + g for one block of at most <see cref="BlockSize"/> values, returning its |g|²: a whole block
    /// in one 512-bit vector (or two 256-bit ones), a short last block in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double AddAndSquare(Span<float> sum, ReadOnlySpan<float> g)
    {
        if (g.Length == BlockSize)
        {
            ref float rs = ref MemoryMarshal.GetReference(sum);
            ref float rg = ref MemoryMarshal.GetReference(g);
            if (Vector512.IsHardwareAccelerated)
            {
                var v = Vector512.LoadUnsafe(ref rg);
                (Vector512.LoadUnsafe(ref rs) + v).StoreUnsafe(ref rs);
                return Vector512.Sum(v * v);
            }
            if (Vector256.IsHardwareAccelerated)
            {
                var v0 = Vector256.LoadUnsafe(ref rg);
                var v1 = Vector256.LoadUnsafe(ref rg, 8);
                (Vector256.LoadUnsafe(ref rs) + v0).StoreUnsafe(ref rs);
                (Vector256.LoadUnsafe(ref rs, 8) + v1).StoreUnsafe(ref rs, 8);
                return Vector256.Sum((v0 * v0) + (v1 * v1));
            }
        }
        double total = 0;
        for (int i = 0; i < g.Length; i++)
        {
            sum[i] += g[i];
            total += (double)g[i] * g[i];
        }
        return total;
    }
}
