using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using static MlNetMiniBatch.Tests.Persistence.PersistenceFixture;

namespace MlNetMiniBatch.Tests.Persistence;

/// <summary>
/// Model files written by released versions must keep loading. Persistence/Fixtures holds one file per task saved by
/// MlNetMiniBatch 0.1.0 (entry layout 0x00010001, network format 2) with the rows and scores it gave; later versions
/// load the file and must give the same scores. Never regenerate these files: add new ones next to them. (To write a
/// new set, run this class with MLNMB_WRITE_FIXTURES=1 and commit the files under a new version prefix.)
/// </summary>
[TestClass]
public sealed class SavedFileCompatibilityTests
{
    private const string Version = "0.1.0";

    private static string FixtureDirectory => Path.Combine(AppContext.BaseDirectory, "Persistence", "Fixtures");

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void AFileSavedByAnEarlierVersionLoadsAndScoresTheSame(NeuralNetworkTask task)
    {
        string model = Path.Combine(FixtureDirectory, $"{Version}-{task}.zip"), expected = Path.Combine(FixtureDirectory, $"{Version}-{task}.txt");
        if (Environment.GetEnvironmentVariable("MLNMB_WRITE_FIXTURES") == "1")
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
        // Also into the source tree, next to this file.
        string source = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "Persistence", "Fixtures");
        Directory.CreateDirectory(source);
        File.Copy(model, Path.Combine(source, Path.GetFileName(model)), overwrite: true);
        File.Copy(expected, Path.Combine(source, Path.GetFileName(expected)), overwrite: true);
    }

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
