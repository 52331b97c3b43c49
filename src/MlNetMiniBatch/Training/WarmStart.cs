using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Checks that a model given to Fit(train, initialModel) can continue on this data and returns the weights to start
/// from. MapValueToKey numbers classes in order of first appearance, so new data can number the same classes in
/// another order: the output layer is then reordered to the new key order by class name, so that training, the
/// model's class names and scoring all agree.
/// </summary>
internal static class WarmStart
{
    public static float[] Parameters(NeuralNetworkModelParameters initial, Tasks.TrainingTask task, TrainingColumns columns, int outputs)
    {
        if (initial.Task != task.Kind)
            throw new ArgumentException($"The initial model was trained for {initial.Task}, but this trainer does {task}.", "initialModel");
        if (initial.InputSize != columns.FeatureCount)
            throw new ArgumentException(
                $"The initial model reads {initial.InputSize} features, but column '{columns.Features.Name}' has {columns.FeatureCount}. " +
                "Warm start needs the same feature pipeline as the run that produced the model.", "initialModel");
        var parameters = initial.Parameters.ToArray();
        var modelNames = task.MatchesOutputsByClassName ? initial.ClassNames : null;
        var dataNames = columns.ClassValues?.Names;
        if (modelNames is not null && dataNames is not null && !modelNames.SequenceEqual(dataNames))
        {
            var order = ModelClassOfEachKey(modelNames, dataNames, columns.Label.Name);
            PermuteOutputs(initial.Layout, parameters, order);
            return parameters;
        }
        if (initial.Layout.OutputSize != outputs)
            throw new ArgumentException(
                $"The initial model has {initial.Layout.OutputSize} outputs, but label '{columns.Label.Name}' needs {outputs} " +
                $"({(columns.TargetCount > 1 ? "one per element of the vector label" : "one per class")}). Warm start needs the same label " +
                "(the same key mapping, or the same vector width) as the run that produced the model.", "initialModel");
        return parameters;
    }

    /// <summary>For each class of the data's key (0-based), the model's output for the same class name; throws when
    /// the two sets of classes differ.</summary>
    private static int[] ModelClassOfEachKey(IReadOnlyList<string> modelNames, IReadOnlyList<string> dataNames, string label)
    {
        var modelIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < modelNames.Count; i++)
            if (!modelIndex.TryAdd(modelNames[i], i))
                throw Mismatch(modelNames, dataNames, label, $"the model's class name '{modelNames[i]}' occurs twice, so classes cannot be matched by name");
        var onlyInData = dataNames.Where(n => !modelIndex.ContainsKey(n)).ToArray();
        var dataSet = dataNames.ToHashSet(StringComparer.Ordinal);
        var onlyInModel = modelNames.Where(n => !dataSet.Contains(n)).ToArray();
        if (onlyInData.Length > 0 || onlyInModel.Length > 0 || dataSet.Count != dataNames.Count || dataNames.Count != modelNames.Count)
            throw Mismatch(modelNames, dataNames, label,
                $"only in the model: {Quote(onlyInModel)}; only in the data: {Quote(onlyInData)}");
        return dataNames.Select(n => modelIndex[n]).ToArray();
    }

    /// <summary>Output k of the new layout takes the weights and bias of the model's output order[k].</summary>
    private static void PermuteOutputs(NetworkLayout layout, float[] parameters, int[] order)
    {
        int last = layout.LayerCount - 1, fanIn = layout.FanIn(last), outputs = layout.FanOut(last);
        var weights = layout.Weights(parameters.AsSpan(), last);
        var bias = layout.Bias(parameters.AsSpan(), last);
        var row = new float[outputs];
        for (int i = 0; i < fanIn; i++) // weights are input-major: one row of `outputs` values per input
        {
            var inputRow = weights.Slice(i * outputs, outputs);
            for (int k = 0; k < outputs; k++) row[k] = inputRow[order[k]];
            row.CopyTo(inputRow);
        }
        for (int k = 0; k < outputs; k++) row[k] = bias[order[k]];
        row.CopyTo(bias);
    }

    private static ArgumentException Mismatch(IReadOnlyList<string> modelNames, IReadOnlyList<string> dataNames, string label, string difference) => new(
        $"The initial model predicts {modelNames.Count} classes ({Quote(modelNames)}), but label '{label}' has {dataNames.Count} ({Quote(dataNames)}): " +
        $"{difference}. Warm start needs the same label key mapping (the same set of classes, in any order) as the run that produced the model.",
        "initialModel");

    private static string Quote(IEnumerable<string> names)
    {
        var list = names.Take(11).Select(n => $"'{n}'").ToList();
        return list.Count == 0 ? "none" : list.Count > 10 ? string.Join(", ", list.Take(10)) + ", …" : string.Join(", ", list);
    }
}
