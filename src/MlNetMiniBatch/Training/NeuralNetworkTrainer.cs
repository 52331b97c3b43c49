using Microsoft.ML.Runtime;
using Microsoft.ML.Trainers;
using MlNetMiniBatch.Scoring;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch;

/// <summary>
/// Trains a multilayer perceptron by mini-batch gradient descent, reading batches straight from the data view's cursor.
/// </summary>
/// <remarks>
/// <format type="text/markdown"><![CDATA[
/// ### Trainer characteristics
/// | | |
/// | -- | -- |
/// | Machine learning task | Multiclass classification, binary classification, multi-label classification (a vector-of-Boolean label), regression (one output, or multi-output for a vector label) |
/// | Is normalization required? | Yes: add NormalizeMinMax or NormalizeMeanVariance for features on very different scales |
/// | Is caching required? | No, but AppendCacheCheckpoint lets every epoch reshuffle the rows |
/// | Required NuGet in addition to Microsoft.ML | MlNetMiniBatch |
/// | Exportable to ONNX | Yes: mlContext.Model.ConvertToOnnx, or NeuralNetworkModelParameters.ExportToOnnx |
///
/// An epoch is one pass over the training rows; an iteration is one forward and backward pass over one batch and one
/// parameter update, so an epoch makes ceil(rows / BatchSize) iterations (the last batch may be partial).
/// Memory grows with BatchSize and the model, never with the number of rows.
/// ]]></format>
/// </remarks>
public sealed class NeuralNetworkTrainer : ITrainerEstimator<NeuralNetworkPredictionTransformer, NeuralNetworkModelParameters>
{
    private readonly IHost _host;
    private readonly NeuralNetworkOptions _options;

    /// <summary>Creates a trainer; the catalogs' <c>NeuralNetwork</c> methods are the usual way in.</summary>
    /// <param name="context">The MLContext whose log and seed the trainer uses.</param>
    /// <param name="task">What to predict.</param>
    /// <param name="options">Trainer options (copied; later changes have no effect).</param>
    public NeuralNetworkTrainer(MLContext context, NeuralNetworkTask task, NeuralNetworkOptions options)
        : this((IHostEnvironment)context, task, options)
    {
    }

    internal NeuralNetworkTrainer(IHostEnvironment environment, NeuralNetworkTask task, NeuralNetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(task))
            throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown task.");
        _options = options.Clone();
        _options.Validate();
        Task = task;
        _host = environment.Register("NeuralNetworkTrainer");
    }

    /// <summary>What this trainer predicts.</summary>
    public NeuralNetworkTask Task { get; }

    /// <summary>What the trainer needs and supports, for ML.NET's pipeline helpers: normalised features (the learning rates
    /// assume them), no calibration (probabilities come from the softmax or sigmoid), caching (every epoch is a pass, and a
    /// cached view can reshuffle), validation data and incremental training (<c>Fit(data, initialModel)</c>).</summary>
    public TrainerInfo Info { get; } = MlNetInternals.CreateTrainerInfo(normalization: true, calibration: false, caching: true, supportValid: true,
        supportIncrementalTrain: true);

    /// <summary>Trains on <paramref name="trainData"/>.</summary>
    public NeuralNetworkPredictionTransformer Fit(IDataView trainData) => Train(trainData, null, null);

    /// <summary>Trains on <paramref name="trainData"/> and reports the loss on <paramref name="validationData"/> after every
    /// epoch in <see cref="EpochSummary.ValidationLoss"/>. Validation data is never trained on.</summary>
    public NeuralNetworkPredictionTransformer Fit(IDataView trainData, IDataView validationData)
    {
        ArgumentNullException.ThrowIfNull(validationData);
        return Train(trainData, validationData, null);
    }

    /// <summary>Continues training from <paramref name="initialModel"/> (warm start): same architecture and label mapping,
    /// new data. With a small BatchSize this is online / incremental learning. The optimizer state starts fresh.</summary>
    public NeuralNetworkPredictionTransformer Fit(IDataView trainData, NeuralNetworkModelParameters initialModel)
    {
        ArgumentNullException.ThrowIfNull(initialModel);
        return Train(trainData, null, initialModel);
    }

    /// <summary>Warm start with validation data.</summary>
    public NeuralNetworkPredictionTransformer Fit(IDataView trainData, IDataView? validationData, NeuralNetworkModelParameters? initialModel)
        => Train(trainData, validationData, initialModel);

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        bool found = inputSchema.TryFind(_options.LabelColumnName, out var label);
        var task = TaskFor(found && label.Kind != SchemaShape.Column.VectorKind.Scalar);
        TrainingColumns.CheckShape(inputSchema, task, _options);
        return ScoreColumns.OutputShape(inputSchema, task, label);
    }

    /// <summary>The task of this trainer for the data's label: the binary trainer trains a vector of Booleans as multi-label.</summary>
    private TrainingTask TaskFor(bool vectorLabel) => TrainingTask.For(Task, vectorLabel, _options);

    private NeuralNetworkPredictionTransformer Train(IDataView trainData, IDataView? validationData, NeuralNetworkModelParameters? initialModel)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        var task = TaskFor(trainData.Schema.GetColumnOrNull(_options.LabelColumnName)?.Type is VectorDataViewType);
        var columns = TrainingColumns.Bind(trainData.Schema, task, _options, "training");
        var validationColumns = validationData is null ? null : TrainingColumns.Bind(validationData.Schema, task, _options, "validation");
        if (validationColumns is not null && (validationColumns.FeatureCount != columns.FeatureCount || validationColumns.ClassCount != columns.ClassCount))
            throw new ArgumentException(
                $"The validation data has {validationColumns.FeatureCount} features and {validationColumns.ClassCount} label values, " +
                $"the training data {columns.FeatureCount} and {columns.ClassCount}; transform both with the same fitted pipeline.",
                nameof(validationData));
        int seed = _options.Seed ?? _host.Rand.Next();
        using var channel = _host.Start("Training");
        var model = new TrainingLoop(task, _options, channel).Train(trainData, columns, validationData, validationColumns, initialModel, seed);
        return new NeuralNetworkPredictionTransformer(_host, model, columns.Features.Name, trainData.Schema[columns.Features.Index].Type);
    }
}
