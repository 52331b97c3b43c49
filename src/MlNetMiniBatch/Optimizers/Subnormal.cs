using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MlNetMiniBatch.Optimizers;

/// <summary>
/// Optimizer state below the smallest normal float is stored as zero. Such values are what a moment decays into
/// wherever the gradient is zero (pixels that are blank in most images, dead units), they are too small to move a
/// weight, and without flush-to-zero (which .NET cannot turn on) every x64 vector instruction that reads or writes one
/// takes a microcode assist: a few percent of subnormal state makes a step several times slower. NaN and infinities
/// are kept, so a diverging run still shows.
/// </summary>
internal static class Subnormal
{
    /// <summary>The smallest positive normal float, 2^−126.</summary>
    internal const float SmallestNormal = 1.17549435E-38f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Flush(float x) => MathF.Abs(x) < SmallestNormal ? 0f : x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Flush(Vector<float> x) =>
        Vector.ConditionalSelect(Vector.LessThan(Vector.Abs(x), new Vector<float>(SmallestNormal)), Vector<float>.Zero, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Flush(Vector512<float> x) =>
        Vector512.ConditionalSelect(Vector512.LessThan(Vector512.Abs(x), Vector512.Create(SmallestNormal)), Vector512<float>.Zero, x);
}
