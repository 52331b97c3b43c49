using System.Diagnostics;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Persistence;

/// <summary>
/// Small trained pipelines (one per task) over four named scalar features X0..X3, built once and shared by the
/// persistence, ONNX and feature-importance tests: Concatenate → NormalizeMinMax → NeuralNetwork (multiclass adds
/// MapKeyToValue on the prediction). X3 is pure noise. Multi-output regression predicts (Target, Wide, Narrow), three
/// targets of very different scales, from a label made by Concatenate (which gives it their names as SlotNames).
/// </summary>
internal static class PersistenceFixture
{
    public sealed class Row
    {
        public float X0 { get; set; }
        public float X1 { get; set; }
        public float X2 { get; set; }
        public float X3 { get; set; }
        public string Class { get; set; } = "";
        public bool Flag { get; set; }
        public bool Positive { get; set; }
        public bool Low { get; set; }
        public float Target { get; set; }
        public float Wide { get; set; }
        public float Narrow { get; set; }
    }

    /// <summary>Scoring input: the features only.</summary>
    public sealed class Features
    {
        public float X0 { get; set; }
        public float X1 { get; set; }
        public float X2 { get; set; }
        public float X3 { get; set; }
    }

    public static readonly string[] FeatureNames = ["X0", "X1", "X2", "X3"];

    public static Row[] Rows(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            // Different scales and offsets so the normalizer matters.
            float x0 = Synthetic.Gaussian(random) * 3 + 1, x1 = Synthetic.Gaussian(random) * 0.5f, x2 = Synthetic.Gaussian(random) * 10 - 4;
            float x3 = Synthetic.Gaussian(random);
            float a = x0 / 3 + x1 * 2, b = -x0 / 3 + x2 / 10, c = -x1 * 2 - x2 / 10;
            string label = a > b && a > c ? "red" : b > c ? "green" : "blue";
            return new Row
            {
                X0 = x0, X1 = x1, X2 = x2, X3 = x3, Class = label,
                Flag = x0 / 3 * x1 * 2 + x2 / 20 > 0,
                Positive = x0 > 1,
                Low = x2 < -4 + x1,
                Target = 5 * MathF.Sin(x0 / 3) + 4 * x1 * x1 - x2 / 5 + 20,
                Wide = 300 * x1 - 20 * x2 + 1000,
                Narrow = 0.001f * MathF.Tanh(x0 / 3 - x2 / 10),
            };
        }).ToArray();
    }

    public sealed record Trained(NeuralNetworkTask Task, MLContext Context, IDataView Data, IDataView Featurized,
        ITransformer Preprocessing, NeuralNetworkPredictionTransformer Network, ITransformer Model, NeuralNetworkTrainer Trainer)
    {
        public IDataView ScoringRows(int count, int seed) =>
            Context.Data.LoadFromEnumerable(Rows(count, seed).Select(r => new Features { X0 = r.X0, X1 = r.X1, X2 = r.X2, X3 = r.X3 }));
    }

    private static readonly Lazy<Trained>[] Cache =
    [
        new(() => Train(NeuralNetworkTask.MulticlassClassification)),
        new(() => Train(NeuralNetworkTask.BinaryClassification)),
        new(() => Train(NeuralNetworkTask.Regression)),
        new(() => Train(NeuralNetworkTask.MultiOutputRegression)),
        new(() => Train(NeuralNetworkTask.MultiLabelClassification)),
    ];

    /// <summary>The multi-output regression's label columns, in slot order.</summary>
    public static readonly string[] MultiOutputTargets = ["Target", "Wide", "Narrow"];

    public static Trained Get(NeuralNetworkTask task) => Cache[(int)task].Value;

    public static NeuralNetworkOptions Options(NeuralNetworkTask task) => new()
    {
        HiddenLayers = [8, 6],
        Activation = task switch
        {
            NeuralNetworkTask.MulticlassClassification => NeuralNetworkActivation.GELU,
            NeuralNetworkTask.BinaryClassification => NeuralNetworkActivation.LeakyReLU,
            _ => NeuralNetworkActivation.Tanh,
        },
        BatchSize = 16,
        Epochs = 6,
        Optimizer = NeuralNetworkOptimizer.Adam,
        LearningRate = 0.01f,
        Seed = 7,
        ValidationFraction = 0.2f,
        NumberOfThreads = 1,
        LabelColumnName = "Label",
    };

    private static Trained Train(NeuralNetworkTask task)
    {
        var ml = new MLContext(seed: 3);
        var raw = ml.Data.LoadFromEnumerable(Rows(400, 11));
        // The label column is prepared outside the saved model, so scoring needs the features only.
        IDataView data = task switch
        {
            NeuralNetworkTask.MulticlassClassification => ml.Transforms.Conversion.MapValueToKey("Label", "Class").Fit(raw).Transform(raw),
            NeuralNetworkTask.BinaryClassification => ml.Transforms.CopyColumns("Label", "Flag").Fit(raw).Transform(raw),
            NeuralNetworkTask.MultiOutputRegression => ml.Transforms.Concatenate("Label", MultiOutputTargets).Fit(raw).Transform(raw),
            // Concatenate names the slots after its inputs: Flag, Positive, Low.
            NeuralNetworkTask.MultiLabelClassification => ml.Transforms.Concatenate("Label", "Flag", "Positive", "Low").Fit(raw).Transform(raw),
            _ => ml.Transforms.CopyColumns("Label", "Target").Fit(raw).Transform(raw),
        };
        data = ml.Data.Cache(data);
        var preprocessing = ml.Transforms.Concatenate("Features", FeatureNames)
            .Append(ml.Transforms.NormalizeMinMax("Features")).Fit(data);
        var featurized = preprocessing.Transform(data);
        var options = Options(task);
        var trainer = task switch
        {
            NeuralNetworkTask.MulticlassClassification => ml.MulticlassClassification.Trainers.NeuralNetwork(options),
            NeuralNetworkTask.BinaryClassification or NeuralNetworkTask.MultiLabelClassification => ml.BinaryClassification.Trainers.NeuralNetwork(options),
            _ => ml.Regression.Trainers.NeuralNetwork(options),
        };
        var network = trainer.Fit(featurized);
        var steps = new List<ITransformer> { preprocessing, network };
        if (task == NeuralNetworkTask.MulticlassClassification)
            steps.Add(ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel").Fit(network.Transform(featurized)));
        ITransformer model = new TransformerChain<ITransformer>([.. steps]);
        return new Trained(task, ml, data, featurized, preprocessing, network, model, trainer);
    }

    public static string TempDirectory()
    {
        string directory = Path.Combine(Path.GetTempPath(), "mlnmb-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }

    public static string ModelHostPath => typeof(PersistenceFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "ModelHostPath").Value!;

    /// <summary>Runs the model host in a new process (`dotnet host.dll args`), at most 60 s; returns its exit code and output.</summary>
    public static (int ExitCode, string Output) RunModelHost(params string[] arguments)
    {
        Assert.IsTrue(File.Exists(ModelHostPath), $"The model host was not built: {ModelHostPath}");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath) ? hostPath
            : Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ModelHostPath);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("The model host did not finish within 60 s.");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
