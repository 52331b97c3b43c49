using Microsoft.ML;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Training;

[TestClass]
public sealed class ProgressAndControlTests
{
    /// <summary>Collects reports synchronously on the training thread (Progress&lt;T&gt; would post them elsewhere).</summary>
    private sealed class Recorder(Action<TrainingProgress>? onReport = null) : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = new();
        public void Report(TrainingProgress value)
        {
            Reports.Add(value);
            onReport?.Invoke(value);
        }
    }

    [TestMethod]
    public void ProgressReportsEveryBatchAndEveryEpochWithCountsAndEstimates()
    {
        var ml = new MLContext(1);
        var recorder = new Recorder();
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [4], Epochs = 3, BatchSize = 10, Seed = 1, Progress = recorder, ProgressInterval = TimeSpan.Zero,
        };
        ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(new GeneratedDataView(95, 3, canShuffle: true));
        var batches = recorder.Reports.Where(r => !r.IsEpochEnd).ToList();
        var epochs = recorder.Reports.Where(r => r.IsEpochEnd).ToList();
        Assert.HasCount(30, batches, "10 batches per epoch, 3 epochs");
        Assert.HasCount(3, epochs);
        CollectionAssert.AreEqual(Enumerable.Range(1, 10).ToArray(), batches.Take(10).Select(b => b.Batch).ToArray());
        Assert.AreEqual(285, recorder.Reports[^1].RowsSeen);
        Assert.IsTrue(batches.All(b => b.BatchesPerEpoch == 10 && b.EstimatedRemaining is not null));
        Assert.AreEqual(TimeSpan.Zero, epochs[^1].EstimatedRemaining);
        Assert.IsTrue(recorder.Reports.Zip(recorder.Reports.Skip(1)).All(p => p.Second.RowsSeen >= p.First.RowsSeen));
        Assert.AreEqual(3, epochs[^1].EpochSummary!.Epoch);
    }

    [TestMethod]
    public void BatchReportsAreThrottled()
    {
        var ml = new MLContext(1);
        var recorder = new Recorder();
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [4], Epochs = 2, BatchSize = 1, Seed = 1, Progress = recorder, ProgressInterval = TimeSpan.FromHours(1),
        };
        ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(new GeneratedDataView(200, 3, canShuffle: true));
        Assert.AreEqual(1, recorder.Reports.Count(r => !r.IsEpochEnd), "one batch report, then silence for an hour");
        Assert.AreEqual(2, recorder.Reports.Count(r => r.IsEpochEnd), "epoch reports are never throttled");
    }

    [TestMethod]
    public void OnEpochEndCanStopTraining()
    {
        var ml = new MLContext(1);
        var seen = new List<int>();
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [4], Epochs = 10, Seed = 1,
            OnEpochEnd = context => { seen.Add(context.Summary.Epoch); context.StopTraining = context.History.Count == 2; },
        };
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(Synthetic.BlobsView(ml, 60)).Model;
        CollectionAssert.AreEqual(new[] { 1, 2 }, seen);
        Assert.HasCount(2, model.History);
        Assert.AreEqual(TrainingStopReason.Callback, model.StopReason);
    }

    [TestMethod]
    public void CancellationStopsWithinOneBatch()
    {
        var ml = new MLContext(1);
        using var cancellation = new CancellationTokenSource();
        int batchesAfterCancel = -1;
        var recorder = new Recorder(report =>
        {
            if (batchesAfterCancel >= 0)
                batchesAfterCancel++;
            else if (report.Epoch == 2 && report.Batch == 5)
            {
                cancellation.Cancel();
                batchesAfterCancel = 0;
            }
        });
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [4], Epochs = 5, BatchSize = 10, Seed = 1, Progress = recorder, ProgressInterval = TimeSpan.Zero,
            CancellationToken = cancellation.Token,
        };
        Assert.ThrowsExactly<OperationCanceledException>(
            () => ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(new GeneratedDataView(200, 3, canShuffle: true)));
        Assert.AreEqual(0, batchesAfterCancel, "no batch is trained after the token is cancelled");
    }

    [TestMethod]
    public void GradientClippingBoundsEveryUpdate()
    {
        // Plain SGD with lr 1: each update moves the parameters by at most the clip norm.
        var ml = new MLContext(1);
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [4], Epochs = 1, BatchSize = 10, Seed = 1, Optimizer = NeuralNetworkOptimizer.Sgd, LearningRate = 1f,
            GradientClipNorm = 1e-3f,
        };
        var data = new GeneratedDataView(50, 3, canShuffle: true);
        var clipped = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data).Model;
        var layout = clipped.Layout;
        var initial = new float[layout.ParameterCount];
        MlNetMiniBatch.Network.WeightInitializer.Initialize(layout, NeuralNetworkActivation.ReLU, initial, new Random(1));
        double moved = Math.Sqrt(initial.Select((p, i) => Math.Pow(p - clipped.Parameters[i], 2)).Sum());
        Assert.IsLessThanOrEqualTo(5 * 1e-3 * (1 + 1e-5), moved, "5 updates of norm at most 1e-3");
        Assert.IsGreaterThan(4e-3, moved, "and the gradients were large enough to be clipped");
    }

    [TestMethod]
    public void DropoutActsOnlyInTraining()
    {
        var ml = new MLContext(1);
        var data = Synthetic.BlobsView(ml, 300);
        var options = new NeuralNetworkOptions { HiddenLayers = [64], Epochs = 10, LearningRate = 0.01f, Seed = 1, Dropout = 0.5f };
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data);
        var first = ml.Data.CreateEnumerable<ScoreRow>(model.Transform(data), reuseRowObject: false).Select(r => r.Score[0]).ToArray();
        var second = ml.Data.CreateEnumerable<ScoreRow>(model.Transform(data), reuseRowObject: false).Select(r => r.Score[0]).ToArray();
        CollectionAssert.AreEqual(first, second, "scoring is deterministic: no dropout");
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data));
        Assert.IsGreaterThan(metrics.LogLoss, model.Model.History[^1].TrainLoss, "training passes drop units, so they score worse");
        Assert.IsGreaterThan(0.9, metrics.MicroAccuracy);

        options.Dropout = 0;
        var plain = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data).Model;
        CollectionAssert.AreNotEqual(plain.GetWeights(0).ToArray(), model.Model.GetWeights(0).ToArray());
    }

    private sealed class ScoreRow
    {
        public float[] Score { get; set; } = [];
    }
}
