using Microsoft.ML;
using MlNetMiniBatch.Persistence;
using MlNetMiniBatch.TrainingHost;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>Runs that the checkpoint tests share: train, interrupt after an epoch, compare two runs bit for bit.</summary>
internal static class CheckpointRuns
{
    public static string NewDirectory() => Directory.CreateTempSubdirectory("mlnmb-checkpoint-").FullName;

    public static NeuralNetworkModelParameters Train(NeuralNetworkOptions options, IDataView? data = null)
    {
        var ml = new MLContext(1);
        return ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data ?? ResumeScenario.Data(ml)).Model;
    }

    /// <summary>Trains until the end of epoch <paramref name="afterEpoch"/>, then cancels, as a crash would stop it: the
    /// checkpoint of that epoch stays.</summary>
    public static void Interrupt(NeuralNetworkOptions options, int afterEpoch, IDataView? data = null)
    {
        using var cancellation = new CancellationTokenSource();
        options.CancellationToken = cancellation.Token;
        options.OnEpochEnd = e =>
        {
            if (e.Summary.Epoch == afterEpoch)
                cancellation.Cancel();
        };
        Assert.ThrowsExactly<OperationCanceledException>(() => Train(options, data));
        Assert.IsTrue(Checkpoint.Exists(options.CheckpointDirectory!), "an interrupted run keeps its checkpoint");
    }

    /// <summary>Trains with <paramref name="options"/>; returns the model and the epochs this Fit trained.</summary>
    public static (NeuralNetworkModelParameters Model, List<int> EpochsTrained) TrainRecordingEpochs(NeuralNetworkOptions options, IDataView? data = null)
    {
        var epochs = new EpochRecorder();
        options.Progress = epochs;
        return (Train(options, data), epochs.Epochs);
    }

    public static void AssertSameRun(NeuralNetworkModelParameters expected, NeuralNetworkModelParameters actual)
    {
        CollectionAssert.AreEqual(expected.Parameters.ToArray(), actual.Parameters.ToArray(), "bit-identical weights");
        Assert.HasCount(expected.History.Count, actual.History);
        for (int i = 0; i < expected.History.Count; i++)
        {
            Assert.AreEqual(expected.History[i].TrainLoss, actual.History[i].TrainLoss, $"epoch {i + 1} train loss");
            Assert.AreEqual(expected.History[i].ValidationLoss, actual.History[i].ValidationLoss, $"epoch {i + 1} validation loss");
            Assert.AreEqual(expected.History[i].LearningRate, actual.History[i].LearningRate, $"epoch {i + 1} learning rate");
            Assert.AreEqual(expected.History[i].Iterations, actual.History[i].Iterations);
            Assert.AreEqual(expected.History[i].IsBest, actual.History[i].IsBest, $"epoch {i + 1} best");
        }
        Assert.AreEqual(expected.BestEpoch, actual.BestEpoch);
        Assert.AreEqual(expected.StopReason, actual.StopReason);
    }

    /// <summary>Synchronous (Progress&lt;T&gt; would report on the thread pool, after Fit returns).</summary>
    private sealed class EpochRecorder : IProgress<TrainingProgress>
    {
        public List<int> Epochs { get; } = [];

        public void Report(TrainingProgress value)
        {
            if (value.IsEpochEnd)
                Epochs.Add(value.Epoch);
        }
    }
}
