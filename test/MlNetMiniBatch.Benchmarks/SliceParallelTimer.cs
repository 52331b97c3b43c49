using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.ML;
using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// A prototype of whole-pass slices, for <see cref="BreakdownBench"/> to measure against the trainer: each thread takes
/// a contiguous slice of the batch through the whole forward pass, loss and backward pass on one thread, its weight
/// gradients included, with its own buffers and gradient; the slices' gradients are then summed in a fixed order, split
/// by parameter range, and the optimizer step is split as the trainer splits it. Three dispatches per step. (The
/// trainer slices only the row-independent parts, <see cref="RowSlices"/>, so that a weight's gradient stays one sum
/// over all rows in row order, the same bits on any number of threads.) The same data, order, network, loss and
/// optimizer as <see cref="StepTimer"/>; no metrics besides the loss, no dropout, no L2.
/// </summary>
internal sealed class SliceParallelTimer
{
    private readonly NeuralNetworkOptions _options;
    private readonly DataSource _source;
    private readonly MultilayerPerceptron _network;
    private readonly float[] _parameters;
    private readonly float[][] _gradients, _logitGradients;
    private readonly LayerBuffers[] _buffers;
    private readonly double[] _lossSums;
    private readonly Optimizer _optimizer;
    private readonly Batch _batch, _nextBatch;
    private readonly int _threads, _seed;
    private Batch? _current;
    private double _batchWeight;

    public SliceParallelTimer(IDataView train, NeuralNetworkOptions options)
    {
        _options = options;
        var columns = TrainingColumns.Bind(train.Schema, NeuralNetworkTask.MulticlassClassification, options, "training");
        _source = DataSource.Training(train, columns, options, null);
        var layout = new NetworkLayout([columns.FeatureCount, .. options.HiddenLayers, columns.ClassCount]);
        _network = new MultilayerPerceptron(layout, options.Activation);
        _seed = options.Seed ?? 1;
        _parameters = new float[layout.ParameterCount];
        WeightInitializer.Initialize(layout, options.Activation, _parameters, new Random(_seed));
        _optimizer = Optimizer.Create(options, layout);
        _threads = options.EffectiveThreads;
        int sliceRows = (options.BatchSize + _threads - 1) / _threads;
        _gradients = Enumerable.Range(0, _threads).Select(_ => new float[layout.ParameterCount]).ToArray();
        _logitGradients = Enumerable.Range(0, _threads).Select(_ => new float[sliceRows * layout.OutputSize]).ToArray();
        _buffers = Enumerable.Range(0, _threads).Select(_ => new LayerBuffers(layout, options.Activation, sliceRows)).ToArray();
        _lossSums = new double[_threads];
        _batch = new Batch(options.BatchSize, layout.InputSize);
        _nextBatch = new Batch(options.BatchSize, layout.InputSize);
    }

    /// <summary>One epoch with the trainer's shuffle seed for it; wall seconds and rows.</summary>
    public (double Wall, long Rows) Epoch(int epoch)
    {
        long rows = 0;
        double loss = 0;
        long start = Stopwatch.GetTimestamp();
        var handle = GCHandle.Alloc(this);
        try
        {
            using var batches = new BatchStream(_source, _source.Open(EpochRunner.ShuffleSeed(_seed, epoch), TargetScaling.Identity, gatherLater: true), _batch, _nextBatch,
                _options.BatchSize, prefetch: _threads > 1);
            while (batches.Next(out var batch))
            {
                _source.Gather(batch, _threads);
                (_current, _batchWeight) = (batch, batch.TotalWeight());
                WorkerPool.Shared.Run(new SliceWork { Timer = GCHandle.ToIntPtr(handle) }, _threads, _threads);
                if (_threads > 1)
                    WorkerPool.Shared.Run(new ReduceWork { Timer = GCHandle.ToIntPtr(handle), Parts = _threads }, _threads, _threads);
                _optimizer.Step(_parameters, _gradients[0], _options.EffectiveLearningRate, _threads);
                loss += _lossSums.Sum();
                rows += batch.Count;
            }
        }
        finally
        {
            handle.Free();
            _current = null;
        }
        if (!double.IsFinite(loss))
            throw new InvalidOperationException("The slice-parallel prototype diverged; its timings would mean nothing.");
        return (Stopwatch.GetElapsedTime(start).TotalSeconds, rows);
    }

    private static (int Start, int Count) Share(int total, int parts, int index)
    {
        int start = (int)((long)total * index / parts), end = (int)((long)total * (index + 1) / parts);
        return (start, end - start);
    }

    /// <summary>Forward, loss and backward over slice <paramref name="slice"/> of the batch, on the calling thread.</summary>
    private void RunSlice(int slice)
    {
        var batch = _current!;
        var layout = _network.Layout;
        var (first, count) = Share(batch.Count, _threads, slice);
        var gradient = _gradients[slice];
        if (count == 0)
        {
            gradient.AsSpan().Clear();
            _lossSums[slice] = 0;
            return;
        }
        var input = batch.Features.AsSpan(first * layout.InputSize, count * layout.InputSize);
        var logits = _network.Forward(_parameters, input, count, _buffers[slice], threads: 1);
        _lossSums[slice] = TrainingTask.For(NeuralNetworkTask.MulticlassClassification).Loss(logits, batch.Targets.AsSpan(first, count),
            batch.Weights.AsSpan(first, count), count, layout.OutputSize, _batchWeight, _logitGradients[slice]);
        _network.Backward(_parameters, input, count, _buffers[slice], _logitGradients[slice], gradient, threads: 1);
    }

    /// <summary>gradient[0] += gradient[1..] over one parameter range, slices in index order (so the sum does not
    /// depend on which thread runs which range).</summary>
    private void Reduce(int part, int parts)
    {
        var (start, length) = Share(_parameters.Length, parts, part);
        var sum = _gradients[0].AsSpan(start, length);
        for (int s = 1; s < _gradients.Length; s++)
            System.Numerics.Tensors.TensorPrimitives.Add(sum, _gradients[s].AsSpan(start, length), sum);
    }

    private struct SliceWork : IParallelWork
    {
        public IntPtr Timer;
        public readonly void Run(int index) => ((SliceParallelTimer)GCHandle.FromIntPtr(Timer).Target!).RunSlice(index);
    }

    private struct ReduceWork : IParallelWork
    {
        public IntPtr Timer;
        public int Parts;
        public readonly void Run(int index) => ((SliceParallelTimer)GCHandle.FromIntPtr(Timer).Target!).Reduce(index, Parts);
    }
}
