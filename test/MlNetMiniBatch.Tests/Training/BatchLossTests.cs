using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>The loss, its gradient and the metric sums of a batch split across threads are the same bits as on one
/// thread, for every task, and the loss is the rows' terms added in row order, as the task's own Loss adds them.</summary>
[TestClass]
public sealed class BatchLossTests
{
    public static IEnumerable<object[]> Tasks =>
    [
        [NeuralNetworkTask.MulticlassClassification, 10, 1],
        [NeuralNetworkTask.MulticlassClassification, 3, 1],
        [NeuralNetworkTask.BinaryClassification, 1, 1],
        [NeuralNetworkTask.Regression, 1, 1],
        [NeuralNetworkTask.MultiOutputRegression, 3, 3],
        [NeuralNetworkTask.MultiLabelClassification, 4, 4],
    ];

    [TestMethod]
    [DynamicData(nameof(Tasks))]
    public void SplitAcrossThreadsTheBatchGivesTheBitsOfOneThread(NeuralNetworkTask kind, int outputs, int targetCount)
    {
        TrainingTask task = kind == NeuralNetworkTask.MultiLabelClassification ? MultiLabelTask.WithPositiveWeights([2f, 0.5f, 1f, 3f]) : kind;
        var scaling = kind == NeuralNetworkTask.MultiOutputRegression ? new TargetScaling([1f, -2f, 0.5f], [2f, 0.25f, 3f]) : TargetScaling.Of(3, 2);
        // Ragged: 333 rows are 10 full runs and a short one, so no split lands on a run's edge by luck.
        const int rows = 333;
        var (logits, targets, weights) = Batch(kind, rows, outputs, targetCount);
        double totalWeight = weights.Sum(w => (double)w);

        var (loss, gradient, sums) = Run(task, scaling, logits, targets, weights, rows, outputs, targetCount, totalWeight, threads: 1);
        var serialGradient = new float[rows * outputs];
        Assert.AreEqual(task.Loss(logits, targets, weights, rows, outputs, totalWeight, serialGradient), loss, 0,
            "one thread: the loss is the task's own sum in row order");
        CollectionAssert.AreEqual(serialGradient, gradient);

        foreach (int threads in new[] { 2, 3, 4 })
        {
            long dispatched = BatchLoss.Dispatched;
            var (splitLoss, splitGradient, splitSums) = Run(task, scaling, logits, targets, weights, rows, outputs, targetCount, totalWeight, threads);
            Assert.IsTrue(BatchLoss.Dispatched > dispatched, $"{threads} threads: the batch went to the worker pool");
            Assert.AreEqual(BitConverter.DoubleToInt64Bits(loss), BitConverter.DoubleToInt64Bits(splitLoss), $"{threads} threads: loss");
            CollectionAssert.AreEqual(gradient, splitGradient, $"{threads} threads: gradient");
            CollectionAssert.AreEqual(sums, splitSums, $"{threads} threads: metric sums");
        }
    }

    [TestMethod]
    public void EveryRowIsCountedOnceInTheMetrics()
    {
        TrainingTask task = NeuralNetworkTask.MulticlassClassification;
        const int rows = 97, outputs = 4;
        var (logits, targets, weights) = Batch(NeuralNetworkTask.MulticlassClassification, rows, outputs, 1);
        for (int r = 0; r < rows; r++)
            weights[r] = 1;
        var (_, _, sums) = Run(task, TargetScaling.Identity, logits, targets, weights, rows, outputs, 1, rows, threads: 3);
        Assert.AreEqual(rows + (rows / 2), sums[TrainingTask.WeightSlot], "both batches' rows, each once");
    }

    [TestMethod]
    public void WithoutAGradientOnlyTheLossAndMetricsAreComputed()
    {
        TrainingTask task = NeuralNetworkTask.BinaryClassification;
        const int rows = 100;
        var (logits, targets, weights) = Batch(NeuralNetworkTask.BinaryClassification, rows, 1, 1);
        var metrics = new MetricsAccumulator(task, 1, TargetScaling.Identity);
        double loss = new BatchLoss(task, metrics, 1, 1).Add(logits, targets, weights, rows, 1, Span<float>.Empty, threads: 2);
        Assert.AreEqual(task.Loss(logits, targets, weights, rows, 1, 1, Span<float>.Empty), loss, 0);
        Assert.AreEqual(loss, metrics.Sums[TrainingTask.LossSlot], 0);
    }

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification, 10)]
    [DataRow(NeuralNetworkTask.MulticlassClassification, 30)] // 63 sums, the most that still go per run
    [DataRow(NeuralNetworkTask.MulticlassClassification, 100)]
    [DataRow(NeuralNetworkTask.BinaryClassification, 1)] // 2^17 sums for the ROC histogram
    public void TheBuffersStayWithinTheirShareOfTrainingMemory(NeuralNetworkTask kind, int outputs)
    {
        TrainingTask task = kind;
        const int rows = 1024;
        var (logits, targets, weights) = Batch(kind, rows, outputs, 1);
        var batchLoss = new BatchLoss(task, new MetricsAccumulator(task, outputs, TargetScaling.Identity), outputs, 1);
        batchLoss.Add(logits, targets, weights, rows, rows, new float[rows * outputs], threads: 2);
        Assert.IsLessThanOrEqualTo((long)BatchLoss.FloatsPerRow * rows, 2 * batchLoss.HeldDoubles, "TrainingMemory counts BatchLoss.FloatsPerRow floats a row");
        if (task.MetricSumCount(outputs) > BatchLoss.MaxRunSums)
            Assert.AreEqual((long)rows, batchLoss.HeldDoubles, "a loss term a row, and no sums per run: the metrics are added row by row");
    }

    private static (double Loss, float[] Gradient, double[] Sums) Run(TrainingTask task, TargetScaling scaling, float[] logits, float[] targets,
        float[] weights, int rows, int outputs, int targetCount, double totalWeight, int threads)
    {
        var metrics = new MetricsAccumulator(task, outputs, scaling);
        var batchLoss = new BatchLoss(task, metrics, outputs, targetCount);
        var gradient = new float[rows * outputs];
        // Two batches into the same sums, as in an epoch.
        double loss = batchLoss.Add(logits, targets, weights, rows, totalWeight, gradient, threads);
        batchLoss.Add(logits, targets, weights, rows / 2, totalWeight, new float[rows * outputs], threads);
        return (loss, gradient, metrics.Sums.ToArray());
    }

    private static (float[] Logits, float[] Targets, float[] Weights) Batch(NeuralNetworkTask kind, int rows, int outputs, int targetCount)
    {
        var random = new Random(11);
        var logits = Enumerable.Range(0, rows * outputs).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
        var targets = Enumerable.Range(0, rows * targetCount).Select(_ => kind switch
        {
            NeuralNetworkTask.MulticlassClassification => random.Next(outputs),
            NeuralNetworkTask.BinaryClassification or NeuralNetworkTask.MultiLabelClassification => random.Next(2),
            _ => (float)(random.NextDouble() * 2 - 1),
        }).ToArray();
        var weights = Enumerable.Range(0, rows).Select(_ => (float)random.NextDouble() + 0.25f).ToArray();
        return (logits, targets, weights);
    }
}
