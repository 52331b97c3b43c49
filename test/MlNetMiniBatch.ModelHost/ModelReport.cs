using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch;

namespace MlNetMiniBatch.ModelHost;

/// <summary>
/// What the model host prints for a model and what the in-process persistence tests compute for the same model: its
/// details and every score as bits. One file, linked into both, so equal text means bit-identical models and scores.
/// </summary>
public static class ModelReport
{
    /// <summary>The network in a (possibly nested) transformer chain.</summary>
    public static NeuralNetworkPredictionTransformer FindNetwork(ITransformer model) => FindNetworkOrNull(model)
        ?? throw new InvalidOperationException($"The loaded {model.GetType().Name} holds no NeuralNetworkPredictionTransformer.");

    private static NeuralNetworkPredictionTransformer? FindNetworkOrNull(ITransformer model) => model switch
    {
        NeuralNetworkPredictionTransformer network => network,
        IEnumerable<ITransformer> chain => chain.Select(FindNetworkOrNull).SingleOrDefault(n => n is not null),
        _ => null,
    };

    public static IEnumerable<string> Describe(NeuralNetworkPredictionTransformer network)
    {
        var m = network.Model;
        yield return $"type={network.GetType().FullName}, {network.GetType().Assembly.GetName().Name}";
        yield return $"feature={network.FeatureColumnName}:{network.FeatureColumnType}";
        yield return $"task={m.Task} layers={string.Join("-", m.LayerSizes)} activation={m.Activation}";
        for (int l = 0; l < m.LayerCount; l++)
        {
            yield return $"W{l}={Bits(m.GetWeights(l).Span)}";
            yield return $"B{l}={Bits(m.GetBiases(l).Span)}";
        }
        yield return $"classes={(m.ClassNames is null ? "null" : string.Join("|", m.ClassNames))}";
        yield return $"label={Bits(m.LabelMeans.ToArray())} {Bits(m.LabelStandardDeviations.ToArray())}";
        yield return $"stop={m.StopReason} best={m.BestEpoch}";
        foreach (var e in m.History)
            yield return $"epoch {e.Epoch} it={e.Iterations} rows={e.Rows} lr={Bits(e.LearningRate)} loss={BitConverter.DoubleToInt64Bits(e.TrainLoss):X} " +
                         $"val={(e.ValidationLoss is { } v ? BitConverter.DoubleToInt64Bits(v).ToString("X") : "-")} best={e.IsBest}";
        yield return $"options={m.TrainingOptions}";
    }

    /// <summary>Transform's score columns, then a PredictionEngine's outputs for the same rows.</summary>
    public static IEnumerable<string> Scores(MLContext ml, ITransformer model, IDataView rows)
    {
        var lines = new List<string>();
        var scored = model.Transform(rows);
        foreach (var column in new[] { "PredictedLabel", "Score", "Probability", "PredictedClass" })
            if (scored.Schema.GetColumnOrNull(column) is { } c)
                lines.Add($"transform.{column}={string.Join(" ", Column(scored, c))}");

        var inputs = ml.Data.CreateEnumerable<FourFeatures>(rows, reuseRowObject: false).ToArray();
        var task = FindNetwork(model).Model.Task;
        switch (task)
        {
            case NeuralNetworkTask.MulticlassClassification:
            {
                var engine = ml.Model.CreatePredictionEngine<FourFeatures, MulticlassOut>(model);
                var outputs = inputs.Select(engine.Predict).ToArray();
                lines.Add($"engine.PredictedLabel={string.Join(" ", outputs.Select(o => o.PredictedLabel.ToString(CultureInfo.InvariantCulture)))}");
                lines.Add($"engine.Score={string.Join(" ", outputs.Select(o => Bits(o.Score)))}");
                break;
            }
            case NeuralNetworkTask.BinaryClassification:
            {
                var engine = ml.Model.CreatePredictionEngine<FourFeatures, BinaryOut>(model);
                var outputs = inputs.Select(engine.Predict).ToArray();
                lines.Add($"engine.PredictedLabel={string.Join(" ", outputs.Select(o => o.PredictedLabel))}");
                lines.Add($"engine.Score={string.Join(" ", outputs.Select(o => Bits(o.Score)))}");
                lines.Add($"engine.Probability={string.Join(" ", outputs.Select(o => Bits(o.Probability)))}");
                break;
            }
            case NeuralNetworkTask.MultiOutputRegression:
            {
                var engine = ml.Model.CreatePredictionEngine<FourFeatures, MultiOutputOut>(model);
                lines.Add($"engine.Score={string.Join(" ", inputs.Select(r => Bits(engine.Predict(r).Score)))}");
                break;
            }
            case NeuralNetworkTask.MultiLabelClassification:
            {
                var engine = ml.Model.CreatePredictionEngine<FourFeatures, MultiLabelOut>(model);
                var outputs = inputs.Select(engine.Predict).ToArray();
                lines.Add($"engine.PredictedLabel={string.Join(" ", outputs.Select(o => string.Join(",", o.PredictedLabel)))}");
                lines.Add($"engine.Score={string.Join(" ", outputs.Select(o => Bits(o.Score)))}");
                lines.Add($"engine.Probability={string.Join(" ", outputs.Select(o => Bits(o.Probability)))}");
                break;
            }
            default:
            {
                var engine = ml.Model.CreatePredictionEngine<FourFeatures, RegressionOut>(model);
                lines.Add($"engine.Score={string.Join(" ", inputs.Select(r => Bits(engine.Predict(r).Score)))}");
                break;
            }
        }
        return lines;
    }

    private static IEnumerable<string> Column(IDataView view, DataViewSchema.Column column)
    {
        using var cursor = view.GetRowCursor([column]);
        if (column.Type is VectorDataViewType { ItemType: BooleanDataViewType })
        {
            var get = cursor.GetGetter<VBuffer<bool>>(column);
            VBuffer<bool> value = default;
            while (cursor.MoveNext()) { get(ref value); yield return string.Join(",", value.DenseValues()); }
        }
        else if (column.Type is VectorDataViewType)
        {
            var get = cursor.GetGetter<VBuffer<float>>(column);
            VBuffer<float> value = default;
            while (cursor.MoveNext()) { get(ref value); yield return Bits(value.DenseValues().ToArray()); }
        }
        else if (column.Type is KeyDataViewType)
        {
            var get = cursor.GetGetter<uint>(column);
            uint value = 0;
            while (cursor.MoveNext()) { get(ref value); yield return value.ToString(CultureInfo.InvariantCulture); }
        }
        else if (column.Type is TextDataViewType)
        {
            var get = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            ReadOnlyMemory<char> value = default;
            while (cursor.MoveNext()) { get(ref value); yield return value.ToString(); }
        }
        else if (column.Type is BooleanDataViewType)
        {
            var get = cursor.GetGetter<bool>(column);
            bool value = false;
            while (cursor.MoveNext()) { get(ref value); yield return value.ToString(); }
        }
        else
        {
            var get = cursor.GetGetter<float>(column);
            float value = 0;
            while (cursor.MoveNext()) { get(ref value); yield return Bits(value); }
        }
    }

    public static string Bits(float value) => BitConverter.SingleToInt32Bits(value).ToString("X8");

    public static string Bits(ReadOnlySpan<float> values)
    {
        var parts = new string[values.Length];
        for (int i = 0; i < values.Length; i++) parts[i] = Bits(values[i]);
        return string.Join(",", parts);
    }
}

/// <summary>The scoring input of every test pipeline: four scalar features.</summary>
public sealed class FourFeatures
{
    public float X0 { get; set; }
    public float X1 { get; set; }
    public float X2 { get; set; }
    public float X3 { get; set; }
}

public sealed class MulticlassOut
{
    public uint PredictedLabel { get; set; }
    public float[] Score { get; set; } = [];
}

public sealed class BinaryOut
{
    public bool PredictedLabel { get; set; }
    public float Score { get; set; }
    public float Probability { get; set; }
}

public sealed class MultiLabelOut
{
    public bool[] PredictedLabel { get; set; } = [];
    public float[] Score { get; set; } = [];
    public float[] Probability { get; set; } = [];
}

public sealed class RegressionOut
{
    public float Score { get; set; }
}

public sealed class MultiOutputOut
{
    public float[] Score { get; set; } = [];
}
