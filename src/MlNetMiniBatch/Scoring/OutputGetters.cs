namespace MlNetMiniBatch.Scoring;

/// <summary>
/// Getters of the output columns over a buffer of scored rows, shared by block scoring (<see cref="BlockScoredCursor"/>)
/// and row-at-a-time scoring (<see cref="RowScorer"/>), so both turn scores into columns the same way (the model's task
/// makes them).
/// </summary>
internal static class OutputGetters
{
    /// <param name="outputs">Scored rows, as <see cref="NeuralNetworkModelParameters.Score"/> writes them.</param>
    /// <param name="currentRow">Which row of <paramref name="outputs"/> a getter reads when called.</param>
    /// <param name="beforeRead">Called first by every getter (row-at-a-time scoring computes the row there).</param>
    public static Delegate Create(NeuralNetworkModelParameters model, string name, float[] outputs, Func<int> currentRow, Action? beforeRead = null)
        => model.TrainingTask.Getter(name, model.OutputSize, outputs, currentRow, beforeRead);
}
