using MlNetMiniBatch.Kernels;

namespace MlNetMiniBatch.Tests.Kernels;

/// <summary>The benchmark's worker-pool timing hook: off (recording nothing) unless its switch is set, and when it
/// records, a batch's time splits into publishing, the caller's own items and waiting, as the breakdown reads it.</summary>
[TestClass]
public sealed class WorkerPoolTimingsTests
{
    [TestMethod]
    public unsafe void IsOffWithoutTheSwitchAndThenRecordsNothing()
    {
        Assert.IsFalse(AppContext.TryGetSwitch(WorkerPoolTimings.Switch, out bool set) && set, "nothing in the test run sets the switch");
        Assert.IsFalse(WorkerPoolTimings.Enabled);
        var before = WorkerPoolTimings.Read();
        int* counts = stackalloc int[4];
        long dispatched = WorkerPool.Shared.DispatchedBatches;
        for (int round = 0; round < 50; round++)
            WorkerPool.Shared.Run(new CountItems { Counts = counts }, 4, threads: 4);
        Assert.IsTrue(WorkerPool.Shared.DispatchedBatches > dispatched, "the batches went through the pool's dispatch path, where the hook sits");
        Assert.AreEqual(50, counts[3]);
        Assert.AreEqual(before, WorkerPoolTimings.Read(), "no batch was recorded while the hook is off");
    }

    [TestMethod]
    public void RecordSplitsABatchIntoPublishOwnWorkAndWaiting()
    {
        var before = WorkerPoolTimings.Read();
        WorkerPoolTimings.Record(items: 8, callerItems: 3, start: 100, published: 110, ownDone: 150, end: 175);
        var delta = WorkerPoolTimings.Read() - before;
        Assert.AreEqual(new WorkerPoolTimings.Totals(Batches: 1, Items: 8, CallerItems: 3, PublishTicks: 10, OwnTicks: 40, WaitTicks: 25), delta);
        Assert.AreEqual(delta + delta, new WorkerPoolTimings.Totals(2, 16, 6, 20, 80, 50));
    }

    private unsafe struct CountItems : IParallelWork
    {
        public int* Counts;

        public readonly void Run(int index) => Interlocked.Increment(ref Counts[index]);
    }
}
