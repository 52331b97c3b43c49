using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using static MlNetMiniBatch.Tests.Persistence.PersistenceFixture;

namespace MlNetMiniBatch.Tests.Persistence;

/// <summary>
/// Model files written by released versions must keep loading. Persistence/Fixtures holds one file per task saved by
/// MlNetMiniBatch 0.1.0 (entry layout 0x00010001, network format 2) with the rows and scores it gave; later versions
/// load the file and must give the same scores. Never regenerate these files: add new ones next to them. The
/// "format3" set was saved by the code of network format 3 (each epoch's batch size) just before the task refactor
/// (issue #12), with each model's History, which must load exactly. (To write a new set, change
/// <see cref="Current"/> to a new prefix, run this class with MLNMB_WRITE_FIXTURES=1 and commit the files; rewriting
/// the current set and diffing its .txt files also shows whether training still gives the same scores and History.)
/// </summary>
[TestClass]
public sealed class SavedFileCompatibilityTests
{
    private const string Version = "0.1.0";

    /// <summary>The set that MLNMB_WRITE_FIXTURES=1 writes.</summary>
    private const string Current = "format3";

    private static string FixtureDirectory => Path.Combine(AppContext.BaseDirectory, "Persistence", "Fixtures");

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void AFileSavedByAnEarlierVersionLoadsAndScoresTheSame(NeuralNetworkTask task) => LoadsAndScoresTheSame(task, Version);

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void AFileOfNetworkFormat3LoadsWithItsHistoryAndScoresTheSame(NeuralNetworkTask task)
    {
        LoadsAndScoresTheSame(task, Current);
        var ml = new MLContext(1);
        var loaded = (TransformerChain<ITransformer>)ml.Model.Load(Path.Combine(FixtureDirectory, $"{Current}-{task}.zip"), out _);
        var network = loaded.OfType<NeuralNetworkPredictionTransformer>().Single().Model;
        CollectionAssert.AreEqual(File.ReadAllLines(Path.Combine(FixtureDirectory, $"{Current}-{task}.history.txt")),
            network.History.Select(HistoryLine).ToArray(), $"{task} History");
    }

    private static void LoadsAndScoresTheSame(NeuralNetworkTask task, string version)
    {
        string model = Path.Combine(FixtureDirectory, $"{version}-{task}.zip"), expected = Path.Combine(FixtureDirectory, $"{version}-{task}.txt");
        if (version == Current && Environment.GetEnvironmentVariable("MLNMB_WRITE_FIXTURES") == "1")
            Write(task, model, expected);

        var lines = File.ReadAllLines(expected);
        var rows = lines.Select(l => l.Split('|')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Parse).ToArray())
            .Select(x => new Features { X0 = x[0], X1 = x[1], X2 = x[2], X3 = x[3] }).ToArray();
        var ml = new MLContext(1);
        var loaded = ml.Model.Load(model, out _);
        var scores = Scores(ml, loaded, ml.Data.LoadFromEnumerable(rows));
        for (int i = 0; i < rows.Length; i++)
        {
            var want = lines[i].Split('|')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Parse).ToArray();
            Assert.AreEqual(want.Length, scores[i].Length);
            for (int j = 0; j < want.Length; j++)
                Assert.AreEqual(want[j], scores[i][j], 1e-5f * Math.Max(1, Math.Abs(want[j])), $"{task} row {i} score {j}");
        }
    }

    private static void Write(NeuralNetworkTask task, string model, string expected)
    {
        var trained = Get(task);
        Directory.CreateDirectory(Path.GetDirectoryName(model)!);
        trained.Context.Model.Save(trained.Model, trained.Data.Schema, model);
        var rows = trained.Context.Data.CreateEnumerable<Features>(trained.ScoringRows(12, 2024), reuseRowObject: false).ToArray();
        var scores = Scores(trained.Context, trained.Model, trained.Context.Data.LoadFromEnumerable(rows));
        File.WriteAllLines(expected, rows.Select((r, i) =>
            $"{Format(r.X0)} {Format(r.X1)} {Format(r.X2)} {Format(r.X3)} | {string.Join(" ", scores[i].Select(Format))}"));
        string history = Path.ChangeExtension(expected, ".history.txt");
        File.WriteAllLines(history, trained.Network.Model.History.Select(HistoryLine));
        // Also into the source tree, next to this file.
        string source = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "Persistence", "Fixtures");
        Directory.CreateDirectory(source);
        foreach (var file in new[] { model, expected, history })
            File.Copy(file, Path.Combine(source, Path.GetFileName(file)), overwrite: true);
    }

    /// <summary>An epoch's recorded numbers, exactly (round-trip formatting); its wall time is left out.</summary>
    private static string HistoryLine(EpochSummary e) =>
        $"{e.Epoch} {e.BatchSize} {e.Iterations} {e.Rows} {Format(e.LearningRate)} {e.IsBest} | {Metrics(e.Train)} | {(e.Validation is { } v ? Metrics(v) : "-")}";

    private static string Metrics(EpochMetrics m) => string.Join(" ",
        new double?[] { m.Loss, m.Accuracy, m.MacroAccuracy, m.AreaUnderRocCurve, m.RootMeanSquaredError, m.RSquared }
            .Select(v => v is { } x ? x.ToString("R", CultureInfo.InvariantCulture) : "-"));

    /// <summary>Per row: the Score values (one, or one per class), then Probability when there is one.</summary>
    private static float[][] Scores(MLContext ml, ITransformer model, IDataView rows)
    {
        var scored = model.Transform(rows);
        var result = new List<float[]>();
        var score = scored.Schema["Score"];
        var probability = scored.Schema.GetColumnOrNull("Probability");
        using var cursor = scored.GetRowCursor(probability is { } p ? [score, p] : [score]);
        ValueGetter<VBuffer<float>>? vector = score.Type is VectorDataViewType ? cursor.GetGetter<VBuffer<float>>(score) : null;
        ValueGetter<float>? scalar = vector is null ? cursor.GetGetter<float>(score) : null;
        ValueGetter<float>? getProbability = probability is { } column ? cursor.GetGetter<float>(column) : null;
        VBuffer<float> values = default;
        float value = 0, prob = 0;
        while (cursor.MoveNext())
        {
            var row = new List<float>();
            if (vector is not null) { vector(ref values); row.AddRange(values.DenseValues()); }
            else { scalar!(ref value); row.Add(value); }
            if (getProbability is not null) { getProbability(ref prob); row.Add(prob); }
            result.Add([.. row]);
        }
        return [.. result];
    }

    private static string Format(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static float Parse(string text) => float.Parse(text, CultureInfo.InvariantCulture);
}
