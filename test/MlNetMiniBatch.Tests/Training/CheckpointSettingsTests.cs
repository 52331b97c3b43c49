using System.Globalization;
using Microsoft.ML;
using MlNetMiniBatch.Persistence;
using MlNetMiniBatch.TrainingHost;
using static MlNetMiniBatch.Tests.Training.CheckpointRuns;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>A checkpoint resumes only under the settings that wrote it, whatever the culture.</summary>
[TestClass]
public sealed class CheckpointSettingsTests
{
    private static readonly (string Setting, Action<NeuralNetworkOptions> Change, Func<MLContext, IDataView, IDataView>? Data)[] Changes =
    [
        ("BatchSize", o => o.BatchSize = 8, null),
        ("Epochs", o => o.Epochs = 7, null),
        ("LearningRateSchedule", o => o.LearningRateSchedule = LearningRateSchedule.CosineDecay(2e-4f, warmupEpochs: 1), null),
        ("LearningRateSchedule", o => o.LearningRateSchedule = LearningRateSchedule.CosineDecay(1e-4f, warmupEpochs: 2), null),
        ("LearningRateSchedule", o => o.LearningRateSchedule = LearningRateSchedule.StepDecay(2, 0.5f), null),
        ("LearningRateSchedule", o => o.LearningRateSchedule = null, null),
        ("ClassWeights", o => o.ClassWeights = [1, 2, 1], null),
        ("DropLastPartialBatch", o => o.DropLastPartialBatch = true, null),
        ("SkipInvalidRows", o => o.SkipInvalidRows = true, null),
        ("Shuffle", o => o.Shuffle = false, null),
        ("ShuffleMemoryLimit", o => o.ShuffleMemoryLimit = 1L << 20, null),
        ("HiddenLayers", o => o.HiddenLayers = [32, 8], null),
        ("Activation", o => o.Activation = NeuralNetworkActivation.Tanh, null),
        ("Optimizer", o => o.Optimizer = NeuralNetworkOptimizer.RmsProp, null),
        ("LearningRate", o => o.LearningRate = 0.002f, null),
        ("L2Regularization", o => o.L2Regularization = 0.01f, null),
        ("Dropout", o => o.Dropout = 0.3f, null),
        ("GradientClipNorm", o => o.GradientClipNorm = 1f, null),
        ("ValidationFraction", o => o.ValidationFraction = 0.25f, null),
        ("EarlyStoppingPatience", o => o.EarlyStoppingPatience = 40, null),
        ("EarlyStoppingMetric", o => o.EarlyStoppingMetric = NeuralNetworkMetric.Accuracy, null),
        ("EarlyStoppingMinDelta", o => o.EarlyStoppingMinDelta = 0.01f, null),
        ("RestoreBestWeights", o => o.RestoreBestWeights = false, null),
        ("Seed", o => o.Seed = 22, null),
        ("ExampleWeightColumnName", o => o.ExampleWeightColumnName = "Weight", null),
        ("LabelColumnName", o => o.LabelColumnName = "Label2", (ml, data) => ml.Transforms.CopyColumns("Label2", "Label").Fit(data).Transform(data)),
        ("FeatureColumnName", o => o.FeatureColumnName = "Features2", (ml, data) => ml.Transforms.CopyColumns("Features2", "Features").Fit(data).Transform(data)),
        ("FeatureCount", o => { }, (ml, data) => ml.Transforms.Concatenate("Features", "Features", "Weight").Fit(data).Transform(data)),
    ];

    [TestMethod]
    public void EverySettingThatShapesTheUpdatesMustMatchToResume()
    {
        string directory = NewDirectory();
        Interrupt(ResumeScenario.Options(directory), afterEpoch: 1);
        var accepted = new List<string>();
        foreach (var (setting, change, transform) in Changes)
        {
            var options = ResumeScenario.Options(directory);
            change(options);
            var ml = new MLContext(1);
            var data = ResumeScenario.Data(ml);
            if (transform is not null)
                data = transform(ml, data);
            try
            {
                Train(options, data);
                accepted.Add(setting);
            }
            catch (InvalidOperationException e) when (e.Message.Contains("different settings"))
            {
                StringAssert.Contains(e.Message, $"{setting}: ", $"the refusal names {setting}");
            }
        }
        Assert.IsEmpty(accepted, $"resumed although these settings changed: {string.Join(", ", accepted)}");
        var resumed = TrainRecordingEpochs(ResumeScenario.Options(directory));
        Assert.AreEqual(2, resumed.EpochsTrained[0], "the refused attempts left the checkpoint as it was");
    }

    [TestMethod]
    public void TheRefusalSaysWhatEachSettingWasAndIs()
    {
        string directory = NewDirectory();
        Interrupt(ResumeScenario.Options(directory), afterEpoch: 1);
        var changed = ResumeScenario.Options(directory);
        (changed.BatchSize, changed.Epochs) = (8, 7);

        var error = Assert.ThrowsExactly<InvalidOperationException>(() => Train(changed));

        StringAssert.Contains(error.Message, "BatchSize: 16 in the checkpoint, 8 now");
        StringAssert.Contains(error.Message, "Epochs: 6 in the checkpoint, 7 now");
        StringAssert.Contains(error.Message, Checkpoint.PathIn(directory));
        Assert.DoesNotContain("Dropout", error.Message, "only the settings that differ");
    }

    [TestMethod]
    public void ACheckpointWrittenUnderOneCultureResumesUnderAnother()
    {
        static NeuralNetworkOptions Options(string directory)
        {
            var options = ResumeScenario.Options(directory);
            (options.LearningRate, options.Dropout, options.ClassWeights) = (0.0015f, 0.25f, [1f, 1.5f, 0.5f]);
            return options;
        }
        var culture = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("en-US");
            var uninterrupted = Train(Options(NewDirectory()));
            string directory = NewDirectory();
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE"); // writes 0,0015 where en-US writes 0.0015
            Interrupt(Options(directory), afterEpoch: 2);

            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("en-US");
            var (resumed, epochsTrained) = TrainRecordingEpochs(Options(directory));

            Assert.AreEqual(3, epochsTrained[0]);
            AssertSameRun(uninterrupted, resumed);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }
}
