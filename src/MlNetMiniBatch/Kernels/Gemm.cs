using System.Runtime.Intrinsics;
using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Kernels;

/// <summary>Single-precision matrix multiply on row-major spans with leading dimensions.</summary>
internal static unsafe partial class Gemm
{
    /// <summary>Below this many multiply-adds a call runs on one thread: waking a worker would cost more.</summary>
    internal const long ParallelThreshold = 64 * 1024;

    /// <summary>
    /// <c>C[m×n] = (accumulate ? C : 0) + op(A)[m×k] · op(B)[k×n]</c>, all row-major. op(A) is A (stored m×k,
    /// <paramref name="lda"/> ≥ k) or, when <paramref name="transposeA"/>, Aᵀ with A stored k×m (lda ≥ m);
    /// likewise B is stored k×n or, transposed, n×k. Results are bit-identical for every <paramref name="threads"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension or thread count is out of range.</exception>
    /// <exception cref="ArgumentException">A leading dimension is too small or a span too short.</exception>
    /// <exception cref="NotSupportedException">
    /// <paramref name="path"/> forces a path the CPU does not accelerate.
    /// </exception>
    public static void Multiply(
        bool transposeA,
        bool transposeB,
        int m,
        int n,
        int k,
        ReadOnlySpan<float> a,
        int lda,
        ReadOnlySpan<float> b,
        int ldb,
        Span<float> c,
        int ldc,
        bool accumulate,
        int threads = 1,
        SimdPath path = SimdPath.Auto)
        => MultiplyCore(transposeA, transposeB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, threads, path, default);

    /// <summary>
    /// A dense layer's forward product with its epilogue fused in: <c>z = a·b + bias</c> (row-broadcast bias), then
    /// <c>activated = f(z)</c> when <paramref name="activated"/> is not empty, tile by tile while each tile is in cache.
    /// <paramref name="activated"/> may be <paramref name="z"/>'s own memory: each tile's f(z) then replaces its z.
    /// </summary>
    public static void MultiplyAddBias(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> z, ReadOnlySpan<float> bias, NeuralNetworkActivation activation, Span<float> activated, int threads)
    {
        if (bias.Length < n || (!activated.IsEmpty && activated.Length < (long)m * n))
            throw new ArgumentException("The bias needs n values and the activation output m×n.");
        fixed (float* pBias = bias)
        fixed (float* pOut = activated)
        {
            var epilogue = new GemmEpilogue
            {
                Kind = EpilogueKind.BiasActivation, Activation = activation, Bias = pBias, Out = activated.IsEmpty ? null : pOut, Ld = n,
            };
            MultiplyCore(false, false, m, n, k, a, lda, b, ldb, z, n, accumulate: false, threads, SimdPath.Auto, epilogue);
        }
    }

    /// <summary>
    /// A dense layer's input gradient with the layer below's activation derivative fused in:
    /// <c>d = (dZ·Wᵀ) ⊙ mask ⊙ f'(z)</c>, where <paramref name="z"/> and <paramref name="activation"/>'s output
    /// <paramref name="a"/> are that layer's, and <paramref name="mask"/> (optional) its dropout multipliers.
    /// </summary>
    public static void MultiplyTransposedTimesDerivative(int m, int n, int k, ReadOnlySpan<float> dz, int lddz, ReadOnlySpan<float> w, int ldw,
        Span<float> d, NeuralNetworkActivation activation, ReadOnlySpan<float> z, ReadOnlySpan<float> a, ReadOnlySpan<float> mask, int threads)
    {
        long size = (long)m * n;
        if (z.Length < size || a.Length < size || (!mask.IsEmpty && mask.Length < size))
            throw new ArgumentException("z, a and the mask need m×n values.");
        fixed (float* pz = z)
        fixed (float* pa = a)
        fixed (float* pMask = mask)
        {
            var epilogue = new GemmEpilogue
            {
                Kind = EpilogueKind.ActivationDerivative, Activation = activation, Z = pz, A = pa, Mask = mask.IsEmpty ? null : pMask, Ld = n,
            };
            MultiplyCore(false, true, m, n, k, dz, lddz, w, ldw, d, n, accumulate: false, threads, SimdPath.Auto, epilogue);
        }
    }

    private static void MultiplyCore(bool transposeA, bool transposeB, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate, int threads, SimdPath path, GemmEpilogue epilogue)
    {
        Validate(transposeA, transposeB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        SimdPath resolved = Resolve(path);
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            if (!accumulate)
            {
                for (int i = 0; i < m; i++)
                {
                    c.Slice(i * ldc, n).Clear();
                }
            }

            return;
        }

        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var args = new GemmArgs
            {
                A = pa,
                B = pb,
                C = pc,
                Lda = lda,
                Ldb = ldb,
                Ldc = ldc,
                M = m,
                N = n,
                K = k,
                TransposeA = transposeA,
                TransposeB = transposeB,
                Accumulate = accumulate,
                Epilogue = epilogue,
            };
            bool use512 = resolved == SimdPath.Vector512;
            if (m <= GemmSmallRows.MaxRows && !transposeB && resolved != SimdPath.Scalar
                && GemmSmallRows.IsSupported(use512))
            {
                GemmSmallRows.Multiply(in args, threads, use512);
                if (epilogue.Kind != EpilogueKind.None)
                    epilogue.Apply(0, 0, m, n, pc, ldc); // at most three rows: one pass while they are still in cache
                return;
            }

            switch (resolved)
            {
                case SimdPath.Vector512:
                    GemmDriver<MicroKernel512>.Multiply(in args, threads);
                    break;
                case SimdPath.Vector256:
                    GemmDriver<MicroKernel256>.Multiply(in args, threads);
                    break;
                default:
                    GemmDriver<MicroKernelScalar>.Multiply(in args, threads);
                    break;
            }
        }
    }

    /// <summary>
    /// Bytes of scratch (packed panels, a narrow product's transposed output) that a thread taking part in products of at
    /// most <paramref name="widestColumns"/> columns of C and <paramref name="narrowFloats"/> floats of narrow output keeps
    /// for its life, on the widest accelerated path.
    /// </summary>
    internal static long ScratchBytesPerThread(int widestColumns, long narrowFloats) => sizeof(float) * (Resolve(SimdPath.Auto) switch
    {
        SimdPath.Vector512 => GemmDriver<MicroKernel512>.ScratchFloats(widestColumns, narrowFloats),
        SimdPath.Vector256 => GemmDriver<MicroKernel256>.ScratchFloats(widestColumns, narrowFloats),
        _ => GemmDriver<MicroKernelScalar>.ScratchFloats(widestColumns, narrowFloats),
    });

    /// <summary>Whether <paramref name="path"/> can run on this CPU (<see cref="SimdPath.Auto"/> always can).</summary>
    public static bool IsSupported(SimdPath path) => path switch
    {
        SimdPath.Vector512 => Vector512.IsHardwareAccelerated,
        SimdPath.Vector256 => Vector256.IsHardwareAccelerated,
        _ => true,
    };

    private static SimdPath Resolve(SimdPath path)
    {
        if (path == SimdPath.Auto)
        {
            return Vector512.IsHardwareAccelerated ? SimdPath.Vector512
                : Vector256.IsHardwareAccelerated ? SimdPath.Vector256
                : SimdPath.Scalar;
        }

        if (path is < SimdPath.Auto or > SimdPath.Scalar)
        {
            throw new ArgumentOutOfRangeException(nameof(path), path, "Unknown SIMD path.");
        }

        if (!IsSupported(path))
        {
            throw new NotSupportedException($"SIMD path {path} is not hardware accelerated on this machine.");
        }

        return path;
    }

    /// <summary>Checks shapes, leading dimensions and span lengths once, so kernels can skip bounds checks.</summary>
    private static void Validate(
        bool transposeA,
        bool transposeB,
        int m,
        int n,
        int k,
        int aLength,
        int lda,
        int bLength,
        int ldb,
        int cLength,
        int ldc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);

        // Stored shapes: A is m×k (k×m when transposed), B is k×n (n×k when transposed), C is m×n.
        CheckOperand("a", "lda", transposeA ? k : m, transposeA ? m : k, aLength, lda);
        CheckOperand("b", "ldb", transposeB ? n : k, transposeB ? k : n, bLength, ldb);
        CheckOperand("c", "ldc", m, n, cLength, ldc);
    }

    private static void CheckOperand(string name, string ldName, int rows, int cols, int length, int ld)
    {
        if (ld < cols)
        {
            throw new ArgumentException(
                $"Leading dimension {ldName}={ld} is smaller than the {cols} columns of "
                + $"the stored {rows}×{cols} matrix '{name}'.",
                ldName);
        }

        long needed = rows == 0 || cols == 0 ? 0 : ((long)(rows - 1) * ld) + cols;
        if (length < needed)
        {
            throw new ArgumentException(
                $"Span '{name}' has {length} elements but a {rows}×{cols} matrix "
                + $"with leading dimension {ld} needs {needed}.",
                name);
        }
    }
}
