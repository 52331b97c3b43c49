using Microsoft.ML;
using MlNetMiniBatch.Distributed;
using MlNetMiniBatch.Tests.Integration;

namespace MlNetMiniBatch.Tests.Distributed;

/// <summary>Distributed training's semantics, with every rank a thread of this process over the loopback communicator:
/// a global batch split over ranks trains like the same batch in one process.</summary>
[TestClass]
public sealed class DistributedTrainingTests
{
    // Only the order of additions differs from one process: each gradient element is the same per-row terms summed as
    // two or three partial sums instead of one, so it differs by a few float roundings (relative ulps) per step, and
    // Adam's normalized step passes that into the weights at about the same relative size per update, over ~30 updates
    // of a small well-conditioned model. The weights here are of order 1, so 1e-5 is about a hundred ulps: room for
    // that growth, and far below what a real difference makes (a rank training on the whole batch, a sum instead of a
    // mean, L2 counted once per rank all move the weights by 1e-3 or more).
    private const float WeightTolerance = 1e-5f;

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification, 2)]
    [DataRow(NeuralNetworkTask.BinaryClassification, 2)]
    [DataRow(NeuralNetworkTask.Regression, 3)]
    public void RanksSplittingEachBatchTrainTheSameModelAsOneProcessWithTheSameGlobalBatch(NeuralNetworkTask task, int ranks)
    {
        // 300 rows at batch 32: ten batches, the last of 12 rows, which the last rank gets none of.
        var options = Options(task);
        var alone = LoopbackTraining.FitAlone(task, LoopbackTraining.Data(task, 300), Options(task));

        var models = LoopbackTraining.Fit(ranks, task, _ => LoopbackTraining.Data(task, 300), _ => Options(task));

        AssertClose(alone, models[0]);
        for (int rank = 0; rank < ranks; rank++)
        {
            CollectionAssert.AreEqual(Bits(models[0]), Bits(models[rank]), $"rank {rank} holds rank 0's weights, bit for bit");
            CollectionAssert.AreEqual(alone.History.Select(h => (h.Iterations, h.Rows)).ToArray(),
                models[rank].History.Select(h => (h.Iterations, h.Rows)).ToArray(), $"rank {rank}: the same updates of the same rows");
        }
        Assert.AreEqual(10, models[0].History[0].Iterations);
        Assert.AreEqual(300, models[0].History[0].Rows);
    }

    [TestMethod]
    [DataRow(2, 300, 32, 1, 3, DisplayName = "one bucket per layer")]
    [DataRow(2, 300, 32, 100, 2, DisplayName = "the two small top layers fused")]
    [DataRow(3, 5, 4, 1, 3, DisplayName = "ranks without rows start every bucket with zeros")]
    public void SummingTheGradientInBucketsDuringBackwardGivesTheWeightsOfOneAllreduceAfterItBitForBit(int ranks, int rows, int batchSize,
        int bucketSize, int buckets)
    {
        // 3 features, 16 and 8 hidden units, 3 classes: the layers hold 64, 136 and 27 parameters, so at least 100 per
        // bucket fuses the top two (163) and leaves the first on its own. Every element is summed over the ranks in rank
        // order either way, so nothing may differ by a bit, with L2 and clipping after the sum as before.
        var task = NeuralNetworkTask.MulticlassClassification;
        NeuralNetworkOptions Deep()
        {
            var options = TestData.Options(epochs: 3, 16, 8);
            options.LearningRate = 0.01f;
            options.BatchSize = batchSize;
            options.L2Regularization = 0.001f;
            options.GradientClipNorm = 1f;
            return options;
        }
        var logs = Enumerable.Range(0, ranks).Select(_ => new List<string>()).ToArray();

        var whole = LoopbackTraining.Fit(ranks, task, _ => LoopbackTraining.Data(task, rows), _ => Deep());
        var bucketed = LoopbackTraining.Fit(ranks, task, _ => LoopbackTraining.Data(task, rows), _ => Deep(), gradientBucketSize: bucketSize, logs: logs);

        Assert.AreEqual(buckets, GradientBuckets.Plan(whole[0].Layout, bucketSize).Count);
        for (int rank = 0; rank < ranks; rank++)
        {
            CollectionAssert.AreEqual(Bits(whole[rank]), Bits(bucketed[rank]), $"rank {rank}: the same weights as one allreduce after backward");
            CollectionAssert.AreEqual(whole[rank].History.Select(h => h.Train.Loss).ToArray(), bucketed[rank].History.Select(h => h.Train.Loss).ToArray());
            string waits = logs[rank].Single(l => l.Contains("gradient sums", StringComparison.Ordinal));
            Assert.Contains($"rank {rank} waited", waits);
            Assert.Contains($"{buckets} bucket(s) per update started during backward (GradientBucketSize {bucketSize})", waits);
            int updates = 3 * ((rows + batchSize - 1) / batchSize);
            Assert.Contains($"over {updates} updates", waits);
            Assert.Contains($"{updates * buckets} of {updates * buckets} already summed when backward ended", waits, "the loopback sums a bucket when it starts");
        }
        CollectionAssert.AreEqual(Bits(bucketed[0]), Bits(bucketed[ranks - 1]));
    }

    [TestMethod]
    public void ExampleWeightsL2AndClippingApplyToTheGlobalBatchOnce()
    {
        // Weights make the local batch weights differ from the global one; L2 and clipping after the reduction must act
        // once on the mean gradient. Sgd: its step is linear in the gradient, so a doubled L2 or a per-rank clip shows.
        static NeuralNetworkOptions Weighted()
        {
            var options = Options(NeuralNetworkTask.MulticlassClassification);
            options.Optimizer = NeuralNetworkOptimizer.Sgd;
            options.LearningRate = 0.1f;
            options.L2Regularization = 0.01f;
            options.GradientClipNorm = 0.5f;
            options.ClassWeights = [1f, 3f, 0.5f];
            return options;
        }
        var task = NeuralNetworkTask.MulticlassClassification;
        var alone = LoopbackTraining.FitAlone(task, LoopbackTraining.Data(task, 300), Weighted());

        var models = LoopbackTraining.Fit(2, task, _ => LoopbackTraining.Data(task, 300), _ => Weighted());

        AssertClose(alone, models[0]);
        CollectionAssert.AreEqual(Bits(models[0]), Bits(models[1]));
    }

    [TestMethod]
    [DataRow(5, 4)]
    [DataRow(1, 4)]
    public void UnevenSharesDownToRanksWithNoRowsTrainEveryRowOnce(int rows, int batchSize)
    {
        // Three ranks take rows [0, 1), [1, 2) and [2, 4) of each batch: 5 rows leave ranks 1 and 2 without rows in the
        // second batch, 1 row leaves them without any row at all.
        var task = NeuralNetworkTask.BinaryClassification;
        NeuralNetworkOptions Small() { var o = Options(task); o.BatchSize = batchSize; return o; }
        var alone = LoopbackTraining.FitAlone(task, LoopbackTraining.Data(task, rows), Small());

        var models = LoopbackTraining.Fit(3, task, _ => LoopbackTraining.Data(task, rows), _ => Small());

        foreach (var model in models)
        {
            Assert.AreEqual((rows + batchSize - 1) / batchSize, model.History[0].Iterations);
            Assert.AreEqual(rows, model.History[0].Rows);
        }
        AssertClose(alone, models[0]);
        CollectionAssert.AreEqual(Bits(models[0]), Bits(models[2]));
    }

    [TestMethod]
    public void EveryRanksStreamingShuffleDealsTheSameOrderSoTheSharesStayDisjoint()
    {
        // A view that cannot shuffle goes through each rank's own streaming-shuffle copy; the copies must give every rank
        // the same order, or the ranks would train overlapping shares and miss rows.
        var task = NeuralNetworkTask.MulticlassClassification;
        var alone = LoopbackTraining.FitAlone(task, LoopbackTraining.Data(task, 300, cache: false), Options(task));

        var models = LoopbackTraining.Fit(2, task, _ => LoopbackTraining.Data(task, 300, cache: false), _ => Options(task));

        AssertClose(alone, models[0]);
        CollectionAssert.AreEqual(Bits(models[0]), Bits(models[1]));
    }

    [TestMethod]
    public void DropLastPartialBatchDropsTheGlobalPartialBatchOnEveryRank()
    {
        var task = NeuralNetworkTask.Regression;
        NeuralNetworkOptions Dropping() { var o = Options(task); o.DropLastPartialBatch = true; return o; }

        var models = LoopbackTraining.Fit(2, task, _ => LoopbackTraining.Data(task, 300), _ => Dropping());

        Assert.AreEqual(9, models[1].History[0].Iterations, "floor(300 / 32)");
        Assert.AreEqual(288, models[1].History[0].Rows);
        AssertClose(LoopbackTraining.FitAlone(task, LoopbackTraining.Data(task, 300), Dropping()), models[1]);
    }

    [TestMethod]
    public void PerRankDataTrainsEveryRanksRowsOnceEvenWhenOneRankHasNone()
    {
        // Rank 0 has 70 rows, rank 1 none: every update is rank 0's 16 rows of the batch of 32, and rank 1 adds zeros.
        var task = NeuralNetworkTask.BinaryClassification;
        var models = LoopbackTraining.Fit(2, task, rank => LoopbackTraining.Data(task, rank == 0 ? 70 : 0), _ => Options(task), perRankData: true);

        Assert.AreEqual(5, models[0].History[0].Iterations, "ceil(70 / 16) batches of rank 0's share");
        Assert.AreEqual(70, models[0].History[0].Rows);
        CollectionAssert.AreEqual(Bits(models[0]), Bits(models[1]));
    }

    [TestMethod]
    public void PerRankDataRefusesABatchSmallerThanTheRankCount()
    {
        var task = NeuralNetworkTask.BinaryClassification;
        var results = LoopbackTraining.Run(3, task, _ => LoopbackTraining.Data(task, 30), _ => { var o = Options(task); o.BatchSize = 2; return o; },
            perRankData: true);

        foreach (var (_, error) in results)
        {
            Assert.IsInstanceOfType<ArgumentOutOfRangeException>(error);
            Assert.Contains("BatchSize", error!.Message);
            Assert.Contains("number of ranks (3)", error.Message);
        }
    }

    [TestMethod]
    public void RanksThatDisagreeOnValidationFailTogetherSayingEachRanksSetting()
    {
        // Validation is a pass every rank takes part in: one rank without it would leave the others waiting.
        var task = NeuralNetworkTask.BinaryClassification;
        var results = LoopbackTraining.Run(2, task, _ => LoopbackTraining.Data(task, 100), rank =>
        {
            var options = Options(task);
            options.ValidationFraction = rank == 1 ? 0.2f : 0;
            return options;
        });

        foreach (var (_, error) in results)
        {
            Assert.IsInstanceOfType<InvalidOperationException>(error);
            Assert.Contains("validation (1: validation data or ValidationFraction) differ (rank 0: 0, rank 1: 1)", error!.Message);
            Assert.DoesNotContain("aborted", error.Message, "every rank threw the same error itself");
        }
    }

    [TestMethod]
    public void RanksWhoseOwnDataNumberTheClassesDifferentlyFailTogetherSayingHowToFixIt()
    {
        // The same three classes, met in opposite orders: MapValueToKey on each rank's own rows numbers them a, b, c on
        // rank 0 and c, b, a on rank 1. The weight count agrees; only the class names tell that key 1 means two things.
        var results = LoopbackTraining.Run(2, NeuralNetworkTask.MulticlassClassification, rank => ClassesInOrder(rank == 0 ? "abc" : "cba"),
            _ => Options(NeuralNetworkTask.MulticlassClassification), perRankData: true);

        foreach (var (_, error) in results)
        {
            Assert.IsInstanceOfType<InvalidOperationException>(error);
            Assert.Contains("class names (a hash of the label's KeyValues in key order; 0: none) differ", error!.Message);
            Assert.Contains("same keyData", error.Message);
        }
        var agreeing = LoopbackTraining.Fit(2, NeuralNetworkTask.MulticlassClassification, _ => ClassesInOrder("abc"),
            _ => Options(NeuralNetworkTask.MulticlassClassification), perRankData: true);
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, agreeing[1].ClassNames!.ToArray());
    }

    private sealed class LetterRow
    {
        public string Label { get; set; } = "";

        [Microsoft.ML.Data.VectorType(2)]
        public float[] Features { get; set; } = [];
    }

    private static IDataView ClassesInOrder(string letters)
    {
        var ml = new MLContext(1);
        var rows = Enumerable.Range(0, 60).Select(i => new LetterRow
        {
            Label = letters[i % 3].ToString(), Features = [letters[i % 3] - 'a', i % 7 * 0.1f],
        });
        var raw = ml.Data.LoadFromEnumerable(rows);
        return ml.Data.Cache(ml.Transforms.Conversion.MapValueToKey("Label").Fit(raw).Transform(raw));
    }

    [TestMethod]
    public void ARankWhoseDataFailsMakesTheOthersFailAtOnceNamingIt()
    {
        var task = NeuralNetworkTask.BinaryClassification;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var results = LoopbackTraining.Run(2, task, rank =>
        {
            var data = new RowHookDataView(LoopbackTraining.Data(task, 300));
            if (rank == 1)
                data.Arm(500, () => throw new IOException("disk gone on purpose"));
            return data;
        }, _ => Options(task));

        Assert.IsLessThan(LoopbackTraining.Timeout.TotalSeconds / 2, clock.Elapsed.TotalSeconds, "rank 0 did not wait out the timeout");
        Assert.IsNotNull(results[1].Error);
        Assert.Contains("disk gone on purpose", results[1].Error!.ToString());
        Assert.IsNotNull(results[0].Error, "rank 0 cannot finish without rank 1");
        Assert.Contains("NeuralNetwork rank 1 of 2 failed", results[0].Error!.Message);
        Assert.Contains("disk gone on purpose", results[0].Error!.Message);
    }

    [TestMethod]
    public void CancellingOneRankCancelsEveryRankAtTheSameStep()
    {
        var task = NeuralNetworkTask.BinaryClassification;
        using var cancel = new CancellationTokenSource();
        var results = LoopbackTraining.Run(2, task, _ => LoopbackTraining.Data(task, 300), rank =>
        {
            var options = Options(task);
            if (rank == 1)
            {
                options.CancellationToken = cancel.Token;
                options.OnEpochEnd = context => { if (context.Summary.Epoch == 1) cancel.Cancel(); };
            }
            return options;
        });

        Assert.IsInstanceOfType<OperationCanceledException>(results[1].Error);
        Assert.IsInstanceOfType<OperationCanceledException>(results[0].Error, "not aborted: it stopped with rank 1");
        Assert.Contains("cancelled on another rank", results[0].Error!.Message);
    }

    [TestMethod]
    public void ACallbackStoppingOnOneRankStopsEveryRankAfterTheSameEpoch()
    {
        var task = NeuralNetworkTask.BinaryClassification;
        var models = LoopbackTraining.Fit(2, task, _ => LoopbackTraining.Data(task, 100), rank =>
        {
            var options = Options(task);
            if (rank == 1)
                options.OnEpochEnd = context => context.StopTraining = context.Summary.Epoch == 2;
            return options;
        });

        Assert.HasCount(2, models[0].History);
        Assert.AreEqual(TrainingStopReason.Callback, models[0].StopReason);
        CollectionAssert.AreEqual(Bits(models[0]), Bits(models[1]));
    }

    [TestMethod]
    public void ValidationMetricsAndEarlyStoppingComeFromEveryRanksRows()
    {
        var task = NeuralNetworkTask.MulticlassClassification;
        NeuralNetworkOptions Validated() { var o = Options(task); o.ValidationFraction = 0.3f; o.EarlyStoppingPatience = 1; o.Epochs = 6; return o; }
        var alone = LoopbackTraining.FitAlone(task, LoopbackTraining.Data(task, 300), Validated());

        var models = LoopbackTraining.Fit(2, task, _ => LoopbackTraining.Data(task, 300), _ => Validated());

        Assert.HasCount(alone.History.Count, models[0].History);
        for (int e = 0; e < alone.History.Count; e++)
        {
            Assert.AreEqual(alone.History[e].Validation!.Loss, models[0].History[e].Validation!.Loss, 1e-4, $"epoch {e + 1} validation loss");
            Assert.AreEqual(alone.History[e].Validation!.Accuracy!.Value, models[1].History[e].Validation!.Accuracy!.Value, 1e-9,
                "accuracy counts every rank's validation rows");
            Assert.AreEqual(alone.History[e].Train.Loss, models[1].History[e].Train.Loss, 1e-4, $"epoch {e + 1} training loss");
        }
    }

    [TestMethod]
    public void TheNoiseScaleAndAdaptiveBatchSizesComeFromTheSummedGradient()
    {
        var task = NeuralNetworkTask.MulticlassClassification;
        NeuralNetworkOptions Adaptive() { var o = Options(task); o.AdaptiveBatchSize = true; o.BatchSize = 16; o.Epochs = 4; return o; }
        var alone = LoopbackTraining.FitAlone(task, LoopbackTraining.Data(task, 600), Adaptive());

        var models = LoopbackTraining.Fit(2, task, _ => LoopbackTraining.Data(task, 600), _ => Adaptive());

        CollectionAssert.AreEqual(alone.History.Select(h => h.BatchSize).ToArray(), models[0].History.Select(h => h.BatchSize).ToArray());
        for (int e = 0; e < alone.History.Count; e++)
        {
            Assert.AreEqual(models[0].History[e].GradientNoiseScale, models[1].History[e].GradientNoiseScale, "the same on every rank");
            Assert.AreEqual(alone.History[e].GradientNoiseScale!.Value, models[0].History[e].GradientNoiseScale!.Value,
                1e-3 * alone.History[e].GradientNoiseScale!.Value, $"epoch {e + 1}: the noise of the global batch, not of a rank's share");
        }
        CollectionAssert.AreEqual(Bits(models[0]), Bits(models[1]));
    }

    [TestMethod]
    public void AResumedDistributedRunEndsBitIdenticalToAnUninterruptedOne()
    {
        var task = NeuralNetworkTask.MulticlassClassification;
        string directory = Directory.CreateTempSubdirectory("mpi-checkpoint-").FullName;
        try
        {
            var uninterrupted = LoopbackTraining.Fit(2, task, _ => LoopbackTraining.Data(task, 200), _ => Options(task));
            using var cancel = new CancellationTokenSource();
            var stopped = LoopbackTraining.Run(2, task, _ => LoopbackTraining.Data(task, 200), _ =>
            {
                var options = Checkpointed(directory);
                options.CancellationToken = cancel.Token;
                options.OnEpochEnd = context => { if (context.Summary.Epoch == 2) cancel.Cancel(); };
                return options;
            });
            Assert.IsInstanceOfType<OperationCanceledException>(stopped[0].Error);
            Assert.IsTrue(File.Exists(Path.Combine(directory, MlNetMiniBatch.Persistence.Checkpoint.FileName)), "rank 0 saved epoch 2");

            var resumed = LoopbackTraining.Fit(2, task, _ => LoopbackTraining.Data(task, 200), _ =>
            {
                var options = Checkpointed(directory);
                options.ResumeFromCheckpoint = true;
                return options;
            });

            Assert.HasCount(3, resumed[0].History);
            CollectionAssert.AreEqual(Bits(uninterrupted[0]), Bits(resumed[0]));
            CollectionAssert.AreEqual(Bits(uninterrupted[1]), Bits(resumed[1]));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void TrainingInOneProcessLoadsNoMpiLibrary()
    {
        var task = NeuralNetworkTask.BinaryClassification;
        LoopbackTraining.FitAlone(task, LoopbackTraining.Data(task, 50), Options(task));

        Assert.IsFalse(OpenMpi.IsLoaded, "without mpirun and without NeuralNetworkOptions.Distributed, nothing touches Open MPI");
    }

    [TestMethod]
    public void TheWeightChecksumNamesTheRanksWhoseWeightsDiffer()
    {
        var group = LoopbackCommunicator.CreateGroup(3, LoopbackTraining.Timeout);
        var errors = new Exception?[3];
        var threads = Enumerable.Range(0, 3).Select(rank => new Thread(() =>
        {
            try
            {
                var parallel = DataParallel.ForTests(group[rank], DistributedTraining.Over(group[rank], checksumInterval: 2));
                float[] weights = [1f, 2f, rank == 2 ? BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(3f) + 1) : 3f];
                parallel.AfterUpdate(weights, epoch: 1, batch: 1);
                parallel.AfterUpdate(weights, epoch: 1, batch: 2);
            }
            catch (Exception e)
            {
                errors[rank] = e;
            }
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();

        foreach (var error in errors)
        {
            Assert.IsNotNull(error, "every rank throws, so none waits for the others");
            Assert.Contains("The weights of rank 2 differ from rank 0's after update 2 (epoch 1, batch 2)", error.Message);
        }
    }

    private static NeuralNetworkOptions Checkpointed(string directory)
    {
        var options = Options(NeuralNetworkTask.MulticlassClassification);
        options.CheckpointDirectory = directory;
        return options;
    }

    private static NeuralNetworkOptions Options(NeuralNetworkTask task)
    {
        var options = TestData.Options(epochs: 3, 8);
        options.LearningRate = 0.01f;
        return options;
    }

    private static void AssertClose(NeuralNetworkModelParameters expected, NeuralNetworkModelParameters actual)
    {
        float[] e = LoopbackTraining.Parameters(expected), a = LoopbackTraining.Parameters(actual);
        Assert.HasCount(e.Length, a);
        float worst = e.Zip(a, (x, y) => Math.Abs(x - y)).Max();
        Console.WriteLine($"largest weight difference from one process: {worst:G3}");
        Assert.IsLessThanOrEqualTo(WeightTolerance, worst, "largest weight difference from the same training in one process");
        CollectionAssert.AreEqual(expected.History.Select(h => (h.Iterations, h.Rows)).ToArray(), actual.History.Select(h => (h.Iterations, h.Rows)).ToArray());
    }

    private static int[] Bits(NeuralNetworkModelParameters model) => [.. LoopbackTraining.Parameters(model).Select(BitConverter.SingleToInt32Bits)];
}
