namespace MlNetMiniBatch.Training;

/// <summary>Checks that a model given to Fit(train, initialModel) can continue on this data.</summary>
internal static class WarmStart
{
    public static void Check(NeuralNetworkModelParameters initial, NeuralNetworkTask task, TrainingColumns columns, int outputs)
    {
        if (initial.Task != task)
            throw new ArgumentException($"The initial model was trained for {initial.Task}, but this trainer does {task}.", "initialModel");
        if (initial.InputSize != columns.FeatureCount)
            throw new ArgumentException(
                $"The initial model reads {initial.InputSize} features, but column '{columns.Features.Name}' has {columns.FeatureCount}. " +
                "Warm start needs the same feature pipeline as the run that produced the model.", "initialModel");
        if (initial.Layout.OutputSize != outputs)
            throw new ArgumentException(
                $"The initial model predicts {initial.Layout.OutputSize} classes, but label '{columns.Label.Name}' has {outputs}. " +
                "Warm start needs the same label key mapping as the run that produced the model.", "initialModel");
    }
}
