namespace MlNetMiniBatch.Kernels;

/// <summary>
/// A register-blocked GEMM micro-kernel over packed panels. Implementations are structs so that the driver,
/// instantiated per kernel, calls <see cref="Run"/> directly and sees <see cref="Mr"/>/<see cref="Nr"/> as constants.
/// </summary>
internal unsafe interface IMicroKernel
{
    /// <summary>Rows of C computed per call; packed A holds <c>Mr</c> consecutive values per k step.</summary>
    static abstract int Mr { get; }

    /// <summary>Columns of C computed per call; packed B holds <c>Nr</c> consecutive values per k step.</summary>
    static abstract int Nr { get; }

    /// <summary>
    /// <c>C[Mr×Nr] = (add ? C : 0) + Apanel · Bpanel</c> over <paramref name="kc"/> steps, where B's k steps are
    /// <paramref name="ldb"/> floats apart: <c>Nr</c> for a packed panel, B's own leading dimension when an
    /// untransposed B is read in place. The sum is formed from
    /// zero in k order and only then added to C, so a value never depends on where its tile sits or on how
    /// k blocks were assigned — which keeps results bit-identical across thread counts.
    /// </summary>
    static abstract void Run(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, bool add);
}
