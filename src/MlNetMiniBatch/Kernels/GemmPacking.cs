using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MlNetMiniBatch.Kernels;

/// <summary>
/// Copies blocks of op(A) and op(B) into the micro-panel layouts the micro-kernels stream through: A as
/// <c>mr</c> row values per k step, B as <c>nr</c> column values per k step. Edges are zero-padded to a full
/// panel so the kernels never branch on a short tile; the padding only produces values that are never stored.
/// </summary>
/// <remarks>
/// Every method here is <c>AggressiveOptimization</c>: packing is called a few times per GEMM with long loops,
/// and the tiered JIT's on-stack-replacement code for them ran up to 10× slower than fully optimized code.
/// </remarks>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs <paramref name="rows"/> × <paramref name="kc"/> of op(A) into <c>ceil(rows/mr)</c> panels of
    /// <c>mr × kc</c>. <paramref name="a"/> points at element (row 0, k 0) of the block in A's storage.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(bool transposeA, float* a, nint lda, int rows, int kc, int mr, float* dst)
    {
        for (int i0 = 0; i0 < rows; i0 += mr)
        {
            int h = Math.Min(mr, rows - i0);
            if (transposeA)
            {
                // Aᵀ stored k×m: each k step of the panel is a contiguous run of h values.
                for (int p = 0; p < kc; p++)
                {
                    CopyPadded(a + (p * lda) + i0, dst + (p * mr), h, mr);
                }
            }
            else
            {
                // A stored m×k: the panel's rows are storage rows, so the copy is a transpose.
                Transpose(a + (i0 * lda), lda, h, kc, dst, mr);
            }

            dst += mr * kc;
        }
    }

    /// <summary>
    /// Packs <paramref name="kc"/> × <paramref name="cols"/> of op(B) into <c>ceil(cols/nr)</c> panels of
    /// <c>kc × nr</c>. <paramref name="b"/> points at element (k 0, column 0) of the block in B's storage.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(bool transposeB, float* b, nint ldb, int kc, int cols, int nr, float* dst)
    {
        for (int j0 = 0; j0 < cols; j0 += nr)
        {
            int w = Math.Min(nr, cols - j0);
            if (transposeB)
            {
                // Bᵀ stored n×k: the panel's columns are storage rows, so the copy is a transpose.
                Transpose(b + (j0 * ldb), ldb, w, kc, dst, nr);
            }
            else
            {
                // B stored k×n: each k step of the panel is a contiguous run of w values.
                for (int p = 0; p < kc; p++)
                {
                    CopyPadded(b + (p * ldb) + j0, dst + (p * nr), w, nr);
                }
            }

            dst += nr * kc;
        }
    }

    /// <summary>
    /// Packs the columns of an untransposed B (stored k×n) that are not read in place: <paramref name="firstCount"/>
    /// columns from <paramref name="first"/>, then <paramref name="secondCount"/> from <paramref name="second"/>, into
    /// <c>ceil((firstCount + secondCount)/nr)</c> zero-padded panels of <c>kc × nr</c>, as if they were adjacent.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackTwoColumnRuns(float* first, nint ldb, int kc, int firstCount, float* second, int secondCount, int nr, float* dst)
    {
        int total = firstCount + secondCount;
        for (int v0 = 0; v0 < total; v0 += nr)
        {
            int w = Math.Min(nr, total - v0);
            int fromFirst = Math.Clamp(firstCount - v0, 0, w);
            float* firstStart = first + v0;
            float* secondStart = second + Math.Max(0, v0 - firstCount);
            for (int p = 0; p < kc; p++)
            {
                float* d = dst + (p * nr);
                CopyPadded(firstStart + (p * ldb), d, fromFirst, fromFirst);
                CopyPadded(secondStart + (p * ldb), d + fromFirst, w - fromFirst, nr - fromFirst);
            }

            dst += nr * kc;
        }
    }

    /// <summary>
    /// <c>dst[p * width + r] = src[r * ld + p]</c> for r &lt; rows, p &lt; kc, and zero for rows ≤ r &lt; width.
    /// Full groups of 8 rows go through 8×8 register transposes: a scalar scatter with stride
    /// <paramref name="width"/> ran at ~1.4 G floats/s and cost as much as a third of a forward GEMM.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose(float* src, nint ld, int rows, int kc, float* dst, int width)
    {
        int r = 0;
        if (Avx.IsSupported)
        {
            for (; r + 8 <= rows; r += 8)
            {
                float* s = src + (r * ld);
                float* d = dst + r;
                int p = 0;
                for (; p + 8 <= kc; p += 8)
                {
                    Transpose8x8(s + p, ld, d + (p * width), width);
                }

                for (; p < kc; p++)
                {
                    for (int i = 0; i < 8; i++)
                    {
                        d[(p * width) + i] = s[(i * ld) + p];
                    }
                }
            }
        }

        for (; r < rows; r++)
        {
            float* s = src + (r * ld);
            float* d = dst + r;
            for (int p = 0; p < kc; p++)
            {
                d[p * width] = s[p];
            }
        }

        for (; r < width; r++)
        {
            for (int p = 0; p < kc; p++)
            {
                dst[(p * width) + r] = 0f;
            }
        }
    }

    /// <summary>Transposes the 8×8 block at <paramref name="s"/> (row stride ld) into rows of stride width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, nint ld, float* d, int width)
    {
        Vector256<float> r0 = Avx.LoadVector256(s);
        Vector256<float> r1 = Avx.LoadVector256(s + ld);
        Vector256<float> r2 = Avx.LoadVector256(s + (2 * ld));
        Vector256<float> r3 = Avx.LoadVector256(s + (3 * ld));
        Vector256<float> r4 = Avx.LoadVector256(s + (4 * ld));
        Vector256<float> r5 = Avx.LoadVector256(s + (5 * ld));
        Vector256<float> r6 = Avx.LoadVector256(s + (6 * ld));
        Vector256<float> r7 = Avx.LoadVector256(s + (7 * ld));

        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves: column j of the block
        // ends up in one register, in row order.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1);
        Vector256<float> t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3);
        Vector256<float> t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5);
        Vector256<float> t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7);
        Vector256<float> t7 = Avx.UnpackHigh(r6, r7);

        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44);
        Vector256<float> u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44);
        Vector256<float> u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44);
        Vector256<float> u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44);
        Vector256<float> u7 = Avx.Shuffle(t5, t7, 0xEE);

        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + width, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + (2 * width), Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + (3 * width), Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + (4 * width), Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + (5 * width), Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + (6 * width), Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + (7 * width), Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>Copies <paramref name="count"/> floats and zero-fills up to <paramref name="width"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPadded(float* src, float* dst, int count, int width)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= count; i += 16)
            {
                Vector512.Store(Vector512.Load(src + i), dst + i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8)
            {
                Vector256.Store(Vector256.Load(src + i), dst + i);
            }
        }

        for (; i < count; i++)
        {
            dst[i] = src[i];
        }

        for (; i < width; i++)
        {
            dst[i] = 0f;
        }
    }
}
