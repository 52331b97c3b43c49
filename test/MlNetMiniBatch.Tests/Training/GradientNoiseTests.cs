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
        {
            Assert.IsGreaterThan(analytic / 2, measured, $"measured {measured:G3}, analytic {analytic:G3}");
            Assert.IsLessThan(analytic * 2, measured, $"measured {measured:G3}, analytic {analytic:G3}");
        }
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
        var estimator = new MlNetMiniBatch.Training.GradientNoiseEstimator(parameters);
        estimator.StartEpoch();
        var random = new Random(9);
        var gradient = new float[parameters];
        for (int batch = 0; batch < 800; batch++)
        {
            for (int j = 0; j < parameters; j++)
                gradient[j] = (float)(truth[j] + sigma * Synthetic.Gaussian(random) / Math.Sqrt(batchSize));
            estimator.Add(gradient, batchSize);
        }
        double measured = estimator.EpochEstimate()!.Value;
        Assert.AreEqual(expected, measured, 0.1 * expected, $"measured {measured:G4}, expected {expected:G4}");
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
    }
}
