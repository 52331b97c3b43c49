using System.Runtime.CompilerServices;
using MlNetMiniBatch.Onnx;
using MlNetMiniBatch.Scoring;
using MlNetMiniBatch.Training;
using VectorKind = Microsoft.ML.SchemaShape.Column.VectorKind;

namespace MlNetMiniBatch.Tasks;

/// <summary>
/// A known-size vector of k Single labels: k linear outputs of one network, each trained on its own standardised label,
/// so that outputs of very different scales weigh the same in the loss, the mean over outputs of the squared errors.
/// Metrics (RMSE, R²: the mean over outputs) and the loss are reported in label units; Score is the vector of k
/// predictions in label units, carrying the label's SlotNames.
/// </summary>
internal sealed class MultiOutputRegressionTask : TrainingTask
{
    public static readonly MultiOutputRegressionTask Instance = new();

    private MultiOutputRegressionTask()
    {
    }

    public override NeuralNetworkTask Kind => NeuralNetworkTask.MultiOutputRegression;

    public override void CheckLabelKind(string name, VectorKind kind)
    {
        if (kind == VectorKind.VariableVector)
            throw TrainingColumns.VariableSizeLabel(name);
        if (kind == VectorKind.Scalar)
            throw ScalarLabel(name);
    }

    /// <summary>Called with the runtime type (a vector) and with a schema shape's item type.</summary>
    public override void CheckLabelType(string name, DataViewType type, bool isKey)
    {
        var item = type is VectorDataViewType vector ? vector.ItemType : type;
        if (item != NumberDataViewType.Single || isKey)
            throw new ArgumentException(
                $"The label column '{name}' has type {type}, but multi-output regression needs a known-size vector of Single. " +
                $"Convert it with mlContext.Transforms.Conversion.ConvertType(\"{name}\", outputKind: DataKind.Single).", "LabelColumnName");
    }

    /// <summary>The label's width: the output count (so that validation data, warm start and checkpoints compare it).</summary>
    public override int LabelValueCount(DataViewSchema.Column label) =>
        label.Type is VectorDataViewType { IsKnownSize: true, Size: var size } ? size : throw ScalarLabel(label.Name);

    public override int OutputCount(int labelValueCount) => labelValueCount;

    public override int StratificationGroups(int labelValueCount) => 1;

    /// <summary>The label's SlotNames (one text per output), kept by the model for the Score column.</summary>
    public override LabelKeyValues? ReadClassValues(DataViewSchema.Column label) => VectorLabelNames(label);

    public override TargetScaling FitTargetScaling(IDataView train, TrainingColumns columns, CancellationToken cancellation) =>
        RegressionTask.Instance.FitTargetScaling(train, columns, cancellation);

    /// <summary>loss = Σⱼ (zⱼ − yⱼ)² / k; dzⱼ = 2(zⱼ − yⱼ) / k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void RowLosses(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int outputs, double totalWeight, Span<float> gradient, Span<double> rowLosses)
    {
        for (int r = 0; r < rows; r++)
        {
            double rowSum = 0, scale = weights[r] / totalWeight * 2 / outputs;
            for (int j = r * outputs, end = j + outputs; j < end; j++)
            {
                double error = logits[j] - (double)targets[j];
                rowSum += error * error;
                if (!gradient.IsEmpty)
                    gradient[j] = (float)(scale * error);
            }
            rowLosses[r] = weights[r] * rowSum / outputs;
        }
    }

    // Per output o, in label units, at FirstTaskSlot + 4o: Σw·y, Σw·y², Σw·(y − prediction)², Σw·|y − prediction|.
    private const int SumsPerOutput = 4, SumY = 0, SumYY = 1, SumSquaredError = 2, SumAbsoluteError = 3;

    public override int MetricSumCount(int outputs) => FirstTaskSlot + SumsPerOutput * outputs;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void AddMetrics(Span<double> sums, ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int outputs, TargetScaling scaling)
    {
        var mean = scaling.Mean;
        var standardDeviation = scaling.StandardDeviation;
        for (int r = 0; r < rows; r++)
        {
            double w = weights[r];
            sums[WeightSlot] += w;
            for (int o = 0; o < outputs; o++)
            {
                int i = r * outputs + o, slot = FirstTaskSlot + SumsPerOutput * o;
                double y = targets[i] * (double)standardDeviation[o] + mean[o];
                double error = y - (logits[i] * (double)standardDeviation[o] + mean[o]);
                sums[slot + SumY] += w * y;
                sums[slot + SumYY] += w * y * y;
                sums[slot + SumSquaredError] += w * error * error;
                sums[slot + SumAbsoluteError] += w * Math.Abs(error);
            }
        }
    }

    /// <summary>The loss in label units, the mean over outputs of their mean squared errors (as EvaluateMultiOutput's
    /// MeanSquaredError), so that it reads like the scalar regression's loss.</summary>
    public override double MeanLoss(ReadOnlySpan<double> sums, TargetScaling scaling)
    {
        double weight = sums[WeightSlot];
        if (!(weight > 0))
            return double.NaN;
        int outputs = (sums.Length - FirstTaskSlot) / SumsPerOutput;
        double total = 0;
        for (int o = 0; o < outputs; o++)
            total += sums[FirstTaskSlot + SumsPerOutput * o + SumSquaredError] / weight;
        return total / outputs;
    }

    /// <summary>RMSE and R², each the mean over outputs; R² is null when any output is constant.</summary>
    public override EpochMetrics Metrics(ReadOnlySpan<double> sums, int outputs, double meanLoss)
    {
        double weight = sums[WeightSlot], rootMeanSquaredError = 0, rSquared = 0;
        bool allVary = true;
        for (int o = 0; o < outputs; o++)
        {
            var s = sums.Slice(FirstTaskSlot + SumsPerOutput * o, SumsPerOutput);
            rootMeanSquaredError += Math.Sqrt(s[SumSquaredError] / weight);
            double totalSquares = s[SumYY] - s[SumY] * s[SumY] / weight;
            allVary &= totalSquares > 0;
            rSquared += 1 - s[SumSquaredError] / totalSquares;
        }
        return new EpochMetrics(meanLoss, rootMeanSquaredError: rootMeanSquaredError / outputs, rSquared: allVary ? rSquared / outputs : null);
    }

    public override bool HasMetric(NeuralNetworkMetric metric) => RegressionTask.Instance.HasMetric(metric);

    public override bool AcceptsClassWeights => false;

    public override void Score(ReadOnlySpan<float> logits, int rows, int outputs, Span<float> scored, TargetScaling scaling)
    {
        var mean = scaling.Mean;
        var standardDeviation = scaling.StandardDeviation;
        for (int r = 0; r < rows; r++)
            for (int o = 0, i = r * outputs; o < outputs; o++, i++)
                scored[i] = logits[i] * standardDeviation[o] + mean[o];
    }

    public override string[] OutputColumnNames { get; } = [ScoreColumns.Score];

    public override string[] OutputShapeColumnNames => OutputColumnNames;

    public override DataViewType OutputColumn(string name, NeuralNetworkModelParameters model, DataViewSchema.Annotations.Builder annotations)
    {
        model.ClassValues?.AddTo(annotations, ScoreColumns.SlotNames);
        return new VectorDataViewType(NumberDataViewType.Single, model.OutputSize);
    }

    public override SchemaShape.Column OutputShapeColumn(string name, SchemaShape.Column label, List<SchemaShape.Column> annotations)
    {
        AddVectorLabelNamesShape(label, annotations);
        return ScoreColumns.Shape(name, VectorKind.Vector, NumberDataViewType.Single, isKey: false, annotations);
    }

    public override Delegate Getter(string name, int outputs, float[] scored, Func<int> currentRow, Action? beforeRead) => name switch
    {
        ScoreColumns.Score => RowVector(outputs, scored, currentRow, beforeRead),
        _ => throw NotAnOutput(name),
    };

    public override void EmitOnnxOutputs(OnnxGraph graph, NeuralNetworkModelParameters model, string logits) =>
        RegressionTask.EmitScore(graph, model, logits, new VectorDataViewType(NumberDataViewType.Single, model.OutputSize));

    private static ArgumentException ScalarLabel(string name) => new(
        $"The label column '{name}' holds one value per row, but multi-output regression needs a known-size vector of Single " +
        "(one value per output). Train a scalar label with NeuralNetworkTask.Regression, or combine the target columns with " +
        $"mlContext.Transforms.Concatenate(\"{name}\", ...).", "LabelColumnName");
}
