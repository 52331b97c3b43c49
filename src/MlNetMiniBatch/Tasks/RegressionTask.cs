using System.Runtime.CompilerServices;
using MlNetMiniBatch.Onnx;
using MlNetMiniBatch.Scoring;
using MlNetMiniBatch.Training;
using VectorKind = Microsoft.ML.SchemaShape.Column.VectorKind;

namespace MlNetMiniBatch.Tasks;

/// <summary>
/// A Single (or Double) label: one linear output trained on the standardised label, so that the default learning rates
/// suit any label scale, with the squared error; RMSE and R² in label units; Score is the prediction in label units.
/// </summary>
internal sealed class RegressionTask : TrainingTask
{
    public static readonly RegressionTask Instance = new();

    private RegressionTask()
    {
    }

    public override NeuralNetworkTask Kind => NeuralNetworkTask.Regression;

    public override void CheckLabelType(string name, DataViewType type, bool isKey)
    {
        if (type != NumberDataViewType.Single && type != NumberDataViewType.Double)
            throw new ArgumentException(
                $"The label column '{name}' has type {type}, but regression needs a Single label. " +
                $"Convert it with mlContext.Transforms.Conversion.ConvertType(\"{name}\", outputKind: DataKind.Single).", "LabelColumnName");
    }

    public override int LabelValueCount(DataViewSchema.Column label) => 1;

    public override int OutputCount(int labelValueCount) => 1;

    public override int StratificationGroups(int labelValueCount) => 1;

    public override TargetScaling FitTargetScaling(IDataView train, TrainingColumns columns, CancellationToken cancellation)
    {
        var (mean, standardDeviation) = DataScans.LabelStatistics(train, columns, cancellation);
        return new TargetScaling(mean, standardDeviation);
    }

    /// <summary>loss = (z − y)²; dz = 2(z − y).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void RowLosses(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int outputs, double totalWeight, Span<float> gradient, Span<double> rowLosses)
    {
        for (int r = 0; r < rows; r++)
        {
            double error = logits[r] - (double)targets[r];
            rowLosses[r] = weights[r] * error * error;
            if (!gradient.IsEmpty)
                gradient[r] = (float)(weights[r] / totalWeight * 2 * error);
        }
    }

    // Sums in label units: Σw·y, Σw·y², Σw·(y − prediction)².
    private const int SumY = FirstTaskSlot, SumYY = FirstTaskSlot + 1, SumSquaredError = FirstTaskSlot + 2;

    public override int MetricSumCount(int outputs) => FirstTaskSlot + 3;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void AddMetrics(Span<double> sums, ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int outputs, TargetScaling scaling)
    {
        float labelMean = scaling.Mean[0], labelStandardDeviation = scaling.StandardDeviation[0];
        for (int r = 0; r < rows; r++)
        {
            double w = weights[r];
            sums[WeightSlot] += w;
            double y = targets[r] * (double)labelStandardDeviation + labelMean;
            double prediction = logits[r] * (double)labelStandardDeviation + labelMean;
            sums[SumY] += w * y;
            sums[SumYY] += w * y * y;
            sums[SumSquaredError] += w * (y - prediction) * (y - prediction);
        }
    }

    /// <summary>The loss is computed on the standardised label; this brings it back to label units.</summary>
    public override double MeanLoss(ReadOnlySpan<double> sums, TargetScaling scaling) =>
        base.MeanLoss(sums, scaling) * ((double)scaling.StandardDeviation[0] * scaling.StandardDeviation[0]);

    public override EpochMetrics Metrics(ReadOnlySpan<double> sums, int outputs, double meanLoss)
    {
        double weight = sums[WeightSlot];
        double meanSquaredError = sums[SumSquaredError] / weight;
        double totalSquares = sums[SumYY] - sums[SumY] * sums[SumY] / weight;
        return new EpochMetrics(meanLoss, rootMeanSquaredError: Math.Sqrt(meanSquaredError),
            rSquared: totalSquares > 0 ? 1 - sums[SumSquaredError] / totalSquares : null);
    }

    public override bool HasMetric(NeuralNetworkMetric metric) =>
        metric is NeuralNetworkMetric.Loss or NeuralNetworkMetric.RootMeanSquaredError or NeuralNetworkMetric.RSquared;

    public override bool AcceptsClassWeights => false;

    public override void Score(ReadOnlySpan<float> logits, int rows, int outputs, Span<float> scored, TargetScaling scaling)
    {
        float labelMean = scaling.Mean[0], labelStandardDeviation = scaling.StandardDeviation[0];
        for (int r = 0; r < rows; r++)
            scored[r] = logits[r] * labelStandardDeviation + labelMean;
    }

    public override string[] OutputColumnNames { get; } = [ScoreColumns.Score];

    public override string[] OutputShapeColumnNames => OutputColumnNames;

    public override DataViewType OutputColumn(string name, NeuralNetworkModelParameters model, DataViewSchema.Annotations.Builder annotations)
        => NumberDataViewType.Single;

    public override SchemaShape.Column OutputShapeColumn(string name, SchemaShape.Column label, List<SchemaShape.Column> annotations)
        => ScoreColumns.Shape(name, VectorKind.Scalar, NumberDataViewType.Single, isKey: false, annotations);

    public override Delegate Getter(string name, int outputs, float[] scored, Func<int> currentRow, Action? beforeRead) => name switch
    {
        ScoreColumns.Score => Getter(beforeRead, () => scored[currentRow()]),
        _ => throw NotAnOutput(name),
    };

    public override void EmitOnnxOutputs(OnnxGraph graph, NeuralNetworkModelParameters model, string logits) =>
        EmitScore(graph, model, logits, NumberDataViewType.Single);

    /// <summary>Score = logits · LabelStandardDeviation + LabelMean, one pair per output (broadcast over the rows).</summary>
    internal static void EmitScore(OnnxGraph graph, NeuralNetworkModelParameters model, string logits, DataViewType scoreType)
    {
        var scaling = model.TargetScaling;
        string std = graph.Initializer("NeuralNetwork.LabelStandardDeviation", scaling.StandardDeviation, [scaling.Count]);
        string mean = graph.Initializer("NeuralNetwork.LabelMean", scaling.Mean, [scaling.Count]);
        string scaled = graph.Intermediate("NeuralNetwork.Scaled", NumberDataViewType.Single);
        graph.Node("Mul", [logits, std], [scaled]);
        string score = graph.Output(ScoreColumns.Score, scoreType);
        graph.Node("Add", [scaled, mean], [score]);
    }
}
