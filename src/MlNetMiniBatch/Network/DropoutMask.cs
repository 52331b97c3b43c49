using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MlNetMiniBatch.Network;

/// <summary>
/// A dropout mask: element i is 0 where <see cref="CounterRandom.NextFloat"/>(stream, offset + i) &lt; rate, else the
/// kept units' scale. Sixteen draws at a time on 512-bit vectors, or eight on 256-bit ones without AVX-512 (whose
/// 64-bit multiplies the JIT emulates), which give the same bits as the scalar draws: the hash is integer arithmetic
/// and its top 24 bits convert to float exactly. There is a draw for every hidden unit of every row, so drawn one at a
/// time they cost a visible share of each step.
/// </summary>
internal static class DropoutMask
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fill(Span<float> mask, ulong stream, ulong offset, float rate, float keep)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var golden = Vector512.Create(CounterRandom.Golden);
            var mix1 = Vector512.Create(CounterRandom.Mix1);
            var mix2 = Vector512.Create(CounterRandom.Mix2);
            var start = Vector512.Create(stream);
            var lanes = Vector512.Create(1UL, 2, 3, 4, 5, 6, 7, 8);
            var scale = Vector512.Create(1f / (1 << 24));
            var threshold = Vector512.Create(rate);
            var kept = Vector512.Create(keep);
            for (; i <= mask.Length - 16; i += 16)
            {
                var low = Hash(start, (Vector512.Create(offset + (ulong)i) + lanes) * golden, mix1, mix2);
                var high = Hash(start, (Vector512.Create(offset + (ulong)i + 8) + lanes) * golden, mix1, mix2);
                var draws = Vector512.ConvertToSingle(Vector512.Narrow(low >> 40, high >> 40)) * scale;
                Vector512.ConditionalSelect(Vector512.LessThan(draws, threshold), Vector512<float>.Zero, kept).StoreUnsafe(ref mask[i]);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var golden = Vector256.Create(CounterRandom.Golden);
            var mix1 = Vector256.Create(CounterRandom.Mix1);
            var mix2 = Vector256.Create(CounterRandom.Mix2);
            var start = Vector256.Create(stream);
            var lanes = Vector256.Create(1UL, 2, 3, 4);
            var scale = Vector256.Create(1f / (1 << 24));
            var threshold = Vector256.Create(rate);
            var kept = Vector256.Create(keep);
            for (; i <= mask.Length - 8; i += 8)
            {
                var low = Hash(start, (Vector256.Create(offset + (ulong)i) + lanes) * golden, mix1, mix2);
                var high = Hash(start, (Vector256.Create(offset + (ulong)i + 4) + lanes) * golden, mix1, mix2);
                // The top 24 bits are below 2^24, so as signed integers they convert to float exactly.
                var draws = Vector256.ConvertToSingle(Vector256.Narrow(low >> 40, high >> 40).AsInt32()) * scale;
                Vector256.ConditionalSelect(Vector256.LessThan(draws, threshold), Vector256<float>.Zero, kept).StoreUnsafe(ref mask[i]);
            }
        }
        for (; i < mask.Length; i++)
            mask[i] = CounterRandom.NextFloat(stream, offset + (ulong)i) < rate ? 0f : keep;
    }

    /// <summary><see cref="CounterRandom.Hash"/>(stream, c) of four counters c, given (c + 1) · Golden.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Hash(Vector256<ulong> stream, Vector256<ulong> scaledCounters, Vector256<ulong> mix1, Vector256<ulong> mix2)
    {
        var z = stream + scaledCounters;
        z = (z ^ (z >> 30)) * mix1;
        z = (z ^ (z >> 27)) * mix2;
        return z ^ (z >> 31);
    }

    /// <summary><see cref="CounterRandom.Hash"/>(stream, c) of eight counters c, given (c + 1) · Golden.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Hash(Vector512<ulong> stream, Vector512<ulong> scaledCounters, Vector512<ulong> mix1, Vector512<ulong> mix2)
    {
        var z = stream + scaledCounters;
        z = (z ^ (z >> 30)) * mix1;
        z = (z ^ (z >> 27)) * mix2;
        return z ^ (z >> 31);
    }
}
