using MlNetMiniBatch.Network;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>
/// Gradients of a trained model's loss at its weights, frozen: each row's (for the exact B_simple = tr(Σ)/|G|²) and each
/// batch's (what the estimator is fed), both through the network's own Forward/Backward and loss, so the two computations
/// see the same function at the same point.
/// </summary>
internal sealed class FrozenGradients
{
    private readonly NeuralNetworkModelParameters _model;
    private readonly float[] _parameters, _features, _targets;
    private readonly int _inputs;
    private LayerBuffers _buffers;
    private float[] _batchFeatures = [], _batchTargets = [], _weights = [], _logitGradient = [];

    /// <param name="features">Rows × inputs, row-major.</param>
    /// <param name="targets">As the loss takes them: class index, 0/1, or the regression label (standardized here).</param>
    public FrozenGradients(NeuralNetworkModelParameters model, float[] features, float[] targets)
    {
        _model = model;
        _parameters = model.Parameters.ToArray();
        _inputs = model.InputSize;
        _features = features;
        _targets = model.Task == NeuralNetworkTask.Regression
            ? targets.Select(t => (t - model.LabelMean) / model.LabelStandardDeviation).ToArray() : targets;
        _buffers = new LayerBuffers(model.Layout, model.Activation, 1);
    }

    public int Rows => _targets.Length;

    public int ParameterCount => _parameters.Length;

    /// <summary>tr(Σ)/|G|² over every row: G the mean row gradient, Σ the rows' covariance (divided by N).</summary>
    public double ExactNoiseScale()
    {
        var sum = new double[ParameterCount];
        var gradient = new float[ParameterCount];
        double squares = 0;
        for (int r = 0; r < Rows; r++)
        {
            BatchGradient([r], gradient);
            for (int j = 0; j < gradient.Length; j++)
            {
                sum[j] += gradient[j];
                squares += (double)gradient[j] * gradient[j];
            }
        }
        double meanSquare = 0;
        foreach (double s in sum)
            meanSquare += s / Rows * (s / Rows);
        return (squares / Rows - meanSquare) / meanSquare;
    }

    /// <summary>The estimate pooled over <paramref name="passes"/> shuffled passes at the frozen weights, in one
    /// estimator epoch: a single pass over a few thousand rows is too noisy to check against a 15% tolerance.</summary>
    public double PooledEstimate(int batchSize, int passes, int seed) =>
        EpochEstimates(batchSize, epochs: 1, passes, seed, new GradientNoiseEstimator(ParameterCount, seed))[0][0];

    /// <summary>Feeds every estimator the same batch gradients: <paramref name="epochs"/> estimator epochs of
    /// <paramref name="passesPerEpoch"/> shuffled passes each, whole batch groups only (so no group straddles two passes).
    /// Returns [estimator][epoch].</summary>
    public double[][] EpochEstimates(int batchSize, int epochs, int passesPerEpoch, int seed, params GradientNoiseEstimator[] estimators)
    {
        var random = new Random(seed);
        var order = Enumerable.Range(0, Rows).ToArray();
        var gradient = new float[ParameterCount];
        int batches = Rows / batchSize / GradientNoiseEstimator.BatchesPerGroup * GradientNoiseEstimator.BatchesPerGroup;
        var estimates = estimators.Select(_ => new double[epochs]).ToArray();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            foreach (var estimator in estimators)
                estimator.StartEpoch(epoch + 1);
            for (int pass = 0; pass < passesPerEpoch; pass++)
            {
                random.Shuffle(order);
                for (int b = 0; b < batches; b++)
                {
                    BatchGradient(order.AsSpan(b * batchSize, batchSize), gradient);
                    foreach (var estimator in estimators)
                        estimator.Add(gradient, batchSize);
                }
            }
            for (int e = 0; e < estimators.Length; e++)
                estimates[e][epoch] = estimators[e].EpochEstimate(Rows) ?? double.NaN;
        }
        return estimates;
    }

    /// <summary>The mean gradient of the given rows, as training computes a batch's.</summary>
    public void BatchGradient(ReadOnlySpan<int> rows, Span<float> gradient)
    {
        int n = rows.Length, outputs = _model.OutputSize;
        if (_weights.Length < n)
        {
            _batchFeatures = new float[n * _inputs];
            _batchTargets = new float[n];
            _weights = Enumerable.Repeat(1f, n).ToArray();
            _logitGradient = new float[n * outputs];
            _buffers = new LayerBuffers(_model.Layout, _model.Activation, n);
        }
        for (int i = 0; i < n; i++)
        {
            _features.AsSpan(rows[i] * _inputs, _inputs).CopyTo(_batchFeatures.AsSpan(i * _inputs));
            _batchTargets[i] = _targets[rows[i]];
        }
        var logits = _model.Network.Forward(_parameters, _batchFeatures, n, _buffers, threads: 1);
        TrainingTask.For(_model.Task).Loss(logits, _batchTargets, _weights, n, outputs, n, _logitGradient);
        _model.Network.Backward(_parameters, _batchFeatures, n, _buffers, _logitGradient, gradient, threads: 1);
    }
}
