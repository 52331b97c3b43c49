using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Tasks;

/// <summary>The multi-output regression tests' data: Linnerud (shipped in Tasks/Data) and a synthetic set whose three
/// targets have scales ~1e3, ~1 and ~1e-3.</summary>
internal static class MultiOutputData
{
    public sealed class LinnerudRow
    {
        public float Chins { get; set; }
        public float Situps { get; set; }
        public float Jumps { get; set; }
        public float Weight { get; set; }
        public float Waist { get; set; }
        public float Pulse { get; set; }
    }

    public static readonly string[] LinnerudTargets = ["Weight", "Waist", "Pulse"];

    /// <summary>The 20 rows of Linnerud, in file order.</summary>
    public static LinnerudRow[] Linnerud()
    {
        string directory = Path.Combine(AppContext.BaseDirectory, "Tasks", "Data");
        var exercise = Numbers(Path.Combine(directory, "linnerud_exercise.csv"));
        var physiological = Numbers(Path.Combine(directory, "linnerud_physiological.csv"));
        Assert.HasCount(20, exercise);
        return exercise.Zip(physiological, (x, y) => new LinnerudRow
        {
            Chins = x[0], Situps = x[1], Jumps = x[2], Weight = y[0], Waist = y[1], Pulse = y[2],
        }).ToArray();
    }

    /// <summary>The split the scikit-learn reference uses too (test/MlNetMiniBatch.Benchmarks/peers/linnerud_mlp.py):
    /// every fourth row (3, 7, 11, 15, 19) is held out.</summary>
    public static bool IsLinnerudTestRow(int index) => index % 4 == 3;

    /// <summary>Label = Concatenate(Weight, Waist, Pulse) (slot names from the columns), Features = the standardised exercises.</summary>
    public static IEstimator<ITransformer> LinnerudPipeline(MLContext ml) =>
        ml.Transforms.Concatenate("Label", LinnerudTargets)
            .Append(ml.Transforms.Concatenate("Features", "Chins", "Situps", "Jumps"))
            .Append(ml.Transforms.NormalizeMeanVariance("Features"));

    private static float[][] Numbers(string path) => File.ReadAllLines(path).Skip(1).Where(l => l.Trim().Length > 0)
        .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray())
        .ToArray();

    public sealed class SyntheticRow
    {
        [VectorType(4)]
        public float[] Features { get; set; } = [];

        [VectorType(3)]
        public float[] Label { get; set; } = [];
    }

    /// <summary>Three smooth functions of four features in [−1, 1], of very different scales; <paramref name="targets"/>
    /// keeps the first ones only.</summary>
    public static SyntheticRow[] Synthetic(int rows, int seed, int targets = 3)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ =>
        {
            var x = Enumerable.Range(0, 4).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            float[] y = [1000 + 400 * x[0] - 300 * x[1] * x[2], MathF.Sin(2 * x[1]) + x[3], 0.001f * (x[0] * x[0] - x[2])];
            return new SyntheticRow { Features = x, Label = y[..targets] };
        }).ToArray();
    }

    /// <summary>The synthetic rows as a view with a label of <paramref name="targets"/> values.</summary>
    public static IDataView SyntheticView(MLContext ml, int rows, int seed, int targets = 3, bool cache = true)
    {
        var definition = SchemaDefinition.Create(typeof(SyntheticRow));
        definition["Label"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, targets);
        var view = ml.Data.LoadFromEnumerable(Synthetic(rows, seed, targets), definition);
        return cache ? ml.Data.Cache(view) : view;
    }

    public static NeuralNetworkOptions Options(int epochs = 30) => new()
    {
        HiddenLayers = [32],
        Activation = NeuralNetworkActivation.Tanh,
        Optimizer = NeuralNetworkOptimizer.Adam,
        LearningRate = 0.01f,
        BatchSize = 32,
        Epochs = epochs,
        Seed = 3,
        NumberOfThreads = 1,
    };

    /// <summary>The Score and Label columns of a scored view, row by row.</summary>
    public static (float[][] Label, float[][] Score) Read(IDataView scored)
    {
        var labels = new List<float[]>();
        var scores = new List<float[]>();
        using var cursor = scored.GetRowCursor([scored.Schema["Label"], scored.Schema["Score"]]);
        var getLabel = cursor.GetGetter<VBuffer<float>>(scored.Schema["Label"]);
        var getScore = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
        VBuffer<float> label = default, score = default;
        while (cursor.MoveNext())
        {
            getLabel(ref label);
            getScore(ref score);
            labels.Add(label.DenseValues().ToArray());
            scores.Add(score.DenseValues().ToArray());
        }
        return ([.. labels], [.. scores]);
    }
}
