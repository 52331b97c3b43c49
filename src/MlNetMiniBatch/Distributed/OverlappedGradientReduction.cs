using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Distributed;

/// <summary>Sums the gradient across ranks bucket by bucket while backward runs: each bucket's non-blocking allreduce
/// starts as soon as backward has finished its lowest layer, in the same order on every rank, and the step waits for all
/// of them before the optimizer. The gradient lives in the reductions' buffer, so nothing is copied or allocated per step.</summary>
internal sealed class OverlappedGradientReduction : ILayerGradientReady
{
    private readonly GradientBuckets _buckets;
    private readonly ISliceReductions _reductions;
    private int _started;
    private bool _lossFinite = true;

    public OverlappedGradientReduction(ICommunicator world, NetworkLayout layout, int minimumBucketSize)
    {
        _buckets = GradientBuckets.Plan(layout, minimumBucketSize);
        _reductions = world.CreateSliceReductions(layout.ParameterCount, _buckets.Slices);
    }

    /// <summary>The gradient buffer backward writes into.</summary>
    public float[] Gradient => _reductions.Buffer;

    public int BucketCount => _buckets.Count;

    /// <summary>Buckets already summed when backward had ended (tested once then): the reductions that overlapped it.</summary>
    public long FinishedDuringBackward { get; private set; }

    public long Buckets { get; private set; }

    /// <summary>Before backward: whether this rank's loss was finite, which the bucket holding the first weight carries
    /// to every rank as a NaN.</summary>
    public void BeginBackward(bool lossFinite) => _lossFinite = lossFinite;

    public void LayerReady(int layer)
    {
        Advance();
        if (_buckets.ClosedBy(layer) is int bucket and >= 0)
            Start(bucket);
    }

    // Open MPI advances a non-blocking collective mostly inside MPI calls: every pause of backward gives the started
    // ones a turn.
    public void Advance()
    {
        for (int b = 0; b < _started; b++)
            _reductions.Test(b);
    }

    /// <summary>Starts the buckets backward did not (all of them on a rank without rows this step) and waits for every one.</summary>
    public void Finish(bool lossFinite)
    {
        _lossFinite = lossFinite;
        while (_started < _buckets.Count)
            Start(_started);
        for (int b = 0; b < _buckets.Count; b++)
        {
            if (_reductions.Test(b))
                FinishedDuringBackward++;
            _reductions.Wait(b);
        }
        Buckets += _buckets.Count;
        _started = 0;
    }

    private void Start(int bucket)
    {
        if (bucket != _started)
            throw new InvalidOperationException($"Gradient bucket {bucket} was ready before bucket {_started}: the buckets must start in order on every rank.");
        // The last bucket holds parameter 0: a NaN there poisons its sum, so every rank learns of a diverged rank.
        if (bucket == _buckets.Count - 1 && !_lossFinite)
            Gradient[0] = float.NaN;
        _reductions.Start(bucket);
        _started++;
    }
}
