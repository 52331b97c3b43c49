namespace MlNetMiniBatch;

/// <summary>
/// Options of the neural-network trainer: a multilayer perceptron trained by mini-batch gradient descent.
/// Every property has a default; set only what you want to change.
/// </summary>
public sealed class NeuralNetworkOptions
{
    /// <summary>Default values, shared by the options and the catalog's simple overloads.</summary>
    public static class Defaults
    {
        /// <summary>Default label column name.</summary>
        public const string LabelColumnName = "Label";
        /// <summary>Default feature column name.</summary>
        public const string FeatureColumnName = "Features";
        /// <summary>Default batch size (as in Keras).</summary>
        public const int BatchSize = 32;
        /// <summary>Default number of epochs.</summary>
        public const int Epochs = 10;
        /// <summary>Default hidden layer sizes: one layer of 128 units.</summary>
        public static int[] HiddenLayers => new[] { 128 };
        /// <summary>Default weight decay of <see cref="NeuralNetworkOptimizer.AdamW"/> when <see cref="L2Regularization"/> is not set.</summary>
        public const float AdamWWeightDecay = 0.01f;
    }

    /// <summary>Name of the label column.</summary>
    /// <value>Default "Label". Multiclass: a key type (use <c>MapValueToKey</c>); binary: Boolean; regression: Single or Double.</value>
    public string LabelColumnName { get; set; } = Defaults.LabelColumnName;

    /// <summary>Name of the feature column.</summary>
    /// <value>Default "Features". A known-size vector of Single, dense or sparse.</value>
    public string FeatureColumnName { get; set; } = Defaults.FeatureColumnName;

    /// <summary>Name of an optional example-weight column (Single, finite, non-negative).</summary>
    /// <value>Default null: every row weighs 1. A batch's gradient and the reported loss are weighted means.</value>
    public string? ExampleWeightColumnName { get; set; }

    /// <summary>Number of units in each hidden layer, input side first.</summary>
    /// <value>Default { 128 }. An empty array trains a linear model (softmax / logistic / linear regression).</value>
    public int[] HiddenLayers { get; set; } = Defaults.HiddenLayers;

    /// <summary>Non-linearity after each hidden layer.</summary>
    /// <value>Default <see cref="NeuralNetworkActivation.ReLU"/>. Weights start He-uniform for ReLU and LeakyReLU, Glorot-uniform otherwise.</value>
    public NeuralNetworkActivation Activation { get; set; } = NeuralNetworkActivation.ReLU;

    /// <summary>Rows per parameter update. 1 is per-row (online) SGD; at least the row count is full-batch gradient descent.</summary>
    /// <value>Default 32. Each epoch makes ceil(rows / BatchSize) updates (floor with <see cref="DropLastPartialBatch"/>).
    /// Training memory grows with BatchSize and model size, never with the number of rows.</value>
    public int BatchSize { get; set; } = Defaults.BatchSize;

    /// <summary>Number of passes over the training data.</summary>
    /// <value>Default 10; at least 1.</value>
    public int Epochs { get; set; } = Defaults.Epochs;

    /// <summary>Whether to visit the rows in a new random order every epoch (seed + epoch).</summary>
    /// <value>Default true. Needs a data view that can shuffle (add <c>AppendCacheCheckpoint</c> or <c>mlContext.Data.Cache</c>);
    /// otherwise a warning is logged and rows are read in cursor order.</value>
    public bool Shuffle { get; set; } = true;

    /// <summary>Whether to skip the last batch of an epoch when it has fewer than <see cref="BatchSize"/> rows.</summary>
    /// <value>Default false: the last partial batch is trained on (1050 rows at batch 100 make 11 updates).</value>
    public bool DropLastPartialBatch { get; set; }

    /// <summary>The update rule.</summary>
    /// <value>Default <see cref="NeuralNetworkOptimizer.Adam"/>.</value>
    public NeuralNetworkOptimizer Optimizer { get; set; } = NeuralNetworkOptimizer.Adam;

    /// <summary>Step size of the optimizer.</summary>
    /// <value>Default null: the optimizer's usual default (0.01 for Sgd, 0.001 for Adam, AdamW and RmsProp). Must be positive and finite.</value>
    public float? LearningRate { get; set; }

    /// <summary>Momentum of <see cref="NeuralNetworkOptimizer.Sgd"/> and <see cref="NeuralNetworkOptimizer.RmsProp"/>.</summary>
    /// <value>Default 0 (none), in [0, 1).</value>
    public float Momentum { get; set; }

    /// <summary>Whether Sgd uses Nesterov momentum. Needs <see cref="Momentum"/> &gt; 0.</summary>
    /// <value>Default false.</value>
    public bool Nesterov { get; set; }

    /// <summary>L2 penalty on the weights (not the biases).</summary>
    /// <value>Default null: 0, except 0.01 for AdamW. Convention: every update minimises
    /// (weighted mean loss of the batch) + L2Regularization / 2 · ‖W‖², so its strength does not change with the batch size.
    /// For AdamW it is applied as decoupled weight decay: W ← W − learningRate · L2Regularization · W.</value>
    public float? L2Regularization { get; set; }

    /// <summary>Seed of the weight initialisation and the shuffling.</summary>
    /// <value>Default null: drawn from the <c>MLContext</c>'s random source, so <c>new MLContext(seed: 1)</c> makes runs repeatable.
    /// Same seed and thread count give bit-identical weights and history.</value>
    public int? Seed { get; set; }

    /// <summary>Number of threads used by the kernels.</summary>
    /// <value>Default null: all cores (<see cref="Environment.ProcessorCount"/>). At least 1.</value>
    public int? NumberOfThreads { get; set; }

    /// <summary>What to do with rows that cannot be trained on: NaN or infinite features, a missing label
    /// (key 0, NaN), or a negative, NaN or infinite example weight.</summary>
    /// <value>Default false: training stops with an error that counts such rows and names the first one.
    /// True: such rows are skipped, counted, and the count is logged.</value>
    public bool SkipInvalidRows { get; set; }

    internal float EffectiveLearningRate => LearningRate ?? (Optimizer == NeuralNetworkOptimizer.Sgd ? 0.01f : 0.001f);

    internal float EffectiveL2 => L2Regularization ?? (Optimizer == NeuralNetworkOptimizer.AdamW ? Defaults.AdamWWeightDecay : 0f);

    internal int EffectiveThreads => NumberOfThreads ?? Environment.ProcessorCount;

    /// <summary>Returns a copy, so a trainer is not affected by later changes to the options the user holds.</summary>
    internal NeuralNetworkOptions Clone()
    {
        var copy = (NeuralNetworkOptions)MemberwiseClone();
        copy.HiddenLayers = (int[])(HiddenLayers?.Clone() ?? Array.Empty<int>());
        return copy;
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid option and the value given.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(LabelColumnName))
            throw new ArgumentException("LabelColumnName must name the label column.", nameof(LabelColumnName));
        if (string.IsNullOrWhiteSpace(FeatureColumnName))
            throw new ArgumentException("FeatureColumnName must name the feature column.", nameof(FeatureColumnName));
        if (ExampleWeightColumnName is { } w && string.IsNullOrWhiteSpace(w))
            throw new ArgumentException("ExampleWeightColumnName must be null (no weights) or name a column.", nameof(ExampleWeightColumnName));
        if (HiddenLayers is null)
            throw new ArgumentException("HiddenLayers must not be null; use an empty array for a linear model.", nameof(HiddenLayers));
        for (int i = 0; i < HiddenLayers.Length; i++)
            if (HiddenLayers[i] < 1)
                throw new ArgumentOutOfRangeException(nameof(HiddenLayers), HiddenLayers[i], $"HiddenLayers[{i}] must be at least 1, but was {HiddenLayers[i]}.");
        if (!Enum.IsDefined(Activation))
            throw new ArgumentOutOfRangeException(nameof(Activation), Activation, "Activation is not a NeuralNetworkActivation value.");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"BatchSize must be at least 1, but was {BatchSize}.");
        if (Epochs < 1)
            throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, $"Epochs must be at least 1, but was {Epochs}.");
        if (!Enum.IsDefined(Optimizer))
            throw new ArgumentOutOfRangeException(nameof(Optimizer), Optimizer, "Optimizer is not a NeuralNetworkOptimizer value.");
        if (LearningRate is { } lr && !(lr > 0 && float.IsFinite(lr)))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), lr, $"LearningRate must be positive and finite, but was {lr}.");
        if (!(Momentum >= 0 && Momentum < 1))
            throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, $"Momentum must be in [0, 1), but was {Momentum}.");
        if (Nesterov && (Momentum == 0 || Optimizer != NeuralNetworkOptimizer.Sgd))
            throw new ArgumentException("Nesterov needs Optimizer = Sgd and Momentum > 0.", nameof(Nesterov));
        if (L2Regularization is { } l2 && !(l2 >= 0 && float.IsFinite(l2)))
            throw new ArgumentOutOfRangeException(nameof(L2Regularization), l2, $"L2Regularization must be zero or positive and finite, but was {l2}.");
        if (NumberOfThreads is { } t && t < 1)
            throw new ArgumentOutOfRangeException(nameof(NumberOfThreads), t, $"NumberOfThreads must be at least 1 (or null for all cores), but was {t}.");
    }
}
