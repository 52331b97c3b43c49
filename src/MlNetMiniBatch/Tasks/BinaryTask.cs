using System.Runtime.CompilerServices;
using MlNetMiniBatch.Onnx;
using MlNetMiniBatch.Scoring;
using MlNetMiniBatch.Training;
using VectorKind = Microsoft.ML.SchemaShape.Column.VectorKind;

namespace MlNetMiniBatch.Tasks;

/// <summary>
/// A Boolean label: one logit, sigmoid log-loss, accuracy and AUC; Score is the logit, Probability its sigmoid and
/// PredictedLabel whether the logit is positive.
/// </summary>
internal sealed class BinaryTask : TrainingTask
{
    public static readonly BinaryTask Instance = new();

    private const int AucBins = 1 << 16;

    private static readonly string[] Names = ["False", "True"];

    private BinaryTask()
    {
    }

    public override NeuralNetworkTask Kind => NeuralNetworkTask.BinaryClassification;

    public override void CheckLabelType(string name, DataViewType type, bool isKey)
    {
        if (type != BooleanDataViewType.Instance)
            throw new ArgumentException(
                $"The label column '{name}' has type {type}, but binary classification needs a Boolean label. " +
                "Load it as bool, or convert it (for example mlContext.Transforms.CustomMapping, or an expression such as label > 0).",
                "LabelColumnName");
    }

    public override int LabelValueCount(DataViewSchema.Column label) => 2;

    public override int OutputCount(int labelValueCount) => 1;

    public override IReadOnlyList<string>? ClassNames(LabelKeyValues? classValues) => Names;

    /// <summary>loss = softplus(z) − y·z = max(z,0) − y·z + log(1 + e^−|z|); dz = σ(z) − y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void RowLosses(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int outputs, double totalWeight, Span<float> gradient, Span<double> rowLosses)
    {
        for (int r = 0; r < rows; r++)
        {
            double z = logits[r], y = targets[r];
            rowLosses[r] = weights[r] * (Math.Max(z, 0) - y * z + Math.Log(1 + Math.Exp(-Math.Abs(z))));
            if (!gradient.IsEmpty)
                gradient[r] = (float)(weights[r] / totalWeight * (Sigmoid(z) - y));
        }
    }

    /// <summary>Logistic function without overflow for large |z|.</summary>
    internal static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));

    // Sums: the two classes' counts as multiclass keeps them, then the positive and the negative probability histograms.
    private static readonly int PositiveSlots = MulticlassTask.SlotsAfterClasses(2), NegativeSlots = PositiveSlots + AucBins;

    public override int MetricSumCount(int outputs) => NegativeSlots + AucBins;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void AddMetrics(Span<double> sums, ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int outputs, TargetScaling scaling)
    {
        for (int r = 0; r < rows; r++)
        {
            double w = weights[r];
            sums[WeightSlot] += w;
            int label = targets[r] > 0.5f ? 1 : 0;
            MulticlassTask.CountPrediction(sums, label, logits[r] > 0 ? 1 : 0, w);
            double probability = Sigmoid(logits[r]);
            int bin = Math.Min(AucBins - 1, (int)(probability * AucBins));
            sums[(label == 1 ? PositiveSlots : NegativeSlots) + bin] += w;
        }
    }

    public override EpochMetrics Metrics(ReadOnlySpan<double> sums, int outputs, double meanLoss) =>
        new(meanLoss, accuracy: MulticlassTask.Accuracy(sums), areaUnderRocCurve: Auc(sums.Slice(PositiveSlots, AucBins), sums.Slice(NegativeSlots, AucBins)));

    /// <summary>P(score of a positive &gt; score of a negative), ties within a bin counting one half.</summary>
    private static double? Auc(ReadOnlySpan<double> positiveHistogram, ReadOnlySpan<double> negativeHistogram)
    {
        double positives = 0, negatives = 0, area = 0;
        for (int b = 0; b < AucBins; b++)
        {
            double p = positiveHistogram[b], n = negativeHistogram[b];
            area += p * (negatives + 0.5 * n);
            positives += p;
            negatives += n;
        }
        return positives > 0 && negatives > 0 ? area / (positives * negatives) : null;
    }

    public override bool HasMetric(NeuralNetworkMetric metric) =>
        metric is NeuralNetworkMetric.Loss or NeuralNetworkMetric.Accuracy or NeuralNetworkMetric.AreaUnderRocCurve;

    public override void Score(ReadOnlySpan<float> logits, int rows, int outputs, Span<float> scored, TargetScaling scaling)
        => logits.Slice(0, rows).CopyTo(scored);

    public override string[] OutputColumnNames { get; } = [ScoreColumns.PredictedLabel, ScoreColumns.Score, ScoreColumns.Probability];

    public override string[] OutputShapeColumnNames { get; } = [ScoreColumns.Score, ScoreColumns.Probability, ScoreColumns.PredictedLabel];

    public override DataViewType OutputColumn(string name, NeuralNetworkModelParameters model, DataViewSchema.Annotations.Builder annotations)
    {
        if (name == ScoreColumns.Probability)
            annotations.AddPrimitiveValue(ScoreColumns.IsNormalized, BooleanDataViewType.Instance, true);
        return name == ScoreColumns.PredictedLabel ? BooleanDataViewType.Instance : NumberDataViewType.Single;
    }

    public override SchemaShape.Column OutputShapeColumn(string name, SchemaShape.Column label, List<SchemaShape.Column> annotations)
    {
        if (name == ScoreColumns.Probability)
            annotations.Add(ScoreColumns.Shape(ScoreColumns.IsNormalized, VectorKind.Scalar, BooleanDataViewType.Instance));
        return ScoreColumns.Shape(name, VectorKind.Scalar, name == ScoreColumns.PredictedLabel ? BooleanDataViewType.Instance : NumberDataViewType.Single,
            isKey: false, annotations);
    }

    public override Delegate Getter(string name, int outputs, float[] scored, Func<int> currentRow, Action? beforeRead) => name switch
    {
        ScoreColumns.PredictedLabel => Getter(beforeRead, () => scored[currentRow()] > 0),
        ScoreColumns.Probability => Getter(beforeRead, () => (float)Sigmoid(scored[currentRow()])),
        ScoreColumns.Score => Getter(beforeRead, () => scored[currentRow()]),
        _ => throw NotAnOutput(name),
    };

    public override void EmitOnnxOutputs(OnnxGraph graph, NeuralNetworkModelParameters model, string logits)
    {
        string score = graph.Output(ScoreColumns.Score, NumberDataViewType.Single);
        graph.Node("Identity", [logits], [score]);
        string probability = graph.Output(ScoreColumns.Probability, NumberDataViewType.Single);
        graph.Node("Sigmoid", [score], [probability]);
        string zero = graph.Initializer("NeuralNetwork.Zero", [0f], [1]);
        string label = graph.Output(ScoreColumns.PredictedLabel, BooleanDataViewType.Instance);
        graph.Node("Greater", [score, zero], [label]);
    }
}
