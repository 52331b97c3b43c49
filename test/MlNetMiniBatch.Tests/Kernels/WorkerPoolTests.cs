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
            WorkerPool.Shared.Run(new CountingWork { Counts = counts }, items);
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
            WorkerPool.Shared.Run(new CountingWork { Counts = counts, Spin = rng.Next(0, 40) }, items);
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
            () => WorkerPool.Shared.Run(new ThrowingWork { Bad = 2 }, 4));
        Assert.AreEqual("item 2", error.Message);

        // The pool stays usable afterwards.
        WorkerPool.Shared.Run(new ThrowingWork { Bad = -1 }, 4);
    }

    [TestMethod]
    public unsafe void NestedRunExecutesInline()
    {
        int* counts = stackalloc int[4];
        new Span<int>(counts, 4).Clear();
        WorkerPool.Shared.Run(new NestingWork { Counts = counts }, 2);
        Assert.AreEqual(2, counts[0]);
        Assert.AreEqual(2, counts[1]);
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

        public readonly void Run(int index) => WorkerPool.Shared.Run(new CountingWork { Counts = Counts }, 2);
    }
}
