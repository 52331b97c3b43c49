using MlNetMiniBatch.Network;
using MlNetMiniBatch.Scoring;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch;

/// <summary>
/// A trained multilayer perceptron: its shape, its weights (read-only), what it predicts and how training went.
/// </summary>
public sealed class NeuralNetworkModelParameters
{
    private readonly float[] _parameters;

    internal NeuralNetworkModelParameters(NeuralNetworkTask task, NetworkLayout layout, NeuralNetworkActivation activation,
        float[] parameters, LabelKeyValues? classValues, float labelMean, float labelStandardDeviation,
        IReadOnlyList<EpochSummary> history, TrainingStopReason stopReason = TrainingStopReason.Completed, int? bestEpoch = null,
        TrainingOptionsSummary? trainingOptions = null)
        : this(task, layout, activation, parameters, classValues, TargetScaling.Of(labelMean, labelStandardDeviation), history,
            stopReason, bestEpoch, trainingOptions)
    {
    }

    internal NeuralNetworkModelParameters(NeuralNetworkTask task, NetworkLayout layout, NeuralNetworkActivation activation,
        float[] parameters, LabelKeyValues? classValues, TargetScaling targetScaling,
        IReadOnlyList<EpochSummary> history, TrainingStopReason stopReason = TrainingStopReason.Completed, int? bestEpoch = null,
        TrainingOptionsSummary? trainingOptions = null)
    {
        if (targetScaling.Count != 1 && targetScaling.Count != layout.OutputSize)
            throw new ArgumentException($"A label scaling of {targetScaling.Count} pairs does not fit {layout.OutputSize} outputs.", nameof(targetScaling));
        TrainingOptions = trainingOptions;
        StopReason = stopReason;
        BestEpoch = bestEpoch;
        Task = task;
        TrainingTask = TrainingTask.For(task);
        TargetScaling = targetScaling;
        Layout = layout;
        Network = new MultilayerPerceptron(layout, activation);
        _parameters = parameters;
        ClassValues = classValues;
        History = history;
    }

    /// <summary>What the network predicts.</summary>
    public NeuralNetworkTask Task { get; }

    /// <summary>Units per layer: the feature count first, then each hidden layer, then the outputs
    /// (the class count for multiclass, k for multi-output regression, the label count for multi-label, 1 for binary and regression).</summary>
    public IReadOnlyList<int> LayerSizes => Layout.Sizes;

    /// <summary>Number of features the network reads.</summary>
    public int InputSize => Layout.InputSize;

    /// <summary>Non-linearity of the hidden layers.</summary>
    public NeuralNetworkActivation Activation => Network.Activation;

    /// <summary>Number of dense layers (hidden layers + the output layer).</summary>
    public int LayerCount => Layout.LayerCount;

    /// <summary>Multiclass: the label's key values as text, in class order (null when the label key had none);
    /// binary: { "False", "True" }; multi-label: the label's slot names (null when it had none); regression: null.</summary>
    public IReadOnlyList<string>? ClassNames => TrainingTask.ClassNames(ClassValues);

    /// <summary>Regression trains on the standardized label (label − LabelMean) / LabelStandardDeviation, so the default
    /// learning rates suit any label scale; the Score column is mapped back to label units. 0 and 1 for classification.
    /// A multi-output regression standardises each output separately: this is the first output's (see <see cref="LabelMeans"/>).</summary>
    public float LabelMean => TargetScaling.Mean[0];

    /// <inheritdoc cref="LabelMean"/>
    public float LabelStandardDeviation => TargetScaling.StandardDeviation[0];

    /// <summary>The label mean of each output (one value when every output shares it: every task but multi-output regression).</summary>
    public IReadOnlyList<float> LabelMeans => TargetScaling.Mean.ToArray();

    /// <summary>The label standard deviation of each output, as <see cref="LabelMeans"/>.</summary>
    public IReadOnlyList<float> LabelStandardDeviations => TargetScaling.StandardDeviation.ToArray();

    /// <summary>One summary per epoch of the training run that produced this model, in order.</summary>
    public IReadOnlyList<EpochSummary> History { get; }

    /// <summary>The options the model was trained with (kept when the model is saved and loaded); null for a model read
    /// from a checkpoint or file written before MlNetMiniBatch kept them.</summary>
    public TrainingOptionsSummary? TrainingOptions { get; }

    /// <summary>Bytes the streaming shuffle wrote to its temporary files in the run that produced this model (0 when the
    /// view shuffled itself or Shuffle was off). Describes that run only: not saved with the model.</summary>
    public long ShuffleBytesWritten { get; internal set; }

    /// <summary>Why training ended.</summary>
    public TrainingStopReason StopReason { get; }

    /// <summary>The epoch that scored best on the monitored metric (early stopping on), else null. With RestoreBestWeights
    /// the model holds that epoch's weights.</summary>
    public int? BestEpoch { get; }

    /// <summary>A batch size suggested by the gradient noise scale measured in the last epoch that has one
    /// (MeasureGradientNoise on), else null. The noise scale grows as training proceeds, so this is the value at the end of
    /// training; <see cref="NoiseScaleAtLoss"/> reads it at a given loss. See <see cref="SuggestedBatchSizeExplanation"/>.</summary>
    public int? SuggestedBatchSize => GradientNoise.SuggestBatchSize(History);

    /// <summary>What <see cref="SuggestedBatchSize"/> means for this model, naming the epoch and loss it was measured at; or null.</summary>
    public string? SuggestedBatchSizeExplanation => GradientNoise.Explain(History);

    /// <summary>The gradient noise scale measured in the first epoch whose validation loss (training loss without
    /// validation data) was at or below <paramref name="loss"/> — B_crit as McCandlish et al. define it, a function of the
    /// loss. Null if no epoch reached that loss or that epoch has no estimate (MeasureGradientNoise off, too few batches).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="loss"/> is NaN.</exception>
    public double? NoiseScaleAtLoss(double loss) => GradientNoise.AtLoss(History, loss);

    /// <summary>Weights of dense layer <paramref name="layer"/> (0 = first), row-major [inputs × outputs]:
    /// element [i * outputs + j] connects input i to output j.</summary>
    public ReadOnlyMemory<float> GetWeights(int layer)
    {
        CheckLayer(layer);
        return _parameters.AsMemory(Layout.WeightOffset(layer), Layout.WeightCount(layer));
    }

    /// <summary>Biases of dense layer <paramref name="layer"/>, one per output unit.</summary>
    public ReadOnlyMemory<float> GetBiases(int layer)
    {
        CheckLayer(layer);
        return _parameters.AsMemory(Layout.BiasOffset(layer), Layout.FanOut(layer));
    }

    /// <summary>
    /// Writes this network as a standalone ONNX model (IR version 8, opset 13) to <paramref name="stream"/>.
    /// Input: <paramref name="featureColumnName"/>, float [N, <see cref="InputSize"/>]. Outputs, named and computed like
    /// the transformer's columns: multiclass "Score" (float [N, K] probabilities) and "PredictedLabel" (uint32 [N, 1],
    /// the 1-based class index as an ML.NET key; <see cref="ClassNames"/> names them); binary "Score" (logit),
    /// "Probability" (float [N, 1]) and "PredictedLabel" (bool [N, 1]); regression "Score" (float [N, 1], label units);
    /// multi-output regression "Score" (float [N, k], label units).
    /// The task and class names are also stored in the model's metadata_props. To export a whole ML.NET pipeline
    /// (featurization included) use <c>mlContext.Model.ConvertToOnnx</c> instead.
    /// </summary>
    public void ExportToOnnx(Stream stream, string featureColumnName = NeuralNetworkOptions.Defaults.FeatureColumnName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrWhiteSpace(featureColumnName);
        if (featureColumnName is ScoreColumns.Score or ScoreColumns.PredictedLabel or ScoreColumns.Probability)
            throw new ArgumentException($"The input cannot be named '{featureColumnName}', an output's name.", nameof(featureColumnName));
        var writer = new Onnx.OnnxModelWriter();
        Onnx.NetworkOnnxGraph.Emit(writer, this, featureColumnName);
        var metadata = new Dictionary<string, string> { ["mlnetminibatch.task"] = Task.ToString() };
        if (ClassNames is { } names)
            metadata["mlnetminibatch.class_names"] = string.Join('\n', names);
        writer.Write(stream, metadata);
    }

    internal NetworkLayout Layout { get; }

    /// <summary>What <see cref="Task"/> means for training, scoring and export.</summary>
    internal TrainingTask TrainingTask { get; }

    /// <summary>The label scaling training used (<see cref="LabelMean"/>, <see cref="LabelStandardDeviation"/>).</summary>
    internal TargetScaling TargetScaling { get; }

    internal MultilayerPerceptron Network { get; }

    internal LabelKeyValues? ClassValues { get; }

    internal ReadOnlySpan<float> Parameters => _parameters;

    /// <summary>Number of outputs of the network: K for multiclass, one otherwise.</summary>
    internal int OutputSize => Layout.OutputSize;

    /// <summary>Number of values per row in <see cref="Score"/>'s output: K probabilities, or one value.</summary>
    internal int ScoredValuesPerRow => TrainingTask.ScoredValuesPerRow(OutputSize);

    /// <summary>Scores <paramref name="rows"/> rows of dense features: multiclass → class probabilities,
    /// binary → the logit, regression → the prediction in label units.</summary>
    internal void Score(ReadOnlySpan<float> features, int rows, LayerBuffers buffers, Span<float> outputs)
    {
        var logits = Network.Forward(_parameters, features, rows, buffers, threads: 1);
        TrainingTask.Score(logits, rows, OutputSize, outputs, TargetScaling);
    }

    private void CheckLayer(int layer)
    {
        if ((uint)layer >= (uint)Layout.LayerCount)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"layer must be in [0, {Layout.LayerCount - 1}].");
    }
}
