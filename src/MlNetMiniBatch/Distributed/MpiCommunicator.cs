using System.Buffers;

namespace MlNetMiniBatch.Distributed;

/// <summary><see cref="ICommunicator"/> over MPI_COMM_WORLD of Open MPI. <see cref="World"/> initializes MPI on first
/// use and finalizes it when the process exits.</summary>
/// <remarks>MPI is initialized at MPI_THREAD_SERIALIZED: .NET may run training on any pool thread, and a lock keeps
/// the calls from overlapping, which is all that level asks.</remarks>
internal sealed unsafe class MpiCommunicator : ICommunicator
{
    private static readonly Lazy<MpiCommunicator> s_world = new(() => new MpiCommunicator(OpenMpi.Library));

    private readonly OpenMpi _mpi;
    private readonly IntPtr _world;
    private readonly Lock _calls = new();

    private MpiCommunicator(OpenMpi mpi)
    {
        _mpi = mpi;
        _world = mpi.CommWorld;
        if (!mpi.Initialized())
        {
            int provided = mpi.InitThread(OpenMpi.ThreadSerialized);
            // Without MPI_Finalize, mpirun reports the process as failed even when it returned 0.
            AppDomain.CurrentDomain.ProcessExit += (_, _) => FinalizeOnce();
            if (provided < OpenMpi.ThreadSerialized)
                throw new NotSupportedException(
                    $"This Open MPI provides thread level {provided}; distributed training needs MPI_THREAD_SERIALIZED ({OpenMpi.ThreadSerialized}).");
        }
        mpi.SetErrorsReturn(_world);
        Rank = mpi.CommRank(_world);
        Size = mpi.CommSize(_world);
    }

    /// <summary>All processes that mpirun started, MPI being initialized on the first call.</summary>
    /// <exception cref="DllNotFoundException">Open MPI is not installed.</exception>
    public static MpiCommunicator World => s_world.Value;

    public int Rank { get; }

    public int Size { get; }

    public void AllreduceSum(Span<float> values)
    {
        lock (_calls)
            fixed (float* buffer = values)
                _mpi.AllreduceInPlace(buffer, values.Length, _mpi.Float, _mpi.Sum, _world);
    }

    public void AllreduceSum(Span<double> values)
    {
        lock (_calls)
            fixed (double* buffer = values)
                _mpi.AllreduceInPlace(buffer, values.Length, _mpi.Double, _mpi.Sum, _world);
    }

    public IPendingReduction StartAllreduceSum(Memory<float> values)
    {
        var pin = values.Pin();
        try
        {
            IntPtr request;
            lock (_calls)
                request = _mpi.StartAllreduceInPlace(pin.Pointer, values.Length, _mpi.Float, _mpi.Sum, _world);
            return new Pending(this, pin, request);
        }
        catch
        {
            pin.Dispose();
            throw;
        }
    }

    public ISliceReductions CreateSliceReductions(int length, IReadOnlyList<(int Start, int Length)> slices) =>
        new MpiSliceReductions(_mpi, _world, _calls, length, slices);

    public void Broadcast(Span<float> values, int root)
    {
        CommunicatorChecks.CheckRoot(root, Size);
        lock (_calls)
            fixed (float* buffer = values)
                _mpi.Bcast(buffer, values.Length, _mpi.Float, root, _world);
    }

    public void Barrier()
    {
        lock (_calls)
            _mpi.Barrier(_world);
    }

    /// <summary>Writes <paramref name="reason"/> to standard error and calls MPI_Abort, which does not return: mpirun
    /// then ends every rank and exits non-zero.</summary>
    public void Abort(string reason)
    {
        Console.Error.WriteLine(reason);
        Console.Error.Flush();
        _mpi.Abort(_world, 1);
    }

    private void FinalizeOnce()
    {
        lock (_calls)
            if (!_mpi.Finalized())
                _mpi.FinalizeMpi();
    }

    private sealed class Pending(MpiCommunicator owner, MemoryHandle pin, IntPtr request) : IPendingReduction
    {
        private IntPtr _request = request;
        private MemoryHandle _pin = pin;
        private bool _done;

        public void Wait()
        {
            if (_done)
                return;
            lock (owner._calls)
                owner._mpi.Wait(ref _request);
            _done = true;
            _pin.Dispose();
        }
    }
}
