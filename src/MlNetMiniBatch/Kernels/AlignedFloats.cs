using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MlNetMiniBatch.Kernels;

/// <summary>
/// A float buffer whose first element sits on a 64-byte cache line. A managed array starts at any 8-byte offset, and
/// a GEMM operand or result that starts off a line makes every vector load or store of a row touch two lines. The
/// array is on the pinned object heap, so the offset found once stays right.
/// </summary>
internal readonly struct AlignedFloats
{
    private const int LineFloats = 64 / sizeof(float);

    private readonly float[] _array;
    private readonly int _offset;

    public AlignedFloats(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _array = GC.AllocateArray<float>(length + LineFloats - 1, pinned: true);
        _offset = OffsetToLine(_array);
        Length = length;
    }

    public int Length { get; }

    /// <summary>The first <paramref name="length"/> floats (at most <see cref="Length"/>).</summary>
    public Span<float> Span(int length) => length <= Length
        ? _array.AsSpan(_offset, length)
        : throw new ArgumentOutOfRangeException(nameof(length), length, $"The buffer holds {Length} floats.");

    private static unsafe int OffsetToLine(float[] array)
    {
        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (int)((64 - (address % 64)) % 64) / sizeof(float);
    }
}
