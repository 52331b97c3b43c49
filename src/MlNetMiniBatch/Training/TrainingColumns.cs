using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Scoring;
using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Training;

/// <summary>
/// The label, feature and weight columns of a data view, checked against what the task needs. Every check throws an
/// <see cref="ArgumentException"/> that names the column, what was found and how to fix it. The same rules apply to
/// the <see cref="SchemaShape"/> seen by <c>GetOutputSchema</c>, so a pipeline fails before any training starts.
/// </summary>
internal sealed class TrainingColumns
{
    private TrainingColumns(DataViewSchema.Column label, DataViewSchema.Column features, DataViewSchema.Column? weight,
        int featureCount, int classCount, int outputCount, int targetCount, LabelKeyValues? classValues)
    {
        OutputCount = outputCount;
        TargetCount = targetCount;
        Label = label;
        Features = features;
        Weight = weight;
        FeatureCount = featureCount;
        ClassCount = classCount;
        ClassValues = classValues;
    }

    public DataViewSchema.Column Label { get; }
    public DataViewSchema.Column Features { get; }
    public DataViewSchema.Column? Weight { get; }
    public int FeatureCount { get; }

    /// <summary>Number of label values the reader accepts: classes (multiclass), 2 (binary), or 1 (regression).</summary>
    public int ClassCount { get; }

    /// <summary>The output layer's width, as the task derives it from the label.</summary>
    public int OutputCount { get; }

    /// <summary>Target values per row: the label's vector size, 1 for a scalar label.</summary>
    public int TargetCount { get; }

    /// <summary>The label's KeyValues annotation (multiclass only), null when absent.</summary>
    public LabelKeyValues? ClassValues { get; }

    public IEnumerable<DataViewSchema.Column> All => Weight is { } w ? new[] { Label, Features, w } : new[] { Label, Features };

    public static TrainingColumns Bind(DataViewSchema schema, TrainingTask task, NeuralNetworkOptions options, string dataName)
    {
        var features = Find(schema, options.FeatureColumnName, "feature", nameof(options.FeatureColumnName), dataName);
        int featureCount = CheckFeatureType(features.Name, features.Type);
        var label = Find(schema, options.LabelColumnName, "label", nameof(options.LabelColumnName), dataName);
        task.CheckLabelType(label.Name, label.Type, label.Type is KeyDataViewType);
        int targetCount = TargetCountOf(label);
        int classCount = task.LabelValueCount(label);
        DataViewSchema.Column? weight = null;
        if (options.ExampleWeightColumnName is { } weightName)
        {
            weight = Find(schema, weightName, "example weight", nameof(options.ExampleWeightColumnName), dataName);
            CheckWeightType(weightName, weight.Value.Type);
        }
        return new TrainingColumns(label, features, weight, featureCount, classCount, task.OutputCount(classCount), targetCount,
            task.ReadClassValues(label));
    }

    /// <summary>The label's values per row: its vector size, which must be known (every row needs as many targets as the
    /// network has outputs), or 1 for a scalar.</summary>
    private static int TargetCountOf(DataViewSchema.Column label)
    {
        if (label.Type is not VectorDataViewType vector)
            return 1;
        if (!vector.IsKnownSize)
            throw VariableSizeLabel(label.Name);
        return vector.Size;
    }

    internal static ArgumentException VariableSizeLabel(string name) => new(
        $"The label column '{name}' is a vector of variable size, but the network needs the same number of targets in every row. " +
        "Give the column a fixed size (for example [VectorType(k)] on the input class, or a transform that outputs a fixed-size vector).",
        "LabelColumnName");

    /// <summary>The same checks on a schema shape (vector sizes and key counts are not known there).</summary>
    public static void CheckShape(SchemaShape shape, TrainingTask task, NeuralNetworkOptions options)
    {
        var features = FindShape(shape, options.FeatureColumnName, "feature", nameof(options.FeatureColumnName));
        if (features.Kind == SchemaShape.Column.VectorKind.VariableVector)
            throw VariableSize(features.Name);
        if (features.Kind != SchemaShape.Column.VectorKind.Vector || features.ItemType != NumberDataViewType.Single)
            throw WrongFeatureType(features.Name, features.Kind == SchemaShape.Column.VectorKind.Scalar ? $"{features.ItemType}" : $"Vector<{features.ItemType}>");
        var label = FindShape(shape, options.LabelColumnName, "label", nameof(options.LabelColumnName));
        task.CheckLabelKind(label.Name, label.Kind);
        task.CheckLabelType(label.Name, label.ItemType, label.IsKey);
        if (options.ExampleWeightColumnName is { } weightName)
        {
            var weight = FindShape(shape, weightName, "example weight", nameof(options.ExampleWeightColumnName));
            if (weight.Kind != SchemaShape.Column.VectorKind.Scalar)
                throw new ArgumentException($"The example weight column '{weightName}' is a vector; it must be one Single per row.", nameof(options.ExampleWeightColumnName));
            CheckWeightType(weightName, weight.ItemType);
        }
    }

    /// <summary>Returns the vector size, or throws when the type is not a known-size vector of Single.</summary>
    internal static int CheckFeatureType(string name, DataViewType type)
    {
        if (type is VectorDataViewType { ItemType: var item } vector && item == NumberDataViewType.Single)
        {
            if (!vector.IsKnownSize)
                throw VariableSize(name);
            return vector.Size;
        }
        throw WrongFeatureType(name, $"{type}");
    }

    private static ArgumentException WrongFeatureType(string name, string found) => new(
        $"The feature column '{name}' must be a known-size vector of Single, but it is {found}. Combine numeric columns with " +
        $"mlContext.Transforms.Concatenate(\"{name}\", ...) and convert other types first (mlContext.Transforms.Conversion.ConvertType, " +
        "Categorical.OneHotEncoding, Text.FeaturizeText).", "FeatureColumnName");

    private static ArgumentException VariableSize(string name) => new(
        $"The feature column '{name}' is a vector of variable size, but the network needs the same number of features in every row. " +
        "Give the column a fixed size (for example [VectorType(n)] on the input class, or a transform that outputs a fixed-size vector).",
        "FeatureColumnName");

    private static void CheckWeightType(string name, DataViewType type)
    {
        if (type != NumberDataViewType.Single && type != NumberDataViewType.Double)
            throw new ArgumentException(
                $"The example weight column '{name}' has type {type}; it must be Single. " +
                $"Convert it with mlContext.Transforms.Conversion.ConvertType(\"{name}\", outputKind: DataKind.Single).", "ExampleWeightColumnName");
    }

    private static DataViewSchema.Column Find(DataViewSchema schema, string name, string role, string option, string dataName)
        => schema.GetColumnOrNull(name) ?? throw new ArgumentException(
            $"The {role} column '{name}' was not found in the {dataName} data (columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}). " +
            $"Set NeuralNetworkOptions.{option} to the right name, or create the column in the pipeline.", option);

    private static SchemaShape.Column FindShape(SchemaShape shape, string name, string role, string option)
        => shape.TryFind(name, out var column) ? column : throw new ArgumentException(
            $"The {role} column '{name}' was not found in the input (columns: {string.Join(", ", shape.Select(c => c.Name))}). " +
            $"Set NeuralNetworkOptions.{option} to the right name, or create the column in the pipeline.", option);
}
