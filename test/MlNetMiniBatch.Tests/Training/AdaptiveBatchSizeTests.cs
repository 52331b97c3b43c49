using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;
using MlNetMiniBatch.Persistence;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>AdaptiveBatchSize: the rule on known histories, the learning-rate factors, the options' checks, exact
/// iteration counts as the batch size changes, resume across a change, the memory bound and the saved history.</summary>
[TestClass]
public sealed class AdaptiveBatchSizeTests
{
    private const int Rows = 1003; // divisible by none of the batch sizes below, so every epoch ends with a partial batch

    /// <summary>Three classes from two features with a third of the labels drawn at random: the label noise keeps the
    /// gradient noise scale well above the small starting batch sizes, so the rule grows the batch.</summary>
    private static IDataView NoisyData()
    {
        var ml = new MLContext(1);
        var random = new Random(5);
        var rows = Enumerable.Range(0, Rows).Select(_ =>
        {
            var x = Enumerable.Range(0, 5).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
            uint label = random.NextDouble() < 0.33 ? (uint)random.Next(3) : x[0] > 0.3f ? 0u : x[1] > 0 ? 1u : 2u;
            return new NoisyRow { Label = label, Features = x };
        }).ToArray();
        var definition = SchemaDefinition.Create(typeof(NoisyRow));
        definition[nameof(NoisyRow.Label)].ColumnType = new KeyDataViewType(typeof(uint), 3);
        return ml.Data.Cache(ml.Data.LoadFromEnumerable(rows, definition));
    }

    private sealed class NoisyRow
    {
        public uint Label { get; set; }
        [VectorType(5)] public float[] Features { get; set; } = [];
    }

    private static NeuralNetworkOptions Adaptive(int batchSize = 32, int? min = null, int? max = null) => new()
    {
        HiddenLayers = [8], BatchSize = batchSize, AdaptiveBatchSize = true, MinimumBatchSize = min, MaximumBatchSize = max,
        Seed = 3, NumberOfThreads = 1,
    };

    /// <summary>A history whose last epoch ran at <paramref name="batchSize"/> and measured <paramref name="noiseScale"/>.</summary>
    private static EpochSummary[] After(int batchSize, double? noiseScale) =>
        [new EpochSummary(1, 10, 100, 1e-3f, new EpochMetrics(1), null, TimeSpan.Zero, noiseScale, batchSize)];

    [TestMethod]
    [DataRow(32, 1000.0, 64)]   // far above: at most doubles
    [DataRow(32, 50.0, 48)]     // toward the noise scale, rounded down to a multiple of 8
    [DataRow(32, 37.0, 32)]     // within 8 rows: stays
    [DataRow(64, 20.0, 32)]     // far below: at most halves
    [DataRow(64, 45.0, 48)]     // shrinking rounds up, toward the current size
    [DataRow(32, 2.0, 16)]      // halving, however small the noise scale
    [DataRow(4, 7.0, 7)]        // below 8 rows, whole rows
    [DataRow(6, 100.0, 8)]      // doubling to 12 rounds down to 8 rows, never past the doubling
    public void TheBatchSizeMovesTowardTheNoiseScaleByAtMostAFactorOfTwo(int current, double noise, int expected)
    {
        var options = Adaptive(batchSize: 4, min: 1, max: 1024);
        Assert.AreEqual(expected, AdaptiveBatchSize.For(options, After(current, noise)));
    }

    [TestMethod]
    public void TheFirstEpochRunsAtBatchSizeAndAnEpochWithoutANoiseScaleKeepsItsSize()
    {
        var options = Adaptive(batchSize: 24);
        Assert.AreEqual(24, AdaptiveBatchSize.For(options, []));
        Assert.AreEqual(96, AdaptiveBatchSize.For(options, After(96, null)));
        Assert.AreEqual(96, AdaptiveBatchSize.For(options, After(96, double.NaN)));
        var off = Adaptive(batchSize: 24);
        off.AdaptiveBatchSize = false;
        Assert.AreEqual(24, AdaptiveBatchSize.For(off, After(96, 1e6)));
    }

    [TestMethod]
    public void TheMinimumAndMaximumBoundTheChoice()
    {
        Assert.AreEqual(100, AdaptiveBatchSize.For(Adaptive(max: 100), After(64, 1e9)));
        Assert.AreEqual(32, AdaptiveBatchSize.For(Adaptive(), After(64, 1)), "the default minimum is BatchSize");
        Assert.AreEqual(20, AdaptiveBatchSize.For(Adaptive(min: 20), After(32, 1)));
        Assert.AreEqual(1024, AdaptiveBatchSize.For(Adaptive(), After(1024, 1e9)), "the default maximum is 1024");
    }

    [TestMethod]
    public void LearningRateFactorsFollowTheirDefinitions()
    {
        var options = Adaptive(batchSize: 32);
        var history = After(32, 96);
        double Factor(NeuralNetworkLearningRateScaling scaling, int b)
        {
            options.LearningRateScaling = scaling;
            return AdaptiveBatchSize.LearningRateFactor(options, history, b);
        }
        Assert.AreEqual(1, Factor(NeuralNetworkLearningRateScaling.None, 128));
        Assert.AreEqual(4, Factor(NeuralNetworkLearningRateScaling.Linear, 128), 1e-12);
        Assert.AreEqual(2, Factor(NeuralNetworkLearningRateScaling.SquareRoot, 128), 1e-12);
        Assert.AreEqual((1 + 96 / 32.0) / (1 + 96 / 128.0), Factor(NeuralNetworkLearningRateScaling.AdaScale, 128), 1e-12);
        Assert.AreEqual(1, Factor(NeuralNetworkLearningRateScaling.Linear, 32), "at the starting batch size the rate is the options' rate");
        options.LearningRateScaling = null;
        Assert.AreEqual(Math.Sqrt(2), AdaptiveBatchSize.LearningRateFactor(options, history, 64), 1e-12, "square root by default");
    }

    [TestMethod]
    [DataRow(nameof(NeuralNetworkOptions.MinimumBatchSize))]
    [DataRow(nameof(NeuralNetworkOptions.MaximumBatchSize))]
    [DataRow(nameof(NeuralNetworkOptions.LearningRateScaling))]
    public void AdaptiveSettingsWithoutAdaptiveBatchSizeAreRefused(string option)
    {
        var options = new NeuralNetworkOptions();
        switch (option)
        {
            case nameof(NeuralNetworkOptions.MinimumBatchSize): options.MinimumBatchSize = 8; break;
            case nameof(NeuralNetworkOptions.MaximumBatchSize): options.MaximumBatchSize = 512; break;
            default: options.LearningRateScaling = NeuralNetworkLearningRateScaling.Linear; break;
        }
        var error = Assert.Throws<ArgumentException>(() => new MLContext(1).MulticlassClassification.Trainers.NeuralNetwork(options));
        Assert.AreEqual(option, error.ParamName);
        Assert.Contains("AdaptiveBatchSize", error.Message);
        Assert.Contains(option, error.Message);
    }

    [TestMethod]
    [DataRow(0, null, 32, nameof(NeuralNetworkOptions.MinimumBatchSize), "MinimumBatchSize must be at least 1 and at most BatchSize (32), but was 0.")]
    [DataRow(64, null, 32, nameof(NeuralNetworkOptions.MinimumBatchSize), "but was 64")]
    [DataRow(null, 16, 32, nameof(NeuralNetworkOptions.MaximumBatchSize), "MaximumBatchSize must be at least BatchSize (32), but was 16.")]
    [DataRow(null, null, 2048, nameof(NeuralNetworkOptions.MaximumBatchSize), "but was 1024 (the default). Set MaximumBatchSize to at least 2048.")]
    public void BoundsOutsideTheStartingBatchSizeAreRefused(int? min, int? max, int batchSize, string option, string message)
    {
        var options = Adaptive(batchSize, min, max);
        var error = Assert.Throws<ArgumentException>(() => new MLContext(1).MulticlassClassification.Trainers.NeuralNetwork(options));
        Assert.AreEqual(option, error.ParamName);
        Assert.Contains(message, error.Message);
    }

    private static NeuralNetworkModelParameters Fit(NeuralNetworkOptions options, IDataView data) =>
        new MLContext(1).MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data).Model;

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void EveryEpochMakesExactlyTheUpdatesOfItsOwnBatchSize(bool dropLast)
    {
        var options = Adaptive(batchSize: 8, max: 64);
        options.Epochs = 6;
        options.DropLastPartialBatch = dropLast;
        var history = Fit(options, NoisyData()).History;

        Assert.IsGreaterThan(2, history.Select(h => h.BatchSize).Distinct().Count(), $"the batch size changed: {string.Join(", ", history.Select(h => h.BatchSize))}");
        for (int e = 0; e < history.Count; e++)
        {
            int b = history[e].BatchSize;
            Assert.AreEqual(AdaptiveBatchSize.For(options, history.Take(e).ToList()), b, $"epoch {e + 1} follows the rule");
            Assert.AreEqual(dropLast ? Rows / b : (Rows + b - 1) / b, history[e].Iterations, $"epoch {e + 1} at batch {b}");
            Assert.AreEqual(dropLast ? Rows / b * b : Rows, history[e].Rows, $"epoch {e + 1}: the last partial batch is trained on unless dropped");
            double factor = Math.Sqrt(b / 8.0);
            Assert.AreEqual((float)(0.001f * factor), history[e].LearningRate, $"epoch {e + 1}: the rate used is recorded");
        }
    }

    [TestMethod]
    public void ProgressReportsShowEachEpochsBatchSizeAndBatchCount()
    {
        var reports = new List<TrainingProgress>();
        var options = Adaptive(batchSize: 8, max: 64);
        options.Epochs = 4;
        options.Progress = new SynchronousProgress(reports.Add);
        options.ProgressInterval = TimeSpan.Zero;
        var history = Fit(options, NoisyData()).History;
        foreach (var report in reports)
        {
            int b = history[report.Epoch - 1].BatchSize;
            Assert.AreEqual(b, report.BatchSize, $"epoch {report.Epoch}");
            Assert.AreEqual((Rows + b - 1) / b, report.BatchesPerEpoch, $"epoch {report.Epoch}");
        }
        Assert.IsGreaterThan(1, reports.Select(r => r.BatchSize).Distinct().Count());
    }

    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    private static NeuralNetworkOptions ResumeOptions(string directory, int epochs) => new()
    {
        HiddenLayers = [16], BatchSize = 8, AdaptiveBatchSize = true, MaximumBatchSize = 128,
        LearningRateScaling = NeuralNetworkLearningRateScaling.AdaScale, Epochs = epochs, Seed = 21, NumberOfThreads = 1,
        Dropout = 0.2f, ValidationFraction = 0.2f, CheckpointDirectory = directory, ResumeFromCheckpoint = true,
    };

    [TestMethod]
    public void ResumingAcrossAChangeOfBatchSizeEqualsAnUninterruptedRun()
    {
        const int epochs = 6;
        var uninterrupted = Fit(ResumeOptions(Directory.CreateTempSubdirectory("mlnmb-adaptive-").FullName, epochs), NoisyData());
        var sizes = uninterrupted.History.Select(h => h.BatchSize).ToArray();
        // Stop after the last epoch k whose successor runs at another batch size: the resumed run must choose it.
        int k = Enumerable.Range(1, epochs - 1).Last(i => sizes[i] != sizes[i - 1]);

        // A run that ends normally deletes its checkpoint, so the first run is interrupted: it fails in epoch k + 1's
        // callback, which comes before that epoch's checkpoint, leaving the one written after epoch k.
        string directory = Directory.CreateTempSubdirectory("mlnmb-adaptive-").FullName;
        var interrupted = ResumeOptions(directory, epochs);
        interrupted.OnEpochEnd = e =>
        {
            if (e.Summary.Epoch == k + 1)
                throw new IOException("interrupted");
        };
        Assert.ThrowsExactly<IOException>(() => Fit(interrupted, NoisyData()));
        var resuming = ResumeOptions(directory, epochs);
        var epochsRun = new List<int>();
        resuming.OnEpochEnd = e => epochsRun.Add(e.Summary.Epoch);
        var resumed = Fit(resuming, NoisyData());
        CollectionAssert.AreEqual(Enumerable.Range(k + 1, epochs - k).ToArray(), epochsRun, "resumed after epoch k");

        CollectionAssert.AreEqual(uninterrupted.Parameters.ToArray(), resumed.Parameters.ToArray(), $"bit-identical weights (sizes {string.Join(", ", sizes)}, resumed after {k})");
        CollectionAssert.AreEqual(sizes, resumed.History.Select(h => h.BatchSize).ToArray());
        CollectionAssert.AreEqual(uninterrupted.History.Select(h => h.LearningRate).ToArray(), resumed.History.Select(h => h.LearningRate).ToArray());
        CollectionAssert.AreEqual(uninterrupted.History.Select(h => h.ValidationLoss).ToArray(), resumed.History.Select(h => h.ValidationLoss).ToArray());
    }

    [TestMethod]
    public void BuffersNeverHoldMoreRowsThanMaximumBatchSize()
    {
        const NeuralNetworkTask task = NeuralNetworkTask.MulticlassClassification;
        var options = Adaptive(batchSize: 8, max: 40);
        var data = NoisyData();
        var layout = new NetworkLayout([5, 8, 3]);
        var parameters = new float[layout.ParameterCount];
        WeightInitializer.Initialize(layout, options.Activation, parameters, new Random(1));
        var runner = new EpochRunner(task, options, new MultilayerPerceptron(layout, options.Activation), parameters,
            Optimizer.Create(options, layout), TargetScaling.Identity, targetCount: 1, seed: 1, knownRows: Rows);
        var source = DataSource.Training(data, TrainingColumns.Bind(data.Schema, task, options, "training"), options, null);
        var progress = new ProgressReporter(null, TimeSpan.Zero, 3);

        Assert.AreEqual(8, runner.BufferRows);
        runner.Evaluate(source, out _);
        Assert.AreEqual(40, runner.BufferRows, "validation reads batches of MaximumBatchSize, not 256 rows");
        var result = runner.Train(source, 1, 40, 1e-3f, progress);
        Assert.AreEqual((Rows + 39) / 40, result.Iterations);
        runner.Train(source, 2, 16, 1e-3f, progress);
        Assert.AreEqual(40, runner.BufferRows);
        Assert.AreEqual(TrainingMemory.Bytes(layout, 40, options) - TrainingMemory.Bytes(layout, 8, options),
            32L * (TrainingMemory.Bytes(layout, 2, options) - TrainingMemory.Bytes(layout, 1, options)), "memory grows linearly with the batch");

        options.Epochs = 8;
        var history = Fit(options, data).History;
        Assert.AreEqual(40, history.Max(h => h.BatchSize), $"the rule stops at the maximum: {string.Join(", ", history.Select(h => h.BatchSize))}");
    }

    [TestMethod]
    public void SavedModelsKeepEveryEpochsBatchSizeAndTheAdaptiveOptions()
    {
        var options = Adaptive(batchSize: 8, max: 64);
        options.Epochs = 4;
        var model = Fit(options, NoisyData());
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            ModelFormat.Write(writer, model);
        stream.Position = 0;
        var loaded = ModelFormat.Read(new BinaryReader(stream));
        CollectionAssert.AreEqual(model.History.Select(h => h.BatchSize).ToArray(), loaded.History.Select(h => h.BatchSize).ToArray());
        Assert.IsTrue(loaded.TrainingOptions!.AdaptiveBatchSize);
        Assert.AreEqual(8, loaded.TrainingOptions.MinimumBatchSize);
        Assert.AreEqual(64, loaded.TrainingOptions.MaximumBatchSize);
        Assert.AreEqual(NeuralNetworkLearningRateScaling.SquareRoot, loaded.TrainingOptions.LearningRateScaling);
        Assert.Contains("adaptive-batch=8-64 lr-scaling=SquareRoot", loaded.TrainingOptions.ToString());
    }

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void FilesFromBeforeBatchSizesWereRecordedGiveEveryEpochTheTrainingBatchSize(NeuralNetworkTask task)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Persistence", "Fixtures", $"0.1.0-{task}.zip");
        var loaded = new MLContext(1).Model.Load(path, out _);
        var network = loaded as NeuralNetworkPredictionTransformer
            ?? ((TransformerChain<ITransformer>)loaded).OfType<NeuralNetworkPredictionTransformer>().Single();
        var model = network.Model;
        Assert.IsNotEmpty(model.History);
        Assert.IsFalse(model.TrainingOptions!.AdaptiveBatchSize);
        foreach (var epoch in model.History)
            Assert.AreEqual(model.TrainingOptions.BatchSize, epoch.BatchSize);
    }
}
