namespace MlNetMiniBatch.Distributed;

/// <summary>An MPI call returned an error code: the message names the call, the rank and MPI's text for the code.</summary>
internal sealed class MpiException(string call, int errorCode, string errorText, string rank)
    : Exception($"{call} failed on rank {rank}: {errorText} (MPI error code {errorCode}).")
{
    /// <summary>The MPI function that failed, e.g. "MPI_Allreduce".</summary>
    public string Call { get; } = call;

    /// <summary>The code it returned (MPI_ERR_* in mpi.h).</summary>
    public int ErrorCode { get; } = errorCode;

    /// <summary>The rank in MPI_COMM_WORLD, as mpirun announced it ("?" when started without mpirun).</summary>
    public string Rank { get; } = rank;
}
