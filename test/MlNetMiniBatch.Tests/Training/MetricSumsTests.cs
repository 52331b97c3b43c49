using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>The metrics' whole state is the accumulator's array of sums, so the sums of two halves of the rows, added
/// slot by slot (as an allreduce across processes would), give the metrics of all the rows.</summary>
[TestClass]
public sealed class MetricSumsTests
{
    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification, 3)]
    [DataRow(NeuralNetworkTask.BinaryClassification, 1)]
    [DataRow(NeuralNetworkTask.Regression, 1)]
    public void SumsOfTwoHalvesAddUpToTheMetricsOfAllRows(NeuralNetworkTask kind, int outputs)
    {
        TrainingTask task = kind;
        const int rows = 64;
        var random = new Random(5);
        var logits = Enumerable.Range(0, rows * outputs).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var targets = Enumerable.Range(0, rows).Select(_ => kind == NeuralNetworkTask.Regression
            ? (float)(random.NextDouble() * 2 - 1) : random.Next(kind == NeuralNetworkTask.BinaryClassification ? 2 : outputs)).ToArray();
        var weights = Enumerable.Range(0, rows).Select(_ => (float)random.NextDouble() + 0.5f).ToArray();
        int half = rows / 2;

        var whole = Accumulate(task, outputs, logits, targets, weights, rows);
        var first = Accumulate(task, outputs, logits.AsSpan(0, half * outputs), targets.AsSpan(0, half), weights.AsSpan(0, half), half);
        var second = Accumulate(task, outputs, logits.AsSpan(half * outputs), targets.AsSpan(half), weights.AsSpan(half), rows - half);
        var sums = first.Sums;
        for (int i = 0; i < sums.Length; i++) sums[i] += second.Sums[i];

        var expected = whole.Result();
        var combined = first.Result();
        Assert.AreEqual(expected.Loss, combined.Loss, 1e-12);
        foreach (var metric in Enum.GetValues<NeuralNetworkMetric>())
        {
            Assert.AreEqual(expected.Get(metric).HasValue, combined.Get(metric).HasValue, $"{kind} {metric}");
            Assert.AreEqual(expected.Get(metric) ?? 0, combined.Get(metric) ?? 0, 1e-12, $"{kind} {metric}");
        }
        Assert.IsNotNull(expected.Get(kind == NeuralNetworkTask.Regression ? NeuralNetworkMetric.RSquared : NeuralNetworkMetric.Accuracy));
    }

    private static MetricsAccumulator Accumulate(TrainingTask task, int outputs, ReadOnlySpan<float> logits, ReadOnlySpan<float> targets,
        ReadOnlySpan<float> weights, int rows)
    {
        var metrics = new MetricsAccumulator(task, outputs, TargetScaling.Of(3, 2));
        new BatchLoss(task, metrics, outputs, targetCount: 1).Add(logits, targets, weights, rows, 1, Span<float>.Empty, threads: 1);
        return metrics;
    }
}
