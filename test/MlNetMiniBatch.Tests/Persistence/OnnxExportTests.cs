using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Scoring;
using static MlNetMiniBatch.Tests.Persistence.PersistenceFixture;

namespace MlNetMiniBatch.Tests.Persistence;

/// <summary>ONNX Runtime runs what we export and gets our managed scores within 1e-5: the standalone export for every
/// task and activation, and mlContext.Model.ConvertToOnnx of whole pipelines (Concatenate + NormalizeMinMax + network).</summary>
[TestClass]
public sealed class OnnxExportTests
{
    private const float Tolerance = 1e-5f;

    public static IEnumerable<object[]> TasksAndActivations() =>
        from task in Enum.GetValues<NeuralNetworkTask>()
        from activation in Enum.GetValues<NeuralNetworkActivation>()
        select new object[] { task, activation };

    [TestMethod]
    [DynamicData(nameof(TasksAndActivations))]
    public void StandaloneExportMatchesManagedScores(NeuralNetworkTask task, NeuralNetworkActivation activation)
    {
        var model = RandomModel(task, activation, seed: 1 + (int)task * 10 + (int)activation);
        var ml = new MLContext(1);
        var features = RandomFeatures(64, model.InputSize, seed: 5);
        var managed = ManagedScores(ml, model, features);

        using var stream = new MemoryStream();
        model.ExportToOnnx(stream);
        using var session = new InferenceSession(stream.ToArray());
        Assert.AreEqual("Features", session.InputMetadata.Keys.Single());
        var input = new DenseTensor<float>(features.SelectMany(f => f).ToArray(), [features.Length, model.InputSize]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("Features", input)]);
        var outputs = results.ToDictionary(r => r.Name);
        CollectionAssert.AreEquivalent(ScoreColumnsOf(task), outputs.Keys.ToArray());
        CompareScores(task, managed, name => outputs[name], features.Length);
    }

    [TestMethod]
    public void StandaloneExportCarriesTaskAndClassNames()
    {
        var model = RandomModel(NeuralNetworkTask.MulticlassClassification, NeuralNetworkActivation.ReLU, seed: 3);
        using var stream = new MemoryStream();
        model.ExportToOnnx(stream, featureColumnName: "Pixels");
        using var session = new InferenceSession(stream.ToArray());
        Assert.AreEqual("Pixels", session.InputMetadata.Keys.Single());
        var metadata = session.ModelMetadata.CustomMetadataMap;
        Assert.AreEqual("MulticlassClassification", metadata["mlnetminibatch.task"]);
        Assert.AreEqual("a\nb\nc", metadata["mlnetminibatch.class_names"]);
        Assert.AreEqual("MlNetMiniBatch", session.ModelMetadata.ProducerName);
        Assert.ThrowsExactly<ArgumentException>(() => model.ExportToOnnx(new MemoryStream(), featureColumnName: "Score"));
    }

    [TestMethod]
    public void WholePipelineConvertsToOnnxForEveryTask()
    {
        foreach (var task in Enum.GetValues<NeuralNetworkTask>())
        {
            var trained = Get(task);
            var rows = trained.ScoringRows(80, 21);
            using var stream = new MemoryStream();
            trained.Context.Model.ConvertToOnnx(trained.Model, rows, stream);
            using var session = new InferenceSession(stream.ToArray());
            CollectionAssert.AreEquivalent(FeatureNames, session.InputMetadata.Keys.ToArray(), $"{task}: the graph starts from the raw columns");

            var raw = trained.Context.Data.CreateEnumerable<Features>(rows, reuseRowObject: false).ToArray();
            var inputs = FeatureNames.Select(name => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(
                raw.Select(r => (float)typeof(Features).GetProperty(name)!.GetValue(r)!).ToArray(), [raw.Length, 1]))).ToList();
            using var results = session.Run(inputs);
            var outputs = results.ToDictionary(r => r.Name);

            var managed = Managed(trained.Model.Transform(rows));
            CompareScores(task, managed, name => outputs[name + ".output"], raw.Length);
            if (task == NeuralNetworkTask.MulticlassClassification)
            {
                // MapKeyToValue after the network exports too: our PredictedLabel key feeds it.
                var names = outputs["PredictedClass.output"].AsTensor<string>().ToArray();
                CollectionAssert.AreEqual(managed.Classes, names, "PredictedClass");
            }
        }
    }

    [TestMethod]
    public void AFeatureColumnFromAStepThatCannotExportFailsClearly()
    {
        var trained = Get(NeuralNetworkTask.Regression);
        var ml = trained.Context;
        var rows = trained.ScoringRows(10, 1);
        // CustomMapping cannot export itself to ONNX, so the network's feature column has no producer in the graph.
        var prefix = ml.Transforms.Concatenate("Raw", FeatureNames)
            .Append(ml.Transforms.CustomMapping<RawVector, FeatureVector>((i, o) => o.Features = i.Raw, contractName: null))
            .Fit(rows);
        var model = new TransformerChain<ITransformer>(prefix, trained.Network);
        using var stream = new MemoryStream();
        var error = Assert.Throws<Exception>(() => ml.Model.ConvertToOnnx(model, rows, stream));
        StringAssert.Contains(AllMessages(error), "cannot be exported to ONNX");
    }

    public sealed class RawVector
    {
        [VectorType(4)] public float[] Raw { get; set; } = [];
    }

    public sealed class FeatureVector
    {
        [VectorType(4)] public float[] Features { get; set; } = [];
    }

    private static string AllMessages(Exception e) => e.InnerException is null ? e.Message : e.Message + " | " + AllMessages(e.InnerException);

    private static string[] ScoreColumnsOf(NeuralNetworkTask task) => ScoreColumns.Names(task);

    /// <summary>Managed outputs in ONNX's layout: scores row-major, labels as key index or bool.</summary>
    private sealed record ManagedOutputs(float[] Score, uint[] KeyLabel, bool[] BoolLabel, float[] Probability, string[] Classes);

    private static ManagedOutputs ManagedScores(MLContext ml, NeuralNetworkModelParameters model, float[][] features)
    {
        var type = new VectorDataViewType(NumberDataViewType.Single, model.InputSize);
        var transformer = new NeuralNetworkPredictionTransformer(ml, model, "Features", type);
        var definition = SchemaDefinition.Create(typeof(FeatureRow));
        definition["Features"].ColumnType = type;
        var data = ml.Data.LoadFromEnumerable(features.Select(f => new FeatureRow { Features = f }), definition);
        return Managed(transformer.Transform(data));
    }

    public sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];
    }

    private static ManagedOutputs Managed(IDataView scored)
    {
        var score = new List<float>();
        var keys = new List<uint>();
        var bools = new List<bool>();
        var probability = new List<float>();
        var classes = new List<string>();
        var columns = new[] { "Score", "PredictedLabel", "Probability", "PredictedClass" }
            .Select(n => scored.Schema.GetColumnOrNull(n)).Where(c => c is not null).Select(c => c!.Value).ToArray();
        using var cursor = scored.GetRowCursor(columns);
        var getters = columns.Select<DataViewSchema.Column, Action>(c => (c.Name, c.Type) switch
        {
            ("Score", VectorDataViewType) => Read<VBuffer<float>>(cursor, c, v => score.AddRange(v.DenseValues())),
            ("Score", _) => Read<float>(cursor, c, score.Add),
            ("PredictedLabel", KeyDataViewType) => Read<uint>(cursor, c, keys.Add),
            ("PredictedLabel", VectorDataViewType) => Read<VBuffer<bool>>(cursor, c, v => bools.AddRange(v.DenseValues())),
            ("PredictedLabel", _) => Read<bool>(cursor, c, bools.Add),
            ("Probability", VectorDataViewType) => Read<VBuffer<float>>(cursor, c, v => probability.AddRange(v.DenseValues())),
            ("Probability", _) => Read<float>(cursor, c, probability.Add),
            _ => Read<ReadOnlyMemory<char>>(cursor, c, v => classes.Add(v.ToString())),
        }).ToArray();
        while (cursor.MoveNext())
            foreach (var get in getters) get();
        return new ManagedOutputs([.. score], [.. keys], [.. bools], [.. probability], [.. classes]);
    }

    private static Action Read<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Action<T> add)
    {
        var getter = cursor.GetGetter<T>(column);
        T value = default!;
        return () => { getter(ref value); add(value); };
    }

    private static void CompareScores(NeuralNetworkTask task, ManagedOutputs managed, Func<string, DisposableNamedOnnxValue> output, int rows)
    {
        var score = output("Score").AsTensor<float>();
        Assert.AreEqual(managed.Score.Length, (int)score.Length, "Score size");
        var onnxScore = score.ToArray();
        for (int i = 0; i < onnxScore.Length; i++)
            Assert.AreEqual(managed.Score[i], onnxScore[i], Tolerance * Math.Max(1, Math.Abs(managed.Score[i])), $"{task} Score[{i}]");
        switch (task)
        {
            case NeuralNetworkTask.MulticlassClassification:
            {
                var label = output("PredictedLabel").AsTensor<uint>();
                CollectionAssert.AreEqual(new[] { rows, 1 }, label.Dimensions.ToArray());
                CollectionAssert.AreEqual(managed.KeyLabel, label.ToArray(), "PredictedLabel (1-based key)");
                break;
            }
            case NeuralNetworkTask.BinaryClassification or NeuralNetworkTask.MultiLabelClassification:
            {
                // Multi-label: rows × labels, row-major, as Score.
                int values = managed.Score.Length;
                Assert.AreEqual(values, managed.Probability.Length, "one probability per score");
                var probability = output("Probability").AsTensor<float>().ToArray();
                for (int i = 0; i < values; i++)
                    Assert.AreEqual(managed.Probability[i], probability[i], Tolerance, $"Probability[{i}]");
                var label = output("PredictedLabel").AsTensor<bool>().ToArray();
                Assert.AreEqual(values, label.Length, "PredictedLabel size");
                for (int i = 0; i < values; i++)
                    if (Math.Abs(managed.Score[i]) > Tolerance) // the sign of a logit within rounding of 0 may differ
                        Assert.AreEqual(managed.BoolLabel[i], label[i], $"PredictedLabel[{i}]");
                break;
            }
        }
    }

    internal static NeuralNetworkModelParameters RandomModel(NeuralNetworkTask task, NeuralNetworkActivation activation, int seed)
    {
        int outputs = task is NeuralNetworkTask.MulticlassClassification or NeuralNetworkTask.MultiLabelClassification ? 3 : 1;
        var layout = new NetworkLayout([4, 7, 5, outputs]);
        var random = new Random(seed);
        var parameters = Enumerable.Range(0, layout.ParameterCount).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var classes = task == NeuralNetworkTask.MulticlassClassification ? LabelKeyValues.FromNames(["a", "b", "c"]) : null;
        (float mean, float std) = task == NeuralNetworkTask.Regression ? (12.5f, 3.25f) : (0f, 1f);
        return new NeuralNetworkModelParameters(task, layout, activation, parameters, classes, mean, std, []);
    }

    private static float[][] RandomFeatures(int rows, int size, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, size).Select(_ => Synthetic.Gaussian(random) * 2).ToArray()).ToArray();
    }
}
