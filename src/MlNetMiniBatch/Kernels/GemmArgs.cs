namespace MlNetMiniBatch.Kernels;

/// <summary>
/// One validated GEMM problem with its operands pinned, passed by value to worker threads. Holding raw pointers
/// is safe because the caller keeps the spans pinned until every worker has finished.
/// </summary>
internal unsafe struct GemmArgs
{
    public float* A;
    public float* B;
    public float* C;
    public nint Lda;
    public nint Ldb;
    public nint Ldc;
    public int M;
    public int N;
    public int K;
    public bool TransposeA;
    public bool TransposeB;
    public bool Accumulate;

    /// <summary>Applied to every tile of C once its last k block is done; <see cref="EpilogueKind.None"/> for a plain GEMM.</summary>
    public GemmEpilogue Epilogue;
}
