using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using static MlNetMiniBatch.Tests.Persistence.PersistenceFixture;

namespace MlNetMiniBatch.Tests.Persistence;

/// <summary>mlContext.Model.Save in this process, plain mlContext.Model.Load in another (test/MlNetMiniBatch.ModelHost)
/// and in this one: same transformer type, same weights, history, classes, label scaling and options, bit-identical scores.</summary>
[TestClass]
public sealed class RoundTripTests
{
    private static readonly NeuralNetworkTask[] Tasks =
        [NeuralNetworkTask.MulticlassClassification, NeuralNetworkTask.BinaryClassification, NeuralNetworkTask.Regression];

    [TestMethod]
    public void ModelSavedHereLoadsInAnotherProcessWithBitIdenticalScores()
    {
        string directory = TempDirectory();
        var arguments = new List<string>();
        var expected = new Dictionary<NeuralNetworkTask, List<string>>();
        foreach (var task in Tasks)
        {
            var trained = Get(task);
            string model = Path.Combine(directory, $"{task}.zip"), rows = Path.Combine(directory, $"{task}.idv"), output = Path.Combine(directory, $"{task}.txt");
            trained.Context.Model.Save(trained.Model, trained.Data.Schema, model);
            var scoring = trained.ScoringRows(50, 99);
            using (var stream = File.Create(rows))
                trained.Context.Data.SaveAsBinary(scoring, stream);
            arguments.AddRange([model, rows, output]);

            // What the host must print, computed from the original in-memory model.
            var lines = new List<string> { "preloaded=False", $"inputSchema={string.Join(",", trained.Data.Schema.Select(c => c.Name))}" };
            lines.AddRange(Describe(trained.Network));
            lines.AddRange(Scores(trained.Context, trained.Model, scoring));
            expected[task] = lines;
        }

        var (exitCode, hostOutput) = RunModelHost([.. arguments]);
        Assert.AreEqual(0, exitCode, hostOutput);
        foreach (var task in Tasks)
        {
            var actual = File.ReadAllLines(Path.Combine(directory, $"{task}.txt"));
            CollectionAssert.AreEqual(expected[task], actual,
                $"{task}: the other process saw a different model or scores.\nexpected:\n{string.Join("\n", expected[task])}\nactual:\n{string.Join("\n", actual)}");
        }
        Directory.Delete(directory, recursive: true);
    }

    [TestMethod]
    public void LoadedModelScoresBitIdenticallyAndWarmStartsLikeTheOriginal()
    {
        foreach (var task in Tasks)
        {
            var trained = Get(task);
            using var stream = new MemoryStream();
            trained.Context.Model.Save(trained.Model, trained.Data.Schema, stream);
            stream.Position = 0;
            var ml = new MLContext(seed: 5);
            var loaded = ml.Model.Load(stream, out var schema);
            Assert.AreEqual(trained.Data.Schema.Count, schema.Count);
            var network = FindNetwork(loaded);
            CollectionAssert.AreEqual(Describe(trained.Network).ToList(), Describe(network).ToList(), $"{task}: model details");
            Assert.AreEqual(trained.Network.Model.TrainingOptions!.ToString(), network.Model.TrainingOptions!.ToString());
            Assert.AreEqual(7, network.Model.TrainingOptions.Seed);
            Assert.AreEqual(16, network.Model.TrainingOptions.BatchSize);

            var rows = trained.ScoringRows(40, 5);
            CollectionAssert.AreEqual(Scores(trained.Context, trained.Model, rows).ToList(), Scores(ml, loaded, rows).ToList(), $"{task}: scores");

            // The loaded output schema still carries the annotations evaluators and MapKeyToValue rely on.
            var output = loaded.GetOutputSchema(schema);
            if (task == NeuralNetworkTask.MulticlassClassification)
            {
                VBuffer<ReadOnlyMemory<char>> names = default;
                output["Score"].GetSlotNames(ref names);
                CollectionAssert.AreEqual(new[] { "red", "green", "blue" }.Order().ToArray(), names.DenseValues().Select(n => n.ToString()).Order().ToArray());
            }

            // Warm start from the loaded model equals warm start from the original.
            var fromOriginal = trained.Trainer.Fit(trained.Featurized, trained.Network.Model);
            var fromLoaded = trained.Trainer.Fit(trained.Featurized, network.Model);
            CollectionAssert.AreEqual(Describe(fromOriginal).ToList(), Describe(fromLoaded).ToList(), $"{task}: warm start");
            Assert.IsTrue(fromLoaded.Model.TrainingOptions!.WarmStart);
        }
    }

    [TestMethod]
    public void ASingleTransformerSavesAndLoadsToo()
    {
        var trained = Get(NeuralNetworkTask.Regression);
        using var stream = new MemoryStream();
        trained.Context.Model.Save(trained.Network, trained.Featurized.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext().Model.Load(stream, out _);
        var network = FindNetwork(loaded);
        CollectionAssert.AreEqual(Describe(trained.Network).ToList(), Describe(network).ToList());
        Assert.AreEqual("Features", network.FeatureColumnName);
        Assert.AreEqual(trained.Network.FeatureColumnType, network.FeatureColumnType);
    }

    /// <summary>Same text as the model host prints (test/MlNetMiniBatch.ModelHost/Program.cs, Host.Describe).</summary>
    internal static IEnumerable<string> Describe(NeuralNetworkPredictionTransformer network)
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
        yield return $"label={Bits(m.LabelMean)} {Bits(m.LabelStandardDeviation)}";
        yield return $"stop={m.StopReason} best={m.BestEpoch}";
        foreach (var e in m.History)
            yield return $"epoch {e.Epoch} it={e.Iterations} rows={e.Rows} lr={Bits(e.LearningRate)} loss={BitConverter.DoubleToInt64Bits(e.TrainLoss):X} " +
                         $"val={(e.ValidationLoss is { } v ? BitConverter.DoubleToInt64Bits(v).ToString("X") : "-")} best={e.IsBest}";
        yield return $"options={m.TrainingOptions}";
    }

    /// <summary>Same text as the model host prints (Host.Score): Transform columns, then PredictionEngine outputs.</summary>
    internal static IEnumerable<string> Scores(MLContext ml, ITransformer model, IDataView rows)
    {
        var scored = model.Transform(rows);
        foreach (var column in new[] { "PredictedLabel", "Score", "Probability", "PredictedClass" })
            if (scored.Schema.GetColumnOrNull(column) is { } c)
                yield return $"transform.{column}={string.Join(" ", Column(scored, c))}";
        var inputs = ml.Data.CreateEnumerable<Features>(rows, reuseRowObject: false).ToArray();
        var task = FindNetwork(model).Model.Task;
        switch (task)
        {
            case NeuralNetworkTask.MulticlassClassification:
            {
                var engine = ml.Model.CreatePredictionEngine<Features, MulticlassOut>(model);
                var outputs = inputs.Select(engine.Predict).ToArray();
                yield return $"engine.PredictedLabel={string.Join(" ", outputs.Select(o => o.PredictedLabel.ToString(CultureInfo.InvariantCulture)))}";
                yield return $"engine.Score={string.Join(" ", outputs.Select(o => Bits(o.Score)))}";
                break;
            }
            case NeuralNetworkTask.BinaryClassification:
            {
                var engine = ml.Model.CreatePredictionEngine<Features, BinaryOut>(model);
                var outputs = inputs.Select(engine.Predict).ToArray();
                yield return $"engine.PredictedLabel={string.Join(" ", outputs.Select(o => o.PredictedLabel))}";
                yield return $"engine.Score={string.Join(" ", outputs.Select(o => Bits(o.Score)))}";
                yield return $"engine.Probability={string.Join(" ", outputs.Select(o => Bits(o.Probability)))}";
                break;
            }
            default:
            {
                var engine = ml.Model.CreatePredictionEngine<Features, RegressionOut>(model);
                yield return $"engine.Score={string.Join(" ", inputs.Select(r => Bits(engine.Predict(r).Score)))}";
                break;
            }
        }
    }

    private static IEnumerable<string> Column(IDataView view, DataViewSchema.Column column)
    {
        using var cursor = view.GetRowCursor([column]);
        var values = new List<string>();
        switch (column.Type)
        {
            case VectorDataViewType:
            {
                var get = cursor.GetGetter<VBuffer<float>>(column);
                VBuffer<float> value = default;
                while (cursor.MoveNext()) { get(ref value); values.Add(Bits(value.DenseValues().ToArray())); }
                break;
            }
            case KeyDataViewType:
            {
                var get = cursor.GetGetter<uint>(column);
                uint value = 0;
                while (cursor.MoveNext()) { get(ref value); values.Add(value.ToString(CultureInfo.InvariantCulture)); }
                break;
            }
            case TextDataViewType:
            {
                var get = cursor.GetGetter<ReadOnlyMemory<char>>(column);
                ReadOnlyMemory<char> value = default;
                while (cursor.MoveNext()) { get(ref value); values.Add(value.ToString()); }
                break;
            }
            case BooleanDataViewType:
            {
                var get = cursor.GetGetter<bool>(column);
                bool value = false;
                while (cursor.MoveNext()) { get(ref value); values.Add(value.ToString()); }
                break;
            }
            default:
            {
                var get = cursor.GetGetter<float>(column);
                float value = 0;
                while (cursor.MoveNext()) { get(ref value); values.Add(Bits(value)); }
                break;
            }
        }
        return values;
    }

    internal static string Bits(float value) => BitConverter.SingleToInt32Bits(value).ToString("X8");

    internal static string Bits(ReadOnlySpan<float> values)
    {
        var parts = new string[values.Length];
        for (int i = 0; i < values.Length; i++) parts[i] = Bits(values[i]);
        return string.Join(",", parts);
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

    public sealed class RegressionOut
    {
        public float Score { get; set; }
    }
}
