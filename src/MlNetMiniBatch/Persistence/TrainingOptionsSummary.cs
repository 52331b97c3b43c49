using System.Globalization;

namespace MlNetMiniBatch;

/// <summary>
/// The options a model was trained with, kept with the model (and saved with it by <c>mlContext.Model.Save</c>) so a
/// loaded model still tells how it was made. Values are the ones in effect: a default learning rate or L2 strength
/// is resolved, and <see cref="Seed"/> is the seed actually drawn when the options left it unset.
/// Callbacks, progress reporting, cancellation, thread count and checkpoint settings are not kept: they do not
/// change what a model is.
/// </summary>
public sealed class TrainingOptionsSummary
{
    internal TrainingOptionsSummary()
    {
    }

    /// <summary>Name of the label column.</summary>
    public string LabelColumnName { get; private init; } = "";

    /// <summary>Name of the feature column.</summary>
    public string FeatureColumnName { get; private init; } = "";

    /// <summary>Name of the example-weight column, or null.</summary>
    public string? ExampleWeightColumnName { get; private init; }

    /// <summary>Rows per update.</summary>
    public int BatchSize { get; private init; }

    /// <summary>Whether the trainer chose each epoch's batch size from the gradient noise scale (see
    /// <see cref="EpochSummary.BatchSize"/> for the sizes used); <see cref="BatchSize"/> is then the first epoch's.</summary>
    public bool AdaptiveBatchSize { get; private set; }

    /// <summary>Smallest batch size allowed by AdaptiveBatchSize, or null when it was off.</summary>
    public int? MinimumBatchSize { get; private set; }

    /// <summary>Largest batch size allowed by AdaptiveBatchSize, or null when it was off.</summary>
    public int? MaximumBatchSize { get; private set; }

    /// <summary>How the learning rate followed the adaptive batch size, or null when AdaptiveBatchSize was off.</summary>
    public NeuralNetworkLearningRateScaling? LearningRateScaling { get; private set; }

    /// <summary>Epochs requested (see <see cref="NeuralNetworkModelParameters.History"/> for the epochs run).</summary>
    public int Epochs { get; private init; }

    /// <summary>Whether rows were shuffled every epoch.</summary>
    public bool Shuffle { get; private init; }

    /// <summary>Whether the last partial batch of each epoch was skipped.</summary>
    public bool DropLastPartialBatch { get; private init; }

    /// <summary>Update rule.</summary>
    public NeuralNetworkOptimizer Optimizer { get; private init; }

    /// <summary>Base learning rate in effect (the optimizer's default when none was set).</summary>
    public float LearningRate { get; private init; }

    /// <summary>Momentum (SGD, RMSProp).</summary>
    public float Momentum { get; private init; }

    /// <summary>Whether SGD used Nesterov momentum.</summary>
    public bool Nesterov { get; private init; }

    /// <summary>L2 strength in effect (weight decay for AdamW).</summary>
    public float L2Regularization { get; private init; }

    /// <summary>The seed that drove initialization, shuffling, dropout and the validation split.</summary>
    public int Seed { get; private init; }

    /// <summary>Fraction of the training rows held out for validation.</summary>
    public float ValidationFraction { get; private init; }

    /// <summary>Early-stopping patience in epochs, or null when early stopping was off.</summary>
    public int? EarlyStoppingPatience { get; private init; }

    /// <summary>Metric watched for the best epoch and early stopping.</summary>
    public NeuralNetworkMetric EarlyStoppingMetric { get; private init; }

    /// <summary>Minimum improvement that counted for early stopping.</summary>
    public float EarlyStoppingMinDelta { get; private init; }

    /// <summary>Whether the best epoch's weights were restored after early stopping.</summary>
    public bool RestoreBestWeights { get; private init; }

    /// <summary>The learning-rate schedule, described in words ("constant" when none was set).</summary>
    public string LearningRateSchedule { get; private init; } = "constant";

    /// <summary>Global gradient-norm clip, or null.</summary>
    public float? GradientClipNorm { get; private init; }

    /// <summary>Dropout rate of the hidden layers.</summary>
    public float Dropout { get; private init; }

    /// <summary>Per-class loss weights, or null.</summary>
    public IReadOnlyList<float>? ClassWeights { get; private init; }

    /// <summary>Whether training continued from an initial model (warm start) or a checkpoint.</summary>
    public bool WarmStart { get; private init; }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Optimizer} lr={LearningRate} batch={BatchSize} epochs={Epochs} seed={Seed} l2={L2Regularization} dropout={Dropout}" +
        $" schedule={LearningRateSchedule}{(EarlyStoppingPatience is { } p ? $" early-stopping={EarlyStoppingMetric}/{p}" : "")}" +
        $"{(AdaptiveBatchSize ? $" adaptive-batch={MinimumBatchSize}-{MaximumBatchSize} lr-scaling={LearningRateScaling}" : "")}" +
        $"{(WarmStart ? " warm-start" : "")}");

    internal static TrainingOptionsSummary From(NeuralNetworkOptions options, int seed, bool warmStart) => new()
    {
        LabelColumnName = options.LabelColumnName,
        FeatureColumnName = options.FeatureColumnName,
        ExampleWeightColumnName = options.ExampleWeightColumnName,
        BatchSize = options.BatchSize,
        AdaptiveBatchSize = options.AdaptiveBatchSize,
        MinimumBatchSize = options.AdaptiveBatchSize ? options.EffectiveMinimumBatchSize : null,
        MaximumBatchSize = options.AdaptiveBatchSize ? options.EffectiveMaximumBatchSize : null,
        LearningRateScaling = options.AdaptiveBatchSize ? options.EffectiveLearningRateScaling : null,
        Epochs = options.Epochs,
        Shuffle = options.Shuffle,
        DropLastPartialBatch = options.DropLastPartialBatch,
        Optimizer = options.Optimizer,
        LearningRate = options.EffectiveLearningRate,
        Momentum = options.Momentum,
        Nesterov = options.Nesterov,
        L2Regularization = options.EffectiveL2,
        Seed = seed,
        ValidationFraction = options.ValidationFraction,
        EarlyStoppingPatience = options.EarlyStoppingPatience,
        EarlyStoppingMetric = options.EarlyStoppingMetric,
        EarlyStoppingMinDelta = options.EarlyStoppingMinDelta,
        RestoreBestWeights = options.RestoreBestWeights,
        LearningRateSchedule = options.LearningRateSchedule?.ToString() ?? "constant",
        GradientClipNorm = options.GradientClipNorm,
        Dropout = options.Dropout,
        ClassWeights = (float[]?)options.ClassWeights?.Clone(),
        WarmStart = warmStart,
    };

    internal void Write(BinaryWriter writer)
    {
        writer.Write(LabelColumnName);
        writer.Write(FeatureColumnName);
        writer.Write(ExampleWeightColumnName is not null);
        if (ExampleWeightColumnName is not null) writer.Write(ExampleWeightColumnName);
        writer.Write(BatchSize);
        writer.Write(Epochs);
        writer.Write(Shuffle);
        writer.Write(DropLastPartialBatch);
        writer.Write((int)Optimizer);
        writer.Write(LearningRate);
        writer.Write(Momentum);
        writer.Write(Nesterov);
        writer.Write(L2Regularization);
        writer.Write(Seed);
        writer.Write(ValidationFraction);
        writer.Write(EarlyStoppingPatience ?? -1);
        writer.Write((int)EarlyStoppingMetric);
        writer.Write(EarlyStoppingMinDelta);
        writer.Write(RestoreBestWeights);
        writer.Write(LearningRateSchedule);
        writer.Write(GradientClipNorm ?? -1f);
        writer.Write(Dropout);
        writer.Write(ClassWeights?.Count ?? -1);
        foreach (float w in ClassWeights ?? []) writer.Write(w);
        writer.Write(WarmStart);
    }

    /// <summary>The adaptive batch-size settings, which network format 3 writes after the rest.</summary>
    internal void WriteAdaptive(BinaryWriter writer)
    {
        writer.Write(AdaptiveBatchSize);
        if (AdaptiveBatchSize)
        {
            writer.Write(MinimumBatchSize!.Value);
            writer.Write(MaximumBatchSize!.Value);
            writer.Write((int)LearningRateScaling!.Value);
        }
    }

    /// <summary>Reads what <see cref="WriteAdaptive"/> wrote.</summary>
    internal void ReadAdaptive(BinaryReader reader)
    {
        if (!reader.ReadBoolean())
            return;
        AdaptiveBatchSize = true;
        MinimumBatchSize = Persistence.ModelFormat.Count(reader, 1, int.MaxValue, "minimum batch size");
        MaximumBatchSize = Persistence.ModelFormat.Count(reader, 1, int.MaxValue, "maximum batch size");
        LearningRateScaling = Persistence.ModelFormat.ReadEnum<NeuralNetworkLearningRateScaling>(reader);
    }

    /// <summary>Reads what <see cref="Write"/> wrote. Initializers run in the order written, which is the file order.</summary>
    internal static TrainingOptionsSummary Read(BinaryReader reader) => new()
    {
        LabelColumnName = reader.ReadString(),
        FeatureColumnName = reader.ReadString(),
        ExampleWeightColumnName = reader.ReadBoolean() ? reader.ReadString() : null,
        BatchSize = reader.ReadInt32(),
        Epochs = reader.ReadInt32(),
        Shuffle = reader.ReadBoolean(),
        DropLastPartialBatch = reader.ReadBoolean(),
        Optimizer = Persistence.ModelFormat.ReadEnum<NeuralNetworkOptimizer>(reader),
        LearningRate = reader.ReadSingle(),
        Momentum = reader.ReadSingle(),
        Nesterov = reader.ReadBoolean(),
        L2Regularization = reader.ReadSingle(),
        Seed = reader.ReadInt32(),
        ValidationFraction = reader.ReadSingle(),
        EarlyStoppingPatience = reader.ReadInt32() is var patience and >= 0 ? patience : null,
        EarlyStoppingMetric = Persistence.ModelFormat.ReadEnum<NeuralNetworkMetric>(reader),
        EarlyStoppingMinDelta = reader.ReadSingle(),
        RestoreBestWeights = reader.ReadBoolean(),
        LearningRateSchedule = reader.ReadString(),
        GradientClipNorm = reader.ReadSingle() is var clip and >= 0 ? clip : null,
        Dropout = reader.ReadSingle(),
        ClassWeights = ReadClassWeights(reader),
        WarmStart = reader.ReadBoolean(),
    };

    private static float[]? ReadClassWeights(BinaryReader reader)
    {
        int count = Persistence.ModelFormat.Count(reader, -1, 1 << 20, "class weight count");
        if (count < 0)
            return null;
        Persistence.ModelFormat.CheckRemaining(reader, 4L * count);
        var weights = new float[count];
        for (int i = 0; i < weights.Length; i++) weights[i] = reader.ReadSingle();
        return weights;
    }
}
