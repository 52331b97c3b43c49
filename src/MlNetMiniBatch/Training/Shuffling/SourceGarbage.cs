namespace MlNetMiniBatch.Training.Shuffling;

/// <summary>
/// Keeps the garbage that a source's cursor makes while the streaming shuffle copies it within a share of
/// <see cref="NeuralNetworkOptions.ShuffleMemoryLimit"/>. Readers allocate per row (a TextLoader line, a database
/// driver's receive buffers and events), and the GC sizes its youngest generation from the CPU's cache: on a machine
/// that reports a large L3 it lets hundreds of megabytes of such garbage pile up before it collects, so peak memory
/// grew with the row count. A collection of the youngest generation, where this garbage dies, costs little next to
/// reading the megabytes that preceded it.
/// </summary>
internal struct SourceGarbage
{
    private readonly long _budget;
    private long _next;

    public SourceGarbage(long memoryLimit)
    {
        _budget = Budget(memoryLimit);
        _next = GC.GetTotalAllocatedBytes() + _budget;
    }

    /// <summary>Bytes the process may allocate between two collections: a sixteenth of the limit, 1 to 16 MiB.</summary>
    internal static long Budget(long memoryLimit) => Math.Clamp(memoryLimit / 16, 1L << 20, 16L << 20);

    /// <summary>Called after each batch read from the source; collects once the budget is spent.</summary>
    public void AfterBatch()
    {
        long allocated = GC.GetTotalAllocatedBytes();
        if (allocated < _next)
            return;
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        _next = allocated + _budget;
    }
}
