using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using MlNetMiniBatch.Onnx;
using MlNetMiniBatch.Scoring;
using MlNetMiniBatch.Training;
using VectorKind = Microsoft.ML.SchemaShape.Column.VectorKind;

namespace MlNetMiniBatch.Tasks;

/// <summary>
/// K classes of a key-typed label: K logits, softmax cross-entropy, accuracy and macro-accuracy; Score holds the K
/// probabilities (SlotNames from the label's key values) and PredictedLabel the most probable class as a key.
/// </summary>
internal sealed class MulticlassTask : TrainingTask
{
    public static readonly MulticlassTask Instance = new();

    private const long UInt32Type = 12; // TensorProto.DataType.UINT32, the type of ML.NET's uint keys in ONNX
    private const int MaxClasses = 1 << 20;

    private MulticlassTask()
    {
    }

    public override NeuralNetworkTask Kind => NeuralNetworkTask.MulticlassClassification;

    public override void CheckLabelType(string name, DataViewType type, bool isKey)
    {
        if (!isKey)
            throw new ArgumentException(
                $"The label column '{name}' has type {type}, but multiclass classification needs a key type. " +
                $"Add mlContext.Transforms.Conversion.MapValueToKey(\"{name}\") before the trainer.", "LabelColumnName");
    }

    public override int LabelValueCount(DataViewSchema.Column label)
    {
        var key = (KeyDataViewType)label.Type;
        if (key.Count < 2 || key.Count > MaxClasses)
            throw new ArgumentException(
                $"The label column '{label.Name}' is a key with {key.Count} values; multiclass classification needs between 2 and {MaxClasses} classes. " +
                "Check that MapValueToKey ran on data with at least two distinct labels.", "LabelColumnName");
        return (int)key.Count;
    }

    public override int OutputCount(int labelValueCount) => labelValueCount;

    public override LabelKeyValues? ReadClassValues(DataViewSchema.Column label) => LabelKeyValues.Read(label);

    public override bool MatchesOutputsByClassName => true;

    public override IReadOnlyList<string>? ClassNames(LabelKeyValues? classValues) => classValues?.Names;

    // Doubles of exp(z − max) computed at once: a chunk of rows' worth on the stack, or one wider row from the pool.
    private const int ExpChunk = 1024;

    /// <summary>loss = logsumexp(z) − z[y]; dz = softmax(z) − onehot(y). The exponentials of a chunk of rows go through
    /// one vectorised call, each logit's once. TensorPrimitives.Exp gives an element the same bits at any position of a
    /// span of two or more, and a row's exponentials are never fewer unless it has one class (then exp(0) = 1 either
    /// way), so a row's values do not depend on where its range of rows starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void RowLosses(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int classes, double totalWeight, Span<float> gradient, Span<double> rowLosses)
    {
        bool wantGradient = !gradient.IsEmpty;
        double[]? rented = classes > ExpChunk ? ArrayPool<double>.Shared.Rent(classes) : null;
        Span<double> exps = rented is null ? stackalloc double[ExpChunk] : rented;
        int rowsPerChunk = exps.Length / classes;
        Span<float> maxima = stackalloc float[Math.Min(rowsPerChunk, ExpChunk / 2)];
        rowsPerChunk = maxima.Length;
        try
        {
            for (int first = 0; first < rows; first += rowsPerChunk)
            {
                int count = Math.Min(rowsPerChunk, rows - first);
                var chunk = exps.Slice(0, count * classes);
                for (int r = 0; r < count; r++)
                {
                    var z = logits.Slice((first + r) * classes, classes);
                    float max = TensorPrimitives.Max(z);
                    maxima[r] = max;
                    var e = chunk.Slice(r * classes, classes);
                    for (int k = 0; k < classes; k++) e[k] = z[k] - max;
                }
                TensorPrimitives.Exp(chunk, chunk);
                for (int r = 0; r < count; r++)
                {
                    int row = first + r;
                    var z = logits.Slice(row * classes, classes);
                    var e = chunk.Slice(r * classes, classes);
                    int label = (int)targets[row];
                    double expSum = TensorPrimitives.Sum(e);
                    rowLosses[row] = weights[row] * (maxima[r] + Math.Log(expSum) - z[label]);
                    if (wantGradient)
                    {
                        float scale = (float)(weights[row] / totalWeight);
                        var g = gradient.Slice(row * classes, classes);
                        for (int k = 0; k < classes; k++)
                            g[k] = scale * ((float)(e[k] / expSum) - (k == label ? 1f : 0f));
                    }
                }
            }
        }
        finally
        {
            if (rented is not null)
                ArrayPool<double>.Shared.Return(rented);
        }
    }

    // Sums: correct weight, then per class its weight and its correct weight.
    private const int CorrectSlot = FirstTaskSlot, ClassSlots = FirstTaskSlot + 1;

    public override int MetricSumCount(int outputs) => ClassSlots + 2 * outputs;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void AddMetrics(Span<double> sums, ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int classes, TargetScaling scaling)
    {
        for (int r = 0; r < rows; r++)
        {
            double w = weights[r];
            sums[WeightSlot] += w;
            var z = logits.Slice(r * classes, classes);
            int predicted = 0;
            for (int k = 1; k < classes; k++)
                if (z[k] > z[predicted]) predicted = k;
            CountPrediction(sums, (int)targets[r], predicted, w);
        }
    }

    /// <summary>Adds a row to its class's weight and, when predicted right, to the correct sums (binary shares it).</summary>
    internal static void CountPrediction(Span<double> sums, int label, int predicted, double weight)
    {
        sums[ClassSlots + 2 * label] += weight;
        if (label == predicted)
        {
            sums[ClassSlots + 2 * label + 1] += weight;
            sums[CorrectSlot] += weight;
        }
    }

    internal static double Accuracy(ReadOnlySpan<double> sums) => sums[CorrectSlot] / sums[WeightSlot];

    /// <summary>The first sum after the class counts of <paramref name="classes"/> classes.</summary>
    internal static int SlotsAfterClasses(int classes) => ClassSlots + 2 * classes;

    public override EpochMetrics Metrics(ReadOnlySpan<double> sums, int classes, double meanLoss)
    {
        double macro = 0;
        int present = 0;
        for (int k = 0; k < classes; k++)
        {
            double weight = sums[ClassSlots + 2 * k];
            if (weight <= 0) continue;
            macro += sums[ClassSlots + 2 * k + 1] / weight;
            present++;
        }
        return new EpochMetrics(meanLoss, accuracy: Accuracy(sums), macroAccuracy: present > 0 ? macro / present : null);
    }

    public override bool HasMetric(NeuralNetworkMetric metric) =>
        metric is NeuralNetworkMetric.Loss or NeuralNetworkMetric.Accuracy or NeuralNetworkMetric.MacroAccuracy;

    public override void Score(ReadOnlySpan<float> logits, int rows, int k, Span<float> scored, TargetScaling scaling)
    {
        for (int r = 0; r < rows; r++)
            Softmax(logits.Slice(r * k, k), scored.Slice(r * k, k));
    }

    private static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        float max = float.NegativeInfinity;
        foreach (float v in logits) max = MathF.Max(max, v);
        float sum = 0;
        for (int i = 0; i < logits.Length; i++)
            sum += probabilities[i] = MathF.Exp(logits[i] - max);
        for (int i = 0; i < logits.Length; i++)
            probabilities[i] /= sum;
    }

    public override string[] OutputColumnNames { get; } = [ScoreColumns.PredictedLabel, ScoreColumns.Score];

    public override string[] OutputShapeColumnNames { get; } = [ScoreColumns.Score, ScoreColumns.PredictedLabel];

    public override DataViewType OutputColumn(string name, NeuralNetworkModelParameters model, DataViewSchema.Annotations.Builder annotations)
    {
        var keyValues = model.ClassValues;
        if (name == ScoreColumns.PredictedLabel)
        {
            keyValues?.AddTo(annotations, ScoreColumns.KeyValues);
            return new KeyDataViewType(typeof(uint), model.OutputSize);
        }
        if (keyValues is not null)
        {
            keyValues.AddTo(annotations, ScoreColumns.TrainingLabelValues);
            if (keyValues.Type.ItemType is TextDataViewType)
                keyValues.AddTo(annotations, ScoreColumns.SlotNames);
        }
        return new VectorDataViewType(NumberDataViewType.Single, model.OutputSize);
    }

    public override SchemaShape.Column OutputShapeColumn(string name, SchemaShape.Column label, List<SchemaShape.Column> annotations)
    {
        DataViewType? keyValuesType = label.Annotations.TryFind(ScoreColumns.KeyValues, out var kv) ? kv.ItemType : null;
        if (name == ScoreColumns.PredictedLabel)
        {
            if (keyValuesType is not null)
                annotations.Insert(0, ScoreColumns.Shape(ScoreColumns.KeyValues, VectorKind.Vector, keyValuesType));
            return ScoreColumns.Shape(name, VectorKind.Scalar, NumberDataViewType.UInt32, isKey: true, annotations);
        }
        if (keyValuesType is not null)
        {
            annotations.Insert(0, ScoreColumns.Shape(ScoreColumns.TrainingLabelValues, VectorKind.Vector, keyValuesType));
            if (keyValuesType is TextDataViewType)
                annotations.Insert(0, ScoreColumns.Shape(ScoreColumns.SlotNames, VectorKind.Vector, keyValuesType));
        }
        return ScoreColumns.Shape(name, VectorKind.Vector, NumberDataViewType.Single, isKey: false, annotations);
    }

    public override Delegate Getter(string name, int k, float[] scored, Func<int> currentRow, Action? beforeRead) => name switch
    {
        ScoreColumns.Score => RowVector(k, scored, currentRow, beforeRead),
        ScoreColumns.PredictedLabel => Getter(beforeRead, () => PredictedKey(scored.AsSpan(currentRow() * k, k))),
        _ => throw NotAnOutput(name),
    };

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

    public override void EmitOnnxOutputs(OnnxGraph graph, NeuralNetworkModelParameters model, string logits)
    {
        int k = model.OutputSize;
        string score = graph.Output(ScoreColumns.Score, new VectorDataViewType(NumberDataViewType.Single, k));
        graph.Node("Softmax", [logits], [score], OnnxAttribute.Of("axis", 1));
        var indexType = new VectorDataViewType(NumberDataViewType.Int64, 1);
        string index = graph.Intermediate("NeuralNetwork.ArgMax", indexType);
        graph.Node("ArgMax", [score], [index], OnnxAttribute.Of("axis", 1), OnnxAttribute.Of("keepdims", 1));
        string one = graph.Initializer("NeuralNetwork.One", [1L], [1]);
        string key = graph.Intermediate("NeuralNetwork.Key", indexType);
        graph.Node("Add", [index, one], [key]);
        string label = graph.Output(ScoreColumns.PredictedLabel, new KeyDataViewType(typeof(uint), k));
        graph.Node("Cast", [key], [label], OnnxAttribute.Of("to", UInt32Type));
    }
}
