using System.Globalization;
using System.Numerics;
using MlNetMiniBatch.Distributed;
using MlNetMiniBatch.MpiHost;

namespace MlNetMiniBatch.Tests.Distributed;

/// <summary>MpiCommunicator over a real Open MPI job: test/MlNetMiniBatch.MpiHost runs under mpirun, one process per rank.</summary>
[TestClass]
public sealed class MpiCommunicatorTests
{
    [TestMethod]
    [DataRow(2)]
    [DataRow(3)]
    public void CollectivesGiveTheSumOrTheRootsValuesBitIdenticalOnEveryRank(int ranks)
    {
        var run = MpiRun.Start("collectives", ranks);

        Assert.AreEqual(0, run.ExitCode, run.Output);
        for (int rank = 0; rank < ranks; rank++)
        {
            Assert.AreEqual(ranks.ToString(), run.Line(rank, "size"));
            // Bit-identical across ranks: every rank must take the same update from the same reduced gradient.
            Assert.AreEqual(run.Line(0, "allreduce float"), run.Line(rank, "allreduce float"), $"rank {rank}");
            Assert.AreEqual(run.Line(0, "allreduce double"), run.Line(rank, "allreduce double"), $"rank {rank}");
            AssertSums(ranks, HostValues.ForRank, Parse<float>(run.Line(rank, "allreduce float")));
            AssertSums(ranks, HostValues.DoublesForRank, Parse<double>(run.Line(rank, "allreduce double")));
            Assert.AreEqual((ranks * (ranks + 1) / 2).ToString(), run.Line(rank, "iallreduce distinct"),
                "every element of the non-blocking reduction holds the sum of 1..ranks once Wait returns");
            Assert.AreEqual((ranks * (ranks + 1) / 2).ToString(), run.Line(rank, "slices distinct"),
                "both slices hold the sum once waited for, the second started while the first was in flight");
            Assert.AreEqual((rank + 1).ToString(), run.Line(rank, "slice gap distinct"), "what no slice covers keeps the rank's own values");
            CollectionAssert.AreEqual(HostValues.ForRank(ranks - 1), Parse<float>(run.Line(rank, "broadcast")),
                "every rank holds the root's (the last rank's) values");
            Assert.AreEqual("passed", run.Line(rank, "barrier"));
        }
    }

    [TestMethod]
    public void AnMpiErrorCodeBecomesAnExceptionNamingTheCallTheRankAndMpisText()
    {
        var run = MpiRun.Start("error", 2);

        Assert.AreEqual(0, run.ExitCode, "MPI_ERRORS_RETURN: the invalid call is reported, the job is not aborted\n" + run.Output);
        for (int rank = 0; rank < 2; rank++)
        {
            Assert.AreEqual($"MPI_Bcast failed on rank {rank}: MPI_ERR_ROOT: invalid root (MPI error code 8).", run.Line(rank, "error"));
            Assert.AreEqual("8", run.Line(rank, "code"), "MPI_ERR_ROOT in mpi.h");
        }
    }

    [TestMethod]
    public void ARankThatIsKilledEndsTheJobWithAnErrorNamingItInsteadOfAHang()
    {
        var run = AssertJobEndedBecauseTheLastRankStopped("die");

        Assert.Contains("process rank 1", run.Output, "mpirun names the rank that died");
        Assert.Contains("exited on signal 9", run.Output);
    }

    [TestMethod]
    public void ARankThatThrowsEndsTheJobWithItsExceptionInsteadOfAHang()
    {
        var run = AssertJobEndedBecauseTheLastRankStopped("throw");

        Assert.Contains("Rank 1 fails on purpose.", run.Output, "the exception reaches the job's output");
    }

    private static MpiRun AssertJobEndedBecauseTheLastRankStopped(string scenario)
    {
        var run = MpiRun.Start(scenario, 2);

        Assert.AreNotEqual(0, run.ExitCode, run.Output);
        Assert.AreEqual($"{scenario} at step {HostValues.DeathStep}", run.RankFiles[1]?.Single(), "the last rank got that far");
        Assert.IsNull(run.RankFiles[0], "rank 0 never finished its allreduce loop: its peer was gone\n" + run.Output);
        Assert.IsLessThan(60, run.Elapsed.TotalSeconds, "the surviving rank was ended, not left waiting for its peer");
        return run;
    }

    [TestMethod]
    public void WithoutOpenMpiTheLoadFailsWithAMessageSayingHowToInstallIt()
    {
        var exception = Assert.Throws<DllNotFoundException>(() => OpenMpi.Load("libmpi-not-installed.so.40"));

        Assert.Contains("libmpi-not-installed.so.40", exception.Message);
        Assert.Contains("apt-get install openmpi-bin libopenmpi-dev", exception.Message);
    }

    // Two ranks add two numbers, a single rounding, and addition commutes: MPI's sum must equal ours exactly. With more,
    // MPI may add in another order; each of the ranks - 1 additions rounds by at most half an ulp of a partial sum, whose
    // size is at most sum |x|, so each order is within (ranks - 1) * ulp(1) / 2 * sum |x| of the exact sum, and two
    // orders within twice that.
    private static void AssertSums<T>(int ranks, Func<int, T[]> values, T[] actual) where T : IFloatingPointIeee754<T>
    {
        var inputs = Enumerable.Range(0, ranks).Select(values).ToArray();
        Assert.HasCount(inputs[0].Length, actual);
        T ulpOfOne = T.BitIncrement(T.One) - T.One;
        for (int i = 0; i < actual.Length; i++)
        {
            T inOrder = inputs.Aggregate(T.Zero, (sum, rank) => sum + rank[i]);
            T magnitudes = inputs.Aggregate(T.Zero, (sum, rank) => sum + T.Abs(rank[i]));
            if (ranks == 2)
                Assert.AreEqual(inOrder, actual[i], $"element {i}");
            else
                Assert.IsLessThanOrEqualTo(T.CreateChecked(ranks - 1) * ulpOfOne * magnitudes, T.Abs(inOrder - actual[i]), $"element {i}");
        }
    }

    private static T[] Parse<T>(string values) where T : IFloatingPointIeee754<T> =>
        [.. values.Split(' ').Select(v => T.Parse(v, CultureInfo.InvariantCulture))];
}
