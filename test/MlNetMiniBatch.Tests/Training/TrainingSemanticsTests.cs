using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>Epochs, iterations, batches, weighting, determinism and streaming, each checked against its definition.</summary>
[TestClass]
public sealed class TrainingSemanticsTests
{
    private static NeuralNetworkOptions Options(int batchSize, int epochs = 2) => new()
    {
        HiddenLayers = [8], BatchSize = batchSize, Epochs = epochs, Seed = 3, NumberOfThreads = 1,
    };

    [TestMethod]
    [DataRow(1050, 100, false, 11, 1050)]  // 10 full batches + one of 50
    [DataRow(1050, 100, true, 10, 1000)]   // the partial batch dropped
    [DataRow(105, 1, false, 105, 105)]     // per-row SGD
    [DataRow(105, 105, false, 1, 105)]     // full batch
    [DataRow(105, 5000, false, 1, 105)]    // batch larger than the data: still one full-batch update
    [DataRow(100, 25, true, 4, 100)]       // nothing partial to drop
    public void HistoryCountsIterationsAndRowsExactly(int rows, int batchSize, bool dropLast, int iterations, int trainedRows)
    {
        var ml = new MLContext(1);
        var options = Options(batchSize);
        options.DropLastPartialBatch = dropLast;
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(new GeneratedDataView(rows, 5, canShuffle: true));
        Assert.HasCount(2, model.Model.History);
        foreach (var epoch in model.Model.History)
        {
            Assert.AreEqual(iterations, epoch.Iterations);
            Assert.AreEqual(trainedRows, epoch.Rows);
        }
        CollectionAssert.AreEqual(new[] { 1, 2 }, model.Model.History.Select(e => e.Epoch).ToArray());
    }

    [TestMethod]
    public void HugeBatchSizeOnSmallDataDoesNotAllocateForRowsThatNeverCome()
    {
        var ml = new MLContext(1);
        var options = Options(int.MaxValue, epochs: 1);
        var data = ml.Data.LoadFromEnumerable(Synthetic.Blobs(60)); // row count unknown to the trainer
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(keyed);
        Assert.AreEqual(1, model.Model.History[0].Iterations);
    }

    [TestMethod]
    public void EveryEpochVisitsTheRowsInANewOrderDrawnFromSeedAndEpoch()
    {
        var ml = new MLContext(1);
        var first = new GeneratedDataView(50, 3, canShuffle: true);
        ml.MulticlassClassification.Trainers.NeuralNetwork(Options(10, epochs: 3)).Fit(first);
        Assert.HasCount(3, first.Orders);
        Assert.AreEqual(3, first.Orders.Select(o => string.Join(",", o)).Distinct().Count(), "each epoch has its own order");
        foreach (var order in first.Orders)
            CollectionAssert.AreEquivalent(Enumerable.Range(0, 50).Select(i => (long)i).ToArray(), order, "an epoch visits every row once");

        var again = new GeneratedDataView(50, 3, canShuffle: true);
        ml.MulticlassClassification.Trainers.NeuralNetwork(Options(10, epochs: 3)).Fit(again);
        for (int e = 0; e < 3; e++)
            CollectionAssert.AreEqual(first.Orders[e], again.Orders[e], "same seed, same orders");
    }

    [TestMethod]
    public void SameSeedGivesBitIdenticalWeightsAndHistory_DifferentSeedDoesNot()
    {
        float[] Train(int seed, int threads, out double[] losses)
        {
            var ml = new MLContext(1);
            var options = Options(16, epochs: 3);
            options.Seed = seed;
            options.NumberOfThreads = threads;
            options.HiddenLayers = [64, 32];
            var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(Synthetic.BlobsView(ml, 300));
            losses = model.Model.History.Select(h => h.TrainLoss).ToArray();
            return Enumerable.Range(0, model.Model.LayerCount).SelectMany(l => model.Model.GetWeights(l).ToArray()).ToArray();
        }

        var a = Train(1, 1, out var lossesA);
        var b = Train(1, 1, out var lossesB);
        var c = Train(2, 1, out _);
        var twoThreads = Train(1, 2, out var lossesTwoThreads);
        CollectionAssert.AreEqual(a, b);
        CollectionAssert.AreEqual(lossesA, lossesB);
        CollectionAssert.AreNotEqual(a, c);
        // The kernels split work so every output element is summed in the same order whatever the thread count.
        CollectionAssert.AreEqual(a, twoThreads);
        CollectionAssert.AreEqual(lossesA, lossesTwoThreads);
    }

    private sealed class SparseRow
    {
        public uint Label { get; set; }
        [VectorType(6)] public VBuffer<float> Features { get; set; }
    }

    [TestMethod]
    public void SparseAndDenseFeaturesTrainTheSameModel()
    {
        var random = new Random(5);
        var rows = Enumerable.Range(0, 120).Select(i =>
        {
            int[] indices = [i % 6, (i * 7 + 2) % 6];
            Array.Sort(indices);
            indices = indices.Distinct().ToArray();
            float[] values = indices.Select(_ => Synthetic.Gaussian(random)).ToArray();
            return (Label: (uint)(i % 2), Indices: indices, Values: values); // LoadFromEnumerable takes key values 0-based
        }).ToArray();
        var sparse = rows.Select(r => new SparseRow { Label = r.Label, Features = new VBuffer<float>(6, r.Indices.Length, r.Values, r.Indices) });
        var dense = rows.Select(r =>
        {
            var values = new float[6];
            for (int i = 0; i < r.Indices.Length; i++) values[r.Indices[i]] = r.Values[i];
            return new SparseRow { Label = r.Label, Features = new VBuffer<float>(6, values) };
        });
        float[] Train(IEnumerable<SparseRow> data)
        {
            var ml = new MLContext(1);
            var definition = SchemaDefinition.Create(typeof(SparseRow));
            definition["Label"].ColumnType = new KeyDataViewType(typeof(uint), 2);
            var view = ml.Data.LoadFromEnumerable(data, definition);
            var options = Options(7);
            options.Shuffle = false;
            var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(view);
            return model.Model.GetWeights(0).ToArray();
        }
        CollectionAssert.AreEqual(Train(dense), Train(sparse));
    }

    [TestMethod]
    public void BatchGradientIsTheWeightedMean_ScalingAllWeightsChangesNothing()
    {
        float[] Train(float weight, out double loss)
        {
            var ml = new MLContext(1);
            var rows = Synthetic.Blobs(200).Select(r => { r.Weight = weight; return r; });
            var data = ml.Data.LoadFromEnumerable(rows);
            var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
            var options = Options(32);
            options.ExampleWeightColumnName = "Weight";
            options.Shuffle = false;
            var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(keyed);
            loss = model.Model.History[^1].TrainLoss;
            return model.Model.GetWeights(0).ToArray();
        }
        CollectionAssert.AreEqual(Train(1, out double loss1), Train(4, out double loss4));
        Assert.AreEqual(loss1, loss4, 1e-12 * loss1);
    }

    [TestMethod]
    public void ZeroWeightRowsDoNotContribute()
    {
        var ml = new MLContext(1);
        var rows = Synthetic.Blobs(90);
        var extra = Synthetic.Blobs(30, seed: 9).Select(r => { r.Weight = 0; r.Label = "c"; return r; });
        IDataView Keyed(IEnumerable<Synthetic.ClassRow> data)
        {
            var view = ml.Data.LoadFromEnumerable(data);
            return ml.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
                .Fit(view).Transform(view);
        }
        NeuralNetworkModelParameters Train(IDataView data)
        {
            var options = Options(1000, epochs: 3); // full batch, so both runs see the same valid rows in each update
            options.ExampleWeightColumnName = "Weight";
            options.Optimizer = NeuralNetworkOptimizer.Sgd;
            options.LearningRate = 0.1f;
            return ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data).Model;
        }
        var plain = Train(Keyed(rows));
        var padded = Train(Keyed(rows.Concat(extra)));
        var expected = plain.GetWeights(1).ToArray();
        var actual = padded.GetWeights(1).ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], actual[i], 1e-6f);
        Assert.AreEqual(plain.History[^1].TrainLoss, padded.History[^1].TrainLoss, 1e-6);
    }

    [TestMethod]
    public void ReportedTrainLossIsTheMeanLossOverRows()
    {
        // With a vanishing learning rate the weights stay put, so the epoch's mean loss must equal the log-loss that
        // ML.NET's evaluator computes from our probabilities on the same rows.
        var ml = new MLContext(1);
        var data = Synthetic.BlobsView(ml, 300);
        var options = Options(64);
        options.Optimizer = NeuralNetworkOptimizer.Sgd;
        options.LearningRate = 1e-12f;
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data));
        Assert.AreEqual(metrics.LogLoss, model.Model.History[^1].TrainLoss, 1e-5);
    }

    [TestMethod]
    [DataRow(10, 10)]
    [DataRow(50, 2)]
    public void L2ShrinksWeightsByTheSameFactorPerUpdateWhateverTheBatchSize(int batchSize, int updates)
    {
        // Zero features give zero data gradient on the first layer, so only the L2 term moves it:
        // each SGD update multiplies W by (1 − lr·λ), and an epoch makes ceil(N / batch) updates.
        var ml = new MLContext(1);
        var rows = Enumerable.Range(0, 100).Select(i => new Synthetic.RegressionRow { Features = new float[4], Label = i % 7 });
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [3], BatchSize = batchSize, Epochs = 1, Seed = 11, Optimizer = NeuralNetworkOptimizer.Sgd,
            LearningRate = 0.1f, L2Regularization = 0.5f, Shuffle = false,
        };
        var model = ml.Regression.Trainers.NeuralNetwork(options).Fit(ml.Data.LoadFromEnumerable(rows));
        var layout = new MlNetMiniBatch.Network.NetworkLayout(new[] { 4, 3, 1 });
        var initial = new float[layout.ParameterCount];
        MlNetMiniBatch.Network.WeightInitializer.Initialize(layout, NeuralNetworkActivation.ReLU, initial, new Random(11));
        var start = layout.Weights((ReadOnlySpan<float>)initial, 0).ToArray();
        var end = model.Model.GetWeights(0).ToArray();
        Assert.AreEqual(updates, model.Model.History[0].Iterations);
        for (int i = 0; i < start.Length; i++)
            Assert.AreEqual(start[i] * Math.Pow(1 - 0.1 * 0.5, updates), end[i], 1e-5 * Math.Abs(start[i]));
    }

    [TestMethod]
    public void TrainingStreamsFromTheCursorWithoutCopyingTheData()
    {
        // 200,000 rows × 50 features is 40 MB as floats; training must allocate a small fraction of that.
        var ml = new MLContext(1);
        var data = new GeneratedDataView(200_000, 50, canShuffle: false);
        var options = new NeuralNetworkOptions { HiddenLayers = [16], BatchSize = 256, Epochs = 1, Seed = 1, Shuffle = false };
        var trainer = ml.MulticlassClassification.Trainers.NeuralNetwork(options);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var model = trainer.Fit(data);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.AreEqual(200_000, model.Model.History[0].Rows);
        Assert.IsLessThan(4_000_000, allocated, $"allocated {allocated:N0} bytes");
    }

    [TestMethod]
    public void DivergingLossStopsWithAdviceToLowerTheLearningRate()
    {
        var ml = new MLContext(1);
        var options = Options(8);
        options.Optimizer = NeuralNetworkOptimizer.Sgd;
        options.LearningRate = 1e12f;
        var error = Assert.ThrowsExactly<InvalidOperationException>(
            () => ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(Synthetic.BlobsView(ml, 200)));
        StringAssert.Contains(error.Message, "Lower the learning rate");
        StringAssert.Contains(error.Message, "LearningRate");
    }

    [TestMethod]
    public void RegressionLearnsWhateverTheLabelScale()
    {
        // The label is standardized for training and mapped back for scoring, so default Adam settings work at 1e5.
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(Synthetic.Regression(2000, scale: 1e5f));
        var test = ml.Data.LoadFromEnumerable(Synthetic.Regression(500, seed: 2, scale: 1e5f));
        var options = new NeuralNetworkOptions { HiddenLayers = [32], Epochs = 20, Seed = 1 };
        var model = ml.Regression.Trainers.NeuralNetwork(options).Fit(ml.Data.Cache(train));
        var metrics = ml.Regression.Evaluate(model.Transform(test));
        Assert.IsGreaterThan(0.9, metrics.RSquared);
        Assert.AreEqual(metrics.MeanSquaredError, model.Model.History[^1].TrainLoss, 0.5 * metrics.MeanSquaredError,
            "train loss is reported in label units, so it is comparable to the evaluator's MSE");
    }
}
