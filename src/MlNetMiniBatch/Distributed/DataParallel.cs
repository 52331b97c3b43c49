using System.Diagnostics;
using Microsoft.ML.Runtime;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Distributed;

/// <summary>
/// One training run's side of synchronous data-parallel training: what the ranks must agree on, and when. Every rank
/// makes the same collectives in the same order: one agreement on the step's rows and weight, one reduction of the
/// gradient per update, one of the metric sums per pass. So a rank that runs out of rows still takes part (with zeros),
/// and the ranks end an epoch on the same step without knowing the row count beforehand.
/// </summary>
internal sealed class DataParallel
{
    private readonly ICommunicator _world;
    private readonly double[] _step = new double[3];
    private readonly Batch _empty;
    private Batch? _whole;
    private long _updates;
    private OverlappedGradientReduction? _overlapped;
    private long _reductions, _reductionTicks;

    /// <summary>Set when every rank throws the same error at the same point (cancellation, divergence, disagreement), so
    /// that nobody is left waiting and the job need not be aborted.</summary>
    public bool StoppingTogether { get; private set; }

    private DataParallel(ICommunicator world, DistributedTraining mode, int featureCount, int targetCount)
    {
        _world = world;
        Mode = mode;
        _empty = new Batch(0, featureCount, targetCount);
    }

    public int Rank => _world.Rank;

    public int Size => _world.Size;

    /// <summary>The rank that logs epoch lines and writes checkpoints.</summary>
    public bool IsRoot => _world.Rank == 0;

    public DistributedTraining Mode { get; }

    /// <summary>Tests: a group over <paramref name="world"/> without options.</summary>
    internal static DataParallel ForTests(ICommunicator world, DistributedTraining mode) => new(world, mode, featureCount: 1, targetCount: 1);

    /// <summary>The run's group of ranks, or null when it trains in one process; logs which, in one line.</summary>
    public static DataParallel? Start(NeuralNetworkOptions options, int featureCount, int targetCount, IChannel channel)
    {
        var (world, mode, automatic) = DistributedTraining.Resolve(options.Distributed);
        string how = automatic ? "(started by mpirun with more than one rank)" : "(NeuralNetworkOptions.Distributed)";
        if (world is null || world.Size == 1)
        {
            if (world is not null || !automatic)
                channel.Info(MessageSensitivity.None, $"NeuralNetwork distributed: off {how}: this process trains alone.");
            return null;
        }
        int minimumBatch = options.AdaptiveBatchSize ? options.EffectiveMinimumBatchSize : options.BatchSize;
        if (mode.PerRankData && minimumBatch < world.Size)
            throw new ArgumentOutOfRangeException(nameof(options.BatchSize), minimumBatch,
                $"With DistributedTraining.MpiPerRankData every rank reads its share of each batch from its own data, so the batch size " +
                $"({minimumBatch}) must be at least the number of ranks ({world.Size}); otherwise some ranks' rows would never be read. " +
                "Raise BatchSize (and MinimumBatchSize), or run fewer ranks.");
        string data = mode.PerRankData ? "each rank reads its own data view" : "every rank reads its share of each batch of the same data view";
        string checks = mode.ChecksumInterval > 0 ? $"; weights compared across ranks every {mode.ChecksumInterval} updates" : "";
        channel.Info(MessageSensitivity.None,
            $"NeuralNetwork distributed: MPI {how}, rank {world.Rank} of {world.Size}; BatchSize {options.BatchSize} rows per update summed over all ranks, {data}{checks}.");
        return new DataParallel(world, mode, featureCount, targetCount);
    }

    /// <summary>The rows [Start, End) of every global batch of <paramref name="batchSize"/> rows that this rank trains:
    /// contiguous, in rank order, sizes differing by at most one.</summary>
    public (int Start, int End) Share(int batchSize) =>
        ((int)((long)batchSize * Rank / Size), (int)((long)batchSize * (Rank + 1) / Size));

    /// <summary>The reader of this rank's rows, and the batch size to read them with. On shared data, every rank goes
    /// through every row of the epoch's order and reads its share of each batch, passing over the others' rows with the
    /// cursor alone (the order needs no coordination). With SkipInvalidRows a skipped row does not count toward its
    /// batch, and only reading it tells whether it is skipped, so there every rank reads every row and keeps its share:
    /// that is what keeps the batch boundaries the same on every rank without exchanging row counts. On per-rank data,
    /// the rank reads its share from its own view.</summary>
    public (IBatchReader Reader, int BatchSize) Shard(IBatchReader reader, int batchSize)
    {
        var (start, end) = Share(batchSize);
        if (Mode.PerRankData)
            return (reader, end - start);
        if (reader.CanPassOver && !Mode.ReadsEveryRow)
            return (new PassOverShardReader(reader, start, end), batchSize);
        _whole ??= new Batch(Math.Min(batchSize, 1024), _empty.FeatureCount, _empty.TargetCount);
        return (new ShardReader(reader, _whole, start, end), batchSize);
    }

    /// <summary>A batch of no rows: what a rank whose shard has run out trains on while the others finish the epoch.</summary>
    public Batch Empty => _empty;

    /// <summary>Sums this rank's rows and weight of the step over all ranks, and whether any rank was cancelled: all ranks
    /// then throw together, at the same step, instead of leaving the others waiting.</summary>
    public (long Rows, double Weight) AgreeOnStep(int rows, double weight, CancellationToken token)
    {
        _step[0] = rows;
        _step[1] = weight;
        _step[2] = token.IsCancellationRequested ? 1 : 0;
        _world.AllreduceSum(_step);
        if (_step[2] > 0)
        {
            StoppingTogether = true;
            token.ThrowIfCancellationRequested();
            throw new OperationCanceledException($"Training was cancelled on another rank ({_step[2]} of {Size}); rank {Rank} stops at the same step.");
        }
        return ((long)_step[0], _step[1]);
    }

    /// <summary>Throws on every rank when any rank was cancelled: after a pass without updates (validation).</summary>
    public void AgreeOnCancellation(CancellationToken token) => AgreeOnStep(0, 0, token);

    /// <summary>The buffer backward writes the gradient into: with <see cref="DistributedTraining.GradientBucketSize"/>,
    /// the one the bucket reductions sum in place.</summary>
    public float[] CreateGradient(NetworkLayout layout)
    {
        if (Mode.GradientBucketSize == 0)
            return new float[layout.ParameterCount];
        _overlapped = new OverlappedGradientReduction(_world, layout, Mode.GradientBucketSize);
        return _overlapped.Gradient;
    }

    /// <summary>What backward tells of each finished layer, so that its bucket's sum starts at once; null when the
    /// gradient is summed after backward.</summary>
    public ILayerGradientReady? BeforeBackward(bool lossFinite)
    {
        _overlapped?.BeginBackward(lossFinite);
        return _overlapped;
    }

    /// <summary>Sums the ranks' gradients (each already divided by the global batch weight, so the sum is the weighted
    /// mean over the global batch), then adds L2, which must count once, not once per rank. Returns false, on every
    /// rank, when any rank's loss was not finite.</summary>
    public bool ReduceGradient(Span<float> gradient, bool lossFinite, NetworkLayout layout, ReadOnlySpan<float> parameters, float l2)
    {
        long start = Stopwatch.GetTimestamp();
        if (_overlapped is not null)
            _overlapped.Finish(lossFinite);
        else
        {
            // A NaN poisons the sum, so every rank learns of a diverged rank from the reduction it makes anyway.
            if (!lossFinite)
                gradient[0] = float.NaN;
            _world.AllreduceSum(gradient);
        }
        _reductionTicks += Stopwatch.GetTimestamp() - start;
        _reductions++;
        if (!float.IsFinite(gradient[0]))
        {
            StoppingTogether = true;
            return false;
        }
        if (l2 > 0)
            L2Term.Add(layout, parameters, gradient, l2, 0, layout.ParameterCount);
        return true;
    }

    /// <summary>Logs how long this rank waited for the gradient's sums after backward, and how many of the overlapped
    /// buckets were already summed by then (Open MPI advances them only inside MPI calls, so this shows whether
    /// overlap happened).</summary>
    public void ReportGradientWaits(IChannel channel)
    {
        if (_reductions == 0)
            return;
        double milliseconds = _reductionTicks * 1000.0 / Stopwatch.Frequency;
        string how = _overlapped is null
            ? "one allreduce of the whole gradient after backward (GradientBucketSize 0)"
            : $"{_overlapped.BucketCount} bucket(s) per update started during backward (GradientBucketSize {Mode.GradientBucketSize}), " +
              $"{_overlapped.FinishedDuringBackward} of {_overlapped.Buckets} already summed when backward ended";
        channel.Info(MessageSensitivity.None,
            $"NeuralNetwork distributed: rank {Rank} waited {milliseconds:0} ms for gradient sums over {_reductions} updates " +
            $"({milliseconds / _reductions:0.000} ms each): {how}.");
    }

    /// <summary>Replaces the rank's sums by the sums over all ranks.</summary>
    public void SumOverRanks(Span<double> sums) => _world.AllreduceSum(sums);

    /// <summary>Rows skipped as invalid over all ranks: on shared data every rank has already seen every row (rows are
    /// skipped only with SkipInvalidRows, where every rank reads every row).</summary>
    public long SkippedRows(long skipped)
    {
        if (!Mode.PerRankData)
            return skipped;
        Span<double> total = [skipped];
        _world.AllreduceSum(total);
        return (long)total[0];
    }

    /// <summary>Whether any rank says yes (a callback's StopTraining), so that every rank stops after the same epoch.</summary>
    public bool AnyRank(bool yes)
    {
        Span<double> count = [yes ? 1 : 0];
        _world.AllreduceSum(count);
        return count[0] > 0;
    }

    /// <summary>The dropout seed of this rank: each rank's rows need their own masks.</summary>
    public ulong DropoutSeed(ulong seed) => CounterRandom.Hash(seed, (ulong)(uint)Rank);

    /// <summary>Makes every rank start from rank 0's weights and label scaling (ranks with their own data would scale
    /// the label differently; any one scaling, the same everywhere, will do), after checking that all ranks have the
    /// same model shape and resumed the same epoch of the checkpoint, or none.</summary>
    public void StartTogether(TrainingState state, bool validates, string? checkpointDirectory)
    {
        Agree("weights", state.Parameters.Length,
            "Every rank must train the same model on the same columns: the same options, feature count and classes.");
        Agree("validation (1: validation data or ValidationFraction)", validates ? 1 : 0,
            "Give every rank validation data, or none: the ranks evaluate together.");
        Agree("epochs already done", state.EpochsDone,
            $"With ResumeFromCheckpoint every rank must read the same checkpoint (0: none found in '{checkpointDirectory}'): put " +
            "CheckpointDirectory on a file system all machines share, or copy rank 0's checkpoint to every machine.");
        Agree("label scaling pairs", state.TargetScaling.Count,
            "Every rank must train on a label of the same width.");
        Agree("class names (a hash of the label's KeyValues in key order; 0: none)", ClassNamesHash(state.ClassValues),
            "Every rank must map the label's values to the same keys: MapValueToKey numbers the classes in the order it first " +
            "meets them in its own rows, so ranks that read their own data can number them differently. Give MapValueToKey " +
            "the same keyData (the list of classes) on every rank, or use a key label built the same way everywhere.");
        _world.Broadcast(state.Parameters, root: 0);
        int pairs = state.TargetScaling.Count;
        var scaling = new float[2 * pairs];
        state.TargetScaling.Mean.CopyTo(scaling);
        state.TargetScaling.StandardDeviation.CopyTo(scaling.AsSpan(pairs));
        _world.Broadcast(scaling, root: 0);
        state.TargetScaling = new Tasks.TargetScaling(scaling[..pairs], scaling[pairs..]);
    }

    /// <summary>FNV-1a over the class names (string.GetHashCode differs from process to process).</summary>
    private static int ClassNamesHash(Scoring.LabelKeyValues? classes)
    {
        if (classes is null)
            return 0;
        uint hash = 2166136261;
        foreach (string name in classes.Names)
        {
            foreach (char ch in name)
                hash = (hash ^ ch) * 16777619;
            hash = (hash ^ 0xFFFF) * 16777619; // a separator, so "ab","c" and "a","bc" differ
        }
        return (int)(hash & 0x7FFFFFFF) | 1; // positive and never 0, which means "no names"
    }

    /// <summary>Throws on every rank, listing each rank's value, unless all ranks have the same <paramref name="value"/>.</summary>
    private void Agree(string what, int value, string fix)
    {
        var values = new double[Size];
        values[Rank] = value;
        _world.AllreduceSum(values);
        if (values.Distinct().Count() > 1)
        {
            StoppingTogether = true;
            throw new InvalidOperationException(
                $"The ranks cannot train together: their {what} differ ({string.Join(", ", values.Select((v, r) => $"rank {r}: {v}"))}). {fix}");
        }
    }

    /// <summary>With the debug option, every <see cref="DistributedTraining.ChecksumInterval"/> updates: throws on every
    /// rank, naming the ranks whose weights differ from rank 0's.</summary>
    public void AfterUpdate(ReadOnlySpan<float> parameters, int epoch, int batch)
    {
        _updates++;
        if (Mode.ChecksumInterval == 0 || _updates % Mode.ChecksumInterval != 0)
            return;
        uint checksum = Checksum(parameters);
        // Two 16-bit halves: floats hold them exactly.
        Span<float> rootChecksum = [checksum >> 16, checksum & 0xFFFF];
        _world.Broadcast(rootChecksum, root: 0);
        var differs = new double[Size];
        differs[Rank] = rootChecksum[0] == checksum >> 16 && rootChecksum[1] == (checksum & 0xFFFF) ? 0 : 1;
        _world.AllreduceSum(differs);
        var ranks = Enumerable.Range(0, Size).Where(r => differs[r] > 0).ToArray();
        StoppingTogether = ranks.Length > 0;
        if (ranks.Length > 0)
            throw new InvalidOperationException(
                $"The weights of rank{(ranks.Length > 1 ? "s" : "")} {string.Join(", ", ranks)} differ from rank 0's after update {_updates} " +
                $"(epoch {epoch}, batch {batch}): the ranks no longer train the same model. Every rank must run the same code, options " +
                "and library version; report this as a bug if they do.");
    }

    /// <summary>FNV-1a over the bits of every weight: any change to any weight changes it (almost surely).</summary>
    internal static uint Checksum(ReadOnlySpan<float> parameters)
    {
        uint hash = 2166136261;
        foreach (float p in parameters)
            hash = (hash ^ BitConverter.SingleToUInt32Bits(p)) * 16777619;
        return hash;
    }

    /// <summary>Ends the whole job after an error on this rank, so that the others fail now instead of waiting forever
    /// in their next collective; the message names the rank.</summary>
    public void Fail(Exception error) => _world.Abort($"NeuralNetwork rank {Rank} of {Size} failed: {error}");
}
