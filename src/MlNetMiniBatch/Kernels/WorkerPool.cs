using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace MlNetMiniBatch.Kernels;

/// <summary>
/// Persistent worker threads that run the items of one <see cref="IParallelWork"/> batch at a time, together
/// with the calling thread. Items are claimed dynamically (a late-waking worker simply finds nothing left), so
/// correctness never depends on which thread runs which item; callers that need determinism make each item's
/// result independent of its thread, as the GEMM driver does.
/// </summary>
internal sealed unsafe class WorkerPool
{
    /// <summary>Most items one batch may have (the ticket has 16 bits for them).</summary>
    public const int MaxItems = 0xFFFF;

    /// <summary>How long an idle thread polls before blocking: covers the gap between consecutive GEMMs.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000; // 50 µs

    // One core is the caller's; more threads than cores would only time-slice the same items.
    private static readonly int MaxWorkers = Math.Max(1, Environment.ProcessorCount - 1);

    private readonly object _wakeLock = new();
    private readonly object _doneLock = new();
    private readonly object _growLock = new();
    private Thread[] _workers = [];

    // Bits 32-63: batch generation; 16-31: item count; 0-15: next unclaimed item. The count must live in the same
    // word as the index: with a separate field, a thread could pair the finished batch's exhausted index with
    // the next batch's larger count (written before the new generation is published), claim an item of neither
    // batch, and run it twice or corrupt the completion count.
    private long _ticket;
    private int _busy;
    private int _remaining;
    private delegate*<void*, int, void> _invoke;
    private void* _state;
    private Exception? _error;

    /// <summary>The process-wide pool; threads are created on first need and live for the process.</summary>
    public static WorkerPool Shared { get; } = new();

    /// <summary>Batches that took the pool and were offered to its workers (not those run inline): lets tests prove
    /// that a training run at its sizes really went parallel.</summary>
    internal long DispatchedBatches => Interlocked.Read(ref _dispatchedBatches);

    private long _dispatchedBatches;

    /// <summary>
    /// Runs <c>work.Run(0 .. count-1)</c> on the caller and up to <c>count - 1</c> workers (at most one fewer than
    /// the cores); returns when all are done and rethrows the first exception. A nested or concurrent call runs
    /// its items inline on its caller.
    /// </summary>
    public void Run<T>(in T work, int count)
        where T : unmanaged, IParallelWork
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxItems);
        if (count <= 1)
        {
            if (count == 1)
            {
                work.Run(0);
            }

            return;
        }

        // A copy on this frame has a fixed address for the workers until this method returns.
        T copy = work;
        RunCore(&copy, &Invoke<T>, count);
    }

    private static void Invoke<T>(void* state, int index)
        where T : unmanaged, IParallelWork => ((T*)state)->Run(index);

    private void RunCore(void* state, delegate*<void*, int, void> invoke, int count)
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
            // Items are claimed, not assigned, so more items than threads is fine; more threads than cores is not.
            EnsureWorkers(Math.Min(count - 1, MaxWorkers));
            _invoke = invoke;
            _state = state;
            _error = null;
            Volatile.Write(ref _remaining, count);
            long ticket = (((Volatile.Read(ref _ticket) >> 32) + 1) << 32) | ((long)count << 16);
            Interlocked.Exchange(ref _ticket, ticket);
            lock (_wakeLock)
            {
                Monitor.PulseAll(_wakeLock);
            }

            long published = WorkerPoolTimings.Enabled ? Stopwatch.GetTimestamp() : 0;
            int own = RunItems(ticket >> 32);
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

    /// <summary>Claims and runs items of batch <paramref name="generation"/> until none is left; returns how many it ran.</summary>
    private int RunItems(long generation)
    {
        int ran = 0;
        while (true)
        {
            long ticket = Volatile.Read(ref _ticket);
            if ((ticket >> 32) != generation)
            {
                return ran;
            }

            // A successful compare-exchange below proves this batch still had unclaimed items, so it was not
            // finished and these fields, read after the acquire of _ticket, still belonged to it.
            delegate*<void*, int, void> invoke = _invoke;
            void* state = _state;
            int index = (int)(ticket & 0xFFFF);
            if (index >= (int)((ticket >> 16) & 0xFFFF))
            {
                return ran;
            }

            if (Interlocked.CompareExchange(ref _ticket, ticket + 1, ticket) != ticket)
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

    private void WorkerLoop(long seen)
    {
        while (true)
        {
            seen = WaitForGeneration(seen);
            _ = RunItems(seen);
        }
    }

    /// <summary>Spins, then blocks, until a batch newer than <paramref name="seen"/> is published.</summary>
    private long WaitForGeneration(long seen)
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        var spinner = default(SpinWait);
        long generation;
        while ((generation = Volatile.Read(ref _ticket) >> 32) == seen)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                lock (_wakeLock)
                {
                    while ((generation = Volatile.Read(ref _ticket) >> 32) == seen)
                    {
                        Monitor.Wait(_wakeLock);
                    }
                }

                return generation;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        return generation;
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
        var thread = new Thread(() => WorkerLoop(seen))
        {
            IsBackground = true,
            Name = $"MlNetMiniBatch worker {index + 1}",
        };
        thread.Start();
        return thread;
    }
}
