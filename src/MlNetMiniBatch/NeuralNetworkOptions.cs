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
        /// <summary>Default memory of the streaming shuffle: 256 MiB.</summary>
        public const long ShuffleMemoryLimit = 256L << 20;
        /// <summary>Default largest batch size of <see cref="AdaptiveBatchSize"/>.</summary>
        public const int MaximumBatchSize = 1024;
        /// <summary>Default learning-rate rule of <see cref="AdaptiveBatchSize"/>.</summary>
        public const NeuralNetworkLearningRateScaling LearningRateScaling = NeuralNetworkLearningRateScaling.SquareRoot;
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

    /// <summary>Whether to visit the rows in a new random order every epoch (a hash of the seed and the epoch).</summary>
    /// <value>Default true. A view that can shuffle (a cache, <c>AppendCacheCheckpoint</c>) is read through its shuffling
    /// cursor; any other view (<c>LoadFromTextFile</c>, <c>LoadFromEnumerable</c>, a database loader) goes through the
    /// streaming shuffle: one pass copies the rows into temporary files, and every epoch reads them back shuffled, using at
    /// most <see cref="ShuffleMemoryLimit"/> bytes. The log says which ran. False: every epoch reads the rows in cursor order.</value>
    public bool Shuffle { get; set; } = true;

    /// <summary>Memory the streaming shuffle may use to shuffle rows (a view that cannot shuffle, <see cref="Shuffle"/> on).</summary>
    /// <value>Default 256 MiB; at least 16 KiB and a few rows. Data up to this size (about 4 bytes a row more than
    /// the features) is shuffled uniformly; larger data is shuffled in groups of this size, each a random mix of shards.</value>
    public long ShuffleMemoryLimit { get; set; } = Defaults.ShuffleMemoryLimit;

    /// <summary>Directory under which the streaming shuffle writes its temporary copy of the training rows (one copy
    /// of the features, sparse rows stored sparsely), in a per-run subdirectory deleted when training ends, fails or is
    /// cancelled; leftovers of a killed process are deleted by the next run.</summary>
    /// <value>Default null: <see cref="Path.GetTempPath"/>.</value>
    public string? ShuffleTemporaryDirectory { get; set; }

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
    /// <value>Default 0 (none), in [0, 1). Refused with Adam and AdamW, which keep their own moment estimates.</value>
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
    /// <value>Default null: all cores (<see cref="Environment.ProcessorCount"/>), shared equally by the ranks that mpirun
    /// starts on this machine (OMPI_COMM_WORLD_LOCAL_SIZE). At least 1; more than the cores computes on the cores, with the
    /// same results (weights and history are the same bits on any number of threads).</value>
    public int? NumberOfThreads { get; set; }

    /// <summary>What to do with rows that cannot be trained on: NaN or infinite features, a missing label
    /// (key 0, NaN), or a negative, NaN or infinite example weight.</summary>
    /// <value>Default false: training stops with an error that counts such rows and names the first one.
    /// True: such rows are skipped, counted, and the count is logged.</value>
    public bool SkipInvalidRows { get; set; }

    /// <summary>Fraction of the training rows held out as validation data, drawn at random with the seed and stratified
    /// by class for classification (each class keeps its share). Not used with Fit(train, validation).</summary>
    /// <value>Default 0: no split. In [0, 1). The held-out rows are never trained on and give <see cref="EpochSummary.Validation"/>.</value>
    public float ValidationFraction { get; set; }

    /// <summary>Epochs without improvement of the monitored metric after which training stops.</summary>
    /// <value>Default null: no early stopping. At least 1.</value>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>Smallest change of the monitored metric that counts as an improvement.</summary>
    /// <value>Default 0; zero or positive. Needs <see cref="EarlyStoppingPatience"/> or a ReduceOnPlateau schedule.</value>
    public float EarlyStoppingMinDelta { get; set; }

    /// <summary>The metric early stopping and reduce-on-plateau watch: on the validation rows when there are some,
    /// otherwise on the training rows.</summary>
    /// <value>Default <see cref="NeuralNetworkMetric.Loss"/>. Must apply to the task (AUC is binary only, ...).</value>
    public NeuralNetworkMetric EarlyStoppingMetric { get; set; } = NeuralNetworkMetric.Loss;

    /// <summary>With early stopping on, whether the model ends with the weights of its best epoch (by the monitored metric)
    /// rather than those of its last, whether or not patience ran out.</summary>
    /// <value>Default true. False needs <see cref="EarlyStoppingPatience"/> (without early stopping the last weights are kept anyway).</value>
    public bool RestoreBestWeights { get; set; } = true;

    /// <summary>How the learning rate changes between epochs.</summary>
    /// <value>Default null: constant. See <see cref="MlNetMiniBatch.LearningRateSchedule"/>.</value>
    public LearningRateSchedule? LearningRateSchedule { get; set; }

    /// <summary>Largest global L2 norm of a batch's gradient; larger gradients are scaled down to it.</summary>
    /// <value>Default null: no clipping. Positive.</value>
    public float? GradientClipNorm { get; set; }

    /// <summary>Probability of zeroing each hidden unit's output during training (inverted dropout: kept units are scaled
    /// by 1 / (1 − Dropout), so scoring needs no change).</summary>
    /// <value>Default 0: none. In [0, 1). Needs at least one hidden layer.</value>
    public float Dropout { get; set; }

    /// <summary>Weight of each class, multiplied into each training row's example weight: by class index (key value − 1) for
    /// multiclass, { false, true } for binary. For a multi-label (vector of Boolean) label, one weight per label that
    /// multiplies that label's positive term of the loss, as PyTorch's pos_weight. Validation rows are not class-weighted
    /// (as in Keras), so validation metrics and early stopping see the loss that ML.NET's Evaluate reports.</summary>
    /// <value>Default null: all 1. Length = class count (multi-label: label count); values finite and non-negative.</value>
    public float[]? ClassWeights { get; set; }

    /// <summary>Receives progress reports after batches (throttled by <see cref="ProgressInterval"/>) and after every epoch.</summary>
    /// <value>Default null.</value>
    public IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>Least time between two batch progress reports.</summary>
    /// <value>Default 0.2 s.</value>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(0.2);

    /// <summary>Called after every epoch with its summary; setting <see cref="EpochEndContext.StopTraining"/> ends training.</summary>
    /// <value>Default null.</value>
    public Action<EpochEndContext>? OnEpochEnd { get; set; }

    /// <summary>Cancels training: checked before every batch and at every row of the passes before training (validation
    /// split, label statistics, invalid-row count), so training stops within one batch and throws
    /// <see cref="OperationCanceledException"/>. The last checkpoint, if any, stays valid.</summary>
    /// <value>Default none.</value>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Directory where a checkpoint (weights, optimizer state, history, schedule and early-stopping state) is
    /// written atomically after every epoch, and deleted when the run ends normally (all epochs, early stopping or
    /// StopTraining). Checked for writing before the first batch.</summary>
    /// <value>Default null: no checkpoints.</value>
    public string? CheckpointDirectory { get; set; }

    /// <summary>Whether Fit continues from the checkpoint in <see cref="CheckpointDirectory"/> when there is one. A run
    /// resumed after epoch k ends bit-identical to an uninterrupted run with the same seed and thread count. The settings
    /// that shape the updates must be the ones that wrote the checkpoint, and Fit must not be given an initial model.</summary>
    /// <value>Default false.</value>
    public bool ResumeFromCheckpoint { get; set; }

    /// <summary>Whether to estimate the gradient noise scale (the batch size at which an update's noise stops dominating)
    /// each epoch; see <see cref="EpochSummary.GradientNoiseScale"/> and <see cref="NeuralNetworkModelParameters.SuggestedBatchSize"/>.</summary>
    /// <value>Default false.</value>
    public bool MeasureGradientNoise { get; set; }

    /// <summary>Whether the trainer chooses each epoch's batch size from the gradient noise scale measured in the epoch
    /// before (McCandlish et al., 2018): it starts at <see cref="BatchSize"/> and moves toward the noise scale, at most
    /// doubling or halving per epoch, rounded to a multiple of 8, within [<see cref="MinimumBatchSize"/>,
    /// <see cref="MaximumBatchSize"/>]. The learning rate follows by <see cref="LearningRateScaling"/>.</summary>
    /// <value>Default false: every epoch uses BatchSize. True measures the gradient noise scale every epoch (as
    /// <see cref="MeasureGradientNoise"/> does); <see cref="EpochSummary.BatchSize"/> records each epoch's batch size.</value>
    public bool AdaptiveBatchSize { get; set; }

    /// <summary>Smallest batch size <see cref="AdaptiveBatchSize"/> may choose.</summary>
    /// <value>Default null: BatchSize, so the batch never shrinks below the starting size. At least 1 and at most
    /// BatchSize; only with AdaptiveBatchSize.</value>
    public int? MinimumBatchSize { get; set; }

    /// <summary>Largest batch size <see cref="AdaptiveBatchSize"/> may choose; it bounds the training memory.</summary>
    /// <value>Default null: 1024. At least BatchSize; only with AdaptiveBatchSize.</value>
    public int? MaximumBatchSize { get; set; }

    /// <summary>How the learning rate follows the batch size chosen by <see cref="AdaptiveBatchSize"/>: the epoch's rate is
    /// the schedule's rate times a factor of the batch size (see <see cref="NeuralNetworkLearningRateScaling"/>).</summary>
    /// <value>Default null: <see cref="NeuralNetworkLearningRateScaling.SquareRoot"/>. Only with AdaptiveBatchSize.</value>
    public NeuralNetworkLearningRateScaling? LearningRateScaling { get; set; }

    /// <summary>Whether and how one training run spreads over the processes of an MPI job (see the README, "Training
    /// on several machines"): <see cref="DistributedTraining.Mpi"/>, <see cref="DistributedTraining.MpiPerRankData"/> or
    /// <see cref="DistributedTraining.None"/>.</summary>
    /// <value>Default null: <see cref="DistributedTraining.Mpi"/> when the process was started by mpirun with more than
    /// one rank (OMPI_COMM_WORLD_SIZE &gt; 1), else single-process training, which needs no MPI library.</value>
    public DistributedTraining? Distributed { get; set; }

    internal int EffectiveMinimumBatchSize => MinimumBatchSize ?? BatchSize;

    internal int EffectiveMaximumBatchSize => AdaptiveBatchSize ? MaximumBatchSize ?? Defaults.MaximumBatchSize : BatchSize;

    internal NeuralNetworkLearningRateScaling EffectiveLearningRateScaling => LearningRateScaling ?? Defaults.LearningRateScaling;

    /// <summary>Adaptive batch sizes are chosen from the noise scale, so they measure it.</summary>
    internal bool MeasuresGradientNoise => MeasureGradientNoise || AdaptiveBatchSize;

    internal float EffectiveLearningRate => LearningRate ?? (Optimizer == NeuralNetworkOptimizer.Sgd ? 0.01f : 0.001f);

    internal float EffectiveL2 => L2Regularization ?? (Optimizer == NeuralNetworkOptimizer.AdamW ? Defaults.AdamWWeightDecay : 0f);

    /// <summary>Ranks that mpirun starts on one machine share its cores. More threads than cores never run at once (the
    /// worker pool has a thread per core), and work split for threads that are not there only costs more items and more
    /// packing, so a larger NumberOfThreads computes on the cores; the results do not depend on the thread count.</summary>
    internal int EffectiveThreads => Math.Min(NumberOfThreads ?? Math.Max(1, Environment.ProcessorCount / DistributedTraining.RanksOnThisMachine),
        Environment.ProcessorCount);

    /// <summary>Returns a copy, so a trainer is not affected by later changes to the options the user holds.</summary>
    internal NeuralNetworkOptions Clone()
    {
        var copy = (NeuralNetworkOptions)MemberwiseClone();
        copy.HiddenLayers = (int[])(HiddenLayers?.Clone() ?? Array.Empty<int>());
        copy.ClassWeights = (float[]?)ClassWeights?.Clone();
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
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, $"ValidationFraction must be in [0, 1), but was {ValidationFraction}.");
        if (EarlyStoppingPatience is { } patience && patience < 1)
            throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), patience, $"EarlyStoppingPatience must be at least 1 (or null for no early stopping), but was {patience}.");
        if (!(EarlyStoppingMinDelta >= 0 && float.IsFinite(EarlyStoppingMinDelta)))
            throw new ArgumentOutOfRangeException(nameof(EarlyStoppingMinDelta), EarlyStoppingMinDelta, $"EarlyStoppingMinDelta must be zero or positive, but was {EarlyStoppingMinDelta}.");
        if (!Enum.IsDefined(EarlyStoppingMetric))
            throw new ArgumentOutOfRangeException(nameof(EarlyStoppingMetric), EarlyStoppingMetric, "EarlyStoppingMetric is not a NeuralNetworkMetric value.");
        if (GradientClipNorm is { } clip && !(clip > 0 && float.IsFinite(clip)))
            throw new ArgumentOutOfRangeException(nameof(GradientClipNorm), clip, $"GradientClipNorm must be positive (or null for no clipping), but was {clip}.");
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, $"Dropout must be in [0, 1), but was {Dropout}.");
        if (ClassWeights is { } classWeights && classWeights.Any(w => !(w >= 0 && float.IsFinite(w))))
            throw new ArgumentOutOfRangeException(nameof(ClassWeights), "ClassWeights must all be finite and non-negative.");
        if (ProgressInterval < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ProgressInterval), ProgressInterval, "ProgressInterval must not be negative.");
        if (ShuffleMemoryLimit < 16 << 10)
            throw new ArgumentOutOfRangeException(nameof(ShuffleMemoryLimit), ShuffleMemoryLimit, $"ShuffleMemoryLimit must be at least 16384 bytes (16 KiB), but was {ShuffleMemoryLimit}.");
        if (ShuffleTemporaryDirectory is { } shuffleDirectory && string.IsNullOrWhiteSpace(shuffleDirectory))
            throw new ArgumentException("ShuffleTemporaryDirectory must be null (the system temp directory) or name a directory.", nameof(ShuffleTemporaryDirectory));
        if (ResumeFromCheckpoint && string.IsNullOrWhiteSpace(CheckpointDirectory))
            throw new ArgumentException("ResumeFromCheckpoint needs CheckpointDirectory.", nameof(ResumeFromCheckpoint));
        ValidateCombinations();
        ValidateAdaptiveBatchSize();
    }

    /// <summary>Refuses options that would do nothing with the others given, so that a setting is never silently ignored.</summary>
    private void ValidateCombinations()
    {
        if (Momentum > 0 && Optimizer is NeuralNetworkOptimizer.Adam or NeuralNetworkOptimizer.AdamW)
            throw new ArgumentException(
                $"Momentum = {Momentum} has no effect with Optimizer = {Optimizer}, which keeps its own moment estimates. " +
                "Set Momentum = 0, or use Optimizer = Sgd or RmsProp.", nameof(Momentum));
        bool plateau = LearningRateSchedule is { UsesMonitoredMetric: true };
        if (EarlyStoppingPatience is null && EarlyStoppingMinDelta > 0 && !plateau)
            throw new ArgumentException(
                $"EarlyStoppingMinDelta = {EarlyStoppingMinDelta} has no effect without EarlyStoppingPatience (or a ReduceOnPlateau " +
                "LearningRateSchedule). Set EarlyStoppingPatience, or leave EarlyStoppingMinDelta at 0.", nameof(EarlyStoppingMinDelta));
        if (EarlyStoppingPatience is null && !RestoreBestWeights)
            throw new ArgumentException(
                "RestoreBestWeights = false has no effect without EarlyStoppingPatience: without early stopping the model always ends " +
                "with its last epoch's weights. Set EarlyStoppingPatience, or leave RestoreBestWeights at its default.", nameof(RestoreBestWeights));
        if (Dropout > 0 && HiddenLayers.Length == 0)
            throw new ArgumentException(
                $"Dropout = {Dropout} has no effect with HiddenLayers empty: dropout acts on hidden units, and a linear model has none. " +
                "Add a hidden layer, or set Dropout = 0.", nameof(Dropout));
    }

    private void ValidateAdaptiveBatchSize()
    {
        if (!AdaptiveBatchSize)
        {
            string? setAlone = MinimumBatchSize is not null ? nameof(MinimumBatchSize) : MaximumBatchSize is not null ? nameof(MaximumBatchSize)
                : LearningRateScaling is not null ? nameof(LearningRateScaling) : null;
            if (setAlone is not null)
                throw new ArgumentException(
                    $"{setAlone} only applies when AdaptiveBatchSize is true; set AdaptiveBatchSize = true or leave {setAlone} unset.", setAlone);
            return;
        }
        if (MinimumBatchSize is { } min && !(min >= 1 && min <= BatchSize))
            throw new ArgumentOutOfRangeException(nameof(MinimumBatchSize), min,
                $"MinimumBatchSize must be at least 1 and at most BatchSize ({BatchSize}), but was {min}.");
        if (EffectiveMaximumBatchSize < BatchSize)
            throw new ArgumentOutOfRangeException(nameof(MaximumBatchSize), EffectiveMaximumBatchSize,
                $"MaximumBatchSize must be at least BatchSize ({BatchSize}), but was {EffectiveMaximumBatchSize}" +
                (MaximumBatchSize is null ? $" (the default). Set MaximumBatchSize to at least {BatchSize}." : "."));
        if (LearningRateScaling is { } scaling && !Enum.IsDefined(scaling))
            throw new ArgumentOutOfRangeException(nameof(LearningRateScaling), scaling, "LearningRateScaling is not a NeuralNetworkLearningRateScaling value.");
    }

    /// <summary>Checks the options that depend on the task and the data: metric, class weights, validation split.</summary>
    internal void ValidateFor(Tasks.TrainingTask task, int classCount, bool hasValidationData)
    {
        if (!task.HasMetric(EarlyStoppingMetric))
            throw new ArgumentException($"EarlyStoppingMetric {EarlyStoppingMetric} does not apply to {task}.", nameof(EarlyStoppingMetric));
        if (ClassWeights is { } weights)
        {
            if (!task.AcceptsClassWeights)
                throw new ArgumentException(
                    $"ClassWeights apply to classification only, but this trainer does {task.Kind.ToString().ToLowerInvariant()}; weight rows with ExampleWeightColumnName instead.",
                    nameof(ClassWeights));
            if (weights.Length != classCount)
                throw new ArgumentException($"ClassWeights has {weights.Length} values, but the label has {classCount} classes.", nameof(ClassWeights));
        }
        if (hasValidationData && ValidationFraction > 0)
            throw new ArgumentException("Give either validation data to Fit or a ValidationFraction, not both.", nameof(ValidationFraction));
    }
}
