using Microsoft.ML.Runtime;
using MlNetMiniBatch.Scoring;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch;

/// <summary>
/// A trained neural network in a pipeline: appends the same score columns as ML.NET's built-in trainer of the task
/// (see <see cref="NeuralNetworkTask"/>), so Evaluate, CrossValidate, PermutationFeatureImportance, PredictionEngine
/// and MapKeyToValue work on its output. <c>mlContext.Model.Save</c> / <c>Load</c> round-trip it (no registration call),
/// <c>mlContext.Model.ConvertToOnnx</c> exports it with the rest of an ONNX-exportable pipeline, and the non-generic
/// <c>PermutationFeatureImportance(ITransformer, ...)</c> finds it in a chain (see MlNetInternals.cs for how).
/// </summary>
public sealed partial class NeuralNetworkPredictionTransformer : ISingleFeaturePredictionTransformer<NeuralNetworkModelParameters>
{
    private readonly IHost _host;

    internal NeuralNetworkPredictionTransformer(IHostEnvironment environment, NeuralNetworkModelParameters model,
        string featureColumnName, DataViewType featureColumnType)
    {
        _host = environment.Register(nameof(NeuralNetworkPredictionTransformer));
        Model = model;
        FeatureColumnName = featureColumnName;
        FeatureColumnType = featureColumnType;
    }

    /// <summary>The trained network.</summary>
    public NeuralNetworkModelParameters Model { get; }

    /// <summary>Name of the feature column the network reads.</summary>
    public string FeatureColumnName { get; }

    /// <summary>Type of the feature column: a vector of Single of the model's input size.</summary>
    public DataViewType FeatureColumnType { get; }

    /// <summary>Always true: each row is scored on its own.</summary>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckFeatures(inputSchema);
        return ScoreColumns.OutputSchema(inputSchema, Model);
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return new NeuralNetworkRowMapper(inputSchema, this);
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new ScoredDataView(input, this);
    }

    private void CheckFeatures(DataViewSchema inputSchema)
    {
        var column = inputSchema.GetColumnOrNull(FeatureColumnName) ?? throw new ArgumentException(
            $"The feature column '{FeatureColumnName}' the network was trained on is not in the input. " +
            "Score data that went through the same pipeline as the training data.", nameof(inputSchema));
        int size = TrainingColumns.CheckFeatureType(column.Name, column.Type);
        if (size != Model.InputSize)
            throw new ArgumentException(
                $"The feature column '{FeatureColumnName}' has {size} features, but the network was trained on {Model.InputSize}. " +
                "Score data that went through the same pipeline as the training data.", nameof(inputSchema));
    }
}
