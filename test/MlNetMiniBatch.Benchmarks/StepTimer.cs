using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.ML;
using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>Seconds one epoch spent in each part of the step, with the worker pool's counters per part.</summary>
internal sealed class StepTimes
{
    public int Batches;
    public long Rows;
    public double Wall, Reader, Gather, Forward, Loss, Backward, Optimizer;
    public WorkerPoolTimings.Totals PoolForward, PoolBackward, PoolOptimizer;

    /// <summary>Seconds of the backward pass per layer: its weight and bias gradients, and its input gradient (none for
    /// the first layer), as the pass tells <see cref="ILayerGradientReady"/>. When the input gradients ran first as row
    /// slices (<see cref="RowSlices"/>), all layers' together are <see cref="SlicedInputGradients"/> instead.</summary>
    public double[] WeightGradient = [], InputGradient = [];

    public double SlicedInputGradients;

    /// <summary>Backward passes whose input gradients ran as row slices (a short last batch may not).</summary>
    public int SlicedPasses;

    public double Other => Wall - Reader - Gather - Forward - Loss - Backward - Optimizer;
}

/// <summary>Who copies a batch's features out of ML.NET's cache.</summary>
internal enum FeatureCopy
{
    /// <summary>The reader, row by row as the cursor moves, on the prefetch thread.</summary>
    ReaderCopiesInCursorOrder,

    /// <summary>The prefetch thread notes the batch's cache rows, then copies them prefetching the next row.</summary>
    ReaderGathers,

    /// <summary>The prefetch thread notes the rows; the compute threads copy them together before the forward pass.</summary>
    ComputeThreadsGather,
}

/// <summary>
/// Runs training epochs the way <see cref="EpochRunner"/> does (the same reader, prefetching stream, network, loss,
/// metrics and optimizer, with the trainer's shuffle seeds), with a timestamp between the parts of each step. Lives
/// here rather than as timers in the library: the library's loop stays as it is, and <see cref="BreakdownBench"/>
/// checks that this loop's rows/s match a real Fit's.
/// </summary>
internal sealed class StepTimer
{
    private readonly NeuralNetworkOptions _options;
    private readonly DataSource _source;
    private readonly MultilayerPerceptron _network;
    private readonly float[] _parameters, _gradient, _logitGradient;
    private readonly Optimizer _optimizer;
    private readonly Batch _batch, _nextBatch;
    private readonly LayerBuffers _buffers;
    private readonly MetricsAccumulator _metrics;
    private readonly BatchLoss _loss;
    private readonly int _threads, _seed;
    private readonly FeatureCopy _copy;
    private readonly BackwardClock _clock;

    /// <param name="copy">Who copies each batch's cached features.</param>
    public StepTimer(IDataView train, NeuralNetworkOptions options, FeatureCopy copy = FeatureCopy.ComputeThreadsGather)
    {
        _options = options;
        _copy = copy;
        const NeuralNetworkTask task = NeuralNetworkTask.MulticlassClassification;
        var columns = TrainingColumns.Bind(train.Schema, task, options, "training");
        _source = DataSource.Training(train, columns, options, null);
        Layout = new NetworkLayout([columns.FeatureCount, .. options.HiddenLayers, columns.ClassCount]);
        _network = new MultilayerPerceptron(Layout, options.Activation);
        _seed = options.Seed ?? 1;
        _parameters = new float[Layout.ParameterCount];
        WeightInitializer.Initialize(Layout, options.Activation, _parameters, new Random(_seed));
        _gradient = new float[Layout.ParameterCount];
        _optimizer = Optimizer.Create(options, Layout);
        _threads = options.EffectiveThreads;
        _batch = new Batch(options.BatchSize, Layout.InputSize);
        _nextBatch = new Batch(options.BatchSize, Layout.InputSize);
        _buffers = new LayerBuffers(Layout, options.Activation, options.BatchSize);
        _clock = new BackwardClock(Layout.LayerCount);
        _logitGradient = new float[options.BatchSize * Layout.OutputSize];
        _metrics = new MetricsAccumulator(task, Layout.OutputSize, TargetScaling.Identity);
        _loss = new BatchLoss(task, _metrics, Layout.OutputSize, targetCount: 1);
    }

    public NetworkLayout Layout { get; }

    /// <summary>Share of subnormal floats in the parameters, the last gradient and the optimizer's state: arithmetic on
    /// them takes a microcode assist on many x64 cores, tens of times slower than on normal floats.</summary>
    public (double Parameters, double Gradient, double State) SubnormalShares()
    {
        static double Share(float[] values) => values.Length == 0 ? 0 : (double)values.Count(float.IsSubnormal) / values.Length;
        float[][] state = _optimizer.State;
        return (Share(_parameters), Share(_gradient), state.Sum(a => (double)a.Count(float.IsSubnormal)) / Math.Max(1, state.Sum(a => (long)a.Length)));
    }

    public int OptimizerStateArrays => _optimizer.State.Count(s => s.Length > 0);

    /// <summary>Whether the layer buffers keep hidden layers' z apart from f(z).</summary>
    public bool KeepsPreActivation => LayerBuffers.KeepsPreActivation(_options.Activation);

    /// <summary>One epoch; shuffled with the trainer's seed for that epoch, prefetching with more than one thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public StepTimes Epoch(int epoch)
    {
        var times = new StepTimes();
        long forward = 0, loss = 0, backward = 0, optimizer = 0, reader = 0, gather = 0;
        var poolForward = default(WorkerPoolTimings.Totals);
        var poolBackward = default(WorkerPoolTimings.Totals);
        var poolOptimizer = default(WorkerPoolTimings.Totals);
        _metrics.Reset();
        _clock.Reset();
        long start = Stopwatch.GetTimestamp();
        using (var batches = new BatchStream(_source, _source.Open(EpochRunner.ShuffleSeed(_seed, epoch), TargetScaling.Identity, gatherLater: _copy != FeatureCopy.ReaderCopiesInCursorOrder),
                   _batch, _nextBatch, _options.BatchSize, prefetch: _threads > 1, gather: _copy == FeatureCopy.ReaderGathers))
        {
            while (true)
            {
                long t0 = Stopwatch.GetTimestamp();
                if (!batches.Next(out var batch))
                    break;
                int n = batch.Count;
                double batchWeight = batch.TotalWeight();
                long tg = Stopwatch.GetTimestamp();
                _source.Gather(batch, _threads);
                var p0 = WorkerPoolTimings.Read();
                long t1 = Stopwatch.GetTimestamp();
                var logits = _network.Forward(_parameters, batch.FeatureRows, n, _buffers, _threads);
                long t2 = Stopwatch.GetTimestamp();
                var p1 = WorkerPoolTimings.Read();
                _loss.Add(logits, batch.Targets, batch.Weights, n, batchWeight, _logitGradient, _threads);
                var p2 = WorkerPoolTimings.Read();
                long t3 = Stopwatch.GetTimestamp();
                _clock.Start();
                _network.Backward(_parameters, batch.FeatureRows, n, _buffers, _logitGradient, _gradient, _threads, _clock);
                long t4 = Stopwatch.GetTimestamp();
                var p3 = WorkerPoolTimings.Read();
                _optimizer.Step(_parameters, _gradient, _options.EffectiveLearningRate, _threads);
                long t5 = Stopwatch.GetTimestamp();
                var p4 = WorkerPoolTimings.Read();
                reader += tg - t0;
                gather += t1 - tg;
                forward += t2 - t1;
                loss += t3 - t2;
                backward += t4 - t3;
                optimizer += t5 - t4;
                poolForward += p1 - p0;
                poolBackward += p3 - p2;
                poolOptimizer += p4 - p3;
                times.Batches++;
                times.Rows += n;
            }
        }
        times.Wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
        double f = Stopwatch.Frequency;
        (times.Reader, times.Gather, times.Forward, times.Loss, times.Backward, times.Optimizer) =
            (reader / f, gather / f, forward / f, loss / f, backward / f, optimizer / f);
        (times.PoolForward, times.PoolBackward, times.PoolOptimizer) = (poolForward, poolBackward, poolOptimizer);
        (times.WeightGradient, times.InputGradient) = (BackwardClock.Seconds(_clock.WeightTicks), BackwardClock.Seconds(_clock.InputTicks));
        (times.SlicedInputGradients, times.SlicedPasses) = ((double)_clock.SlicedInputTicks / Stopwatch.Frequency, _clock.SlicedPasses);
        if (!double.IsFinite(_metrics.MeanLoss))
            throw new InvalidOperationException("The breakdown's training diverged; its timings would mean nothing.");
        return times;
    }

    /// <summary>Timestamps the backward pass between the moments it reports: a layer's weight gradient final, then its
    /// input gradient computed; or, in a sliced pass, all input gradients computed before the first layer is reported.</summary>
    private sealed class BackwardClock : ILayerGradientReady
    {
        private long _last;
        private int _layer;

        public BackwardClock(int layers) => (WeightTicks, InputTicks) = (new long[layers], new long[layers]);

        public long[] WeightTicks { get; }

        public long[] InputTicks { get; }

        public long SlicedInputTicks { get; private set; }

        public int SlicedPasses { get; private set; }

        public void Reset()
        {
            Array.Clear(WeightTicks);
            Array.Clear(InputTicks);
            (SlicedInputTicks, SlicedPasses) = (0, 0);
        }

        public void Start()
        {
            _layer = -1;
            _last = Stopwatch.GetTimestamp();
        }

        public void LayerReady(int layer)
        {
            _layer = layer;
            WeightTicks[layer] += Lap();
        }

        public void Advance()
        {
            if (_layer < 0)
            {
                SlicedInputTicks += Lap();
                SlicedPasses++;
            }
            else
            {
                InputTicks[_layer] += Lap();
            }
        }

        public static double[] Seconds(long[] ticks) => ticks.Select(t => (double)t / Stopwatch.Frequency).ToArray();

        private long Lap()
        {
            long now = Stopwatch.GetTimestamp(), lap = now - _last;
            _last = now;
            return lap;
        }
    }
}
