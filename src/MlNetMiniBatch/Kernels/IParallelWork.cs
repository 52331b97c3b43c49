namespace MlNetMiniBatch.Kernels;

/// <summary>
/// A batch of independent work items for <see cref="WorkerPool"/>. Implemented by unmanaged structs so a batch
/// is handed to the workers by address, with no delegate or closure allocated per call.
/// </summary>
internal interface IParallelWork
{
    /// <summary>Runs item <paramref name="index"/>; may run on any pool thread or on the caller.</summary>
    void Run(int index);
}
