using System.Diagnostics;
using Microsoft.ML.Runtime;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;
using MlNetMiniBatch.Persistence;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Owns epochs: picks each epoch's learning rate, runs the epoch, evaluates on validation rows, then decides —
/// best epoch, early stopping, the user's callback — logs, reports progress and writes the checkpoint.
/// The <see cref="EpochRunner"/> owns batches; the reader owns rows.
/// </summary>
internal sealed class TrainingLoop
{
    private readonly NeuralNetworkTask _task;
    private readonly NeuralNetworkOptions _options;
    private readonly IChannel _channel;

    public TrainingLoop(NeuralNetworkTask task, NeuralNetworkOptions options, IChannel channel)
    {
        _task = task;
        _options = options;
        _channel = channel;
    }

    public NeuralNetworkModelParameters Train(IDataView train, TrainingColumns columns, IDataView? validation,
        TrainingColumns? validationColumns, NeuralNetworkModelParameters? initialModel, int seed)
    {
        _options.ValidateFor(_task, columns.ClassCount, validation is not null);
        var checkpoint = _options.ResumeFromCheckpoint ? Checkpoint.TryRead(_options.CheckpointDirectory!) : null;
        if (checkpoint is not null)
            seed = checkpoint.Seed;
        var start = checkpoint?.Model ?? initialModel;
        bool warmStart = checkpoint is not null ? checkpoint.Model.TrainingOptions?.WarmStart ?? false : initialModel is not null;
        var trainingOptions = TrainingOptionsSummary.From(_options, seed, warmStart);
        var (layout, activation, parameters) = StartingPoint(columns, start, seed);
        var (labelMean, labelStd) = start is not null ? (start.LabelMean, start.LabelStandardDeviation)
            : _task == NeuralNetworkTask.Regression ? DataScans.LabelStatistics(train, columns) : (0f, 1f);
        string configuration = Configuration(layout, activation);
        if (checkpoint is not null && checkpoint.Configuration != configuration)
            throw new InvalidOperationException(
                $"The checkpoint in '{_options.CheckpointDirectory}' was written by a different configuration ({checkpoint.Configuration}; now {configuration}). " +
                "Resume with the same options, or delete the checkpoint to start over.");

        var network = new MultilayerPerceptron(layout, activation);
        var optimizer = Optimizer.Create(_options, layout);
        var monitor = new MetricMonitor(_options.EarlyStoppingMetric, _options.EarlyStoppingMinDelta);
        var history = new List<EpochSummary>(checkpoint?.Model.History ?? []);
        float baseRate = _options.EffectiveLearningRate, learningRate = baseRate;
        bool keepBest = _options.EarlyStoppingPatience is not null && _options.RestoreBestWeights;
        float[]? bestParameters = null;
        if (checkpoint is not null)
        {
            optimizer.Steps = checkpoint.OptimizerSteps;
            for (int i = 0; i < checkpoint.OptimizerState.Length; i++)
                checkpoint.OptimizerState[i].CopyTo(optimizer.State[i], 0);
            learningRate = checkpoint.LearningRate;
            (monitor.Best, monitor.BestEpoch, monitor.EpochsWithoutImprovement, monitor.PlateauWait) =
                (checkpoint.BestValue, checkpoint.BestEpoch, checkpoint.EpochsWithoutImprovement, checkpoint.PlateauWait);
            bestParameters = checkpoint.BestParameters;
            _channel.Info(MessageSensitivity.None, $"NeuralNetwork resuming from the checkpoint after epoch {checkpoint.EpochsDone}.");
        }

        var split = _options.ValidationFraction > 0 ? ValidationSplit.Create(train, columns, _task, _options.ValidationFraction, seed) : null;
        var trainSource = new DataSource(train, columns, _options, split, heldOutSide: false, "training");
        var validationSource = validation is not null ? new DataSource(validation, validationColumns!, _options, null, false, "validation")
            : split is not null ? new DataSource(train, columns, _options, split, heldOutSide: true, "held-out validation") : null;
        if (_options.Shuffle && !train.CanShuffle)
            _channel.Warning(MessageSensitivity.None,
                "The training data cannot be shuffled, so every epoch reads the rows in the same order. Add " +
                "AppendCacheCheckpoint(mlContext) before the trainer (or mlContext.Data.Cache(data)) to shuffle, or set Shuffle = false to silence this warning.");

        long? trainingRows = split?.TrainingRows ?? train.GetRowCount();
        var runner = new EpochRunner(_task, _options, network, parameters, optimizer, labelMean, labelStd, seed, trainingRows);
        int firstEpoch = history.Count > 0 ? history[^1].Epoch + 1 : 1;
        var progress = new ProgressReporter(_options.Progress, _options.ProgressInterval, _options.Epochs);
        var stopReason = TrainingStopReason.Completed;
        if (checkpoint?.Model.StopReason is { } previous && previous != TrainingStopReason.Completed)
            stopReason = previous; // the interrupted run had already decided to stop
        for (int epoch = firstEpoch; epoch <= _options.Epochs && stopReason == TrainingStopReason.Completed; epoch++)
        {
            var clock = Stopwatch.StartNew();
            learningRate = _options.LearningRateSchedule?.Rate(epoch, _options.Epochs, baseRate, learningRate, ref monitor.PlateauWait) ?? baseRate;
            int batchSize = AdaptiveBatchSize.For(_options, history);
            float epochRate = (float)(learningRate * AdaptiveBatchSize.LearningRateFactor(_options, history, batchSize));
            progress.StartEpoch(batchSize, BatchesPerEpoch(trainingRows, batchSize));
            var result = runner.Train(trainSource, epoch, batchSize, epochRate, progress);
            if (epoch == firstEpoch)
                ReportFirstEpoch(result);
            var validationMetrics = validationSource is null ? null : runner.Evaluate(validationSource);
            var summary = new EpochSummary(epoch, result.Iterations, result.Rows, epochRate, result.Metrics, validationMetrics,
                clock.Elapsed, result.NoiseScale, batchSize);
            summary.IsBest = monitor.Observe(summary);
            if (summary.IsBest && keepBest)
                bestParameters = (float[])parameters.Clone();
            history.Add(summary);
            _channel.Info(MessageSensitivity.None, $"NeuralNetwork {summary} ({epoch}/{_options.Epochs}).");
            progress.EpochEnd(summary);

            if (_options.EarlyStoppingPatience is { } patience && monitor.EpochsWithoutImprovement >= patience)
                stopReason = TrainingStopReason.EarlyStopping;
            if (_options.OnEpochEnd is { } onEpochEnd)
            {
                var context = new EpochEndContext(summary, history);
                onEpochEnd(context);
                if (context.StopTraining && stopReason == TrainingStopReason.Completed)
                    stopReason = TrainingStopReason.Callback;
            }
            if (_options.CheckpointDirectory is { } directory)
                WriteCheckpoint(directory, configuration, seed, trainingOptions, layout, activation, parameters, columns, labelMean, labelStd, history,
                    stopReason, monitor, optimizer, learningRate, bestParameters);
        }
        if (stopReason != TrainingStopReason.Completed)
            _channel.Info(MessageSensitivity.None, $"NeuralNetwork stopped after epoch {history[^1].Epoch}: {stopReason}; best epoch {monitor.BestEpoch}.");
        if (keepBest && bestParameters is not null)
            parameters = bestParameters;
        return new NeuralNetworkModelParameters(_task, layout, activation, parameters, columns.ClassValues ?? start?.ClassValues,
            labelMean, labelStd, history, stopReason, monitor.BestEpoch, trainingOptions);
    }

    /// <summary>Random initial weights, or a copy of the warm-start (or checkpoint) model's.</summary>
    private (NetworkLayout, NeuralNetworkActivation, float[]) StartingPoint(TrainingColumns columns, NeuralNetworkModelParameters? start, int seed)
    {
        int outputs = _task == NeuralNetworkTask.MulticlassClassification ? columns.ClassCount : 1;
        if (start is not null)
        {
            WarmStart.Check(start, _task, columns, outputs);
            return (start.Layout, start.Activation, start.Parameters.ToArray());
        }
        var layout = new NetworkLayout([columns.FeatureCount, .. _options.HiddenLayers, outputs]);
        var parameters = new float[layout.ParameterCount];
        WeightInitializer.Initialize(layout, _options.Activation, parameters, new Random(seed));
        return (layout, _options.Activation, parameters);
    }

    private int? BatchesPerEpoch(long? rows, int batchSize)
    {
        if (rows is not { } n || _options.SkipInvalidRows)
            return null;
        long batches = _options.DropLastPartialBatch ? n / batchSize : (n + batchSize - 1) / batchSize;
        return (int)Math.Min(batches, int.MaxValue);
    }

    private void ReportFirstEpoch(EpochRunner.TrainResult result)
    {
        if (result.SkippedRows > 0)
            _channel.Warning(MessageSensitivity.None,
                $"Skipped {result.SkippedRows} training rows with NaN or infinite features, a missing label or an invalid weight (SkipInvalidRows = true).");
        if (result.Rows > 0)
            return;
        if (result.SkippedRows > 0)
            throw new InvalidOperationException($"All {result.SkippedRows} training rows were skipped as invalid (NaN or infinite features, missing labels or invalid weights); there is nothing to train on.");
        if (_options.DropLastPartialBatch)
            throw new InvalidOperationException($"The training data has fewer rows than BatchSize ({_options.BatchSize}) and DropLastPartialBatch is true, so no batch was trained. Lower BatchSize or set DropLastPartialBatch = false.");
        throw new InvalidOperationException("The training data has no rows (or all rows have zero weight). Check the data source and any filters before the trainer.");
    }

    /// <summary>What must not change between a run and its resumption: anything that alters the sequence of updates.</summary>
    private string Configuration(NetworkLayout layout, NeuralNetworkActivation activation) =>
        $"{_task} {string.Join('-', layout.Sizes)} {activation} {_options.Optimizer} lr={_options.EffectiveLearningRate} " +
        $"batch={_options.BatchSize} momentum={_options.Momentum} nesterov={_options.Nesterov} l2={_options.EffectiveL2} " +
        $"dropout={_options.Dropout} shuffle={_options.Shuffle} validation={_options.ValidationFraction} clip={_options.GradientClipNorm}" +
        (_options.AdaptiveBatchSize ? $" adaptive-batch={_options.EffectiveMinimumBatchSize}-{_options.EffectiveMaximumBatchSize} lr-scaling={_options.EffectiveLearningRateScaling}" : "");

    private void WriteCheckpoint(string directory, string configuration, int seed, TrainingOptionsSummary trainingOptions, NetworkLayout layout, NeuralNetworkActivation activation,
        float[] parameters, TrainingColumns columns, float labelMean, float labelStd, List<EpochSummary> history, TrainingStopReason stopReason,
        MetricMonitor monitor, Optimizer optimizer, float learningRate, float[]? bestParameters)
    {
        var model = new NeuralNetworkModelParameters(_task, layout, activation, (float[])parameters.Clone(), columns.ClassValues,
            labelMean, labelStd, history.ToArray(), stopReason, monitor.BestEpoch, trainingOptions);
        new Checkpoint
        {
            Configuration = configuration, Seed = seed, Model = model, OptimizerSteps = optimizer.Steps, OptimizerState = optimizer.State,
            LearningRate = learningRate, PlateauWait = monitor.PlateauWait, BestValue = monitor.Best, BestEpoch = monitor.BestEpoch,
            EpochsWithoutImprovement = monitor.EpochsWithoutImprovement, BestParameters = bestParameters,
        }.Write(directory);
    }
}
