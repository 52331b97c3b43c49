namespace MlNetMiniBatch.Kernels;

internal enum SimdPath { Auto, Vector512, Vector256, Scalar }

/// <summary>Temporary naive GEMM; replaced by the blocked SIMD kernel.</summary>
internal static class Gemm
{
    public static void Multiply(bool transposeA, bool transposeB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc,
        bool accumulate, int threads = 1, SimdPath path = SimdPath.Auto)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++)
                    s += (transposeA ? a[p * lda + i] : a[i * lda + p]) * (transposeB ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
            }
    }
}
