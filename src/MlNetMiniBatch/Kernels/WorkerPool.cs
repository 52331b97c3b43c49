using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace MlNetMiniBatch.Kernels;

/// <summary>
/// Persistent worker threads that run the items of one <see cref="IParallelWork"/> batch at a time, together
/// with the calling thread. Each taking part thread owns a contiguous run of the items, in thread order (the caller
/// the first), and works through it from the front; a thread done with its own run takes the last unclaimed items
/// of the others' (a late-waking or descheduled worker simply finds its run shortened). Callers that split the same
/// rows into items the same way then find a row's data in the cache of the core that last wrote it: the features a
/// thread gathered are the ones its forward pass multiplies. Correctness never depends on which thread runs which
/// item; callers that need determinism make each item's result independent of its thread, as the GEMM driver does.
/// </summary>
internal sealed unsafe class WorkerPool
{
    /// <summary>Most items one batch may have (a run word holds an item index in 16 bits).</summary>
    public const int MaxItems = 0xFFFF;

    /// <summary>How long an idle thread polls before blocking: covers the gaps between consecutive dispatches of a
    /// training step, the serial sums of the loss and the metrics included, so that a worker is not put to sleep and woken
    /// again (a cross-core wake-up) several times a step.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 2_000; // 500 µs

    private readonly int _maxWorkers;

    private readonly object _wakeLock = new();
    private readonly object _doneLock = new();
    private readonly object _growLock = new();
    private Thread[] _workers = [];

    // Bits 32-63: batch generation; 0-15: how many threads take part. Written after the runs below.
    private long _ticket;

    // One word per taking part thread, a cache line apart (the threads claim from them at once): bits 32-63 the
    // batch generation, 16-31 the end of the thread's run, 0-15 its next unclaimed item. The owner claims from the
    // front and the others from the back, each with one compare-exchange on the whole word, so a thread can never
    // pair the finished batch's bounds with the next batch's (the generation is in the same word) and claim an item
    // of neither, nor can two threads claim the same item.
    private const int WordsPerLine = 8;
    private readonly long[] _runs;
    private int _busy;
    private int _remaining;
    private delegate*<void*, int, void> _invoke;
    private void* _state;
    private Exception? _error;

    /// <param name="maxWorkers">The most workers the pool starts; with the caller, one more thread than that takes part.</param>
    internal WorkerPool(int maxWorkers)
    {
        _maxWorkers = maxWorkers;
        _runs = new long[(maxWorkers + 1) * WordsPerLine];
    }

    /// <summary>The process-wide pool; threads are created on first need and live for the process. One core is the
    /// caller's; more threads than cores would only time-slice the same items.</summary>
    public static WorkerPool Shared { get; } = new(Math.Max(1, Environment.ProcessorCount - 1));

    /// <summary>Batches that took the pool and were offered to its workers (not those run inline): lets tests prove
    /// that a training run at its sizes really went parallel.</summary>
    internal long DispatchedBatches => Interlocked.Read(ref _dispatchedBatches);

    private long _dispatchedBatches;

    /// <summary>
    /// Runs <c>work.Run(0 .. count-1)</c> on the caller and on workers, <paramref name="threads"/> threads at most in
    /// all (and no more than the cores); returns when all are done and rethrows the first exception. A nested or
    /// concurrent call runs its items inline on its caller.
    /// </summary>
    public void Run<T>(in T work, int count, int threads)
        where T : unmanaged, IParallelWork
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxItems);
        int participants = Math.Min(count, Math.Min(threads, _maxWorkers + 1));
        if (participants <= 1)
        {
            for (int i = 0; i < count; i++)
            {
                work.Run(i);
            }

            return;
        }

        // A copy on this frame has a fixed address for the workers until this method returns.
        T copy = work;
        RunCore(&copy, &Invoke<T>, count, participants);
    }

    private static void Invoke<T>(void* state, int index)
        where T : unmanaged, IParallelWork => ((T*)state)->Run(index);

    private void RunCore(void* state, delegate*<void*, int, void> invoke, int count, int participants)
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int i = 0; i < count; i++)
            {
                invoke(state, i);
            }

            return;
        }

        Interlocked.Increment(ref _dispatchedBatches);
        long start = WorkerPoolTimings.Enabled ? Stopwatch.GetTimestamp() : 0;
        try
        {
            EnsureWorkers(participants - 1);
            _invoke = invoke;
            _state = state;
            _error = null;
            Volatile.Write(ref _remaining, count);
            long generation = (Volatile.Read(ref _ticket) >> 32) + 1;
            for (int slot = 0; slot < participants; slot++)
            {
                long first = (long)count * slot / participants, end = (long)count * (slot + 1) / participants;
                Volatile.Write(ref _runs[slot * WordsPerLine], (generation << 32) | (end << 16) | first);
            }

            Interlocked.Exchange(ref _ticket, (generation << 32) | (uint)participants);
            lock (_wakeLock)
            {
                Monitor.PulseAll(_wakeLock);
            }

            long published = WorkerPoolTimings.Enabled ? Stopwatch.GetTimestamp() : 0;
            int own = RunItems(generation, slot: 0, participants);
            long ownDone = WorkerPoolTimings.Enabled ? Stopwatch.GetTimestamp() : 0;
            WaitForRemaining();
            if (WorkerPoolTimings.Enabled)
            {
                WorkerPoolTimings.Record(count, own, start, published, ownDone, Stopwatch.GetTimestamp());
            }

            if (_error is { } error)
            {
                ExceptionDispatchInfo.Throw(error);
            }
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Runs the items of batch <paramref name="generation"/> left in this thread's own run, then those left in
    /// the others'; returns how many it ran.</summary>
    private int RunItems(long generation, int slot, int participants)
    {
        int ran = 0;
        for (int offset = 0; offset < participants; offset++)
        {
            ran += RunFrom((slot + offset) % participants, generation, fromBack: offset > 0);
        }

        return ran;
    }

    /// <summary>Claims and runs items of <paramref name="slot"/>'s run until none is left there.</summary>
    private int RunFrom(int slot, long generation, bool fromBack)
    {
        ref long word = ref _runs[slot * WordsPerLine];
        int ran = 0;
        while (true)
        {
            long run = Volatile.Read(ref word);
            if ((run >> 32) != generation)
            {
                return ran;
            }

            // A successful compare-exchange below proves this batch still had unclaimed items, so it was not
            // finished and these fields, read after the acquire of the run, still belonged to it.
            delegate*<void*, int, void> invoke = _invoke;
            void* state = _state;
            int next = (int)(run & 0xFFFF), end = (int)((run >> 16) & 0xFFFF);
            if (next >= end)
            {
                return ran;
            }

            int index = fromBack ? end - 1 : next;
            if (Interlocked.CompareExchange(ref word, fromBack ? run - (1L << 16) : run + 1, run) != run)
            {
                continue;
            }

            ran++;
            try
            {
                invoke(state, index);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            finally
            {
                if (Interlocked.Decrement(ref _remaining) == 0)
                {
                    lock (_doneLock)
                    {
                        Monitor.PulseAll(_doneLock);
                    }
                }
            }
        }
    }

    private void WaitForRemaining()
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        var spinner = default(SpinWait);
        while (Volatile.Read(ref _remaining) != 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                lock (_doneLock)
                {
                    while (Volatile.Read(ref _remaining) != 0)
                    {
                        Monitor.Wait(_doneLock);
                    }
                }

                return;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    private void WorkerLoop(int slot, long seen)
    {
        while (true)
        {
            long ticket = WaitForGeneration(seen);
            seen = ticket >> 32;
            int participants = (int)(ticket & 0xFFFF);
            if (slot < participants)
            {
                _ = RunItems(seen, slot, participants);
            }
        }
    }

    /// <summary>Spins, then blocks, until a batch newer than <paramref name="seen"/> is published; returns its ticket.</summary>
    private long WaitForGeneration(long seen)
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        var spinner = default(SpinWait);
        long ticket;
        while (((ticket = Volatile.Read(ref _ticket)) >> 32) == seen)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                lock (_wakeLock)
                {
                    while (((ticket = Volatile.Read(ref _ticket)) >> 32) == seen)
                    {
                        Monitor.Wait(_wakeLock);
                    }
                }

                return ticket;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        return ticket;
    }

    private void EnsureWorkers(int wanted)
    {
        if (_workers.Length < wanted)
        {
            Grow(wanted);
        }
    }

    private void Grow(int wanted)
    {
        lock (_growLock)
        {
            var workers = _workers;
            if (workers.Length >= wanted)
            {
                return;
            }

            // Workers start from the current generation so the batch about to be published is not skipped.
            long seen = Volatile.Read(ref _ticket) >> 32;
            var grown = new Thread[wanted];
            Array.Copy(workers, grown, workers.Length);
            for (int i = workers.Length; i < wanted; i++)
            {
                grown[i] = StartWorker(i, seen);
            }

            Volatile.Write(ref _workers, grown);
        }
    }

    // Kept apart from the callers: the lambda's closure would otherwise be allocated on every call of the method
    // that declares the captured variable, even when no thread is started.
    private Thread StartWorker(int index, long seen)
    {
        var thread = new Thread(() => WorkerLoop(index + 1, seen))
        {
            IsBackground = true,
            Name = $"MlNetMiniBatch worker {index + 1}",
        };
        thread.Start();
        return thread;
    }
}
