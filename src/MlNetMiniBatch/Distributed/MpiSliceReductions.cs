namespace MlNetMiniBatch.Distributed;

/// <summary><see cref="ISliceReductions"/> over MPI_Iallreduce: one request per slice, kept for the run.</summary>
internal sealed unsafe class MpiSliceReductions : ISliceReductions
{
    private readonly OpenMpi _mpi;
    private readonly IntPtr _world;
    private readonly Lock _calls;
    private readonly (int Start, int Length)[] _slices;
    private readonly IntPtr[] _requests;
    private readonly bool[] _pending;

    /// <param name="calls">The communicator's lock: MPI is initialized at MPI_THREAD_SERIALIZED.</param>
    public MpiSliceReductions(OpenMpi mpi, IntPtr world, Lock calls, int length, IReadOnlyList<(int Start, int Length)> slices)
    {
        CommunicatorChecks.CheckSlices(length, slices);
        _mpi = mpi;
        _world = world;
        _calls = calls;
        _slices = [.. slices];
        _requests = new IntPtr[_slices.Length];
        _pending = new bool[_slices.Length];
        // MPI reads and writes a started slice while .NET runs, so the buffer must never move: the pinned object heap
        // keeps it in place for its whole life without a handle to free.
        Buffer = GC.AllocateArray<float>(length, pinned: true);
    }

    public float[] Buffer { get; }

    public int SliceCount => _slices.Length;

    public void Start(int slice)
    {
        if (_pending[slice])
            throw new InvalidOperationException($"Slice {slice} is still being summed: wait for it before starting it again.");
        var (start, count) = _slices[slice];
        lock (_calls)
            fixed (float* values = &Buffer[start])
                _requests[slice] = _mpi.StartAllreduceInPlace(values, count, _mpi.Float, _mpi.Sum, _world);
        _pending[slice] = true;
    }

    public bool Test(int slice)
    {
        if (!_pending[slice])
            return true;
        bool done;
        lock (_calls)
            done = _mpi.Test(ref _requests[slice]);
        _pending[slice] = !done;
        return done;
    }

    public void Wait(int slice)
    {
        if (!_pending[slice])
            return;
        lock (_calls)
            _mpi.Wait(ref _requests[slice]);
        _pending[slice] = false;
    }
}
