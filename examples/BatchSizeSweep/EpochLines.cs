using System.Globalization;
using MlNetMiniBatch;

/// <summary>Writes a line per epoch of the sweep, naming the batch size: the sweep trains the batch sizes one after the
/// other in the order given, then the adaptive run if any, and again for every seed, so a run's first epoch means the
/// next run.</summary>
internal sealed class EpochLines(IReadOnlyList<int> batchSizes, bool adaptive)
{
    private int _run = -1;
    private TimeSpan _runTime;

    public void Write(EpochEndContext context)
    {
        if (context.History.Count == 1)
        {
            _run++;
            _runTime = TimeSpan.Zero;
            Console.WriteLine();
        }
        EpochSummary epoch = context.Summary;
        _runTime += epoch.Elapsed;
        int run = _run % (batchSizes.Count + (adaptive ? 1 : 0));
        string name = run < batchSizes.Count ? Arguments.Name(batchSizes[run]) : "adapt"; // the adaptive run comes last
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"batch {name,-5} epoch {epoch.Epoch,3}  B {epoch.BatchSize,5}  lr {epoch.LearningRate:G3}  {epoch.Iterations,6:N0} updates  train loss {epoch.Train.Loss:F4}  " +
            $"valid loss {epoch.Validation?.Loss:F4} acc {epoch.Validation?.Accuracy:F4}  noise scale {epoch.GradientNoiseScale?.ToString("G3", CultureInfo.InvariantCulture) ?? "-"}  " +
            $"{epoch.Elapsed.TotalSeconds:F1} s ({_runTime.TotalSeconds:F1} s in all)"));
    }
}
