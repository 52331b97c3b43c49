using System.Diagnostics;
using MlNetMiniBatch.Distributed;

namespace MlNetMiniBatch.Tests.Distributed;

/// <summary>The in-process communicator that distributed training is unit-tested with: N ranks as N threads.</summary>
[TestClass]
public sealed class LoopbackCommunicatorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [TestMethod]
    public void AllreduceSumsInRankOrderSoEveryRankGetsTheSameBits()
    {
        // In float, (1 + 1e8) - 1e8 is 0 but (-1e8 + 1e8) + 1 is 1: rank order 0, 1, 2 gives 0, the reverse order 1.
        float[][] values = [[1f, 2f], [1e8f, 0.1f], [-1e8f, 0.2f]];

        var results = OnEveryRank(3, communicator =>
        {
            float[] mine = [.. values[communicator.Rank]];
            communicator.AllreduceSum(mine);
            return mine;
        });

        foreach (var result in results)
            CollectionAssert.AreEqual(new[] { 1f + 1e8f - 1e8f, 2f + 0.1f + 0.2f }, result);
        Assert.AreEqual(0f, results[0][0], "rank order, not another");
    }

    [TestMethod]
    public void AllreduceOfDoublesAndTheNonBlockingAllreduceSum()
    {
        var results = OnEveryRank(4, communicator =>
        {
            double[] doubles = [communicator.Rank, 0.5];
            communicator.AllreduceSum(doubles);
            float[] floats = [communicator.Rank + 1, 1];
            var pending = communicator.StartAllreduceSum(floats);
            pending.Wait();
            pending.Wait();
            return (doubles, floats);
        });

        foreach (var (doubles, floats) in results)
        {
            CollectionAssert.AreEqual(new[] { 6.0, 2.0 }, doubles);
            CollectionAssert.AreEqual(new[] { 10f, 4f }, floats);
        }
    }

    [TestMethod]
    public void SliceReductionsSumTheirSlicesInRankOrderAndLeaveTheRestAlone()
    {
        var results = OnEveryRank(3, communicator =>
        {
            var slices = communicator.CreateSliceReductions(5, [(3, 2), (0, 2)]);
            float[] mine = [communicator.Rank == 1 ? 1e8f : communicator.Rank == 2 ? -1e8f : 1f, 1, 7 + communicator.Rank, 2, 3];
            mine.CopyTo(slices.Buffer, 0);
            slices.Start(0);
            slices.Start(1);
            bool done = slices.Test(0) && slices.Test(1);
            slices.Wait(0);
            slices.Wait(1);
            return (done, slices.Buffer);
        });

        foreach (var (done, buffer) in results)
        {
            Assert.IsTrue(done);
            CollectionAssert.AreEqual(new[] { 1f + 1e8f - 1e8f, 3f, 6f, 9f }, new[] { buffer[0], buffer[1], buffer[3], buffer[4] });
        }
        for (int rank = 0; rank < 3; rank++)
            Assert.AreEqual(7f + rank, results[rank].Buffer[2], "no slice covers element 2");
    }

    [TestMethod]
    public void BroadcastCopiesTheRootsValuesAndRepeatedCollectivesDoNotMixUp()
    {
        var results = OnEveryRank(3, communicator =>
        {
            var rounds = new List<float[]>();
            for (int root = 0; root < 3; root++)
            {
                float[] mine = [communicator.Rank * 10 + root];
                communicator.Broadcast(mine, root);
                communicator.Barrier();
                rounds.Add(mine);
            }
            return rounds.SelectMany(r => r).ToArray();
        });

        foreach (var result in results)
            CollectionAssert.AreEqual(new[] { 0f, 11f, 22f }, result);
    }

    [TestMethod]
    public void ARootOutsideTheRanksIsRejected()
    {
        var communicator = LoopbackCommunicator.CreateGroup(1, Timeout)[0];

        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => communicator.Broadcast(new float[1], 1));

        Assert.Contains("0 to 0", exception.Message);
    }

    [TestMethod]
    public void BuffersOfDifferentLengthsFailOnEveryRank()
    {
        var failures = OnEveryRank(2, communicator =>
        {
            try
            {
                communicator.AllreduceSum(new float[communicator.Rank + 1]);
                return "";
            }
            catch (InvalidOperationException exception)
            {
                return exception.Message;
            }
        });

        Assert.Contains("1 values on rank 0 and 2 on rank 1", failures[0]);
        Assert.Contains("1 values on rank 0 and 2 on rank 1", failures[1]);
    }

    [TestMethod]
    public void DifferentCollectivesFailOnEveryRank()
    {
        var failures = OnEveryRank(2, communicator =>
        {
            try
            {
                if (communicator.Rank == 0)
                    communicator.Broadcast(new float[1], 0);
                else
                    communicator.AllreduceSum(new float[1]);
                return "";
            }
            catch (InvalidOperationException exception)
            {
                return exception.Message;
            }
        });

        foreach (var failure in failures)
            Assert.Contains("rank 0 called Broadcast (0), rank 1 called AllreduceSum(float) (0)", failure);
    }

    [TestMethod]
    public void ARankThatNeverArrivesMakesTheOthersFailWithinTheTimeout()
    {
        var group = LoopbackCommunicator.CreateGroup(2, TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();

        var exception = Assert.Throws<TimeoutException>(() => group[0].AllreduceSum(new float[1]));

        Assert.Contains("Loopback rank 0 of 2", exception.Message);
        Assert.IsLessThan(5, clock.Elapsed.TotalSeconds);
    }

    private static T[] OnEveryRank<T>(int size, Func<ICommunicator, T> work)
    {
        var group = LoopbackCommunicator.CreateGroup(size, Timeout);
        var tasks = group.Select(communicator => Task.Factory.StartNew(() => work(communicator), TaskCreationOptions.LongRunning)).ToArray();
        Assert.IsTrue(Task.WaitAll(tasks, 2 * Timeout), "every rank finished");
        return [.. tasks.Select(task => task.Result)];
    }
}
