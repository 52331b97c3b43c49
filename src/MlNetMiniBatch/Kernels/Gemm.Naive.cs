namespace MlNetMiniBatch.Kernels;

/// <summary>The reference definition of <see cref="Gemm.Multiply"/>.</summary>
internal static partial class Gemm
{
    /// <summary>
    /// Same contract as <see cref="Multiply"/>, computed element by element with a double accumulator: the
    /// specification the blocked kernels are tested against, and a near-exact reference for their rounding error.
    /// </summary>
    public static void MultiplyNaive(
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
        bool accumulate)
    {
        Validate(transposeA, transposeB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = accumulate ? c[(i * ldc) + j] : 0.0;
                for (int p = 0; p < k; p++)
                {
                    float x = transposeA ? a[(p * lda) + i] : a[(i * lda) + p];
                    float y = transposeB ? b[(j * ldb) + p] : b[(p * ldb) + j];
                    sum += (double)x * y;
                }

                c[(i * ldc) + j] = (float)sum;
            }
        }
    }
}
