using System.Diagnostics;
using Microsoft.ML;
using MlNetMiniBatch.Persistence;
using MlNetMiniBatch.TrainingHost;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>Runs that the checkpoint tests share: train, interrupt after an epoch, kill the training host, compare two
/// runs bit for bit.</summary>
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

    /// <summary>Starts the training host with checkpoints in <paramref name="directory"/>, waits for
    /// <paramref name="line"/> (after which the host stalls) and kills it.</summary>
    public static void RunHostUntil(string directory, string[] arguments, string line)
    {
        string host = Path.Combine(AppContext.BaseDirectory.Replace("MlNetMiniBatch.Tests", "MlNetMiniBatch.TrainingHost"),
            "MlNetMiniBatch.TrainingHost.dll");
        Assert.IsTrue(File.Exists(host), $"the host process is built with the tests: {host}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { host, directory }.Concat(arguments)) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        try
        {
            string? output;
            var clock = Stopwatch.StartNew();
            while ((output = process.StandardOutput.ReadLine()) != line)
            {
                Assert.IsNotNull(output, $"the host ended before printing '{line}'");
                Assert.IsLessThan(120, clock.Elapsed.TotalSeconds, "the host is too slow");
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
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
