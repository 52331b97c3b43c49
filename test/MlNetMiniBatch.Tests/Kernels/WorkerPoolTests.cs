using MlNetMiniBatch.Kernels;

namespace MlNetMiniBatch.Tests.Kernels;

[TestClass]
public sealed class WorkerPoolTests
{
    [TestMethod]
    public unsafe void EveryItemRunsExactlyOnce()
    {
        int* counts = stackalloc int[8];
        for (int round = 0; round < 200; round++)
        {
            int items = 1 + (round % 8);
            new Span<int>(counts, 8).Clear();
            WorkerPool.Shared.Run(new CountingWork { Counts = counts }, items, threads: 8);
            for (int i = 0; i < 8; i++)
            {
                Assert.AreEqual(i < items ? 1 : 0, counts[i], $"round {round}, item {i}");
            }
        }
    }

    [TestMethod]
    public unsafe void BackToBackBatchesOfDifferentSizesStayApart()
    {
        // Alternating small and large batches with uneven item lengths: a worker finishing one batch must never
        // claim an item of the next before it is published (this once ran items twice and hung the pool).
        int* counts = stackalloc int[8];
        var rng = new Random(11);
        for (int round = 0; round < 20_000; round++)
        {
            int items = round % 2 == 0 ? 2 : 8;
            new Span<int>(counts, 8).Clear();
            WorkerPool.Shared.Run(new CountingWork { Counts = counts, Spin = rng.Next(0, 40) }, items, threads: 8);
            for (int i = 0; i < items; i++)
            {
                if (counts[i] != 1)
                {
                    Assert.Fail($"round {round}: item {i} ran {counts[i]} times.");
                }
            }
        }
    }

    [TestMethod]
    public void ExceptionFromAnItemReachesTheCaller()
    {
        var error = Assert.ThrowsExactly<InvalidOperationException>(
            () => WorkerPool.Shared.Run(new ThrowingWork { Bad = 2 }, 4, threads: 4));
        Assert.AreEqual("item 2", error.Message);

        // The pool stays usable afterwards.
        WorkerPool.Shared.Run(new ThrowingWork { Bad = -1 }, 4, threads: 4);
    }

    [TestMethod]
    public unsafe void NestedRunExecutesInline()
    {
        int* counts = stackalloc int[4];
        new Span<int>(counts, 4).Clear();
        WorkerPool.Shared.Run(new NestingWork { Counts = counts }, 2, threads: 2);
        Assert.AreEqual(2, counts[0]);
        Assert.AreEqual(2, counts[1]);
    }

    [TestMethod]
    public unsafe void NoMoreThreadsTakePartThanAsked()
    {
        // A pool with three workers, even on a two-core machine: a batch of twelve items asked to run on two threads
        // must never reach a third (NumberOfThreads caps the cores a Fit uses, whatever the split's item count).
        var pool = new WorkerPool(maxWorkers: 3);
        int* threadIds = stackalloc int[12];
        for (int threads = 1; threads <= 4; threads++)
        {
            int most = 0;
            for (int round = 0; round < 300; round++)
            {
                pool.Run(new ThreadRecordingWork { ThreadIds = threadIds, Spin = 200 }, 12, threads);
                int distinct = new Span<int>(threadIds, 12).ToArray().Distinct().Count();
                Assert.IsTrue(distinct <= threads, $"threads = {threads}, round {round}: {distinct} threads ran the items.");
                most = Math.Max(most, distinct);
            }

            if (threads == 1)
                Assert.AreEqual(1, most);
        }
    }

    [TestMethod]
    public unsafe void EachThreadRunsItsOwnRunFirst()
    {
        // Two threads, eight items: the caller owns items 0-3 and the worker 4-7. The worker's items wait until all of
        // the caller's are done, so the worker cannot finish its run and take one of the caller's: items 0-3 must run on
        // the caller, from the front of its run, whenever the worker woke. (Claiming from one shared counter ran some
        // of them on the worker.)
        var pool = new WorkerPool(maxWorkers: 1);
        int* threadIds = stackalloc int[8];
        int* order = stackalloc int[8];
        for (int round = 0; round < 200; round++)
        {
            int done = 0, position = 0;
            pool.Run(new OwnRunWork { ThreadIds = threadIds, Order = order, CallerDone = &done, Position = &position }, 8, threads: 2);
            for (int i = 0; i < 4; i++)
                Assert.AreEqual(Environment.CurrentManagedThreadId, threadIds[i], $"round {round}: item {i} ran on another thread.");
            var callerItems = Enumerable.Range(0, 8).Where(i => threadIds[i] == Environment.CurrentManagedThreadId).OrderBy(i => order[i]).Take(4);
            CollectionAssert.AreEqual(new[] { 0, 1, 2, 3 }, callerItems.ToArray(), $"round {round}: the caller's first four items.");
        }
    }

    private unsafe struct CountingWork : IParallelWork
    {
        public int* Counts;
        public int Spin;

        public readonly void Run(int index)
        {
            Interlocked.Increment(ref Counts[index]);
            Thread.SpinWait(Spin * (index + 1));
        }
    }

    private struct ThrowingWork : IParallelWork
    {
        public int Bad;

        public readonly void Run(int index)
        {
            if (index == Bad)
            {
                throw new InvalidOperationException($"item {index}");
            }
        }
    }

    private unsafe struct NestingWork : IParallelWork
    {
        public int* Counts;

        public readonly void Run(int index) => WorkerPool.Shared.Run(new CountingWork { Counts = Counts }, 2, threads: 2);
    }

    private unsafe struct ThreadRecordingWork : IParallelWork
    {
        public int* ThreadIds;
        public int Spin;

        public readonly void Run(int index)
        {
            ThreadIds[index] = Environment.CurrentManagedThreadId;
            Thread.SpinWait(Spin);
        }
    }

    private unsafe struct OwnRunWork : IParallelWork
    {
        public int* ThreadIds;
        public int* Order;
        public int* CallerDone;
        public int* Position;

        public readonly void Run(int index)
        {
            ThreadIds[index] = Environment.CurrentManagedThreadId;
            Order[index] = Interlocked.Increment(ref *Position);
            if (index < 4)
            {
                Interlocked.Increment(ref *CallerDone);
                return;
            }

            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Volatile.Read(ref *CallerDone) < 4 && DateTime.UtcNow < deadline)
                Thread.SpinWait(20);
        }
    }
}
