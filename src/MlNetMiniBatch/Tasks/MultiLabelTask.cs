using System.Runtime.CompilerServices;
using MlNetMiniBatch.Onnx;
using MlNetMiniBatch.Scoring;
using MlNetMiniBatch.Training;
using VectorKind = Microsoft.ML.SchemaShape.Column.VectorKind;

namespace MlNetMiniBatch.Tasks;

/// <summary>
/// A known-size vector of k Booleans: k independent sigmoid outputs, the loss the mean over labels of their log-losses.
/// Score holds the k logits, Probability their sigmoids and PredictedLabel whether each logit is positive (probability
/// above 0.5), all three with the label's SlotNames. ClassWeights are per-label weights of the positive term, as
/// PyTorch's BCEWithLogitsLoss pos_weight, applied to training rows only.
/// </summary>
internal sealed class MultiLabelTask : TrainingTask
{
    /// <summary>The task without positive weights: scoring, model files and validation use it.</summary>
    public static readonly MultiLabelTask Instance = new(null);

    private readonly float[]? _positiveWeights;

    private MultiLabelTask(float[]? positiveWeights) => _positiveWeights = positiveWeights;

    /// <summary>The task that trains with <paramref name="positiveWeights"/> (NeuralNetworkOptions.ClassWeights, one per label).</summary>
    public static MultiLabelTask WithPositiveWeights(float[]? positiveWeights) =>
        positiveWeights is null ? Instance : new((float[])positiveWeights.Clone());

    public override NeuralNetworkTask Kind => NeuralNetworkTask.MultiLabelClassification;

    public override void CheckLabelKind(string name, VectorKind kind)
    {
        if (kind == VectorKind.Scalar)
            throw new ArgumentException(
                $"The label column '{name}' is a scalar, but multi-label classification needs a vector of Boolean, one per label. " +
                "For one Boolean label, train mlContext.BinaryClassification.Trainers.NeuralNetwork on it.", "LabelColumnName");
        if (kind == VectorKind.VariableVector)
            throw TrainingColumns.VariableSizeLabel(name);
    }

    /// <summary>Called with the column's type (a vector) and with a schema shape's item type (Boolean).</summary>
    public override void CheckLabelType(string name, DataViewType type, bool isKey)
    {
        var item = type is VectorDataViewType vector ? vector.ItemType : type;
        if (item != BooleanDataViewType.Instance || isKey)
            throw new ArgumentException(
                $"The label column '{name}' has type {type}, but multi-label classification needs a vector of Boolean, one per label. " +
                "Convert each label to bool (for example value > 0) before Concatenate; for vectors of numeric targets, " +
                "train mlContext.Regression.Trainers.NeuralNetwork instead.", "LabelColumnName");
    }

    /// <summary>The label count k. Boolean cannot be missing, so no row is ever invalid for its label.</summary>
    public override int LabelValueCount(DataViewSchema.Column label)
    {
        if (label.Type is not VectorDataViewType vector)
        {
            CheckLabelKind(label.Name, VectorKind.Scalar);
            throw new InvalidOperationException("Unreachable: a scalar label was refused above.");
        }
        if (!vector.IsKnownSize)
            throw TrainingColumns.VariableSizeLabel(label.Name);
        return vector.Size;
    }

    public override int OutputCount(int labelValueCount) => labelValueCount;

    /// <summary>The label's SlotNames, kept by the model so that its outputs carry them.</summary>
    public override LabelKeyValues? ReadClassValues(DataViewSchema.Column label) => VectorLabelNames(label);

    /// <summary>A row has k labels, not one class, so the validation split is random rather than stratified.</summary>
    public override int StratificationGroups(int labelValueCount) => 1;

    public override IReadOnlyList<string>? ClassNames(LabelKeyValues? classValues) => classValues?.Names;

    /// <summary>Per label j of logit z and target y, with positive weight p (1 without ClassWeights):
    /// p·y·softplus(−z) + (1 − y)·softplus(z), whose derivative is σ(z)·(p·y + 1 − y) − p·y; a row's loss is the mean
    /// over its k labels. Evaluation passes no gradient and gets p = 1: validation rows are not class-weighted, as with
    /// the other tasks' ClassWeights.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void RowLosses(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int outputs, double totalWeight, Span<float> gradient, Span<double> rowLosses)
    {
        var positiveWeights = gradient.IsEmpty ? null : _positiveWeights;
        double perLabel = 1.0 / outputs;
        for (int r = 0; r < rows; r++)
        {
            double rowLoss = 0, scale = weights[r] / totalWeight * perLabel;
            for (int j = 0; j < outputs; j++)
            {
                int i = r * outputs + j;
                double z = logits[i], y = targets[i], p = positiveWeights is null ? 1 : positiveWeights[j];
                double softplus = Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
                rowLoss += p * y * (softplus - z) + (1 - y) * softplus;
                if (!gradient.IsEmpty)
                    gradient[i] = (float)(scale * (BinaryTask.Sigmoid(z) * (p * y + 1 - y) - p * y));
            }
            rowLosses[r] = weights[r] * rowLoss * perLabel;
        }
    }

    // Sums: the weight of rightly predicted (row, label) pairs, each row's counting its share of right labels.
    private const int RightLabelsSlot = FirstTaskSlot;

    public override int MetricSumCount(int outputs) => RightLabelsSlot + 1;

    public override void AddMetrics(Span<double> sums, ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int outputs, TargetScaling scaling)
    {
        for (int r = 0; r < rows; r++)
        {
            int right = 0;
            for (int j = 0; j < outputs; j++)
            {
                int i = r * outputs + j;
                if (logits[i] > 0 == targets[i] > 0.5f)
                    right++;
            }
            sums[WeightSlot] += weights[r];
            sums[RightLabelsSlot] += weights[r] * right / outputs;
        }
    }

    /// <summary>Accuracy is over (row, label) pairs: 1 − the Hamming loss.</summary>
    public override EpochMetrics Metrics(ReadOnlySpan<double> sums, int outputs, double meanLoss) =>
        new(meanLoss, accuracy: sums[RightLabelsSlot] / sums[WeightSlot]);

    public override bool HasMetric(NeuralNetworkMetric metric) => metric is NeuralNetworkMetric.Loss or NeuralNetworkMetric.Accuracy;

    public override void Score(ReadOnlySpan<float> logits, int rows, int outputs, Span<float> scored, TargetScaling scaling)
        => logits.Slice(0, rows * outputs).CopyTo(scored);

    public override string[] OutputColumnNames { get; } = [ScoreColumns.PredictedLabel, ScoreColumns.Score, ScoreColumns.Probability];

    public override string[] OutputShapeColumnNames { get; } = [ScoreColumns.Score, ScoreColumns.Probability, ScoreColumns.PredictedLabel];

    public override DataViewType OutputColumn(string name, NeuralNetworkModelParameters model, DataViewSchema.Annotations.Builder annotations)
    {
        model.ClassValues?.AddTo(annotations, ScoreColumns.SlotNames);
        if (name == ScoreColumns.Probability)
            annotations.AddPrimitiveValue(ScoreColumns.IsNormalized, BooleanDataViewType.Instance, true);
        return new VectorDataViewType(ItemType(name), model.OutputSize);
    }

    public override SchemaShape.Column OutputShapeColumn(string name, SchemaShape.Column label, List<SchemaShape.Column> annotations)
    {
        AddVectorLabelNamesShape(label, annotations);
        if (name == ScoreColumns.Probability)
            annotations.Add(ScoreColumns.Shape(ScoreColumns.IsNormalized, VectorKind.Scalar, BooleanDataViewType.Instance));
        return ScoreColumns.Shape(name, VectorKind.Vector, ItemType(name), isKey: false, annotations);
    }

    private static PrimitiveDataViewType ItemType(string name) =>
        name == ScoreColumns.PredictedLabel ? BooleanDataViewType.Instance : NumberDataViewType.Single;

    public override Delegate Getter(string name, int k, float[] scored, Func<int> currentRow, Action? beforeRead) => name switch
    {
        ScoreColumns.Score => VectorGetter(k, scored, currentRow, beforeRead, static z => z),
        ScoreColumns.Probability => VectorGetter(k, scored, currentRow, beforeRead, static z => (float)BinaryTask.Sigmoid(z)),
        ScoreColumns.PredictedLabel => VectorGetter(k, scored, currentRow, beforeRead, static z => z > 0),
        _ => throw NotAnOutput(name),
    };

    /// <summary>A getter of the row's k logits mapped by <paramref name="map"/>, filling the caller's buffer in place.</summary>
    private static ValueGetter<VBuffer<T>> VectorGetter<T>(int k, float[] scored, Func<int> currentRow, Action? beforeRead, Func<float, T> map)
        => (ref VBuffer<T> dst) =>
        {
            beforeRead?.Invoke();
            var editor = VBufferEditor.Create(ref dst, k);
            var logits = scored.AsSpan(currentRow() * k, k);
            for (int j = 0; j < k; j++)
                editor.Values[j] = map(logits[j]);
            dst = editor.Commit();
        };

    public override void EmitOnnxOutputs(OnnxGraph graph, NeuralNetworkModelParameters model, string logits)
    {
        int k = model.OutputSize;
        string score = graph.Output(ScoreColumns.Score, new VectorDataViewType(NumberDataViewType.Single, k));
        graph.Node("Identity", [logits], [score]);
        string probability = graph.Output(ScoreColumns.Probability, new VectorDataViewType(NumberDataViewType.Single, k));
        graph.Node("Sigmoid", [score], [probability]);
        string zero = graph.Initializer("NeuralNetwork.Zero", [0f], [1]);
        string label = graph.Output(ScoreColumns.PredictedLabel, new VectorDataViewType(BooleanDataViewType.Instance, k));
        graph.Node("Greater", [score, zero], [label]);
    }
}
