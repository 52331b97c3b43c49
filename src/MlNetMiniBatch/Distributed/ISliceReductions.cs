namespace MlNetMiniBatch.Distributed;

/// <summary>Non-blocking sums over all ranks of fixed slices of one buffer, from
/// <see cref="ICommunicator.CreateSliceReductions"/>. Every rank starts the same slices in the same order, and waits
/// for all started slices before the next collective of the communicator; each element is summed as a whole-buffer
/// allreduce would sum it.</summary>
internal interface ISliceReductions
{
    /// <summary>The buffer the slices cover; a started slice must be neither read nor written until its wait returns.</summary>
    float[] Buffer { get; }

    int SliceCount { get; }

    /// <summary>Starts replacing slice <paramref name="slice"/> of <see cref="Buffer"/> by its sum over all ranks.</summary>
    void Start(int slice);

    /// <summary>Lets the library advance the started reductions (MPI does most of a non-blocking collective's work
    /// inside MPI calls) and returns whether <paramref name="slice"/> is done.</summary>
    bool Test(int slice);

    /// <summary>Blocks until slice <paramref name="slice"/> holds the sum.</summary>
    void Wait(int slice);
}
