using Microsoft.ML;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch;

/// <summary>
/// <c>NeuralNetwork</c> trainers on <c>mlContext.MulticlassClassification.Trainers</c>,
/// <c>mlContext.BinaryClassification.Trainers</c> and <c>mlContext.Regression.Trainers</c>.
/// Each trains a multilayer perceptron by mini-batch gradient descent, reading its batches from the data view's cursor.
/// </summary>
public static class NeuralNetworkCatalog
{
    /// <summary>Multiclass neural network: softmax output over the classes of a key-typed label.</summary>
    /// <param name="catalog">The multiclass trainer catalog.</param>
    /// <param name="labelColumnName">Label column: a key type (add <c>MapValueToKey</c>).</param>
    /// <param name="featureColumnName">Feature column: a known-size vector of Single.</param>
    /// <param name="exampleWeightColumnName">Optional column of per-row weights (Single); null weighs every row 1.</param>
    /// <param name="hiddenLayers">Units per hidden layer; null means { 128 }.</param>
    /// <param name="batchSize">Rows per parameter update.</param>
    /// <param name="epochs">Passes over the training data.</param>
    public static NeuralNetworkTrainer NeuralNetwork(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = NeuralNetworkOptions.Defaults.LabelColumnName,
        string featureColumnName = NeuralNetworkOptions.Defaults.FeatureColumnName, string? exampleWeightColumnName = null,
        int[]? hiddenLayers = null, int batchSize = NeuralNetworkOptions.Defaults.BatchSize, int epochs = NeuralNetworkOptions.Defaults.Epochs)
        => catalog.NeuralNetwork(Simple(labelColumnName, featureColumnName, exampleWeightColumnName, hiddenLayers, batchSize, epochs));

    /// <summary>Multiclass neural network with all options.</summary>
    /// <param name="catalog">The multiclass trainer catalog.</param>
    /// <param name="options">Trainer options; the label column must be a key type.</param>
    public static NeuralNetworkTrainer NeuralNetwork(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        NeuralNetworkOptions options)
        => new(MlNetInternals.GetEnvironment(catalog), NeuralNetworkTask.MulticlassClassification, options);

    /// <summary>Binary neural network: one sigmoid output giving <c>Score</c>, <c>Probability</c> and <c>PredictedLabel</c>.</summary>
    /// <param name="catalog">The binary classification trainer catalog.</param>
    /// <param name="labelColumnName">Label column: Boolean; a known-size vector of Boolean trains a multi-label network
    /// (k sigmoid outputs; Score, Probability and PredictedLabel become vectors).</param>
    /// <param name="featureColumnName">Feature column: a known-size vector of Single.</param>
    /// <param name="exampleWeightColumnName">Optional column of per-row weights (Single); null weighs every row 1.</param>
    /// <param name="hiddenLayers">Units per hidden layer; null means { 128 }.</param>
    /// <param name="batchSize">Rows per parameter update.</param>
    /// <param name="epochs">Passes over the training data.</param>
    public static NeuralNetworkTrainer NeuralNetwork(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = NeuralNetworkOptions.Defaults.LabelColumnName,
        string featureColumnName = NeuralNetworkOptions.Defaults.FeatureColumnName, string? exampleWeightColumnName = null,
        int[]? hiddenLayers = null, int batchSize = NeuralNetworkOptions.Defaults.BatchSize, int epochs = NeuralNetworkOptions.Defaults.Epochs)
        => catalog.NeuralNetwork(Simple(labelColumnName, featureColumnName, exampleWeightColumnName, hiddenLayers, batchSize, epochs));

    /// <summary>Binary neural network with all options.</summary>
    /// <param name="catalog">The binary classification trainer catalog.</param>
    /// <param name="options">Trainer options; the label column must be Boolean, or a known-size vector of Boolean (multi-label).</param>
    public static NeuralNetworkTrainer NeuralNetwork(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        NeuralNetworkOptions options)
        => new(MlNetInternals.GetEnvironment(catalog), NeuralNetworkTask.BinaryClassification, options);

    /// <summary>Regression neural network: one linear output giving <c>Score</c>; for a label that is a known-size vector
    /// of k Single, k outputs (multi-output regression), <c>Score</c> then being a vector of k.</summary>
    /// <param name="catalog">The regression trainer catalog.</param>
    /// <param name="labelColumnName">Label column: Single (or Double), or a known-size vector of Single.</param>
    /// <param name="featureColumnName">Feature column: a known-size vector of Single.</param>
    /// <param name="exampleWeightColumnName">Optional column of per-row weights (Single); null weighs every row 1.</param>
    /// <param name="hiddenLayers">Units per hidden layer; null means { 128 }.</param>
    /// <param name="batchSize">Rows per parameter update.</param>
    /// <param name="epochs">Passes over the training data.</param>
    public static NeuralNetworkTrainer NeuralNetwork(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = NeuralNetworkOptions.Defaults.LabelColumnName,
        string featureColumnName = NeuralNetworkOptions.Defaults.FeatureColumnName, string? exampleWeightColumnName = null,
        int[]? hiddenLayers = null, int batchSize = NeuralNetworkOptions.Defaults.BatchSize, int epochs = NeuralNetworkOptions.Defaults.Epochs)
        => catalog.NeuralNetwork(Simple(labelColumnName, featureColumnName, exampleWeightColumnName, hiddenLayers, batchSize, epochs));

    /// <summary>Regression neural network with all options.</summary>
    /// <param name="catalog">The regression trainer catalog.</param>
    /// <param name="options">Trainer options; the label column must be Single or Double, or a known-size vector of Single.</param>
    public static NeuralNetworkTrainer NeuralNetwork(this RegressionCatalog.RegressionTrainers catalog, NeuralNetworkOptions options)
        => new(MlNetInternals.GetEnvironment(catalog), NeuralNetworkTask.Regression, options);

    private static NeuralNetworkOptions Simple(string label, string features, string? weight, int[]? hiddenLayers, int batchSize, int epochs) => new()
    {
        LabelColumnName = label,
        FeatureColumnName = features,
        ExampleWeightColumnName = weight,
        HiddenLayers = hiddenLayers ?? NeuralNetworkOptions.Defaults.HiddenLayers,
        BatchSize = batchSize,
        Epochs = epochs,
    };
}
