using System.Diagnostics;

namespace MlNetMiniBatch.Training;

/// <summary>Sends <see cref="TrainingProgress"/> reports: batch reports no more often than the interval, epoch reports always.</summary>
internal sealed class ProgressReporter
{
    private readonly IProgress<TrainingProgress>? _progress;
    private readonly long _intervalTicks;
    private readonly int _epochs;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long? _lastReportTicks;
    private long _batchesDone, _batchesBeforeEpoch;
    private int _batchSize;

    public ProgressReporter(IProgress<TrainingProgress>? progress, TimeSpan interval, int epochs)
    {
        _progress = progress;
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
        _epochs = epochs;
    }

    /// <summary>Known from the row count up front, or from the previous epoch's count at the same batch size.</summary>
    public int? BatchesPerEpoch { get; private set; }

    /// <summary>Called before every epoch with its batch size and, when the row count is known, its batch count.</summary>
    public void StartEpoch(int batchSize, int? batchesPerEpoch)
    {
        BatchesPerEpoch = batchesPerEpoch ?? (batchSize == _batchSize ? BatchesPerEpoch : null);
        _batchSize = batchSize;
        _batchesBeforeEpoch = _batchesDone;
    }

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
            // Later epochs are counted at this epoch's batch size: the only one known yet.
            long total = _batchesBeforeEpoch + (long)perEpoch * (_epochs - epoch + 1);
            remaining = elapsed * (Math.Max(0, total - _batchesDone) / (double)_batchesDone);
        }
        return new TrainingProgress(epoch, _epochs, batch, BatchesPerEpoch, RowsSeen, runningLoss, elapsed, remaining, summary, _batchSize);
    }
}
