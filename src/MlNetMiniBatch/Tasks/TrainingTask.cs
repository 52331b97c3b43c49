using System.Buffers;
using MlNetMiniBatch.Onnx;
using MlNetMiniBatch.Scoring;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tasks;

/// <summary>
/// Everything that depends on what the network predicts, in one object per task, so that training, reading, scoring,
/// persistence and ONNX export never ask which task they serve: the label's checks, the output layer's width, the
/// target transform, the loss, the metrics, the output columns and their getters, and the ONNX tail. A new task is one
/// subclass plus its entry in <see cref="For(NeuralNetworkTask)"/>. Instances hold no mutable state and are shared.
/// </summary>
internal abstract class TrainingTask
{
    /// <summary>Slots of <see cref="MetricsAccumulator.Sums"/> that every task shares; a task's own sums follow them.</summary>
    public const int LossSlot = 0, WeightSlot = 1, FirstTaskSlot = 2;

    /// <summary>The task object of a public task tag (the catalogs' and the model file's).</summary>
    public static TrainingTask For(NeuralNetworkTask task) => task switch
    {
        NeuralNetworkTask.MulticlassClassification => MulticlassTask.Instance,
        NeuralNetworkTask.BinaryClassification => BinaryTask.Instance,
        NeuralNetworkTask.Regression => RegressionTask.Instance,
        NeuralNetworkTask.MultiOutputRegression => MultiOutputRegressionTask.Instance,
        NeuralNetworkTask.MultiLabelClassification => MultiLabelTask.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown task."),
    };

    /// <summary>The task a trainer of <paramref name="task"/> trains for a label of this shape: a catalog's trainer serves
    /// both. The regression trainer's vector label is multi-output; the binary trainer's is multi-label, trained with the
    /// options' ClassWeights as per-label positive weights.</summary>
    public static TrainingTask For(NeuralNetworkTask task, bool vectorLabel, NeuralNetworkOptions options) => task switch
    {
        NeuralNetworkTask.Regression when vectorLabel => MultiOutputRegressionTask.Instance,
        NeuralNetworkTask.BinaryClassification when vectorLabel => MultiLabelTask.WithPositiveWeights(options.ClassWeights),
        NeuralNetworkTask.MultiLabelClassification => MultiLabelTask.WithPositiveWeights(options.ClassWeights),
        _ => For(task),
    };

    /// <summary>Lets internal callers (and tests) pass the public tag where a task object is wanted.</summary>
    public static implicit operator TrainingTask(NeuralNetworkTask task) => For(task);

    /// <summary>The public tag: what the model file and the training-state key store.</summary>
    public abstract NeuralNetworkTask Kind { get; }

    // ---- The label ----

    /// <summary>Throws an <see cref="ArgumentException"/> naming the label column, its type and the fix when this task cannot
    /// train on it. Called with the runtime type and with the <see cref="SchemaShape"/> item type (the same rules).</summary>
    public abstract void CheckLabelType(string name, DataViewType type, bool isKey);

    /// <summary>Throws when the label's shape (scalar, known-size or variable-size vector, as a <see cref="SchemaShape"/>
    /// gives it) does not suit the task; the tasks of a scalar label refuse vectors.</summary>
    public virtual void CheckLabelKind(string name, SchemaShape.Column.VectorKind kind)
    {
        if (kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentException($"The label column '{name}' is a vector; the trainer needs one label value per row.", "LabelColumnName");
    }

    /// <summary>The number of label values the reader accepts (classes; 2 for a Boolean; 1 for a number); throws when
    /// the label cannot be trained on. Training's ClassCount.</summary>
    public abstract int LabelValueCount(DataViewSchema.Column label);

    /// <summary>The output layer's width for a label with <paramref name="labelValueCount"/> values (a vector label would
    /// give its size here).</summary>
    public abstract int OutputCount(int labelValueCount);

    /// <summary>The class names the model keeps from the label's KeyValues annotation; null when the task has none.</summary>
    public virtual LabelKeyValues? ReadClassValues(DataViewSchema.Column label) => null;

    /// <summary>The label groups that the validation split keeps in proportion: one per class, or one.</summary>
    public virtual int StratificationGroups(int labelValueCount) => labelValueCount;

    /// <summary>Whether a warm start matches the model's outputs to the data's classes by name (and may reorder them).</summary>
    public virtual bool MatchesOutputsByClassName => false;

    /// <summary>The names <see cref="NeuralNetworkModelParameters.ClassNames"/> reports.</summary>
    public virtual IReadOnlyList<string>? ClassNames(LabelKeyValues? classValues) => null;

    // ---- The target transform (see TargetScaling), applied by the reader and undone by the metrics and the scorer ----

    /// <summary>The scaling that standardises the label for training, from the training data: the identity unless the task
    /// learns better on a standardised target.</summary>
    public virtual TargetScaling FitTargetScaling(IDataView train, TrainingColumns columns, CancellationToken cancellation)
        => TargetScaling.Identity;

    // ---- The loss ----

    /// <summary>Writes each row's weight·loss into <paramref name="rowLosses"/>, and dLoss/dLogits, each row's scaled by
    /// weight / totalWeight, into <paramref name="gradient"/> unless it is empty. A row's values depend on that row
    /// alone, bit for bit, so that ranges of rows may run on different threads (<see cref="BatchLoss"/>).</summary>
    /// <param name="logits">rows × outputs.</param>
    /// <param name="targets">rows × TargetCount (the label's width, 1 for a scalar), as the reader wrote them (class index,
    /// 0/1 or standardised target).</param>
    public abstract void RowLosses(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int outputs, double totalWeight, Span<float> gradient, Span<double> rowLosses);

    /// <summary>Σ weight·loss over the rows, added in row order, and the gradient as <see cref="RowLosses"/> writes it.</summary>
    public double Loss(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int outputs, double totalWeight, Span<float> gradient)
    {
        double[] rowLosses = ArrayPool<double>.Shared.Rent(rows);
        try
        {
            RowLosses(logits, targets, weights, rows, outputs, totalWeight, gradient, rowLosses.AsSpan(0, rows));
            return SumInRowOrder(rowLosses.AsSpan(0, rows));
        }
        finally
        {
            ArrayPool<double>.Shared.Return(rowLosses);
        }
    }

    /// <summary>The batch's loss from its rows' terms: the order is fixed, so the sum is the same bits however the rows
    /// were split across threads.</summary>
    public static double SumInRowOrder(ReadOnlySpan<double> rowLosses)
    {
        double sum = 0;
        foreach (double loss in rowLosses)
            sum += loss;
        return sum;
    }

    // ---- The metrics: plain double sums, so that they can be added across processes ----

    /// <summary>How many sums <see cref="MetricsAccumulator"/> keeps: <see cref="FirstTaskSlot"/> plus the task's own.</summary>
    public abstract int MetricSumCount(int outputs);

    /// <summary>Adds each row's weight to sums[<see cref="WeightSlot"/>] and the task's own sums (the loss is added by the caller).</summary>
    public abstract void AddMetrics(Span<double> sums, ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int outputs, TargetScaling scaling);

    /// <summary>The mean loss in the units the user sees (the loss is computed on the target as the reader wrote it).</summary>
    public virtual double MeanLoss(ReadOnlySpan<double> sums, TargetScaling scaling) =>
        sums[WeightSlot] > 0 ? sums[LossSlot] / sums[WeightSlot] : double.NaN;

    /// <summary>The epoch's metrics from the sums (called with a positive weight sum).</summary>
    public abstract EpochMetrics Metrics(ReadOnlySpan<double> sums, int outputs, double meanLoss);

    /// <summary>Whether early stopping may monitor <paramref name="metric"/> for this task.</summary>
    public abstract bool HasMetric(NeuralNetworkMetric metric);

    /// <summary>Whether NeuralNetworkOptions.ClassWeights applies.</summary>
    public virtual bool AcceptsClassWeights => true;

    // ---- Scoring ----

    /// <summary>Turns <paramref name="rows"/> rows of logits into the values the output columns read (probabilities,
    /// logits, predictions in label units), <see cref="ScoredValuesPerRow"/> per row.</summary>
    public abstract void Score(ReadOnlySpan<float> logits, int rows, int outputs, Span<float> scored, TargetScaling scaling);

    /// <summary>Values per row in <see cref="Score"/>'s output.</summary>
    public virtual int ScoredValuesPerRow(int outputs) => outputs;

    /// <summary>The output columns in the runtime schema's order.</summary>
    public abstract string[] OutputColumnNames { get; }

    /// <summary>The output columns in the order the built-in trainers' <c>GetOutputSchema(SchemaShape)</c> lists them.</summary>
    public abstract string[] OutputShapeColumnNames { get; }

    /// <summary>The output column's type; adds the task's own annotations (after the score-column ones every task has).</summary>
    public abstract DataViewType OutputColumn(string name, NeuralNetworkModelParameters model, DataViewSchema.Annotations.Builder annotations);

    /// <summary>The output column as a schema shape; <paramref name="annotations"/> holds the common ones, the task adds its own.</summary>
    public abstract SchemaShape.Column OutputShapeColumn(string name, SchemaShape.Column label, List<SchemaShape.Column> annotations);

    /// <summary>A getter of output column <paramref name="name"/> over <paramref name="scored"/> (see <see cref="OutputGetters"/>).</summary>
    public abstract Delegate Getter(string name, int outputs, float[] scored, Func<int> currentRow, Action? beforeRead);

    // ---- ONNX ----

    /// <summary>Emits the nodes from the last layer's logits <paramref name="logits"/> to the graph's output columns.</summary>
    public abstract void EmitOnnxOutputs(OnnxGraph graph, NeuralNetworkModelParameters model, string logits);

    /// <summary>The task name the score columns' ScoreColumnKind annotation carries.</summary>
    public string ScoreColumnKind => Kind.ToString();

    /// <inheritdoc/>
    public override string ToString() => Kind.ToString();

    /// <summary>Wraps a getter so that it first runs <paramref name="beforeRead"/> (row-at-a-time scoring scores there).</summary>
    protected static ValueGetter<T> Getter<T>(Action? beforeRead, Func<T> read) => (ref T dst) =>
    {
        beforeRead?.Invoke();
        dst = read();
    };

    /// <summary>A getter of a vector output: row currentRow()'s <paramref name="width"/> values of <paramref name="scored"/>.</summary>
    protected static ValueGetter<VBuffer<float>> RowVector(int width, float[] scored, Func<int> currentRow, Action? beforeRead) =>
        (ref VBuffer<float> dst) =>
        {
            beforeRead?.Invoke();
            var editor = VBufferEditor.Create(ref dst, width);
            scored.AsSpan(currentRow() * width, width).CopyTo(editor.Values);
            dst = editor.Commit();
        };

    /// <summary>A vector label's SlotNames, for a task whose outputs are the label's elements; null when it has none.</summary>
    protected static LabelKeyValues? VectorLabelNames(DataViewSchema.Column label) =>
        label.Type is VectorDataViewType { Size: > 0 and var size } && SlotNames.Read(label, size) is { } names
            ? LabelKeyValues.FromNames(names) : null;

    /// <summary>The shape of <see cref="VectorLabelNames"/> on an output column: SlotNames when the label has text ones.</summary>
    protected static void AddVectorLabelNamesShape(SchemaShape.Column label, List<SchemaShape.Column> annotations)
    {
        if (label.Annotations.TryFind(ScoreColumns.SlotNames, out var slotNames) && slotNames.ItemType is TextDataViewType)
            annotations.Insert(0, ScoreColumns.Shape(ScoreColumns.SlotNames, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance));
    }

    protected static ArgumentOutOfRangeException NotAnOutput(string name) => new(nameof(name), name, "Not an output column of this model.");
}
