// Console progress for training, on Spectre.Console.
//
// The trainer calls IProgress<TrainingProgress>.Report on the training thread, synchronously. Spectre's live
// progress display must therefore be open while Fit runs: Run(() => trainer.Fit(data)) opens it, runs training on
// the calling thread inside it, and closes it. Reports only move progress tasks (thread-safe in Spectre); Spectre's
// own refresh thread draws them about ten times a second, so reporting costs training next to nothing.
//
// When the console is not interactive (output redirected to a file or a pipe, CI without a terminal) no live
// display is opened at all: the only output is one line per epoch, so a log stays short and free of escape codes.
using System.Globalization;
using Spectre.Console;

namespace MlNetMiniBatch.Examples;

/// <summary>
/// Shows training progress in the console: a bar over all epochs with rows/s and the estimated time left, a bar over the batches
/// of the current epoch with the running loss, and a line per finished epoch with its train and validation metrics.
/// </summary>
/// <example>
/// <code>
/// var progress = new ConsoleProgress();
/// var trainer = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions { Progress = progress, ... });
/// var model = progress.Run(() => trainer.Fit(train));
/// </code>
/// </example>
public sealed class ConsoleProgress : IProgress<TrainingProgress>
{
    private readonly object _gate = new();
    private ProgressContext? _context;
    private ProgressTask? _epochsTask;
    private ProgressTask? _batchesTask;

    /// <summary>Reports to <paramref name="console"/>, or to <see cref="AnsiConsole.Console"/> (standard output) when null.</summary>
    public ConsoleProgress(IAnsiConsole? console = null) => Console = console ?? AnsiConsole.Console;

    /// <summary>Where progress goes.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>Whether a line is written after every epoch (default true).</summary>
    public bool WriteEpochLines { get; init; } = true;

    /// <summary>Whether <see cref="Run{T}"/> shows live progress bars: only on an interactive console (a terminal).
    /// Otherwise only the epoch lines are written.</summary>
    public bool IsLive => Console.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="train"/> (which calls Fit with this object as <see cref="NeuralNetworkOptions.Progress"/>)
    /// on the calling thread, inside a live progress display when the console is a terminal.</summary>
    /// <returns>What <paramref name="train"/> returned.</returns>
    public T Run<T>(Func<T> train)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (!IsLive)
            return train();

        T result = default!;
        Console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new SpinnerColumn())
            .Start(context =>
            {
                lock (_gate)
                    _context = context;
                try
                {
                    result = train();
                }
                finally
                {
                    lock (_gate)
                    {
                        _epochsTask?.StopTask();
                        _batchesTask?.StopTask();
                        _context = null;
                        _epochsTask = _batchesTask = null;
                    }
                }
            });
        return result;
    }

    /// <summary>Runs <paramref name="train"/> like <see cref="Run{T}"/>, for training that returns nothing.</summary>
    public void Run(Action train)
    {
        ArgumentNullException.ThrowIfNull(train);
        Run(() => { train(); return 0; });
    }

    /// <inheritdoc/>
    public void Report(TrainingProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (_gate)
        {
            if (_context is not null)
                UpdateBars(_context, value);
        }
        if (value.EpochSummary is not { } summary || !WriteEpochLines)
            return;
        string line = FormatEpochLine(summary, value.Epochs);
        if (IsLive)
            Console.WriteLine(line); // through Spectre, so that it lands above the live bars
        else
            Console.Profile.Out.Writer.WriteLine(line); // as is: Spectre would wrap it at its assumed 80 columns
    }

    /// <summary>The line written after an epoch, e.g. "epoch  3/10  train loss 0.4123 acc 0.8512  valid loss 0.4400 acc 0.8400  2.1 s".</summary>
    public static string FormatEpochLine(EpochSummary summary, int epochs)
    {
        ArgumentNullException.ThrowIfNull(summary);
        int width = epochs.ToString(CultureInfo.InvariantCulture).Length;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"epoch {summary.Epoch.ToString(CultureInfo.InvariantCulture).PadLeft(width)}/{epochs}  train {Describe(summary.Train)}");
        if (summary.Validation is { } validation)
            line += "  valid " + Describe(validation);
        return line + string.Create(CultureInfo.InvariantCulture, $"  {summary.Elapsed.TotalSeconds:F1} s");
    }

    private void UpdateBars(ProgressContext context, TrainingProgress value)
    {
        _epochsTask ??= context.AddTask("Training", maxValue: value.Epochs);
        _batchesTask ??= context.AddTask("Epoch", maxValue: 1);

        int? perEpoch = value.BatchesPerEpoch;
        double epochFraction = value.IsEpochEnd ? 1 : perEpoch is > 0 ? Math.Min(1, value.Batch / (double)perEpoch.Value) : 0;
        _epochsTask.MaxValue = value.Epochs;
        _epochsTask.Value = Math.Min(value.Epochs, value.Epoch - 1 + epochFraction);
        // Throughput is what matters when the rows stream from a database or a file.
        string rate = value.Elapsed > TimeSpan.Zero
            ? string.Create(CultureInfo.InvariantCulture, $", {value.RowsSeen / value.Elapsed.TotalSeconds:N0} rows/s")
            : "";
        _epochsTask.Description = value.EstimatedRemaining is { } left
            ? $"Training{rate}, {FormatDuration(left)} left"
            : $"Training{rate}";

        if (perEpoch is > 0)
        {
            _batchesTask.IsIndeterminate = false;
            _batchesTask.MaxValue = perEpoch.Value;
            _batchesTask.Value = Math.Min(perEpoch.Value, value.Batch);
        }
        else
        {
            _batchesTask.IsIndeterminate = true; // first epoch of a data view that does not know its row count
        }
        string batches = perEpoch is > 0 ? $"{value.Batch}/{perEpoch}" : value.Batch.ToString(CultureInfo.InvariantCulture);
        _batchesTask.Description = string.Create(CultureInfo.InvariantCulture,
            $"Epoch {value.Epoch}/{value.Epochs}, batch {batches}, loss {value.RunningLoss:F4}");
    }

    private static string Describe(EpochMetrics metrics)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"loss {metrics.Loss:F4}");
        if (metrics.Accuracy is { } accuracy)
            text += string.Create(CultureInfo.InvariantCulture, $" acc {accuracy:F4}");
        else if (metrics.RSquared is { } r2)
            text += string.Create(CultureInfo.InvariantCulture, $" R² {r2:F4}");
        return text;
    }

    private static string FormatDuration(TimeSpan time) =>
        time.TotalHours >= 1
            ? time.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
            : time.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
