using System.Diagnostics;

namespace MlNetMiniBatch.Kernels;

/// <summary>
/// Opt-in counters of where the calling thread's time goes in <see cref="WorkerPool"/> batches: publishing the batch
/// (and waking sleeping workers), running its own share of the items, and waiting for the items the workers took.
/// Read by the benchmark's step breakdown, which sets <see cref="Switch"/> before the pool first runs. Off otherwise:
/// <see cref="Enabled"/> is a static readonly bool, so tiered compilation drops the timing code entirely.
/// </summary>
internal static class WorkerPoolTimings
{
    public const string Switch = "MlNetMiniBatch.TimeWorkerPool";

    public static readonly bool Enabled = AppContext.TryGetSwitch(Switch, out bool on) && on;

    private static long _batches, _items, _callerItems, _publishTicks, _ownTicks, _waitTicks;

    /// <summary>Totals since the process started; subtract two readings for an interval.</summary>
    public readonly record struct Totals(long Batches, long Items, long CallerItems, long PublishTicks, long OwnTicks, long WaitTicks)
    {
        public static Totals operator -(Totals a, Totals b) => new(a.Batches - b.Batches, a.Items - b.Items, a.CallerItems - b.CallerItems,
            a.PublishTicks - b.PublishTicks, a.OwnTicks - b.OwnTicks, a.WaitTicks - b.WaitTicks);

        public static Totals operator +(Totals a, Totals b) => new(a.Batches + b.Batches, a.Items + b.Items, a.CallerItems + b.CallerItems,
            a.PublishTicks + b.PublishTicks, a.OwnTicks + b.OwnTicks, a.WaitTicks + b.WaitTicks);

        public static double Microseconds(long ticks) => ticks * 1e6 / Stopwatch.Frequency;
    }

    public static Totals Read() => new(Volatile.Read(ref _batches), Volatile.Read(ref _items), Volatile.Read(ref _callerItems),
        Volatile.Read(ref _publishTicks), Volatile.Read(ref _ownTicks), Volatile.Read(ref _waitTicks));

    /// <summary>One batch, from the caller's timestamps: entry, published, own items done, all items done.</summary>
    internal static void Record(int items, int callerItems, long start, long published, long ownDone, long end)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _items, items);
        Interlocked.Add(ref _callerItems, callerItems);
        Interlocked.Add(ref _publishTicks, published - start);
        Interlocked.Add(ref _ownTicks, ownDone - published);
        Interlocked.Add(ref _waitTicks, end - ownDone);
    }
}
