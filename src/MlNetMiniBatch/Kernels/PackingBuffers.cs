using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MlNetMiniBatch.Kernels;

/// <summary>
/// Per-thread scratch for packed panels and a transposed product's output, kept for the thread's life so steady-state
/// GEMM calls allocate nothing. Arrays live on the pinned object heap: they never move, so a pointer taken now stays
/// valid without <c>fixed</c>, and aligning it to 64 bytes once makes every packed 512-bit load a single cache line.
/// </summary>
internal static unsafe class PackingBuffers
{
    internal const int AlignFloats = 16;

    [ThreadStatic]
    private static float[]? s_a;

    [ThreadStatic]
    private static float[]? s_b;

    [ThreadStatic]
    private static float[]? s_transpose;

    /// <summary>Scratch for packed A, at least <paramref name="length"/> floats, 64-byte aligned.</summary>
    public static float* ForA(int length) => Get(ref s_a, length);

    /// <summary>Scratch for packed B, at least <paramref name="length"/> floats, 64-byte aligned.</summary>
    public static float* ForB(int length) => Get(ref s_b, length);

    /// <summary>Scratch for a product computed as its transpose, at least <paramref name="length"/> floats, 64-byte aligned.</summary>
    public static float* ForTranspose(int length) => Get(ref s_transpose, length);

    /// <summary>Floats the calling thread's buffers hold now.</summary>
    internal static long HeldFloats => (long)(s_a?.Length ?? 0) + (s_b?.Length ?? 0) + (s_transpose?.Length ?? 0);

    private static float* Get(ref float[]? array, int length)
    {
        if (array is null || array.Length < length + AlignFloats)
        {
            // Grow geometrically so a thread that sees gradually larger shapes reallocates only a few times.
            int size = Math.Max(length + AlignFloats, array is null ? 0 : array.Length * 2);
            array = GC.AllocateUninitializedArray<float>(size, pinned: true);
        }

        nuint p = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (float*)((p + 63) & ~(nuint)63);
    }
}
