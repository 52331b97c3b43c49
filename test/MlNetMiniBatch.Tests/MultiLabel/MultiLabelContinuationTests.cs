using Microsoft.ML;
using MlNetMiniBatch.Tests.Training;

namespace MlNetMiniBatch.Tests.MultiLabel;

/// <summary>Warm start and checkpoint-and-resume of a multi-label network.</summary>
[TestClass]
public sealed class MultiLabelContinuationTests
{
    [TestMethod]
    public void AWarmStartContinuesFromTheModelsWeights()
    {
        var (ml, data, trained) = MultiLabelData.Train(rows: 300, MultiLabelData.Options(epochs: 10));
        var model = trained.LastTransformer.Model;
        var features = trained.Transform(data);
        var trainer = ml.BinaryClassification.Trainers.NeuralNetwork(MultiLabelData.Options(epochs: 1));

        var fresh = trainer.Fit(features).Model;
        var warm = trainer.Fit(features, model).Model;

        Assert.AreEqual(NeuralNetworkTask.MultiLabelClassification, warm.Task);
        Assert.IsTrue(warm.TrainingOptions!.WarmStart);
        Assert.IsLessThan(fresh.History[0].TrainLoss * 0.7, warm.History[0].TrainLoss);
        Assert.IsLessThan(model.History[^1].TrainLoss * 1.2, warm.History[0].TrainLoss);
        CollectionAssert.AreEqual(model.ClassNames!.ToArray(), warm.ClassNames!.ToArray());
    }

    [TestMethod]
    public void AnInterruptedRunResumesFromItsCheckpointToTheSameWeights()
    {
        var ml = new MLContext(seed: 1);
        var data = MultiLabelData.Featurize(ml).Fit(MultiLabelData.View(ml, MultiLabelData.Points(200, seed: 11)))
            .Transform(MultiLabelData.View(ml, MultiLabelData.Points(200, seed: 11)));
        NeuralNetworkOptions Options(string directory)
        {
            var options = MultiLabelData.Options(epochs: 5);
            options.CheckpointDirectory = directory;
            options.ResumeFromCheckpoint = true;
            return options;
        }
        NeuralNetworkModelParameters Train(NeuralNetworkOptions options) => ml.BinaryClassification.Trainers.NeuralNetwork(options).Fit(data).Model;

        var uninterrupted = Train(Options(CheckpointRuns.NewDirectory()));
        string directory = CheckpointRuns.NewDirectory();
        using (var cancellation = new CancellationTokenSource())
        {
            var first = Options(directory);
            first.CancellationToken = cancellation.Token;
            first.OnEpochEnd = e =>
            {
                if (e.Summary.Epoch == 2)
                    cancellation.Cancel();
            };
            Assert.ThrowsExactly<OperationCanceledException>(() => Train(first));
        }
        var epochs = new List<int>();
        var resumedOptions = Options(directory);
        resumedOptions.OnEpochEnd = e => epochs.Add(e.Summary.Epoch);
        var resumed = Train(resumedOptions);

        CollectionAssert.AreEqual(new[] { 3, 4, 5 }, epochs.ToArray(), "resumed after epoch 2");
        CheckpointRuns.AssertSameRun(uninterrupted, resumed);
        Assert.AreEqual(NeuralNetworkTask.MultiLabelClassification, resumed.Task);
        CollectionAssert.AreEqual(MultiLabelData.LabelNames, resumed.ClassNames!.ToArray());
    }
}
