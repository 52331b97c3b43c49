using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Persistence;
using MlNetMiniBatch.Tests.Distributed;
using static MlNetMiniBatch.Tests.Tasks.MultiOutputData;

namespace MlNetMiniBatch.Tests.Tasks;

/// <summary>
/// Multi-output regression takes part in everything the other tasks do: warm start, checkpoint and resume, early
/// stopping on the loss, validation data, progress, distributed training; and its bad labels fail clearly.
/// (Model.Save/Load in a new process, PredictionEngine and ONNX: the shared PersistenceFixture's multi-output pipeline.)
/// </summary>
[TestClass]
public sealed class MultiOutputCitizenshipTests
{
    [TestMethod]
    public void AWarmStartContinuesFromTheModelsWeightsAndScaling()
    {
        var ml = new MLContext(1);
        var data = SyntheticView(ml, 600, 5);
        var first = ml.Regression.Trainers.NeuralNetwork(Options(epochs: 10)).Fit(data).Model;

        var continued = ml.Regression.Trainers.NeuralNetwork(Options(epochs: 1)).Fit(data, first).Model;
        var fresh = ml.Regression.Trainers.NeuralNetwork(Options(epochs: 1)).Fit(data).Model;

        Assert.IsTrue(continued.TrainingOptions!.WarmStart);
        CollectionAssert.AreEqual(first.LabelMeans.ToArray(), continued.LabelMeans.ToArray(), "the model's scaling is kept");
        CollectionAssert.AreEqual(first.LabelStandardDeviations.ToArray(), continued.LabelStandardDeviations.ToArray());
        Assert.IsLessThan(0.5 * fresh.History[0].TrainLoss, continued.History[0].TrainLoss,
            "the continued run starts where the first ended, far below a fresh start");
    }

    [TestMethod]
    public void AnInterruptedRunResumesFromItsCheckpointToTheSameWeights()
    {
        var ml = new MLContext(1);
        var data = SyntheticView(ml, 300, 6);
        string directory = Path.Combine(Path.GetTempPath(), "mlnmb-tests", Guid.NewGuid().ToString("N"));
        NeuralNetworkOptions Checkpointed()
        {
            var options = Options(epochs: 5);
            options.CheckpointDirectory = directory;
            options.ResumeFromCheckpoint = true;
            return options;
        }
        var uninterrupted = ml.Regression.Trainers.NeuralNetwork(Options(epochs: 5)).Fit(data).Model;

        var interrupted = Checkpointed();
        interrupted.OnEpochEnd = e => { if (e.Summary.Epoch == 2) throw new OperationCanceledException("stop"); };
        Assert.ThrowsExactly<OperationCanceledException>(() => ml.Regression.Trainers.NeuralNetwork(interrupted).Fit(data));
        Assert.IsTrue(Checkpoint.Exists(directory));
        var resumed = ml.Regression.Trainers.NeuralNetwork(Checkpointed()).Fit(data).Model;

        Assert.HasCount(5, resumed.History);
        CollectionAssert.AreEqual(uninterrupted.LabelMeans.ToArray(), resumed.LabelMeans.ToArray(), "three scalings came back from the checkpoint");
        CollectionAssert.AreEqual(uninterrupted.LabelStandardDeviations.ToArray(), resumed.LabelStandardDeviations.ToArray());
        for (int layer = 0; layer < uninterrupted.LayerCount; layer++)
            CollectionAssert.AreEqual(uninterrupted.GetWeights(layer).ToArray(), resumed.GetWeights(layer).ToArray(), $"layer {layer}");
        Directory.Delete(directory, recursive: true);
    }

    [TestMethod]
    public void EarlyStoppingWatchesTheValidationLossWhichIsTheMetricsMeanSquaredError()
    {
        var ml = new MLContext(1);
        var train = SyntheticView(ml, 200, 7);
        var validation = SyntheticView(ml, 200, 8);
        var options = Options(epochs: 300);
        options.HiddenLayers = [64];
        options.LearningRate = 0.03f;
        options.EarlyStoppingPatience = 3;
        options.EarlyStoppingMetric = NeuralNetworkMetric.Loss;
        options.RestoreBestWeights = false;
        var reports = new List<TrainingProgress>();
        options.Progress = new SynchronousProgress(reports.Add);
        options.ProgressInterval = TimeSpan.Zero;

        var model = ml.Regression.Trainers.NeuralNetwork(options).Fit(train, validation);

        Assert.AreEqual(TrainingStopReason.EarlyStopping, model.Model.StopReason);
        Assert.IsLessThan(300, model.Model.History.Count);
        var last = model.Model.History[^1];
        var metrics = ml.Regression.EvaluateMultiOutput(model.Transform(validation));
        Assert.AreEqual(metrics.MeanSquaredError, last.ValidationLoss!.Value, 1e-4 * metrics.MeanSquaredError,
            "the validation loss is the mean over outputs of the MSE in label units");
        Assert.AreEqual(metrics.RootMeanSquaredError, last.Validation!.RootMeanSquaredError!.Value, 1e-4 * metrics.RootMeanSquaredError);
        Assert.AreEqual(metrics.RSquared, last.Validation.RSquared!.Value, 1e-4);
        Assert.IsNotEmpty(reports);
        Assert.AreEqual(model.Model.History.Count, reports[^1].Epoch);
        Assert.IsTrue(reports.All(r => double.IsFinite(r.RunningLoss)));
    }

    [TestMethod]
    public void TwoRanksTrainTheSameModelAsOneProcess()
    {
        // The regression trainer (TestData.Trainer) picks multi-output from the vector label; each rank copies its
        // share of each batch's three targets per row and the metric sums of all outputs are added across ranks.
        static NeuralNetworkOptions Small() { var options = Options(epochs: 3); options.HiddenLayers = [8]; return options; }
        static IDataView Data(int seed) => SyntheticView(new MLContext(1), 300, seed);
        var alone = LoopbackTraining.FitAlone(NeuralNetworkTask.Regression, Data(9), Small());

        var models = LoopbackTraining.Fit(2, NeuralNetworkTask.Regression, _ => Data(9), _ => Small());

        float[] expected = LoopbackTraining.Parameters(alone), actual = LoopbackTraining.Parameters(models[1]);
        Assert.IsLessThanOrEqualTo(1e-5f, expected.Zip(actual, (x, y) => Math.Abs(x - y)).Max());
        CollectionAssert.AreEqual(alone.LabelMeans.ToArray(), models[1].LabelMeans.ToArray());
        Assert.AreEqual(alone.History[^1].TrainLoss, models[1].History[^1].TrainLoss, 1e-4 * alone.History[^1].TrainLoss);
    }

    // ---- Errors ----

    public sealed class VariableRow
    {
        [VectorType(4)]
        public float[] Features { get; set; } = [];

        public float[] Label { get; set; } = [];
    }

    [TestMethod]
    public void AVariableSizeVectorLabelIsRefusedNamingTheColumn()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(new[] { new VariableRow { Features = [1, 2, 3, 4], Label = [1, 2] } });
        var trainer = ml.Regression.Trainers.NeuralNetwork(Options());

        var fit = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(data));
        var shape = Assert.ThrowsExactly<ArgumentException>(() => trainer.GetOutputSchema(Integration.TestData.ShapeOf(data.Schema)));

        foreach (var error in new[] { fit, shape })
        {
            Assert.Contains("'Label' is a vector of variable size", error.Message);
            Assert.Contains("[VectorType(k)]", error.Message);
            Assert.AreEqual("LabelColumnName", error.ParamName);
        }
    }

    [TestMethod]
    public void ANaNTargetNamesTheColumnRowAndElementOrIsSkipped()
    {
        var ml = new MLContext(1);
        var rows = Synthetic(50, 10);
        rows[7].Label[2] = float.NaN;
        var data = ml.Data.LoadFromEnumerable(rows);

        var error = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Regression.Trainers.NeuralNetwork(Options(epochs: 1)).Fit(data));
        Assert.Contains("1 with a NaN or infinite element in the vector label column 'Label'", error.Message);
        Assert.Contains("the first is row 7", error.Message);
        Assert.Contains("at element 2 of its label", error.Message);

        var skipping = Options(epochs: 1);
        skipping.SkipInvalidRows = true;
        var model = ml.Regression.Trainers.NeuralNetwork(skipping).Fit(data).Model;
        Assert.AreEqual(49, model.History[0].Rows);
        Assert.IsTrue(model.LabelMeans.All(float.IsFinite), "the skipped row is not in the label statistics either");
    }

    public sealed class BooleanRow
    {
        [VectorType(4)]
        public float[] Features { get; set; } = [];

        [VectorType(2)]
        public bool[] Label { get; set; } = [];
    }

    [TestMethod]
    public void ALabelOfTheWrongElementTypeSaysHowToConvertIt()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(new[] { new BooleanRow { Features = [1, 2, 3, 4], Label = [true, false] } });
        var trainer = ml.Regression.Trainers.NeuralNetwork(Options());

        var fit = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(data));
        var shape = Assert.ThrowsExactly<ArgumentException>(() => trainer.GetOutputSchema(Integration.TestData.ShapeOf(data.Schema)));

        foreach (var error in new[] { fit, shape })
        {
            Assert.Contains("'Label' has type", error.Message);
            Assert.Contains("multi-output regression needs a known-size vector of Single", error.Message);
            Assert.Contains("ConvertType(\"Label\", outputKind: DataKind.Single)", error.Message);
        }
    }

    [TestMethod]
    public void AWarmStartOnALabelOfAnotherWidthIsRefused()
    {
        var ml = new MLContext(1);
        var three = ml.Regression.Trainers.NeuralNetwork(Options(epochs: 1)).Fit(SyntheticView(ml, 100, 11)).Model;

        var error = Assert.ThrowsExactly<ArgumentException>(
            () => ml.Regression.Trainers.NeuralNetwork(Options(epochs: 1)).Fit(SyntheticView(ml, 100, 11, targets: 2), three));

        Assert.AreEqual("initialModel", error.ParamName);
        Assert.Contains("The initial model has 3 outputs, but label 'Label' needs 2", error.Message);
        Assert.Contains("one per element of the vector label", error.Message);
    }

    [TestMethod]
    public void TheMultiOutputTaskRefusesAScalarLabel()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(new[] { new MultiOutputRegressionTests.ScalarRow { Features = [1, 2, 3, 4], Label = 1 } });
        var trainer = new NeuralNetworkTrainer(ml, NeuralNetworkTask.MultiOutputRegression, Options());

        var fit = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(data));
        var shape = Assert.ThrowsExactly<ArgumentException>(() => trainer.GetOutputSchema(Integration.TestData.ShapeOf(data.Schema)));

        foreach (var error in new[] { fit, shape })
        {
            Assert.Contains("holds one value per row", error.Message);
            Assert.Contains("NeuralNetworkTask.Regression", error.Message);
        }
    }

    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
