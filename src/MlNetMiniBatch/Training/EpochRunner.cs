using System.Diagnostics;
using MlNetMiniBatch.Distributed;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;
using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Training;

/// <summary>
/// One pass over a data view: for training, each batch runs forward → loss → backward → (clip) → optimizer step;
/// for validation, forward and loss only. Buffers live as long as the runner, so batches allocate nothing.
/// </summary>
internal sealed class EpochRunner
{
    private readonly NeuralNetworkOptions _options;
    private readonly MultilayerPerceptron _network;
    private readonly float[] _parameters;
    private readonly Optimizer _optimizer;
    private readonly float _l2;
    private readonly L2Placement _l2Placement;
    private readonly TargetScaling _scaling;
    private readonly int _seed, _threads, _evaluationBatchSize;
    private readonly Batch _batch, _nextBatch;
    private readonly LayerBuffers _buffers;
    private readonly float[] _gradient;
    private float[] _logitGradient;
    private readonly MetricsAccumulator _metrics;
    private readonly BatchLoss _loss;
    private readonly GradientNoiseEstimator? _noise;
    private readonly GlobalNormClipping? _clipping;
    private readonly DataParallel? _group;

    /// <param name="targetCount">Target values per row (TrainingColumns.TargetCount).</param>
    /// <param name="group">The ranks of a distributed run, or null in one process.</param>
    public EpochRunner(TrainingTask task, NeuralNetworkOptions options, MultilayerPerceptron network, float[] parameters,
        Optimizer optimizer, TargetScaling scaling, int targetCount, int seed, long? knownRows, DataParallel? group = null)
    {
        _group = group;
        _options = options;
        _network = network;
        _parameters = parameters;
        _optimizer = optimizer;
        _l2 = optimizer.WantsL2InGradient ? options.EffectiveL2 : 0f;
        // The L2 term joins the gradient in the first pass over it after the backward pass: across ranks their sum,
        // else the clipping norm's pass, else the optimizer's step (where the noise estimate reads each block after it).
        _l2Placement = group is not null ? L2Placement.Reduction
            : options.GradientClipNorm is not null ? L2Placement.ClippingNorm
            : L2Placement.Step;
        _scaling = scaling;
        _seed = seed;
        _threads = options.EffectiveThreads;
        var layout = network.Layout;
        _evaluationBatchSize = TrainingSize.Check(layout, options, knownRows);
        // Buffers start at the first epoch's size and grow with the batch; an adaptive run never reads more than
        // MaximumBatchSize rows at once, which bounds them.
        int capacity = (int)Math.Max(1, Math.Min(Math.Min(options.BatchSize, knownRows ?? long.MaxValue), 1024));
        _batch = new Batch(capacity, layout.InputSize, targetCount);
        _nextBatch = new Batch(capacity, layout.InputSize, targetCount);
        _buffers = new LayerBuffers(layout, network.Activation, capacity);
        _gradient = group?.CreateGradient(layout) ?? new float[layout.ParameterCount];
        _logitGradient = new float[capacity * layout.OutputSize];
        _metrics = new MetricsAccumulator(task, layout.OutputSize, scaling);
        _loss = new BatchLoss(task, _metrics, layout.OutputSize, targetCount);
        _noise = options.MeasuresGradientNoise ? new GradientNoiseEstimator(layout.ParameterCount, seed) : null;
        _clipping = options.GradientClipNorm is { } clip ? new GlobalNormClipping(layout, clip) : null;
    }

    /// <summary>Where the L2 term is added to the gradient: once a step, by the first pass that can take it.</summary>
    private enum L2Placement { Reduction, ClippingNorm, Step }

    private float L2In(L2Placement placement) => placement == _l2Placement ? _l2 : 0;

    public readonly record struct TrainResult(int Iterations, long Rows, long SkippedRows, EpochMetrics Metrics, double? NoiseScale);

    /// <summary>Rows the batch and layer buffers hold now: the largest batch read so far.</summary>
    internal int BufferRows => Math.Max(_buffers.Capacity, Math.Max(_batch.Capacity, _nextBatch.Capacity));

    public TrainResult Train(DataSource source, int epoch, int batchSize, float learningRate, ProgressReporter progress)
    {
        var token = _options.CancellationToken;
        var layout = _network.Layout;
        _metrics.Reset();
        _noise?.StartEpoch(epoch);
        int iterations = 0;
        long rows = 0;
        using var batches = Stream(source, _options.Shuffle ? ShuffleSeed(_seed, epoch) : null, batchSize);
        bool ended = false;
        // batchRows and batchWeight are the global batch's (this rank's share is batch.Count rows, possibly none).
        while (NextStep(batches, ref ended, out var batch, out long batchRows, out double batchWeight))
        {
            int n = batch.Count;
            // Before the checks below, so that a dropped or weightless batch's rows are checked as every other row is.
            source.Gather(batch, _threads);
            if (batchRows < batchSize && _options.DropLastPartialBatch)
                break;
            if (batchWeight <= 0)
                continue;
            EnsureCapacity(n);
            ulong dropoutSeed = CounterRandom.Hash((ulong)(uint)_seed, ((ulong)(uint)epoch << 32) | (uint)iterations);
            double lossSum = 0;
            if (n > 0)
            {
                var logits = _network.Forward(_parameters, batch.FeatureRows, n, _buffers, _threads, _options.Dropout,
                    _group?.DropoutSeed(dropoutSeed) ?? dropoutSeed);
                lossSum = _loss.Add(logits, batch.Targets, batch.Weights, n, batchWeight, _logitGradient, _threads);
                if (!double.IsFinite(lossSum) && _group is null)
                    throw Diverged(epoch, iterations + 1, learningRate);
                _network.Backward(_parameters, batch.FeatureRows, n, _buffers, _logitGradient, _gradient, _threads,
                    _group?.BeforeBackward(double.IsFinite(lossSum)));
            }
            else
            {
                Array.Clear(_gradient);
            }
            if (_group is not null && !_group.ReduceGradient(_gradient, double.IsFinite(lossSum), layout, _parameters, L2In(L2Placement.Reduction)))
                throw Diverged(epoch, iterations + 1, learningRate);
            // The noise estimate reads the step's blocks before the clipping scale; a last partial batch is left out.
            var noise = batchRows == batchSize ? _noise : null;
            float gradientScale = _clipping?.Scale(_gradient, _threads, L2In(L2Placement.ClippingNorm), _parameters) ?? 1;
            _optimizer.Step(_parameters, _gradient, learningRate, _threads, L2In(L2Placement.Step), layout, gradientScale, noise);
            noise?.EndBatch(batchSize);
            if (iterations == int.MaxValue)
                throw TrainingSize.TooManyIterations(batchSize);
            iterations++;
            _group?.AfterUpdate(_parameters, epoch, iterations);
            rows += batchRows;
            progress.RowsSeen += batchRows;
            progress.Batch(epoch, iterations, _metrics.MeanLoss);
        }
        long skipped = _group?.SkippedRows(batches.SkippedRows) ?? batches.SkippedRows;
        return new TrainResult(iterations, rows, skipped, Result(), _noise?.EpochEstimate(rows));
    }

    /// <summary>The next step's batch. In one process: the stream's next batch, its rows and weight. Across ranks: this
    /// rank's share (empty once its rows have run out) with the global batch's rows and weight; false, on every rank
    /// at once, when no rank has rows left.</summary>
    private bool NextStep(BatchStream batches, ref bool ended, out Batch batch, out long batchRows, out double batchWeight)
    {
        var token = _options.CancellationToken;
        if (_group is null)
        {
            bool any = batches.Next(out batch);
            if (any)
                token.ThrowIfCancellationRequested();
            batchRows = batch.Count;
            batchWeight = any ? batch.TotalWeight() : 0;
            return any;
        }
        // A stream that has ended must not be asked again: its read-ahead thread is gone.
        if (ended || !batches.Next(out batch))
        {
            ended = true;
            batch = _group.Empty;
        }
        (batchRows, batchWeight) = _group.AgreeOnStep(batch.Count, batch.TotalWeight(), token);
        return batchRows > 0;
    }

    /// <summary>The pass's metrics; across ranks, from the sums of every rank's rows.</summary>
    private EpochMetrics Result()
    {
        _group?.SumOverRanks(_metrics.Sums);
        return _metrics.Result();
    }

    /// <summary>Loss and metrics of the current weights over a whole source, no dropout, no update.</summary>
    public EpochMetrics Evaluate(DataSource source, out long skippedRows)
    {
        _metrics.Reset();
        using var batches = Stream(source, shuffleSeed: null, _evaluationBatchSize);
        while (batches.Next(out var batch))
        {
            // Across ranks, cancellation is agreed once the pass is over, so that every rank stops together.
            if (_group is null)
                _options.CancellationToken.ThrowIfCancellationRequested();
            if (batch.Count == 0)
                continue; // this rank's share of a short last batch
            EnsureCapacity(batch.Count);
            source.Gather(batch, _threads);
            var logits = _network.Forward(_parameters, batch.FeatureRows, batch.Count, _buffers, _threads);
            _loss.Add(logits, batch.Targets, batch.Weights, batch.Count, 1, Span<float>.Empty, _threads);
        }
        skippedRows = _group?.SkippedRows(batches.SkippedRows) ?? batches.SkippedRows;
        _group?.AgreeOnCancellation(_options.CancellationToken);
        return Result();
    }

    /// <summary>The epoch's shuffle seed: a hash of (seed, epoch), so that no two (seed, epoch) pairs share a row order
    /// (seed + epoch made seed s's epoch e + 1 shuffle exactly like seed s + 1's epoch e).</summary>
    internal static int ShuffleSeed(int seed, int epoch) =>
        (int)CounterRandom.Hash(CounterRandom.Hash((ulong)(uint)seed, 0x5348_5546), (ulong)(uint)epoch);

    /// <summary>With more than one thread, the next batch is read while this one is computed; cached features are
    /// copied by the compute threads (<see cref="DataSource.Gather"/>).</summary>
    private BatchStream Stream(DataSource source, int? shuffleSeed, int batchSize)
    {
        var reader = source.Open(shuffleSeed, _scaling, gatherLater: true);
        if (_group is not null)
            (reader, batchSize) = _group.Shard(reader, batchSize);
        return new(source, reader, _batch, _nextBatch, batchSize, prefetch: _threads > 1);
    }

    private void EnsureCapacity(int rows)
    {
        if (rows > _buffers.Capacity)
            TrainingSize.CheckRows(_network.Layout, rows);
        _buffers.EnsureCapacity(rows);
        if (_logitGradient.Length < rows * _network.Layout.OutputSize)
            _logitGradient = new float[rows * _network.Layout.OutputSize];
    }

    private static InvalidOperationException Diverged(int epoch, int batch, float learningRate) => new(
        $"Training diverged: the loss became NaN or infinite in epoch {epoch}, batch {batch}. Lower the learning rate " +
        $"(LearningRate is {learningRate}; try {learningRate / 10}), check that the features are normalized " +
        "(mlContext.Transforms.NormalizeMinMax or NormalizeMeanVariance), or set GradientClipNorm.");
}
