using MlNetMiniBatch.Training;
using VectorKind = Microsoft.ML.SchemaShape.Column.VectorKind;

namespace MlNetMiniBatch.Scoring;

/// <summary>
/// The output columns and annotations, exactly as ML.NET's built-in trainers emit them, so evaluators,
/// CrossValidate, PermutationFeatureImportance and MapKeyToValue treat our scores like theirs:
/// multiclass PredictedLabel (key, KeyValues) + Score (probabilities, SlotNames); binary PredictedLabel (Boolean) +
/// Score (logit) + Probability; regression Score.
/// </summary>
internal static class ScoreColumns
{
    public const string PredictedLabel = "PredictedLabel", Score = "Score", Probability = "Probability";

    private const string ScoreColumnKind = "ScoreColumnKind", ScoreValueKind = "ScoreValueKind", ScoreColumnSetId = "ScoreColumnSetId";
    private const string KeyValues = "KeyValues", SlotNames = "SlotNames", TrainingLabelValues = "TrainingLabelValues", IsNormalized = "IsNormalized";

    public static string[] Names(NeuralNetworkTask task) => task switch
    {
        NeuralNetworkTask.MulticlassClassification => [PredictedLabel, Score],
        NeuralNetworkTask.BinaryClassification => [PredictedLabel, Score, Probability],
        _ => [Score],
    };

    /// <summary>The output columns in the order the built-in trainers' <c>GetOutputSchema(SchemaShape)</c> lists them
    /// (scores first, PredictedLabel last), which differs from the runtime schema's order.</summary>
    private static string[] ShapeNames(NeuralNetworkTask task) => task switch
    {
        NeuralNetworkTask.MulticlassClassification => [Score, PredictedLabel],
        NeuralNetworkTask.BinaryClassification => [Score, Probability, PredictedLabel],
        _ => [Score],
    };

    private static string Kind(NeuralNetworkTask task) => task.ToString();

    /// <summary>Input columns followed by the output columns (an input column of the same name becomes hidden).</summary>
    public static DataViewSchema OutputSchema(DataViewSchema input, NeuralNetworkModelParameters model)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        uint setId = NextScoreColumnSetId(input);
        var task = model.Task;
        var keyValues = model.ClassValues;
        foreach (var name in Names(task))
        {
            var annotations = new DataViewSchema.Annotations.Builder();
            annotations.AddPrimitiveValue(ScoreColumnKind, TextDataViewType.Instance, Kind(task).AsMemory());
            annotations.AddPrimitiveValue(ScoreValueKind, TextDataViewType.Instance, name.AsMemory());
            // Same type as the built-in scorers' annotation: Key<UInt32, 0-2147483646>, i.e. a count of int.MaxValue.
            annotations.AddPrimitiveValue(ScoreColumnSetId, new KeyDataViewType(typeof(uint), int.MaxValue), setId);
            DataViewType type;
            if (task == NeuralNetworkTask.MulticlassClassification && name == PredictedLabel)
            {
                keyValues?.AddTo(annotations, KeyValues);
                type = new KeyDataViewType(typeof(uint), model.OutputSize);
            }
            else if (task == NeuralNetworkTask.MulticlassClassification)
            {
                if (keyValues is not null)
                {
                    keyValues.AddTo(annotations, TrainingLabelValues);
                    if (keyValues.Type.ItemType is TextDataViewType)
                        keyValues.AddTo(annotations, SlotNames);
                }
                type = new VectorDataViewType(NumberDataViewType.Single, model.OutputSize);
            }
            else
            {
                if (name == Probability)
                    annotations.AddPrimitiveValue(IsNormalized, BooleanDataViewType.Instance, true);
                type = name == PredictedLabel ? BooleanDataViewType.Instance : NumberDataViewType.Single;
            }
            builder.AddColumn(name, type, annotations.ToAnnotations());
        }
        return builder.ToSchema();
    }

    /// <summary>The same columns as a <see cref="SchemaShape"/>, for <c>IEstimator.GetOutputSchema</c>.</summary>
    public static SchemaShape OutputShape(SchemaShape input, NeuralNetworkTask task, SchemaShape.Column label)
    {
        var columns = input.ToDictionary(c => c.Name);
        DataViewType? keyValuesType = label.Annotations.TryFind(KeyValues, out var kv) ? kv.ItemType : null;
        foreach (var name in ShapeNames(task))
        {
            var annotations = new List<SchemaShape.Column>
            {
                Shape(ScoreColumnSetId, VectorKind.Scalar, NumberDataViewType.UInt32, isKey: true),
                Shape(ScoreColumnKind, VectorKind.Scalar, TextDataViewType.Instance),
                Shape(ScoreValueKind, VectorKind.Scalar, TextDataViewType.Instance),
            };
            SchemaShape.Column column;
            if (task == NeuralNetworkTask.MulticlassClassification && name == PredictedLabel)
            {
                if (keyValuesType is not null)
                    annotations.Insert(0, Shape(KeyValues, VectorKind.Vector, keyValuesType));
                column = Shape(name, VectorKind.Scalar, NumberDataViewType.UInt32, isKey: true, annotations);
            }
            else if (task == NeuralNetworkTask.MulticlassClassification)
            {
                if (keyValuesType is not null)
                {
                    annotations.Insert(0, Shape(TrainingLabelValues, VectorKind.Vector, keyValuesType));
                    if (keyValuesType is TextDataViewType)
                        annotations.Insert(0, Shape(SlotNames, VectorKind.Vector, keyValuesType));
                }
                column = Shape(name, VectorKind.Vector, NumberDataViewType.Single, isKey: false, annotations);
            }
            else
            {
                if (name == Probability)
                    annotations.Add(Shape(IsNormalized, VectorKind.Scalar, BooleanDataViewType.Instance));
                column = Shape(name, VectorKind.Scalar, name == PredictedLabel ? BooleanDataViewType.Instance : NumberDataViewType.Single,
                    isKey: false, annotations);
            }
            columns[name] = column;
        }
        return new SchemaShape(columns.Values);
    }

    private static SchemaShape.Column Shape(string name, VectorKind kind, DataViewType type, bool isKey = false,
        IEnumerable<SchemaShape.Column>? annotations = null)
        => MlNetInternals.CreateShapeColumn(name, kind, type, isKey, annotations is null ? null : new SchemaShape(annotations));

    /// <summary>One more than the highest score column set already in the input, as the built-in scorers number them.</summary>
    private static uint NextScoreColumnSetId(DataViewSchema input)
    {
        uint max = 0;
        foreach (var column in input)
        {
            if (column.Annotations.Schema.GetColumnOrNull(ScoreColumnSetId) is { Type: KeyDataViewType { RawType: var raw } } && raw == typeof(uint))
            {
                uint id = 0;
                column.Annotations.GetValue(ScoreColumnSetId, ref id);
                max = Math.Max(max, id);
            }
        }
        return max + 1;
    }
}
