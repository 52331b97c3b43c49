using MlNetMiniBatch.Distributed;

namespace MlNetMiniBatch;

/// <summary>How <see cref="NeuralNetworkOptions.Distributed"/> spreads one training run over several processes: synchronous
/// data-parallel training over MPI, every rank computing the gradient of its share of each batch.</summary>
public sealed class DistributedTraining
{
    /// <summary>The environment variable mpirun sets to the number of ranks; above 1 it turns on <see cref="Mpi"/>.</summary>
    internal const string WorldSizeVariable = "OMPI_COMM_WORLD_SIZE";

    private readonly Func<ICommunicator>? _communicator;

    /// <summary>The <see cref="GradientBucketSize"/> of <see cref="Mpi"/> and <see cref="MpiPerRankData"/> unless given.</summary>
    public const int DefaultGradientBucketSize = 0;

    private DistributedTraining(Func<ICommunicator>? communicator, bool perRankData, int checksumInterval, int gradientBucketSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(checksumInterval);
        if (gradientBucketSize < 0)
            throw new ArgumentOutOfRangeException(nameof(gradientBucketSize), gradientBucketSize,
                "gradientBucketSize is the fewest parameters whose gradients are summed across ranks together while backward runs; " +
                "pass a positive count, or 0 to sum the whole gradient after backward.");
        _communicator = communicator;
        PerRankData = perRankData;
        ChecksumInterval = checksumInterval;
        GradientBucketSize = gradientBucketSize;
    }

    /// <summary>Every rank reads the same data view (the same files on every machine, or a shared file system) and
    /// trains on a disjoint share of each batch of the epoch's shuffled order.</summary>
    /// <param name="checksumInterval">Debugging: every this many updates, check that the weights are bit-identical on
    /// all ranks (a checksum of every rank's weights; a mismatch throws on every rank). 0, the default, never checks.</param>
    /// <param name="gradientBucketSize">Overlap of the gradient's sum across ranks with the backward pass: each bucket of
    /// layers holding at least this many parameters starts its non-blocking allreduce as soon as backward has finished
    /// it (output layer first), and the update waits for all. 0 sums the whole gradient in one allreduce after
    /// backward. The weights are the same either way, bit for bit; only the time differs (see the README).</param>
    public static DistributedTraining Mpi(int checksumInterval = 0, int gradientBucketSize = DefaultGradientBucketSize) =>
        new(() => MpiCommunicator.World, perRankData: false, checksumInterval, gradientBucketSize);

    /// <summary>Each rank reads its own data view, for example its own machine's files: a batch is the union of every
    /// rank's next BatchSize / ranks rows, and the epoch ends when every rank's view is used up.</summary>
    /// <inheritdoc cref="Mpi" path="/param"/>
    public static DistributedTraining MpiPerRankData(int checksumInterval = 0, int gradientBucketSize = DefaultGradientBucketSize) =>
        new(() => MpiCommunicator.World, perRankData: true, checksumInterval, gradientBucketSize);

    /// <summary>Train in this process alone, even when started by mpirun (for example to run independent trainings
    /// side by side).</summary>
    public static DistributedTraining None { get; } = new(null, perRankData: false, 0, 0);

    /// <summary>Whether each rank reads its own data view (<see cref="MpiPerRankData"/>).</summary>
    public bool PerRankData { get; }

    /// <summary>Updates between two checks that the weights are identical on all ranks; 0 for none.</summary>
    public int ChecksumInterval { get; }

    /// <summary>The fewest parameters summed across ranks together while backward runs; 0 when the whole gradient is
    /// summed after backward.</summary>
    public int GradientBucketSize { get; }

    /// <summary>Tests: on shared data, every rank reads every row of each batch and keeps its share, as it must with
    /// SkipInvalidRows; the reference that reading only the rank's own rows must match bit for bit.</summary>
    internal bool ReadsEveryRow { get; private init; }

    /// <summary>Tests: the same training over another communicator (the in-process loopback).</summary>
    internal static DistributedTraining Over(ICommunicator communicator, bool perRankData = false, int checksumInterval = 0,
        int gradientBucketSize = 0, bool readsEveryRow = false) =>
        new(() => communicator, perRankData, checksumInterval, gradientBucketSize) { ReadsEveryRow = readsEveryRow };

    /// <summary>The communicator to train over, or null for single-process training: the chosen mode, else MPI when
    /// mpirun started more than one rank. Nothing here loads Open MPI unless a distributed mode was chosen.</summary>
    internal static (ICommunicator? Communicator, DistributedTraining Mode, bool Automatic) Resolve(DistributedTraining? chosen)
    {
        if (chosen is not null)
            return (chosen._communicator?.Invoke(), chosen, false);
        bool underMpirun = int.TryParse(Environment.GetEnvironmentVariable(WorldSizeVariable), out int size) && size > 1;
        return underMpirun ? (MpiCommunicator.World, Mpi(), true) : (null, None, true);
    }

    /// <summary>Ranks that mpirun started on this machine (1 outside mpirun): they share its cores.</summary>
    internal static int RanksOnThisMachine =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out int local) && local > 1 ? local : 1;
}
