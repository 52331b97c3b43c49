namespace MlNetMiniBatch.Distributed;

/// <summary>The collective operations that synchronous data-parallel training needs, among <see cref="Size"/> ranks.
/// Every rank must call the same operations in the same order with buffers of the same length.</summary>
internal interface ICommunicator
{
    /// <summary>This process's rank, 0 to <see cref="Size"/> - 1.</summary>
    int Rank { get; }

    /// <summary>The number of ranks.</summary>
    int Size { get; }

    /// <summary>Replaces <paramref name="values"/>, on every rank, by their element-wise sum over all ranks. The sum is
    /// the same, bit for bit, on every rank.</summary>
    void AllreduceSum(Span<float> values);

    /// <inheritdoc cref="AllreduceSum(Span{float})"/>
    void AllreduceSum(Span<double> values);

    /// <summary>Starts <see cref="AllreduceSum(Span{float})"/> on <paramref name="values"/> and returns before it is
    /// done, so that other work can overlap it. Until <see cref="IPendingReduction.Wait"/> returns, the buffer must
    /// be neither read nor written, and the next collective must not start.</summary>
    IPendingReduction StartAllreduceSum(Memory<float> values);

    /// <summary>A buffer of <paramref name="length"/> floats whose <paramref name="slices"/> can each be summed over all
    /// ranks without blocking, again and again, allocating nothing after this call (the gradient's buckets).</summary>
    ISliceReductions CreateSliceReductions(int length, IReadOnlyList<(int Start, int Length)> slices);

    /// <summary>Copies <paramref name="values"/> of rank <paramref name="root"/> into <paramref name="values"/> of every rank.</summary>
    void Broadcast(Span<float> values, int root);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();

    /// <summary>Ends the job after a failure on this rank, so that no other rank waits forever for it: the other ranks'
    /// collectives fail (or their processes end), and <paramref name="reason"/> reaches the job's output.</summary>
    void Abort(string reason);
}

/// <summary>A reduction started by <see cref="ICommunicator.StartAllreduceSum"/>.</summary>
internal interface IPendingReduction
{
    /// <summary>Blocks until the reduction is done and its buffer holds the sum. Later calls return at once.</summary>
    void Wait();
}

internal static class CommunicatorChecks
{
    public static void CheckRoot(int root, int size)
    {
        if ((uint)root >= (uint)size)
            throw new ArgumentOutOfRangeException(nameof(root), root, $"The broadcast root must be a rank from 0 to {size - 1}.");
    }

    public static void CheckSlices(int length, IReadOnlyList<(int Start, int Length)> slices)
    {
        foreach (var (start, count) in slices)
            if (start < 0 || count <= 0 || start > length - count)
                throw new ArgumentOutOfRangeException(nameof(slices), (start, count),
                    $"Every slice must hold at least one element of the buffer of {length}.");
    }
}
