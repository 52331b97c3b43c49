namespace MlNetMiniBatch.Kernels;

/// <summary>Which instruction set the GEMM kernels use; anything but <see cref="Auto"/> lets tests pin a path.</summary>
internal enum SimdPath
{
    /// <summary>The widest accelerated path: Vector512, else Vector256, else scalar.</summary>
    Auto,

    /// <summary>AVX-512 micro-kernel (8 rows × 32 columns).</summary>
    Vector512,

    /// <summary>AVX2/FMA micro-kernel (6 rows × 16 columns), sized to fit 16 vector registers.</summary>
    Vector256,

    /// <summary>Portable scalar micro-kernel (4 × 4).</summary>
    Scalar,
}
