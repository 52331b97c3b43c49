using System.Diagnostics;

namespace MlNetMiniBatch.Training;

/// <summary>Sends <see cref="TrainingProgress"/> reports: batch reports no more often than the interval, epoch reports always.</summary>
internal sealed class ProgressReporter
{
    private readonly IProgress<TrainingProgress>? _progress;
    private readonly long _intervalTicks;
    private readonly int _epochs;
    private readonly int _firstEpoch;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long? _lastReportTicks;
    private long _batchesDone;

    public ProgressReporter(IProgress<TrainingProgress>? progress, TimeSpan interval, int firstEpoch, int epochs, int? batchesPerEpoch)
    {
        _progress = progress;
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
        _firstEpoch = firstEpoch;
        _epochs = epochs;
        BatchesPerEpoch = batchesPerEpoch;
    }

    /// <summary>Known from the row count up front, or from the first epoch's count.</summary>
    public int? BatchesPerEpoch { get; set; }

    public long RowsSeen { get; set; }

    public void Batch(int epoch, int batch, double runningLoss)
    {
        _batchesDone++;
        if (_progress is null)
            return;
        long now = _clock.ElapsedTicks;
        if (_lastReportTicks is { } last && now - last < _intervalTicks)
            return;
        _lastReportTicks = now;
        _progress.Report(Create(epoch, batch, runningLoss, null));
    }

    public void EpochEnd(EpochSummary summary)
    {
        BatchesPerEpoch ??= summary.Iterations;
        _progress?.Report(Create(summary.Epoch, summary.Iterations, summary.TrainLoss, summary));
    }

    private TrainingProgress Create(int epoch, int batch, double runningLoss, EpochSummary? summary)
    {
        var elapsed = _clock.Elapsed;
        TimeSpan? remaining = null;
        if (BatchesPerEpoch is { } perEpoch && _batchesDone > 0)
        {
            long total = (long)perEpoch * (_epochs - _firstEpoch + 1);
            remaining = elapsed * (Math.Max(0, total - _batchesDone) / (double)_batchesDone);
        }
        return new TrainingProgress(epoch, _epochs, batch, BatchesPerEpoch, RowsSeen, runningLoss, elapsed, remaining, summary);
    }
}
