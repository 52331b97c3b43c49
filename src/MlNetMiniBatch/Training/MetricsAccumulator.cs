using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Sums what the task's metrics need over the rows of one pass, batch by batch, in memory that does not grow with
/// the rows. The state is one array of double sums (<see cref="Sums"/>), laid out by the task, so that the sums of
/// several processes can simply be added before <see cref="Result"/>.
/// </summary>
internal sealed class MetricsAccumulator
{
    private readonly TrainingTask _task;
    private readonly int _outputs;
    private readonly TargetScaling _scaling;
    private readonly double[] _sums;

    public MetricsAccumulator(TrainingTask task, int outputs, TargetScaling scaling)
    {
        _task = task;
        _outputs = outputs;
        _scaling = scaling;
        _sums = new double[task.MetricSumCount(outputs)];
    }

    /// <summary>The whole state: the loss sum, the weight sum, then the task's own sums.</summary>
    public Span<double> Sums => _sums;

    public double WeightSum => _sums[TrainingTask.WeightSlot];

    public double MeanLoss => _task.MeanLoss(_sums, _scaling);

    public void Reset() => Array.Clear(_sums);

    /// <summary>Adds rows' metric sums to <paramref name="runSums"/>, a run's own (<see cref="AddRuns"/>); safe on several
    /// threads at once for different runs.</summary>
    public void AddTo(Span<double> runSums, ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int rows)
        => _task.AddMetrics(runSums, logits, targets, weights, rows, _outputs, _scaling);

    /// <summary>Adds a batch: its loss sum and its rows' metrics, one row after another.</summary>
    public void Add(double lossSum, ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int rows)
    {
        _sums[TrainingTask.LossSlot] += lossSum;
        _task.AddMetrics(_sums, logits, targets, weights, rows, _outputs, _scaling);
    }

    /// <summary>Adds a batch: its loss sum and its runs' metric sums (<see cref="AddTo"/>, <paramref name="stride"/> doubles
    /// apart), one run after another.</summary>
    public void AddRuns(double lossSum, ReadOnlySpan<double> runSums, int stride)
    {
        _sums[TrainingTask.LossSlot] += lossSum;
        for (int run = 0; run < runSums.Length; run += stride)
        {
            for (int slot = TrainingTask.WeightSlot; slot < _sums.Length; slot++)
                _sums[slot] += runSums[run + slot];
        }
    }

    public EpochMetrics Result()
    {
        double loss = MeanLoss;
        return WeightSum <= 0 ? new EpochMetrics(loss) : _task.Metrics(_sums, _outputs, loss);
    }
}
