using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using static MlNetMiniBatch.ModelHost.ModelReport;
using static MlNetMiniBatch.Tests.Persistence.PersistenceFixture;

namespace MlNetMiniBatch.Tests.Persistence;

/// <summary>mlContext.Model.Save in this process, plain mlContext.Model.Load in another (test/MlNetMiniBatch.ModelHost)
/// and in this one: same transformer type, same weights, history, classes, label scaling and options, bit-identical scores.</summary>
[TestClass]
public sealed class RoundTripTests
{
    private static readonly NeuralNetworkTask[] Tasks =
        [NeuralNetworkTask.MulticlassClassification, NeuralNetworkTask.BinaryClassification, NeuralNetworkTask.Regression,
            NeuralNetworkTask.MultiOutputRegression, NeuralNetworkTask.MultiLabelClassification];

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
            if (task == NeuralNetworkTask.MultiLabelClassification)
            {
                foreach (var column in new[] { "Score", "Probability", "PredictedLabel" })
                {
                    VBuffer<ReadOnlyMemory<char>> names = default;
                    output[column].GetSlotNames(ref names);
                    CollectionAssert.AreEqual(new[] { "Flag", "Positive", "Low" }, names.DenseValues().Select(n => n.ToString()).ToArray(), column);
                }
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
}
