using Microsoft.ML;
using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>
/// The measured gradient noise scale against B_simple = tr(Σ)/|G|² computed directly from every row's gradient at the
/// same weights. A linear model is first trained near its optimum (where label noise matters: there the clean problem's
/// rows still agree, B ≈ features + 1, while the noisy one's disagree, B ≫ that), then one more epoch at a learning
/// rate of 1e-9 measures the noise scale without moving the weights, so both computations look at the same point.
/// The measuring batch size is chosen near each problem's own scale, where the estimator's variance is small.
/// </summary>
[TestClass]
public sealed class GradientNoiseTests
{
    private const int Features = 10, Rows = 50_000;

    /// <summary>On B_simple, as for the networks with hidden layers (HiddenLayerNoiseScaleTests).</summary>
    private const double Tolerance = 0.15;

    private static Synthetic.RegressionRow[] LinearRows(float labelNoise)
    {
        var random = new Random(3);
        var truth = Enumerable.Range(0, Features).Select(_ => Synthetic.Gaussian(random)).ToArray();
        return Enumerable.Range(0, Rows).Select(_ =>
        {
            var x = Enumerable.Range(0, Features).Select(_ => Synthetic.Gaussian(random)).ToArray();
            float y = x.Zip(truth, (a, b) => a * b).Sum() + labelNoise * Synthetic.Gaussian(random);
            return new Synthetic.RegressionRow { Features = x, Label = y };
        }).ToArray();
    }

    private sealed class WideRow
    {
        public float Label { get; set; }
        [Microsoft.ML.Data.VectorType(GradientNoiseTests.Features)] public float[] Features { get; set; } = [];
    }

    private static (double Measured, double Analytic, NeuralNetworkModelParameters Model) Measure(float labelNoise, int batchSize)
    {
        var rows = LinearRows(labelNoise).Select(r => new WideRow { Label = r.Label, Features = r.Features }).ToArray();
        var ml = new MLContext(1);
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows));
        var trained = ml.Regression.Trainers.NeuralNetwork(new NeuralNetworkOptions { HiddenLayers = [], Epochs = 1, Seed = 5 }).Fit(data).Model;
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [], BatchSize = batchSize, Epochs = 1, Seed = 5, Optimizer = NeuralNetworkOptimizer.Sgd, LearningRate = 1e-9f,
            MeasureGradientNoise = true,
        };
        var model = ml.Regression.Trainers.NeuralNetwork(options).Fit(data, trained).Model;

        // Per-row gradients of (z − t)² for the linear model z = w·x + b at the measured weights, t the standardized label.
        var weights = trained.Parameters.ToArray();
        double mean = rows.Average(r => (double)r.Label);
        double std = Math.Sqrt(rows.Average(r => Math.Pow(r.Label - mean, 2)));
        var gradients = rows.Select(r =>
        {
            double z = weights[Features] + r.Features.Select((x, j) => (double)x * weights[j]).Sum();
            double residual = 2 * (z - (r.Label - mean) / std);
            return r.Features.Select(x => residual * x).Append(residual).ToArray();
        }).ToArray();
        var g = Enumerable.Range(0, Features + 1).Select(j => gradients.Average(row => row[j])).ToArray();
        double trace = gradients.Average(row => row.Select((v, j) => (v - g[j]) * (v - g[j])).Sum());
        double analytic = trace / g.Sum(v => v * v);
        return (model.History[0].GradientNoiseScale!.Value, analytic, model);
    }

    [TestMethod]
    public void NoisyLabelsHaveALargerNoiseScaleAndBothMatchTheDirectComputation()
    {
        var clean = Measure(labelNoise: 0, batchSize: 8);
        var noisy = Measure(labelNoise: 3, batchSize: 256);
        Assert.IsGreaterThan(clean.Measured * 2, noisy.Measured, $"noisy {noisy.Measured:G3} vs clean {clean.Measured:G3}");
        foreach (var (measured, analytic, _) in new[] { clean, noisy })
            Assert.AreEqual(analytic, measured, Tolerance * analytic, $"measured {measured:G4}, analytic {analytic:G4}");
    }

    [TestMethod]
    public void TheParameterSampleKeepsTheRatioOnAManyParameterGradient()
    {
        // Batch gradients g = G + ε/√b with ε ~ N(0, σ²) per coordinate: B_simple = P·σ² / |G|². G is uneven across
        // the parameters (large in the first half), so a sample that missed parts of the vector would show.
        const int parameters = 20_000, batchSize = 32;
        const double sigma = 4;
        var truth = Enumerable.Range(0, parameters).Select(j => j < parameters / 2 ? 1.0 : 0.1).ToArray();
        double expected = parameters * sigma * sigma / truth.Sum(v => v * v);
        var estimator = new MlNetMiniBatch.Training.GradientNoiseEstimator(parameters, seed: 1);
        estimator.StartEpoch(1);
        var random = new Random(9);
        var gradient = new float[parameters];
        for (int batch = 0; batch < 800; batch++)
        {
            for (int j = 0; j < parameters; j++)
                gradient[j] = (float)(truth[j] + sigma * Synthetic.Gaussian(random) / Math.Sqrt(batchSize));
            estimator.Add(gradient, batchSize);
        }
        double measured = estimator.EpochEstimate(long.MaxValue)!.Value;
        Assert.AreEqual(expected, measured, 0.1 * expected, $"measured {measured:G4}, expected {expected:G4}");
    }

    /// <summary>The trainer's estimator reads each gradient inside the optimizer's step, split across the threads: the
    /// estimate has the bits of one read of each whole gradient, with every parameter measured (a model between the
    /// step's parallel threshold and FullSampleLimit) and with the block sample (above it, with a ragged last block).</summary>
    [TestMethod]
    [DataRow(40_003)]
    [DataRow(235_146)]
    public void TheEstimateReadInsideASplitStepHasTheBitsOfOneReadOfEachWholeGradient(int parameters)
    {
        Assert.IsGreaterThan(MlNetMiniBatch.Optimizers.Optimizer.ParallelThreshold, parameters);
        var random = new Random(4);
        var truth = Enumerable.Range(0, parameters).Select(_ => (float)Synthetic.Gaussian(random)).ToArray();
        var gradients = Enumerable.Range(0, 32)
            .Select(_ => truth.Select(t => t + (float)(3 * Synthetic.Gaussian(random))).ToArray()).ToArray();

        MlNetMiniBatch.Training.GradientNoiseEstimator Estimator()
        {
            var estimator = new MlNetMiniBatch.Training.GradientNoiseEstimator(parameters, seed: 1);
            Assert.AreEqual(parameters <= MlNetMiniBatch.Training.GradientNoiseEstimator.FullSampleLimit, estimator.SamplesAllParameters);
            estimator.StartEpoch(1);
            return estimator;
        }

        var whole = Estimator();
        foreach (var gradient in gradients)
            whole.Add(gradient, batchSize: 64);
        foreach (int threads in new[] { 1, 2, 3 })
        {
            var inStep = Estimator();
            var optimizer = new MlNetMiniBatch.Optimizers.SgdOptimizer(parameters, momentum: 0.9f, nesterov: false);
            var weights = new float[parameters];
            long before = MlNetMiniBatch.Kernels.WorkerPool.Shared.DispatchedBatches;
            foreach (var gradient in gradients)
            {
                optimizer.Step(weights, (float[])gradient.Clone(), 0.01f, threads, observer: inStep);
                inStep.EndBatch(batchSize: 64);
            }
            if (threads > 1 && Environment.ProcessorCount > 1)
                Assert.AreEqual(gradients.Length, MlNetMiniBatch.Kernels.WorkerPool.Shared.DispatchedBatches - before, $"{threads} threads: each step was split");
            Assert.AreEqual(whole.EpochEstimate(long.MaxValue), inStep.EpochEstimate(long.MaxValue), $"{threads} threads: the same estimate");
        }
        Assert.IsNotNull(whole.EpochEstimate(long.MaxValue));
    }

    [TestMethod]
    public void TheModelSuggestsABatchSizeAndSaysWhy()
    {
        var (measured, _, model) = Measure(labelNoise: 3, batchSize: 256);
        Assert.AreEqual((int)Math.Round(measured), model.SuggestedBatchSize);
        StringAssert.Contains(model.SuggestedBatchSizeExplanation!, model.SuggestedBatchSize!.Value.ToString());
        StringAssert.Contains(model.History[0].ToString(), "noise scale");

        var ml = new MLContext(1);
        var plain = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions { Epochs = 1, Seed = 1 })
            .Fit(Synthetic.BlobsView(ml, 60)).Model;
        Assert.IsNull(plain.History[0].GradientNoiseScale);
        Assert.IsNull(plain.SuggestedBatchSize);
        Assert.IsNull(plain.NoiseScaleAtLoss(double.MaxValue));
    }

    [TestMethod]
    [DataRow(0f)]
    [DataRow(0.25f)]
    public void NoiseScaleAtLossReadsTheFirstEpochThatReachedTheLoss(float validationFraction)
    {
        var ml = new MLContext(1);
        var options = new NeuralNetworkOptions { HiddenLayers = [8], Epochs = 4, BatchSize = 16, Seed = 2, MeasureGradientNoise = true,
            ValidationFraction = validationFraction };
        var model = ml.Regression.Trainers.NeuralNetwork(options).Fit(ml.Data.LoadFromEnumerable(Synthetic.Regression(2000))).Model;
        var history = model.History;
        double Loss(EpochSummary e) => validationFraction > 0 ? e.ValidationLoss!.Value : e.TrainLoss;
        // Later epochs may read null (|G|² lost in the noise near convergence); the two this test reads must have one.
        Assert.IsTrue(history.Take(2).All(h => h.GradientNoiseScale is > 0), string.Join("; ", history));
        Assert.IsLessThan(Loss(history[0]), Loss(history[1]), "the loss falls after the first epoch");

        // A level first reached in epoch 2 reads epoch 2's noise scale, though later epochs went lower still.
        Assert.AreEqual(history[1].GradientNoiseScale, model.NoiseScaleAtLoss(Loss(history[1])));
        Assert.AreEqual(history[0].GradientNoiseScale, model.NoiseScaleAtLoss(double.MaxValue));
        Assert.IsNull(model.NoiseScaleAtLoss(history.Min(Loss) / 2), "a loss never reached");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.NoiseScaleAtLoss(double.NaN));

        // The suggestion is the last measured epoch's, and says so.
        var lastMeasured = history.Last(h => h.GradientNoiseScale is not null);
        Assert.AreEqual((int)Math.Round(lastMeasured.GradientNoiseScale!.Value), model.SuggestedBatchSize);
        StringAssert.Contains(model.SuggestedBatchSizeExplanation!, $"epoch ({lastMeasured.Epoch}, {(validationFraction > 0 ? "validation" : "training")} loss");
        StringAssert.Contains(model.SuggestedBatchSizeExplanation!, "NoiseScaleAtLoss");
    }

    [TestMethod]
    public void TheEstimateIsTheTrainingSetsOwnEvenWhenTheNoiseScaleIsASizeablePartOfTheRows()
    {
        // 2,000 row gradients G + ε_i with B_simple ≈ 600: a batch of 256 (the big batch of 4 × 64) drawn without
        // replacement is then much less noisy than tr(Σ)/256, and the textbook 1/b factors would read B 1/(1 − B/N) ≈ 1.4× high.
        const int rows = 2000, parameters = 64, batchSize = 64;
        var random = new Random(4);
        var perRow = Enumerable.Range(0, rows).Select(_ =>
            Enumerable.Range(0, parameters).Select(_ => 1 + 25 * Synthetic.Gaussian(random)).ToArray()).ToArray();
        var mean = Enumerable.Range(0, parameters).Select(j => perRow.Average(g => (double)g[j])).ToArray();
        double trace = perRow.Average(g => g.Select((v, j) => (v - mean[j]) * (v - mean[j])).Sum());
        double exact = trace / mean.Sum(v => v * v);

        var estimator = new MlNetMiniBatch.Training.GradientNoiseEstimator(parameters, seed: 1);
        estimator.StartEpoch(1);
        var order = Enumerable.Range(0, rows).ToArray();
        var gradient = new float[parameters];
        int batches = rows / batchSize / 4 * 4;
        for (int pass = 0; pass < 300; pass++)
        {
            random.Shuffle(order);
            for (int b = 0; b < batches; b++)
            {
                Array.Clear(gradient);
                foreach (int r in order.AsSpan(b * batchSize, batchSize))
                    for (int j = 0; j < parameters; j++)
                        gradient[j] += perRow[r][j] / batchSize;
                estimator.Add(gradient, batchSize);
            }
        }
        double measured = estimator.EpochEstimate(rows)!.Value;
        Assert.IsGreaterThan(0.2, exact / rows, $"B/N = {exact / rows:G3}: the finite-population case");
        Assert.AreEqual(exact, measured, 0.05 * exact, $"measured {measured:G4}, exact {exact:G4}");
    }

    [TestMethod]
    public void TheBlockSampleMovesEveryEpochSoItFindsNoiseThatAFixedSampleWouldMiss()
    {
        // Noise only in the fourth 16-float block of every 8: a sample that always took the same block of each stride
        // would see none of it (or, taking that block, 8 times too much). G = 1 everywhere, so B_simple = (P/8)·σ²/P.
        const int parameters = 100_000, batchSize = 32, epochs = 8;
        const double sigma = 4;
        Assert.IsGreaterThan(MlNetMiniBatch.Training.GradientNoiseEstimator.FullSampleLimit, parameters, "large enough to be sampled");
        double expected = sigma * sigma / 8;
        var estimator = new MlNetMiniBatch.Training.GradientNoiseEstimator(parameters, seed: 1);
        var random = new Random(9);
        var gradient = new float[parameters];
        var perEpoch = new double[epochs];
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            estimator.StartEpoch(epoch + 1);
            for (int batch = 0; batch < 200; batch++)
            {
                for (int j = 0; j < parameters; j++)
                    gradient[j] = (j / 16 % 8 == 3) ? (float)(1 + sigma * Synthetic.Gaussian(random) / Math.Sqrt(batchSize)) : 1f;
                estimator.Add(gradient, batchSize);
            }
            perEpoch[epoch] = estimator.EpochEstimate(long.MaxValue)!.Value;
        }
        Assert.AreEqual(expected, perEpoch.Average(), 0.1 * expected, $"per epoch {string.Join(", ", perEpoch.Select(v => v.ToString("G3")))}");
        Assert.IsGreaterThan(1, perEpoch.Distinct().Count(), "the sample changes from epoch to epoch");
    }
}
