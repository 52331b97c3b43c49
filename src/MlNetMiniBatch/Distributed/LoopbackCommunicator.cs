using System.Numerics;
using System.Numerics.Tensors;

namespace MlNetMiniBatch.Distributed;

/// <summary><see cref="ICommunicator"/> among threads of one process, for tests of distributed code without MPI: each
/// rank is a thread holding one member of a group from <see cref="CreateGroup"/>.</summary>
/// <remarks>Sums are taken in rank order (0, 1, 2, ...) by every rank, so results are deterministic and bit-identical on
/// all ranks. A rank that does not arrive within the timeout makes the others throw instead of waiting forever, and
/// ranks that call different operations or pass buffers of different lengths all throw.</remarks>
internal sealed class LoopbackCommunicator : ICommunicator
{
    private readonly Rendezvous _rendezvous;

    private LoopbackCommunicator(Rendezvous rendezvous, int rank)
    {
        _rendezvous = rendezvous;
        Rank = rank;
    }

    public int Rank { get; }

    public int Size => _rendezvous.Size;

    /// <summary>One communicator per rank; give each to its own thread.</summary>
    public static LoopbackCommunicator[] CreateGroup(int size, TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        var rendezvous = new Rendezvous(size, timeout);
        return [.. Enumerable.Range(0, size).Select(rank => new LoopbackCommunicator(rendezvous, rank))];
    }

    public void AllreduceSum(Span<float> values) => Sum(values, "AllreduceSum(float)");

    public void AllreduceSum(Span<double> values) => Sum(values, "AllreduceSum(double)");

    // The sum is done when it starts: the contract only promises it after Wait.
    public IPendingReduction StartAllreduceSum(Memory<float> values)
    {
        Sum(values.Span, "AllreduceSum(float)");
        return Done.Instance;
    }

    public ISliceReductions CreateSliceReductions(int length, IReadOnlyList<(int Start, int Length)> slices) =>
        new SliceReductions(this, length, slices);

    public void Broadcast(Span<float> values, int root)
    {
        CommunicatorChecks.CheckRoot(root, Size);
        var posted = _rendezvous.Exchange(Rank, "Broadcast", values, root);
        ((float[])posted[root]).CopyTo(values);
        _rendezvous.Leave(Rank);
    }

    public void Barrier()
    {
        _rendezvous.Exchange<float>(Rank, "Barrier", [], 0);
        _rendezvous.Leave(Rank);
    }

    /// <summary>Makes every rank's current and later collectives throw with <paramref name="reason"/>.</summary>
    public void Abort(string reason) => _rendezvous.Abort(reason);

    private void Sum<T>(Span<T> values, string operation, int argument = 0) where T : unmanaged, INumber<T>
    {
        var posted = _rendezvous.Exchange(Rank, operation, values, argument);
        ((T[])posted[0]).CopyTo(values);
        for (int rank = 1; rank < posted.Length; rank++)
            TensorPrimitives.Add(values, (T[])posted[rank], values);
        _rendezvous.Leave(Rank);
    }

    /// <summary>Each slice is summed, in rank order like a whole buffer, when it starts; the ranks must start the same
    /// slice at the same time, which the rendezvous checks.</summary>
    private sealed class SliceReductions : ISliceReductions
    {
        private readonly LoopbackCommunicator _owner;
        private readonly (int Start, int Length)[] _slices;

        public SliceReductions(LoopbackCommunicator owner, int length, IReadOnlyList<(int Start, int Length)> slices)
        {
            CommunicatorChecks.CheckSlices(length, slices);
            _owner = owner;
            _slices = [.. slices];
            Buffer = new float[length];
        }

        public float[] Buffer { get; }

        public int SliceCount => _slices.Length;

        public void Start(int slice) => _owner.Sum(Buffer.AsSpan(_slices[slice].Start, _slices[slice].Length), "AllreduceSum(slice)", slice);

        public bool Test(int slice) => true;

        public void Wait(int slice) { }
    }

    private sealed class Done : IPendingReduction
    {
        public static readonly Done Instance = new();

        public void Wait() { }
    }

    /// <summary>Where the ranks of a group post their buffers and wait for each other.</summary>
    private sealed class Rendezvous(int size, TimeSpan timeout)
    {
        private readonly Barrier _barrier = new(size);
        private readonly Array[] _buffers = new Array[size];
        private readonly (string Operation, int Argument)[] _calls = new (string, int)[size];
        private readonly CancellationTokenSource _aborted = new();
        private string? _abortReason;

        public int Size => size;

        /// <summary>Posts a copy of this rank's buffer, waits for all ranks and returns every rank's buffer; the caller
        /// reads them and then calls <see cref="Leave"/>.</summary>
        public Array[] Exchange<T>(int rank, string operation, ReadOnlySpan<T> values, int argument)
        {
            _buffers[rank] = values.ToArray();
            _calls[rank] = (operation, argument);
            Wait(rank, operation);
            for (int other = 0; other < size; other++)
            {
                if (_calls[other] != _calls[0])
                    throw new InvalidOperationException(
                        $"Rank {rank}: the ranks called different collectives: rank 0 called {_calls[0].Operation} ({_calls[0].Argument}), " +
                        $"rank {other} called {_calls[other].Operation} ({_calls[other].Argument}).");
                if (_buffers[other].Length != _buffers[0].Length)
                    throw new InvalidOperationException(
                        $"Rank {rank}: {operation} got {_buffers[0].Length} values on rank 0 and {_buffers[other].Length} on rank {other}; " +
                        "every rank must pass the same length.");
            }
            return _buffers;
        }

        /// <summary>Waits until every rank has read the buffers, so that the next operation may overwrite them.</summary>
        public void Leave(int rank) => Wait(rank, "the end of the collective");

        public void Abort(string reason)
        {
            Interlocked.CompareExchange(ref _abortReason, reason, null);
            _aborted.Cancel();
        }

        private void Wait(int rank, string what)
        {
            bool arrived;
            try
            {
                _aborted.Token.ThrowIfCancellationRequested();
                arrived = _barrier.SignalAndWait(timeout, _aborted.Token);
            }
            catch (OperationCanceledException)
            {
                throw new InvalidOperationException($"Loopback rank {rank} of {size}: the job was aborted: {_abortReason}");
            }
            if (!arrived)
                throw new TimeoutException(
                    $"Loopback rank {rank} of {size}: not every rank reached {what} within {timeout.TotalSeconds:0.###} s; a rank failed or called a different collective.");
        }
    }
}
