using System.Diagnostics;
using Microsoft.ML;
using MlNetMiniBatch.Persistence;
using MlNetMiniBatch.TrainingHost;

namespace MlNetMiniBatch.Tests.Training;

[TestClass]
public sealed class CheckpointTests
{
    private static string NewDirectory() => Directory.CreateTempSubdirectory("mlnmb-checkpoint-").FullName;

    private static NeuralNetworkModelParameters Train(NeuralNetworkOptions options)
    {
        var ml = new MLContext(1);
        return ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(ResumeScenario.Data(ml)).Model;
    }

    private static float[] AllParameters(NeuralNetworkModelParameters model) => model.Parameters.ToArray();

    private static void AssertSameRun(NeuralNetworkModelParameters expected, NeuralNetworkModelParameters actual)
    {
        CollectionAssert.AreEqual(AllParameters(expected), AllParameters(actual), "bit-identical weights");
        Assert.HasCount(expected.History.Count, actual.History);
        for (int i = 0; i < expected.History.Count; i++)
        {
            Assert.AreEqual(expected.History[i].TrainLoss, actual.History[i].TrainLoss, $"epoch {i + 1} train loss");
            Assert.AreEqual(expected.History[i].ValidationLoss, actual.History[i].ValidationLoss, $"epoch {i + 1} validation loss");
            Assert.AreEqual(expected.History[i].LearningRate, actual.History[i].LearningRate);
            Assert.AreEqual(expected.History[i].Iterations, actual.History[i].Iterations);
        }
        Assert.AreEqual(expected.BestEpoch, actual.BestEpoch);
    }

    [TestMethod]
    public void ResumingAfterEpochKEqualsAnUninterruptedRun()
    {
        var uninterrupted = Train(ResumeScenario.Options(NewDirectory()));
        string directory = NewDirectory();
        Train(ResumeScenario.Options(directory, epochs: 2));
        Assert.IsTrue(File.Exists(Checkpoint.PathIn(directory)));
        var resumed = Train(ResumeScenario.Options(directory));
        AssertSameRun(uninterrupted, resumed);
    }

    [TestMethod]
    public void AProcessKilledMidEpochResumesFromItsLastCheckpointToTheSameWeights()
    {
        var uninterrupted = Train(ResumeScenario.Options(NewDirectory()));
        string directory = NewDirectory();
        string host = Path.Combine(AppContext.BaseDirectory.Replace("MlNetMiniBatch.Tests", "MlNetMiniBatch.TrainingHost"),
            "MlNetMiniBatch.TrainingHost.dll");
        Assert.IsTrue(File.Exists(host), $"the host process is built with the tests: {host}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { host, directory, "4", "7" }) start.ArgumentList.Add(argument);
        using (var process = Process.Start(start)!)
        {
            string? line;
            var deadline = Stopwatch.StartNew();
            while ((line = process.StandardOutput.ReadLine()) != "epoch 4 batch 7")
            {
                Assert.IsNotNull(line, "the host ended before reaching epoch 4");
                Assert.IsLessThan(120, deadline.Elapsed.TotalSeconds, "the host is too slow");
            }
            process.Kill(entireProcessTree: true); // in the middle of epoch 4, after the checkpoint of epoch 3
            process.WaitForExit();
        }
        var checkpoint = Checkpoint.TryRead(directory)!;
        Assert.AreEqual(3, checkpoint.EpochsDone);
        Assert.IsFalse(File.Exists(Checkpoint.PathIn(directory) + ".tmp") && checkpoint.EpochsDone != 3);
        var resumed = Train(ResumeScenario.Options(directory));
        AssertSameRun(uninterrupted, resumed);
    }

    [TestMethod]
    public void ResumingWithDifferentOptionsIsRefused()
    {
        string directory = NewDirectory();
        Train(ResumeScenario.Options(directory, epochs: 1));
        var changed = ResumeScenario.Options(directory);
        changed.BatchSize = 8;
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => Train(changed));
        StringAssert.Contains(error.Message, "different configuration");
        StringAssert.Contains(error.Message, "batch=8");
    }

    [TestMethod]
    public void ACorruptCheckpointGivesAClearError()
    {
        string directory = NewDirectory();
        Train(ResumeScenario.Options(directory, epochs: 1));
        string path = Checkpoint.PathIn(directory);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => Train(ResumeScenario.Options(directory)));
        StringAssert.Contains(error.Message, path);
        StringAssert.Contains(error.Message, "Delete it");
    }

    [TestMethod]
    public void WarmStartOnNewDataWithBatchSizeOneIsOnlineLearning()
    {
        var ml = new MLContext(1);
        var first = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions { HiddenLayers = [8], Epochs = 2, Seed = 1 })
            .Fit(Synthetic.BlobsView(ml, 150));
        var online = new NeuralNetworkOptions { HiddenLayers = [8], BatchSize = 1, Epochs = 1, Seed = 1, Optimizer = NeuralNetworkOptimizer.Sgd };
        var update = ml.MulticlassClassification.Trainers.NeuralNetwork(online).Fit(Synthetic.BlobsView(ml, 40, seed: 3), first.Model);
        Assert.AreEqual(40, update.Model.History[0].Iterations, "one update per new row");
        CollectionAssert.AreNotEqual(first.Model.GetWeights(0).ToArray(), update.Model.GetWeights(0).ToArray());
        var fresh = ml.MulticlassClassification.Trainers.NeuralNetwork(online).Fit(Synthetic.BlobsView(ml, 40, seed: 3));
        Assert.IsLessThan(fresh.Model.History[0].TrainLoss, update.Model.History[0].TrainLoss,
            "starting from the trained weights, the new rows are predicted better than from scratch");
    }
}
