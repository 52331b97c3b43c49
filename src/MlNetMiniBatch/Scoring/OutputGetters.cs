using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Scoring;

/// <summary>
/// Getters of the output columns over a buffer of scored rows (K values per row for multiclass, one otherwise), shared
/// by block scoring (<see cref="BlockScoredCursor"/>) and row-at-a-time scoring (<see cref="RowScorer"/>), so both turn
/// scores into columns the same way.
/// </summary>
internal static class OutputGetters
{
    /// <param name="outputs">Scored rows, as <see cref="NeuralNetworkModelParameters.Score"/> writes them.</param>
    /// <param name="currentRow">Which row of <paramref name="outputs"/> a getter reads when called.</param>
    /// <param name="beforeRead">Called first by every getter (row-at-a-time scoring computes the row there).</param>
    public static Delegate Create(NeuralNetworkModelParameters model, string name, float[] outputs, Func<int> currentRow, Action? beforeRead = null)
    {
        int k = model.OutputSize;
        return (model.Task, name) switch
        {
            (NeuralNetworkTask.MulticlassClassification, ScoreColumns.Score) => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
            {
                beforeRead?.Invoke();
                var editor = VBufferEditor.Create(ref dst, k);
                outputs.AsSpan(currentRow() * k, k).CopyTo(editor.Values);
                dst = editor.Commit();
            }),
            (NeuralNetworkTask.MulticlassClassification, ScoreColumns.PredictedLabel) => (ValueGetter<uint>)((ref uint dst) =>
            {
                beforeRead?.Invoke();
                dst = PredictedKey(outputs.AsSpan(currentRow() * k, k));
            }),
            (NeuralNetworkTask.BinaryClassification, ScoreColumns.PredictedLabel) => (ValueGetter<bool>)((ref bool dst) =>
            {
                beforeRead?.Invoke();
                dst = outputs[currentRow()] > 0;
            }),
            (NeuralNetworkTask.BinaryClassification, ScoreColumns.Probability) => (ValueGetter<float>)((ref float dst) =>
            {
                beforeRead?.Invoke();
                dst = (float)Losses.Sigmoid(outputs[currentRow()]);
            }),
            (_, ScoreColumns.Score) => (ValueGetter<float>)((ref float dst) =>
            {
                beforeRead?.Invoke();
                dst = outputs[currentRow()];
            }),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Not an output column of this model."),
        };
    }

    /// <summary>1-based key of the most probable class; 0 (missing) when every score is NaN.</summary>
    public static uint PredictedKey(ReadOnlySpan<float> probabilities)
    {
        int best = -1;
        float bestValue = float.NegativeInfinity;
        for (int c = 0; c < probabilities.Length; c++)
            if (probabilities[c] > bestValue)
                (best, bestValue) = (c, probabilities[c]);
        return (uint)(best + 1);
    }
}
