using MlNetMiniBatch.Tasks;
using VectorKind = Microsoft.ML.SchemaShape.Column.VectorKind;

namespace MlNetMiniBatch.Scoring;

/// <summary>
/// The output columns and annotations, exactly as ML.NET's built-in trainers emit them, so evaluators,
/// CrossValidate, PermutationFeatureImportance and MapKeyToValue treat our scores like theirs. This class adds the
/// annotations every score column has (ScoreColumnKind, ScoreValueKind, ScoreColumnSetId); the model's task names the
/// columns and gives their types and its own annotations.
/// </summary>
internal static class ScoreColumns
{
    public const string PredictedLabel = "PredictedLabel", Score = "Score", Probability = "Probability";

    internal const string KeyValues = "KeyValues", SlotNames = "SlotNames", TrainingLabelValues = "TrainingLabelValues", IsNormalized = "IsNormalized";

    private const string ScoreColumnKind = "ScoreColumnKind", ScoreValueKind = "ScoreValueKind", ScoreColumnSetId = "ScoreColumnSetId";

    public static string[] Names(TrainingTask task) => task.OutputColumnNames;

    /// <summary>Input columns followed by the output columns (an input column of the same name becomes hidden).</summary>
    public static DataViewSchema OutputSchema(DataViewSchema input, NeuralNetworkModelParameters model)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        uint setId = NextScoreColumnSetId(input);
        var task = model.TrainingTask;
        foreach (var name in task.OutputColumnNames)
        {
            var annotations = new DataViewSchema.Annotations.Builder();
            annotations.AddPrimitiveValue(ScoreColumnKind, TextDataViewType.Instance, task.ScoreColumnKind.AsMemory());
            annotations.AddPrimitiveValue(ScoreValueKind, TextDataViewType.Instance, name.AsMemory());
            // Same type as the built-in scorers' annotation: Key<UInt32, 0-2147483646>, i.e. a count of int.MaxValue.
            annotations.AddPrimitiveValue(ScoreColumnSetId, new KeyDataViewType(typeof(uint), int.MaxValue), setId);
            var type = task.OutputColumn(name, model, annotations);
            builder.AddColumn(name, type, annotations.ToAnnotations());
        }
        return builder.ToSchema();
    }

    /// <summary>The same columns as a <see cref="SchemaShape"/>, for <c>IEstimator.GetOutputSchema</c>, in the order the
    /// built-in trainers list them (scores first, PredictedLabel last), which differs from the runtime schema's order.</summary>
    public static SchemaShape OutputShape(SchemaShape input, TrainingTask task, SchemaShape.Column label)
    {
        var columns = input.ToDictionary(c => c.Name);
        foreach (var name in task.OutputShapeColumnNames)
        {
            var annotations = new List<SchemaShape.Column>
            {
                Shape(ScoreColumnSetId, VectorKind.Scalar, NumberDataViewType.UInt32, isKey: true),
                Shape(ScoreColumnKind, VectorKind.Scalar, TextDataViewType.Instance),
                Shape(ScoreValueKind, VectorKind.Scalar, TextDataViewType.Instance),
            };
            columns[name] = task.OutputShapeColumn(name, label, annotations);
        }
        return new SchemaShape(columns.Values);
    }

    internal static SchemaShape.Column Shape(string name, VectorKind kind, DataViewType type, bool isKey = false,
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
