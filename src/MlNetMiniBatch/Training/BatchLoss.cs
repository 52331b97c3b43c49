using System.Runtime.InteropServices;
using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Training;

/// <summary>
/// A batch's loss, its gradient with respect to the logits and its metric sums, on all threads: on the calling thread
/// alone they are a serial part of every step, and the larger a share of it the more threads there are. The rows go out in
/// runs of <see cref="RunRows"/>, each run's metric sums apart; the loss is added from the rows' terms in row order
/// and the runs' sums in run order, so the results are the same bits on any number of threads. A task with more than
/// <see cref="MaxRunSums"/> sums (binary classification's ROC histogram has 2^17) adds its metrics on the calling
/// thread, row by row, after its loss has run on all threads: a copy of its sums per run would cost more than the metrics.
/// </summary>
internal sealed unsafe class BatchLoss
{
    /// <summary>Rows whose metrics are summed together: a few microseconds of softmax, well above a dispatch's cost,
    /// and short enough that a 512-row batch has a run for each of 16 threads.</summary>
    public const int RunRows = 32;

    /// <summary>Most metric sums a task may have for each run to keep its own.</summary>
    public const int MaxRunSums = 64;

    // Runs' sums lie at least a cache line (8 doubles) apart, so that two threads never write the same line.
    private const int LineDoubles = 8;

    /// <summary>Floats a batch row costs this class at most: its loss term and its share of the runs' sums.</summary>
    public const int FloatsPerRow = 2 + ((2 * (MaxRunSums + (2 * LineDoubles))) + RunRows - 1) / RunRows;

    private readonly TrainingTask _task;
    private readonly MetricsAccumulator _metrics;
    private readonly int _outputs, _targetCount, _sumCount, _runStride;
    private readonly bool _runsApart;
    private double[] _rowLosses = [];
    private double[] _runSums = [];
    private Pass _pass;

    /// <summary>Batches that were split across threads: lets tests prove that a run at their sizes took this path.</summary>
    internal static long Dispatched => Interlocked.Read(ref _dispatched);

    private static long _dispatched;

    /// <param name="metrics">The pass's sums, which every batch adds to.</param>
    public BatchLoss(TrainingTask task, MetricsAccumulator metrics, int outputs, int targetCount)
    {
        _task = task;
        _metrics = metrics;
        _outputs = outputs;
        _targetCount = targetCount;
        _sumCount = task.MetricSumCount(outputs);
        _runsApart = _sumCount <= MaxRunSums;
        _runStride = _runsApart ? (_sumCount + (2 * LineDoubles) - 1) / LineDoubles * LineDoubles : 0;
    }

    /// <summary>Doubles held for the rows' loss terms and the runs' sums: lets tests check they stay in proportion.</summary>
    internal long HeldDoubles => _rowLosses.LongLength + _runSums.LongLength;

    /// <summary>Writes dLoss/dLogits into <paramref name="gradient"/> (unless it is empty), adds the batch's metrics and
    /// loss to the pass's sums, and returns Σ weight·loss over the batch.</summary>
    public double Add(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights, int rows,
        double totalWeight, Span<float> gradient, int threads)
    {
        int runs = (rows + RunRows - 1) / RunRows;
        if (_rowLosses.Length < rows)
            _rowLosses = new double[rows];
        if (_runSums.Length < runs * _runStride)
            _runSums = new double[runs * _runStride];
        Array.Clear(_runSums, 0, runs * _runStride);
        int items = Math.Min(threads, runs);
        fixed (float* l = logits, t = targets, w = weights, g = gradient)
        {
            _pass = new Pass
            {
                Logits = l, Targets = t, Weights = w, Gradient = g, WantsGradient = !gradient.IsEmpty,
                Rows = rows, Runs = runs, Items = items, TotalWeight = totalWeight,
            };
            if (items <= 1)
            {
                RunRange(0, runs);
            }
            else
            {
                Interlocked.Increment(ref _dispatched);
                var handle = GCHandle.Alloc(this);
                try
                {
                    WorkerPool.Shared.Run(new Work { Loss = GCHandle.ToIntPtr(handle) }, items, threads);
                }
                finally
                {
                    handle.Free();
                }
            }
        }
        double loss = TrainingTask.SumInRowOrder(_rowLosses.AsSpan(0, rows));
        if (_runsApart)
        {
            _metrics.AddRuns(loss, _runSums.AsSpan(0, runs * _runStride), _runStride);
        }
        else
        {
            _metrics.Add(loss, logits, targets, weights, rows);
        }
        return loss;
    }

    /// <summary>Runs [<paramref name="firstRun"/>, <paramref name="endRun"/>): their rows' loss terms and gradient, and each
    /// run's metric sums.</summary>
    private void RunRange(int firstRun, int endRun)
    {
        ref readonly Pass p = ref _pass;
        int first = firstRun * RunRows, end = Math.Min(p.Rows, endRun * RunRows), count = end - first;
        if (count <= 0)
            return;
        var logits = new ReadOnlySpan<float>(p.Logits + ((long)first * _outputs), count * _outputs);
        var targets = new ReadOnlySpan<float>(p.Targets + ((long)first * _targetCount), count * _targetCount);
        var weights = new ReadOnlySpan<float>(p.Weights + first, count);
        var gradient = p.WantsGradient ? new Span<float>(p.Gradient + ((long)first * _outputs), count * _outputs) : Span<float>.Empty;
        _task.RowLosses(logits, targets, weights, count, _outputs, p.TotalWeight, gradient, _rowLosses.AsSpan(first, count));
        for (int run = firstRun; _runsApart && run < endRun; run++)
        {
            int r0 = run * RunRows - first, rows = Math.Min(RunRows, count - r0);
            if (rows <= 0)
                break;
            _metrics.AddTo(_runSums.AsSpan(run * _runStride, _sumCount), logits.Slice(r0 * _outputs, rows * _outputs),
                targets.Slice(r0 * _targetCount, rows * _targetCount), weights.Slice(r0, rows), rows);
        }
    }

    /// <summary>The batch being computed, as pointers: <see cref="Add"/> keeps the arrays pinned until the workers are done.</summary>
    private struct Pass
    {
        public float* Logits, Targets, Weights, Gradient;
        public bool WantsGradient;
        public int Rows, Runs, Items;
        public double TotalWeight;
    }

    /// <summary>Item i takes the i-th of <see cref="Pass.Items"/> contiguous stretches of runs; the pool gives the caller
    /// the first, so each thread's rows are the ones its forward slice wrote, where the batch was sliced.</summary>
    private struct Work : IParallelWork
    {
        public IntPtr Loss;

        public readonly void Run(int index)
        {
            var loss = (BatchLoss)GCHandle.FromIntPtr(Loss).Target!;
            int runs = loss._pass.Runs, items = loss._pass.Items;
            loss.RunRange((int)((long)runs * index / items), (int)((long)runs * (index + 1) / items));
        }
    }
}
