namespace MlNetMiniBatch.Tasks;

/// <summary>
/// How the reader standardises a label for training, target = (label − Mean[o]) / StandardDeviation[o], one pair per
/// output o, and how predictions go back to label units. Tasks that train on the label as it is use <see cref="Identity"/>,
/// one pair for every output.
/// </summary>
internal sealed class TargetScaling
{
    public static readonly TargetScaling Identity = new([0f], [1f]);

    private readonly float[] _mean, _standardDeviation;

    public TargetScaling(float[] mean, float[] standardDeviation)
    {
        if (mean.Length == 0 || mean.Length != standardDeviation.Length)
            throw new ArgumentException($"Target scaling needs one mean and one standard deviation per output, but has {mean.Length} and {standardDeviation.Length}.");
        _mean = mean;
        _standardDeviation = standardDeviation;
    }

    /// <summary>One output's scaling, the identity for (0, 1).</summary>
    public static TargetScaling Of(float mean, float standardDeviation) =>
        mean == 0 && standardDeviation == 1 ? Identity : new([mean], [standardDeviation]);

    /// <summary>Outputs described: one per output of the network, or one for all when the task does not standardise.</summary>
    public int Count => _mean.Length;

    public ReadOnlySpan<float> Mean => _mean;

    public ReadOnlySpan<float> StandardDeviation => _standardDeviation;

    /// <summary>Output <paramref name="output"/>'s pair: its own, or the one every output shares.</summary>
    public (float Mean, float StandardDeviation) For(int output) => Count == 1 ? (_mean[0], _standardDeviation[0])
        : (_mean[output], _standardDeviation[output]);
}
