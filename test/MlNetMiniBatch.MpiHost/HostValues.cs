namespace MlNetMiniBatch.MpiHost;

/// <summary>What each rank of the host puts into the collectives; the tests compute the expected results from it.</summary>
public static class HostValues
{
    /// <summary>Values whose float sum depends on the order of addition (0.1f * k, 1 / (r + 3)) or cancels (±1e8), so
    /// that equal results on all ranks mean more than luck.</summary>
    public static float[] ForRank(int rank) => [rank + 1, 0.1f * (rank + 1), 1e8f * (1 - 2 * (rank % 2)), 1f / (rank + 3), -rank];

    /// <summary>The double values of a rank: its float values over 3, which no float holds exactly.</summary>
    public static double[] DoublesForRank(int rank) => [.. ForRank(rank).Select(v => v / 3.0)];

    /// <summary>Length of the non-blocking reduction's buffer: large enough to go past Open MPI's eager limit, so the
    /// reduction is in flight while the rank does other work.</summary>
    public const int PendingLength = 1 << 18;

    /// <summary>The step of the "die" scenario after which the last rank kills itself.</summary>
    public const int DeathStep = 20;
}
