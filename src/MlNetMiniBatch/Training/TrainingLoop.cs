using System.Diagnostics;
using Microsoft.ML.Runtime;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Owns epochs: each epoch opens a cursor (shuffled with seed + epoch when the data can shuffle), and for each batch
/// runs forward → loss → backward → optimizer step. The reader owns rows and batching; the network owns the maths.
/// </summary>
internal sealed class TrainingLoop
{
    private readonly NeuralNetworkTask _task;
    private readonly NeuralNetworkOptions _options;
    private readonly IChannel _channel;
    private readonly int _seed;
    private readonly int _threads;

    public TrainingLoop(NeuralNetworkTask task, NeuralNetworkOptions options, IChannel channel, int seed)
    {
        _task = task;
        _options = options;
        _channel = channel;
        _seed = seed;
        _threads = options.EffectiveThreads;
    }

    public NeuralNetworkModelParameters Train(IDataView train, TrainingColumns columns, IDataView? validation,
        TrainingColumns? validationColumns, NeuralNetworkModelParameters? initialModel)
    {
        var (layout, activation, parameters) = StartingPoint(columns, initialModel);
        var (labelMean, labelStd) = initialModel is not null ? (initialModel.LabelMean, initialModel.LabelStandardDeviation)
            : _task == NeuralNetworkTask.Regression ? DataScans.LabelStatistics(train, columns) : (0f, 1f);
        var network = new MultilayerPerceptron(layout, activation);
        var optimizer = Optimizer.Create(_options, layout);
        float l2 = optimizer.WantsL2InGradient ? _options.EffectiveL2 : 0f;
        float learningRate = _options.EffectiveLearningRate;
        bool shuffle = _options.Shuffle && train.CanShuffle;
        if (_options.Shuffle && !train.CanShuffle)
            _channel.Warning(MessageSensitivity.None,
                "The training data cannot be shuffled, so every epoch reads the rows in the same order. Add " +
                "AppendCacheCheckpoint(mlContext) before the trainer (or mlContext.Data.Cache(data)) to shuffle, or set Shuffle = false to silence this warning.");

        long knownRows = train.GetRowCount() ?? long.MaxValue;
        var batch = new Batch((int)Math.Min(Math.Min(_options.BatchSize, knownRows), 1024), layout.InputSize);
        var buffers = new LayerBuffers(layout, batch.Capacity);
        var gradient = new float[layout.ParameterCount];
        var logitGradient = new float[batch.Capacity * layout.OutputSize];
        float lossScale = labelStd * labelStd; // regression loss is reported in label units
        var history = new List<EpochSummary>(_options.Epochs);

        for (int epoch = 1; epoch <= _options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            int iterations = 0;
            long rows = 0, skipped;
            double lossSum = 0, weightSum = 0;
            using (var reader = new BatchReader(train, columns, shuffle ? new Random(unchecked(_seed + epoch)) : null,
                       _options.SkipInvalidRows, labelMean, labelStd))
            {
                while (ReadOrReport(reader, batch, _options.BatchSize, train, columns, "training"))
                {
                    if (batch.Count < _options.BatchSize && _options.DropLastPartialBatch)
                        break;
                    double batchWeight = batch.TotalWeight();
                    if (batchWeight <= 0)
                        continue;
                    buffers.EnsureCapacity(batch.Count);
                    if (logitGradient.Length < batch.Count * layout.OutputSize)
                        logitGradient = new float[batch.Capacity * layout.OutputSize];

                    var logits = network.Forward(parameters, batch.FeatureRows, batch.Count, buffers, _threads);
                    double batchLoss = Losses.Compute(_task, logits, batch.Targets, batch.Weights, batch.Count, layout.OutputSize,
                        batchWeight, logitGradient);
                    if (!double.IsFinite(batchLoss))
                        throw Diverged(epoch, iterations + 1, learningRate);
                    network.Backward(parameters, batch.FeatureRows, batch.Count, buffers, logitGradient, gradient, l2, _threads);
                    optimizer.Step(parameters, gradient, learningRate);

                    iterations++;
                    rows += batch.Count;
                    lossSum += batchLoss;
                    weightSum += batchWeight;
                }
                skipped = reader.SkippedRows;
            }
            if (epoch == 1)
                CheckTrainedSomething(rows, skipped);
            if (skipped > 0 && epoch == 1)
                _channel.Warning(MessageSensitivity.None,
                    $"Skipped {skipped} training rows with NaN or infinite features, a missing label or an invalid weight (SkipInvalidRows = true).");
            double? validationLoss = validation is null ? null
                : lossScale * MeanLoss(network, parameters, validation, validationColumns!, labelMean, labelStd, batch, buffers);
            var summary = new EpochSummary(epoch, iterations, rows, weightSum > 0 ? lossScale * lossSum / weightSum : double.NaN,
                validationLoss, clock.Elapsed);
            history.Add(summary);
            _channel.Info(MessageSensitivity.None, $"NeuralNetwork {summary} ({epoch}/{_options.Epochs}).");
        }
        return new NeuralNetworkModelParameters(_task, layout, activation, parameters, columns.ClassValues ?? initialModel?.ClassValues,
            labelMean, labelStd, history);
    }

    /// <summary>Random initial weights, or a copy of the warm-start model's.</summary>
    private (NetworkLayout, NeuralNetworkActivation, float[]) StartingPoint(TrainingColumns columns, NeuralNetworkModelParameters? initial)
    {
        int outputs = _task == NeuralNetworkTask.MulticlassClassification ? columns.ClassCount : 1;
        if (initial is not null)
        {
            WarmStart.Check(initial, _task, columns, outputs);
            return (initial.Layout, initial.Activation, initial.Parameters.ToArray());
        }
        var layout = new NetworkLayout([columns.FeatureCount, .. _options.HiddenLayers, outputs]);
        var parameters = new float[layout.ParameterCount];
        WeightInitializer.Initialize(layout, _options.Activation, parameters, new Random(_seed));
        return (layout, _options.Activation, parameters);
    }

    /// <summary>Reads the next batch; at an invalid row, scans the data once more to report how many rows are bad.</summary>
    private static bool ReadOrReport(BatchReader reader, Batch batch, int batchSize, IDataView data, TrainingColumns columns, string dataName)
    {
        try
        {
            return reader.Read(batch, batchSize);
        }
        catch (InvalidRowException)
        {
            throw DataScans.InvalidRows(data, columns, dataName);
        }
    }

    /// <summary>Example-weighted mean loss over a whole data view, read batch by batch (no gradient).</summary>
    private double MeanLoss(MultilayerPerceptron network, float[] parameters, IDataView data, TrainingColumns columns,
        float labelMean, float labelStd, Batch batch, LayerBuffers buffers)
    {
        double lossSum = 0, weightSum = 0;
        using var reader = new BatchReader(data, columns, shuffle: null, _options.SkipInvalidRows, labelMean, labelStd);
        while (ReadOrReport(reader, batch, _options.BatchSize, data, columns, "validation"))
        {
            var logits = network.Forward(parameters, batch.FeatureRows, batch.Count, buffers, _threads);
            lossSum += Losses.Compute(_task, logits, batch.Targets, batch.Weights, batch.Count, network.Layout.OutputSize, 1, Span<float>.Empty);
            weightSum += batch.TotalWeight();
        }
        return weightSum > 0 ? lossSum / weightSum : double.NaN;
    }

    private void CheckTrainedSomething(long rows, long skipped)
    {
        if (rows > 0)
            return;
        if (skipped > 0)
            throw new InvalidOperationException($"All {skipped} training rows were skipped as invalid (NaN or infinite features, missing labels or invalid weights); there is nothing to train on.");
        if (_options.DropLastPartialBatch)
            throw new InvalidOperationException($"The training data has fewer rows than BatchSize ({_options.BatchSize}) and DropLastPartialBatch is true, so no batch was trained. Lower BatchSize or set DropLastPartialBatch = false.");
        throw new InvalidOperationException("The training data has no rows (or all rows have zero weight). Check the data source and any filters before the trainer.");
    }

    private static InvalidOperationException Diverged(int epoch, int batch, float learningRate) => new(
        $"Training diverged: the loss became NaN or infinite in epoch {epoch}, batch {batch}. Lower the learning rate " +
        $"(LearningRate is {learningRate}; try {learningRate / 10}), and check that the features are normalized " +
        "(mlContext.Transforms.NormalizeMinMax or NormalizeMeanVariance).");
}
