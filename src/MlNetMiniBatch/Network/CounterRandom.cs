namespace MlNetMiniBatch.Network;

/// <summary>
/// Random numbers as a pure function of (stream, counter) — SplitMix64's finaliser — so a dropout mask or a data split
/// depends only on the seed and the position, never on how many numbers were drawn before. That is what lets a run
/// resumed from a checkpoint draw exactly what the uninterrupted run drew.
/// </summary>
internal static class CounterRandom
{
    internal const ulong Golden = 0x9E3779B97F4A7C15UL, Mix1 = 0xBF58476D1CE4E5B9UL, Mix2 = 0x94D049BB133111EBUL;

    public static ulong Hash(ulong stream, ulong counter)
    {
        ulong z = stream + (counter + 1) * Golden;
        z = (z ^ (z >> 30)) * Mix1;
        z = (z ^ (z >> 27)) * Mix2;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    public static float NextFloat(ulong stream, ulong counter) => (Hash(stream, counter) >> 40) * (1f / (1 << 24));
}
