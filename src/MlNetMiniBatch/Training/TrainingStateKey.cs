using System.Globalization;
using System.Text;
using MlNetMiniBatch.Persistence;

namespace MlNetMiniBatch.Training;

/// <summary>
/// What must not change between a run and its resumption: every setting that alters the sequence of updates, the
/// early-stopping decisions or the final weights, by option name. Values are formatted in the invariant culture, so a
/// checkpoint written under one culture resumes under any other. Epochs is always part of it: the cosine schedule
/// depends on it, and a finished run deletes its checkpoint, so there is never a finished run to extend.
/// Thread count, progress, callbacks and cancellation are not: they do not change what is computed.
/// </summary>
internal sealed class TrainingStateKey
{
    private readonly (string Name, string? Value)[] _settings;

    private TrainingStateKey((string Name, string? Value)[] settings) => _settings = settings;

    /// <param name="seed">The seed of the run; null (the options leave it unset) accepts whatever seed the checkpoint has.</param>
    public static TrainingStateKey For(NeuralNetworkTask task, NeuralNetworkOptions options, TrainingColumns columns,
        bool hasValidationData, int? seed) => new(
    [
        ("task", $"{task}"),
        (nameof(options.LabelColumnName), options.LabelColumnName),
        (nameof(options.FeatureColumnName), options.FeatureColumnName),
        ("FeatureCount", Invariant(columns.FeatureCount)),
        ("ClassCount", Invariant(columns.ClassCount)),
        ("label key values", columns.ClassValues is { } classes ? Fingerprint(classes.Names) : "(none)"),
        (nameof(options.ExampleWeightColumnName), options.ExampleWeightColumnName ?? "(none)"),
        (nameof(options.HiddenLayers), string.Join(',', options.HiddenLayers)),
        (nameof(options.Activation), $"{options.Activation}"),
        (nameof(options.BatchSize), Invariant(options.BatchSize)),
        (nameof(options.AdaptiveBatchSize), options.AdaptiveBatchSize
            ? $"{Invariant(options.EffectiveMinimumBatchSize)}-{Invariant(options.EffectiveMaximumBatchSize)}, {options.EffectiveLearningRateScaling}"
            : "off"),
        (nameof(options.Epochs), Invariant(options.Epochs)),
        (nameof(options.Shuffle), $"{options.Shuffle}"),
        // The streaming shuffle's groups depend on it, so a different limit gives different orders.
        (nameof(options.ShuffleMemoryLimit), Invariant(options.ShuffleMemoryLimit)),
        (nameof(options.DropLastPartialBatch), $"{options.DropLastPartialBatch}"),
        (nameof(options.SkipInvalidRows), $"{options.SkipInvalidRows}"),
        (nameof(options.Optimizer), $"{options.Optimizer}"),
        (nameof(options.LearningRate), Invariant(options.EffectiveLearningRate)),
        (nameof(options.Momentum), Invariant(options.Momentum)),
        (nameof(options.Nesterov), $"{options.Nesterov}"),
        (nameof(options.L2Regularization), Invariant(options.EffectiveL2)),
        (nameof(options.LearningRateSchedule), options.LearningRateSchedule?.ToString() ?? "constant"),
        (nameof(options.GradientClipNorm), options.GradientClipNorm is { } clip ? Invariant(clip) : "(none)"),
        (nameof(options.Dropout), Invariant(options.Dropout)),
        (nameof(options.ClassWeights), options.ClassWeights is { } weights ? string.Join(',', weights.Select(w => Invariant(w))) : "(none)"),
        (nameof(options.ValidationFraction), Invariant(options.ValidationFraction)),
        ("validation data", hasValidationData ? "given to Fit" : "(none)"),
        (nameof(options.EarlyStoppingPatience), options.EarlyStoppingPatience is { } patience ? Invariant(patience) : "(none)"),
        (nameof(options.EarlyStoppingMetric), $"{options.EarlyStoppingMetric}"),
        (nameof(options.EarlyStoppingMinDelta), Invariant(options.EarlyStoppingMinDelta)),
        (nameof(options.RestoreBestWeights), $"{options.RestoreBestWeights}"),
        (nameof(options.Seed), seed is { } s ? Invariant(s) : null),
    ]);

    /// <summary>The settings that differ, as "Name: value in the checkpoint → value now", one per setting; empty when
    /// this run may resume <paramref name="saved"/>.</summary>
    public IReadOnlyList<string> DifferencesFrom(TrainingStateKey saved)
    {
        var differences = new List<string>();
        foreach (var (name, value) in _settings)
        {
            if (value is null)
                continue;
            string savedValue = Array.Find(saved._settings, s => s.Name == name).Value ?? "(not recorded)";
            if (savedValue != value)
                differences.Add($"{name}: {savedValue} in the checkpoint, {value} now");
        }
        return differences;
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write(_settings.Length);
        foreach (var (name, value) in _settings)
        {
            writer.Write(name);
            writer.Write(value ?? throw new InvalidOperationException("A checkpoint's key records the seed in effect."));
        }
    }

    public static TrainingStateKey Read(BinaryReader reader)
    {
        var settings = new (string, string?)[ModelFormat.Count(reader, 0, 1000, "setting count")];
        for (int i = 0; i < settings.Length; i++)
            settings[i] = (reader.ReadString(), reader.ReadString());
        return new TrainingStateKey(settings);
    }

    /// <summary>A short stand-in for the class names, which may number a million: a different key order (dog = 1 where
    /// cat was) would train the outputs toward the wrong classes.</summary>
    private static string Fingerprint(IReadOnlyList<string> names) =>
        $"{Invariant(names.Count)} values, CRC-32 {Crc32.Compute(Encoding.UTF8.GetBytes(string.Join('\n', names))):x8}";

    private static string Invariant<T>(T value) where T : IFormattable => value.ToString(null, CultureInfo.InvariantCulture);
}
