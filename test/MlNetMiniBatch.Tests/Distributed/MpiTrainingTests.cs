using System.Globalization;
using MlNetMiniBatch.MpiHost;

namespace MlNetMiniBatch.Tests.Distributed;

/// <summary>Distributed training in a real Open MPI job: test/MlNetMiniBatch.MpiHost trains TrainingScenario on every rank
/// under mpirun, choosing MPI only because mpirun started it.</summary>
[TestClass]
public sealed class MpiTrainingTests
{
    [TestMethod]
    public void TwoRanksTrainBitIdenticalWeightsCloseToOneProcessWithTheSameGlobalBatch()
    {
        var run = MpiRun.Start("train", 2);

        Assert.AreEqual(0, run.ExitCode, run.Output);
        var alone = TrainingScenario.Train(AloneOptions());
        Assert.AreEqual(run.Line(0, "weights"), run.Line(1, "weights"), "both ranks hold the same weights, bit for bit");
        string history = string.Join(' ', alone.History.Select(h => $"{h.Epoch}:{h.Iterations}:{h.Rows}"));
        Assert.AreEqual("1:10:300 2:10:300 3:10:300", history);
        Assert.AreEqual(history, run.Line(0, "history"), "the same updates of the same rows as one process");
        Assert.AreEqual(history, run.Line(1, "history"));
        // See DistributedTrainingTests.WeightTolerance: only the order of additions differs.
        float[] weights = [.. run.Line(0, "weights").Split(' ').Select(v => float.Parse(v, CultureInfo.InvariantCulture))];
        float[] expected = alone.Parameters.ToArray();
        Assert.HasCount(expected.Length, weights);
        Assert.IsLessThanOrEqualTo(1e-5f, expected.Zip(weights, (e, w) => Math.Abs(e - w)).Max());

        Assert.Contains("NeuralNetwork distributed: MPI (started by mpirun with more than one rank), rank 1 of 2", run.Line(1, "distributed log"));
        Assert.AreEqual($"{TrainingScenario.Epochs}", run.Line(0, "epoch log lines"), "rank 0 logs every epoch");
        Assert.AreEqual("0", run.Line(1, "epoch log lines"), "the other ranks log none");
    }

    [TestMethod]
    public void SummingTheGradientInBucketsDuringBackwardGivesTheWeightsOfOneAllreduceAfterItBitForBit()
    {
        // At two ranks each element's sum is one addition, whichever collective makes it, so overlap changes no bit.
        var whole = MpiRun.Start("train", 2);
        var overlapped = MpiRun.Start("train-overlap", 2);

        Assert.AreEqual(0, overlapped.ExitCode, overlapped.Output);
        Assert.AreEqual(whole.Line(0, "weights"), overlapped.Line(0, "weights"));
        Assert.AreEqual(whole.Line(0, "weights"), overlapped.Line(1, "weights"));
        Assert.AreEqual(whole.Line(0, "loss"), overlapped.Line(1, "loss"));
        Assert.Contains("2 bucket(s) per update started during backward (GradientBucketSize 1)", overlapped.Line(1, "gradient log"),
            "4-8-3: one bucket per layer");
        Assert.Contains("over 30 updates", overlapped.Line(0, "gradient log"));
        Assert.Contains("one allreduce of the whole gradient after backward (GradientBucketSize 0)", whole.Line(0, "gradient log"));
    }

    [TestMethod]
    public void ThreeRanksSummingTheGradientInBucketsHoldBitIdenticalWeights()
    {
        var run = MpiRun.Start("train-overlap", 3);

        Assert.AreEqual(0, run.ExitCode, run.Output);
        for (int rank = 1; rank < 3; rank++)
            Assert.AreEqual(run.Line(0, "weights"), run.Line(rank, "weights"), $"rank {rank} holds rank 0's weights, bit for bit");
        Assert.AreEqual("1:10:300 2:10:300 3:10:300", run.Line(2, "history"));
        Assert.Contains("2 bucket(s) per update started during backward", run.Line(2, "gradient log"));
    }

    [TestMethod]
    public void ARankKilledInTheMiddleOfAnEpochEndsTheJobInBoundedTimeNamingIt()
    {
        var run = MpiRun.Start("train-die", 2);

        Assert.AreNotEqual(0, run.ExitCode, run.Output);
        Assert.AreEqual("died in epoch 2", run.RankFiles[1]?.Single());
        Assert.IsNull(run.RankFiles[0], "rank 0 did not finish training without rank 1\n" + run.Output);
        Assert.Contains("process rank 1", run.Output, "mpirun names the rank that died");
        Assert.Contains("exited on signal 9", run.Output);
        Assert.IsLessThan(60, run.Elapsed.TotalSeconds);
    }

    [TestMethod]
    public void ARankWhoseTrainingThrowsAbortsTheJobEvenWhenItsProgramCatchesTheException()
    {
        var run = MpiRun.Start("train-throw", 2);

        Assert.AreNotEqual(0, run.ExitCode, run.Output);
        Assert.Contains("NeuralNetwork rank 1 of 2 failed", run.Output, "the failing rank names itself");
        Assert.Contains("Rank 1's callback fails on purpose.", run.Output);
        Assert.IsNull(run.RankFiles[1], "MPI_Abort ended rank 1 before its program could catch the exception and wait");
        Assert.IsLessThan(60, run.Elapsed.TotalSeconds, "the job did not wait for the program's five-minute sleep");
    }

    [TestMethod]
    public void ARunCancelledAfterEpochTwoResumesUnderMpirunToTheUninterruptedRunsWeights()
    {
        string checkpoints = Directory.CreateTempSubdirectory("mpi-resume-").FullName;
        try
        {
            var cancelled = MpiRun.Start("train-cancel", 2, checkpoints);
            Assert.AreEqual(0, cancelled.ExitCode, cancelled.Output);
            Assert.AreEqual("yes", cancelled.Line(0, "cancelled"));
            Assert.AreEqual("yes", cancelled.Line(1, "cancelled"), "every rank stopped at the same step");

            var resumed = MpiRun.Start("train-resume", 2, checkpoints);
            var uninterrupted = MpiRun.Start("train", 2);

            Assert.AreEqual(0, resumed.ExitCode, resumed.Output);
            Assert.AreEqual(run(uninterrupted, "weights"), run(resumed, "weights"), "bit-identical to the run that was never stopped");
            Assert.AreEqual(run(uninterrupted, "loss"), run(resumed, "loss"));
            Assert.AreEqual(resumed.Line(0, "weights"), resumed.Line(1, "weights"));
            Assert.IsFalse(File.Exists(Path.Combine(checkpoints, MlNetMiniBatch.Persistence.Checkpoint.FileName)), "the finished run deleted it");
        }
        finally
        {
            Directory.Delete(checkpoints, recursive: true);
        }

        static string run(MpiRun job, string name) => job.Line(0, name);
    }

    private static NeuralNetworkOptions AloneOptions()
    {
        var options = TrainingScenario.Options();
        options.Distributed = DistributedTraining.None;
        return options;
    }
}
