using System.Diagnostics;
using Microsoft.ML.Runtime;
using MlNetMiniBatch.Distributed;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;
using MlNetMiniBatch.Persistence;
using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Owns epochs: picks each epoch's learning rate, runs the epoch, evaluates on validation rows, then decides —
/// best epoch, early stopping, the user's callback — logs, reports progress and writes the checkpoint.
/// The <see cref="EpochRunner"/> owns batches; the reader owns rows.
/// </summary>
internal sealed class TrainingLoop
{
    private readonly TrainingTask _task;
    private readonly NeuralNetworkOptions _options;
    private readonly IChannel _channel;

    public TrainingLoop(TrainingTask task, NeuralNetworkOptions options, IChannel channel)
    {
        _task = task;
        _options = options;
        _channel = channel;
    }

    public NeuralNetworkModelParameters Train(IDataView train, TrainingColumns columns, IDataView? validation,
        TrainingColumns? validationColumns, NeuralNetworkModelParameters? initialModel, int seed)
    {
        _options.ValidateFor(_task, columns.ClassCount, validation is not null);
        var group = DataParallel.Start(_options, columns.FeatureCount, columns.TargetCount, _channel);
        try
        {
            return Train(train, columns, validation, validationColumns, initialModel, seed, group);
        }
        catch (Exception e) when (group is not null && !group.StoppingTogether)
        {
            // Only this rank failed: the others would wait for it in their next collective forever.
            group.Fail(e);
            throw;
        }
    }

    private NeuralNetworkModelParameters Train(IDataView train, TrainingColumns columns, IDataView? validation,
        TrainingColumns? validationColumns, NeuralNetworkModelParameters? initialModel, int seed, DataParallel? group)
    {
        string? directory = _options.CheckpointDirectory;
        if (directory is not null)
            Checkpoint.CheckWritable(directory);
        var state = (_options.ResumeFromCheckpoint ? Resume(columns, validation is not null, initialModel) : null)
            ?? Start(train, columns, validation is not null, initialModel, seed);
        seed = state.Seed;
        group?.StartTogether(state, validation is not null || _options.ValidationFraction > 0, directory);

        var network = new MultilayerPerceptron(state.Layout, state.Activation);
        var monitor = new MetricMonitor(_options.EarlyStoppingMetric, _options.EarlyStoppingMinDelta);
        float baseRate = _options.EffectiveLearningRate;
        bool keepBest = _options.EarlyStoppingPatience is not null && _options.RestoreBestWeights;

        var split = _options.ValidationFraction > 0 ? ValidationSplit.Create(train, columns, _task, _options.ValidationFraction, seed, _options.CancellationToken) : null;
        using var trainSource = DataSource.Training(train, columns, _options, split);
        var validationSource = validation is not null ? DataSource.Validation(validation, validationColumns!, _options)
            : split is not null ? DataSource.HeldOut(train, columns, _options, split) : null;
        DataReadException.WhileDealing(() => trainSource.PrepareShuffle(seed, state.TargetScaling, _channel));

        long? trainingRows = trainSource.Streamed?.Rows ?? split?.TrainingRows ?? train.GetRowCount();
        var runner = new EpochRunner(_task, _options, network, state.Parameters, state.Optimizer, state.TargetScaling, columns.TargetCount,
            seed, trainingRows, group);
        int firstEpoch = state.EpochsDone + 1;
        var progress = new ProgressReporter(_options.Progress, _options.ProgressInterval, _options.Epochs);
        for (int epoch = firstEpoch; epoch <= _options.Epochs && state.StopReason == TrainingStopReason.Completed; epoch++)
        {
            var clock = Stopwatch.StartNew();
            state.LearningRate = _options.LearningRateSchedule?.Rate(epoch, _options.Epochs, baseRate, state.LearningRate, ref state.PlateauWait) ?? baseRate;
            int batchSize = AdaptiveBatchSize.For(_options, state.History);
            float epochRate = (float)(state.LearningRate * AdaptiveBatchSize.LearningRateFactor(_options, state.History, batchSize));
            progress.StartEpoch(batchSize, BatchesPerEpoch(trainingRows, batchSize, exact: trainSource.Streamed is not null));
            var result = DataReadException.InEpoch(epoch, () => runner.Train(trainSource, epoch, batchSize, epochRate, progress));
            if (epoch == firstEpoch)
                ReportFirstEpoch(result);
            long skippedValidation = 0;
            var validationMetrics = validationSource is null ? null
                : DataReadException.InEpoch(epoch, () => runner.Evaluate(validationSource, out skippedValidation));
            if (epoch == firstEpoch && validationMetrics is not null)
                ReportSkippedValidation(skippedValidation, validationSource!.Name, validationMetrics);
            var summary = new EpochSummary(epoch, result.Iterations, result.Rows, epochRate, result.Metrics, validationMetrics,
                clock.Elapsed, result.NoiseScale, batchSize);
            summary.IsBest = monitor.Observe(summary, state);
            if (summary.IsBest && keepBest)
                state.BestParameters = (float[])state.Parameters.Clone();
            state.History.Add(summary);
            if (group?.IsRoot != false)
                _channel.Info(MessageSensitivity.None, $"NeuralNetwork {summary} ({epoch}/{_options.Epochs}).");
            progress.EpochEnd(summary);

            if (_options.EarlyStoppingPatience is { } patience && state.EpochsWithoutImprovement >= patience)
                state.StopReason = TrainingStopReason.EarlyStopping;
            bool stopTraining = false;
            if (_options.OnEpochEnd is { } onEpochEnd)
            {
                var context = new EpochEndContext(summary, state.History);
                onEpochEnd(context);
                stopTraining = context.StopTraining;
            }
            // Every rank stops after the same epoch, whichever rank's callback asked.
            if (group is not null)
                stopTraining = group.AnyRank(stopTraining);
            if (stopTraining && state.StopReason == TrainingStopReason.Completed)
                state.StopReason = TrainingStopReason.Callback;
            // A finished run leaves no checkpoint (see below), so its last epoch is not saved. Ranks hold the same
            // state, so rank 0 alone writes it.
            if (directory is not null && group?.IsRoot != false && epoch < _options.Epochs && state.StopReason == TrainingStopReason.Completed)
                Checkpoint.Write(directory, state);
        }
        group?.ReportGradientWaits(_channel);
        // The run ended normally: its checkpoint must not make a later Fit return this model without training, on any
        // data, so it goes (as Keras' BackupAndRestore does). An exception or a cancellation above keeps it.
        if (directory is not null && group?.IsRoot != false)
            Checkpoint.Delete(directory);
        if (state.StopReason != TrainingStopReason.Completed)
            _channel.Info(MessageSensitivity.None, $"NeuralNetwork stopped after epoch {state.EpochsDone}: {state.StopReason}; best epoch {state.BestEpoch}.");
        var model = state.ToModel(keepBest && state.BestParameters is not null ? state.BestParameters : state.Parameters);
        model.ShuffleBytesWritten = trainSource.Streamed?.BytesWritten ?? 0;
        return model;
    }

    /// <summary>A new run: random weights or the initial model's, and a fresh optimizer.</summary>
    private TrainingState Start(IDataView train, TrainingColumns columns, bool hasValidationData, NeuralNetworkModelParameters? initialModel, int seed)
    {
        var (layout, activation, parameters) = StartingPoint(columns, initialModel, seed);
        var scaling = initialModel?.TargetScaling ?? _task.FitTargetScaling(train, columns, _options.CancellationToken);
        return new TrainingState
        {
            Key = TrainingStateKey.For(_task.Kind, _options, columns, hasValidationData, seed), Seed = seed, Task = _task.Kind,
            Layout = layout, Activation = activation, Parameters = parameters, ClassValues = columns.ClassValues ?? initialModel?.ClassValues,
            TargetScaling = scaling,
            TrainingOptions = TrainingOptionsSummary.From(_options, seed, warmStart: initialModel is not null),
            History = [], Optimizer = Optimizer.Create(_options, layout), LearningRate = _options.EffectiveLearningRate,
        };
    }

    /// <summary>The run saved in the checkpoint directory, or null when there is none.</summary>
    private TrainingState? Resume(TrainingColumns columns, bool hasValidationData, NeuralNetworkModelParameters? initialModel)
    {
        string directory = _options.CheckpointDirectory!;
        if (initialModel is not null && Checkpoint.Exists(directory))
            throw new ArgumentException(
                $"Fit was given an initialModel, but ResumeFromCheckpoint is true and '{directory}' holds a checkpoint, which would " +
                "replace the initial model. To continue the interrupted run, call Fit without the initial model (the checkpoint " +
                "holds its weights); to start over from the initial model, delete the checkpoint or set ResumeFromCheckpoint = false.",
                nameof(initialModel));
        var expected = TrainingStateKey.For(_task.Kind, _options, columns, hasValidationData, _options.Seed);
        var state = Checkpoint.TryRead(directory, expected, layout => Optimizer.Create(_options, layout));
        if (state is not null)
            _channel.Info(MessageSensitivity.None, $"NeuralNetwork resuming from the checkpoint after epoch {state.EpochsDone}.");
        return state;
    }

    /// <summary>Random initial weights, or a copy of the warm-start model's.</summary>
    private (NetworkLayout, NeuralNetworkActivation, float[]) StartingPoint(TrainingColumns columns, NeuralNetworkModelParameters? start, int seed)
    {
        int outputs = columns.OutputCount;
        if (start is not null)
        {
            return (start.Layout, start.Activation, WarmStart.Parameters(start, _task, columns, outputs));
        }
        var layout = new NetworkLayout([columns.FeatureCount, .. _options.HiddenLayers, outputs]);
        var parameters = new float[layout.ParameterCount];
        WeightInitializer.Initialize(layout, _options.Activation, parameters, new Random(seed));
        return (layout, _options.Activation, parameters);
    }

    /// <param name="exact">Whether <paramref name="rows"/> counts valid rows only (the streaming shuffle's deal skipped the others).</param>
    private int? BatchesPerEpoch(long? rows, int batchSize, bool exact)
    {
        if (rows is not { } n || (_options.SkipInvalidRows && !exact))
            return null;
        long batches = _options.DropLastPartialBatch ? n / batchSize : (n + batchSize - 1) / batchSize;
        return (int)Math.Min(batches, int.MaxValue);
    }

    /// <summary>Logs the rows a pass skipped as invalid (SkipInvalidRows), once per run.</summary>
    private void ReportSkipped(long skipped, string dataName)
    {
        if (skipped > 0)
            _channel.Warning(MessageSensitivity.None,
                $"Skipped {skipped} {dataName} rows with NaN or infinite features, a missing label or an invalid weight (SkipInvalidRows = true).");
    }

    /// <summary>Validation rows follow the training rows' rule: skipped ones are logged, and none left is an error.</summary>
    private void ReportSkippedValidation(long skipped, string dataName, EpochMetrics metrics)
    {
        ReportSkipped(skipped, dataName);
        if (skipped > 0 && double.IsNaN(metrics.Loss))
            throw new InvalidOperationException(
                $"All {skipped} {dataName} rows were skipped as invalid (NaN or infinite features, missing labels or invalid weights); there is nothing to validate on.");
    }

    private void ReportFirstEpoch(EpochRunner.TrainResult result)
    {
        ReportSkipped(result.SkippedRows, "training");
        if (result.Rows > 0)
            return;
        if (result.SkippedRows > 0)
            throw new InvalidOperationException($"All {result.SkippedRows} training rows were skipped as invalid (NaN or infinite features, missing labels or invalid weights); there is nothing to train on.");
        if (_options.DropLastPartialBatch)
            throw new InvalidOperationException($"The training data has fewer rows than BatchSize ({_options.BatchSize}) and DropLastPartialBatch is true, so no batch was trained. Lower BatchSize or set DropLastPartialBatch = false.");
        throw new InvalidOperationException("The training data has no rows (or all rows have zero weight). Check the data source and any filters before the trainer.");
    }
}
