using System.Diagnostics;
using Microsoft.ML.Runtime;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch;

/// <summary>
/// Trains the same network at several batch sizes under an equal budget (epochs or wall-clock time) and measures what
/// the batch size changes: updates made, time, memory, final losses and metrics, and how fast each reaches a target
/// validation loss. Every run uses the same seed, so the batch size is the only difference.
/// </summary>
public static class BatchSizeSweep
{
    /// <summary>A batch size meaning "all rows": full-batch gradient descent.</summary>
    public const int FullBatch = int.MaxValue;

    /// <summary>Runs the sweep.</summary>
    /// <param name="mlContext">The context whose log receives each run's epoch lines.</param>
    /// <param name="task">What the network predicts.</param>
    /// <param name="options">Everything but the batch size (which the sweep sets) and, with a time budget, the epochs. The
    /// fixed runs ignore AdaptiveBatchSize; the adaptive run (<see cref="BatchSizeSweepOptions.IncludeAdaptive"/>) starts at BatchSize,
    /// or where <see cref="BatchSizeSweepOptions.AdaptiveStart"/> chooses.</param>
    /// <param name="train">Training data (cache it, e.g. <c>mlContext.Data.Cache</c>, so every run can shuffle and reads fast).</param>
    /// <param name="validation">Validation data: the losses and the target are measured on it.</param>
    /// <param name="sweep">Batch sizes, budget and target.</param>
    public static BatchSizeSweepResult Run(MLContext mlContext, NeuralNetworkTask task, NeuralNetworkOptions options,
        IDataView train, IDataView validation, BatchSizeSweepOptions sweep)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(sweep);
        sweep.Validate();
        long trainingRows = FillCaches(train, validation);
        var entries = new List<BatchSizeSweepEntry>();
        bool measuredStart = sweep.IncludeAdaptive && sweep.AdaptiveStart == AdaptiveSweepStart.Measured;
        var fixedOptions = options;
        if (measuredStart && !options.MeasureGradientNoise)
        {
            fixedOptions = options.Clone();
            fixedOptions.MeasureGradientNoise = true;
        }
        foreach (int batchSize in sweep.BatchSizes)
            entries.Add(RunOne(mlContext, task, fixedOptions, train, validation, sweep, batchSize, adaptive: false));
        string? startExplanation = null;
        if (sweep.IncludeAdaptive)
        {
            int start = options.BatchSize;
            if (measuredStart)
                (start, startExplanation) = AdaptiveStart.Choose(entries, options, trainingRows, sweep.TargetValidationLoss);
            entries.Add(RunOne(mlContext, task, options, train, validation, sweep, start, adaptive: true));
        }
        return new BatchSizeSweepResult(entries, sweep.TargetValidationLoss, startExplanation);
    }

    /// <summary>A cached view fills while it is first read; reading every column once up front keeps that cost (time and
    /// memory) out of the first batch size's measurements. Returns the first view's row count.</summary>
    private static long FillCaches(params IDataView[] views)
    {
        long first = -1;
        foreach (var view in views)
        {
            long rows = 0;
            using var cursor = view.GetRowCursor(view.Schema);
            while (cursor.MoveNext())
                rows++;
            if (first < 0)
                first = rows;
        }
        return first;
    }

    private static BatchSizeSweepEntry RunOne(MLContext mlContext, NeuralNetworkTask task, NeuralNetworkOptions options,
        IDataView train, IDataView validation, BatchSizeSweepOptions sweep, int batchSize, bool adaptive)
    {
        var runOptions = options.Clone();
        runOptions.BatchSize = batchSize;
        runOptions.AdaptiveBatchSize = adaptive;
        if (!adaptive)
            (runOptions.MinimumBatchSize, runOptions.MaximumBatchSize, runOptions.LearningRateScaling) = (null, null, null);
        runOptions.Seed ??= 1;
        if (sweep.TimeBudget is not null)
            runOptions.Epochs = sweep.MaximumEpochs;
        var clock = new Stopwatch();
        long baseline = GC.GetTotalMemory(forceFullCollection: true), liveBytes = 0;
        var userCallback = options.OnEpochEnd;
        runOptions.OnEpochEnd = context =>
        {
            if (context.History.Count == 1)
            {
                // Mid-run, with every training buffer alive: what the run holds, without the garbage a sample would see.
                clock.Stop();
                liveBytes = GC.GetTotalMemory(forceFullCollection: true) - baseline;
                clock.Start();
            }
            userCallback?.Invoke(context);
            if (sweep.TimeBudget is { } budget && clock.Elapsed >= budget)
                context.StopTraining = true;
        };
        var trainer = new NeuralNetworkTrainer((IHostEnvironment)mlContext, task, runOptions);
        clock.Start();
        var transformer = trainer.Fit(train, validation);
        clock.Stop();
        var model = transformer.Model;
        // An adaptive run's buffers are those of its largest batch.
        int largest = model.History.Max(h => h.BatchSize);
        int effectiveBatchSize = (int)Math.Min(largest, Math.Max(1, model.History[0].Rows));
        return new BatchSizeSweepEntry(batchSize, effectiveBatchSize, adaptive, transformer, clock.Elapsed, liveBytes,
            TrainingMemory.Bytes(model.Layout, effectiveBatchSize, runOptions), sweep.TargetValidationLoss);
    }
}
