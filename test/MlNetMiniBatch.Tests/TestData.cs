using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>Multiclass input: three Gaussian blobs in (X, Y); Noise carries no information about the label.</summary>
public sealed class ClassPoint
{
    public string Label { get; set; } = "";
    public float X { get; set; }
    public float Y { get; set; }
    public float Noise { get; set; }
}

/// <summary>Binary input: the label is the sign of X − 0.5·Y plus a little label noise; Noise is irrelevant.</summary>
public sealed class BinaryPoint
{
    public bool Label { get; set; }
    public float X { get; set; }
    public float Y { get; set; }
    public float Noise { get; set; }
}

/// <summary>Regression input: Label = sin(1.5·X) + 0.5·Y² + small noise; Noise is irrelevant.</summary>
public sealed class RegressionPoint
{
    public float Label { get; set; }
    public float X { get; set; }
    public float Y { get; set; }
    public float Noise { get; set; }
}

/// <summary>Multiclass scores as a PredictionEngine or CreateEnumerable reads them (PredictedLabel as the raw key).</summary>
public sealed class ClassScore
{
    public uint PredictedLabel { get; set; }
    public float[] Score { get; set; } = [];
}

public sealed class BinaryScore
{
    public bool PredictedLabel { get; set; }
    public float Score { get; set; }
    public float Probability { get; set; }
}

public sealed class RegressionScore
{
    public float Score { get; set; }
}

/// <summary>Seeded generated data sets, the shared feature pipeline and small helpers for the integration tests.</summary>
internal static class TestData
{
    public static readonly string[] ClassNames = ["alpha", "beta", "gamma"];
    private static readonly (float X, float Y)[] Centers = [(-2f, -1f), (2f, -1f), (0f, 2.5f)];

    public static ClassPoint[] Blobs(int rows, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ =>
        {
            int k = random.Next(3);
            return new ClassPoint
            {
                Label = ClassNames[k],
                X = Centers[k].X + 0.6f * Gaussian(random),
                Y = Centers[k].Y + 0.6f * Gaussian(random),
                Noise = 2f * Gaussian(random),
            };
        }).ToArray();
    }

    public static BinaryPoint[] Binary(int rows, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ =>
        {
            float x = Gaussian(random), y = Gaussian(random);
            return new BinaryPoint { X = x, Y = y, Noise = Gaussian(random), Label = x - 0.5f * y + 0.2f * Gaussian(random) > 0 };
        }).ToArray();
    }

    public static RegressionPoint[] Curve(int rows, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ =>
        {
            float x = Uniform(random), y = Uniform(random);
            return new RegressionPoint
            {
                X = x,
                Y = y,
                Noise = Uniform(random),
                Label = MathF.Sin(1.5f * x) + 0.5f * y * y + 0.1f * Gaussian(random),
            };
        }).ToArray();
    }

    /// <summary>Raw rows of the task's data set (string, Boolean or Single label; columns X, Y, Noise).</summary>
    public static IDataView Load(MLContext ml, NeuralNetworkTask task, int rows, int seed) => task switch
    {
        NeuralNetworkTask.MulticlassClassification => ml.Data.LoadFromEnumerable(Blobs(rows, seed)),
        NeuralNetworkTask.BinaryClassification => ml.Data.LoadFromEnumerable(Binary(rows, seed)),
        _ => ml.Data.LoadFromEnumerable(Curve(rows, seed)),
    };

    /// <summary>Label to key (multiclass), then Features = MinMax(Concatenate(X, Y, Noise)); Noise is slot 2.</summary>
    public static IEstimator<ITransformer> Featurize(MLContext ml, NeuralNetworkTask task)
    {
        var features = ml.Transforms.Concatenate("Features", "X", "Y", "Noise").Append(ml.Transforms.NormalizeMinMax("Features"));
        return task == NeuralNetworkTask.MulticlassClassification
            ? ml.Transforms.Conversion.MapValueToKey("Label").Append(features)
            : features;
    }

    /// <summary>Options small enough for the suite to run in seconds, with a fixed seed.</summary>
    public static NeuralNetworkOptions Options(int epochs = 20, params int[] hiddenLayers) => new()
    {
        HiddenLayers = hiddenLayers.Length > 0 ? hiddenLayers : [16],
        Epochs = epochs,
        BatchSize = 32,
        Seed = 1,
    };

    /// <summary>The trainer for <paramref name="task"/> from its catalog.</summary>
    public static NeuralNetworkTrainer Trainer(MLContext ml, NeuralNetworkTask task, NeuralNetworkOptions options) => task switch
    {
        NeuralNetworkTask.MulticlassClassification => ml.MulticlassClassification.Trainers.NeuralNetwork(options),
        NeuralNetworkTask.BinaryClassification => ml.BinaryClassification.Trainers.NeuralNetwork(options),
        _ => ml.Regression.Trainers.NeuralNetwork(options),
    };

    /// <summary>Options that reach a comfortable score on the task's data (regression needs a larger step and more epochs).</summary>
    public static NeuralNetworkOptions GoodOptions(NeuralNetworkTask task)
    {
        var options = Options(epochs: task == NeuralNetworkTask.Regression ? 30 : 20, task == NeuralNetworkTask.Regression ? [32] : [16]);
        options.LearningRate = task == NeuralNetworkTask.Regression ? 0.01f : 0.005f;
        return options;
    }

    /// <summary>The Fashion-MNIST subset shipped in examples/FashionMnist/data, found above the test binaries.</summary>
    public static string ShippedFashionMnist()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "examples", "FashionMnist", "data");
            if (MlNetMiniBatch.Examples.FashionMnistData.HasFiles(candidate))
                return candidate;
        }
        throw new AssertFailedException("examples/FashionMnist/data (the shipped subset) was not found above " + AppContext.BaseDirectory);
    }

    public static long CountRows(IDataView data)
    {
        long count = 0;
        using var cursor = data.GetRowCursor([]);
        while (cursor.MoveNext())
            count++;
        return count;
    }

    /// <summary>SchemaShape of a runtime schema; SchemaShape.Create is internal, so the test reaches it by reflection.</summary>
    public static SchemaShape ShapeOf(DataViewSchema schema)
    {
        var create = typeof(SchemaShape).GetMethod("Create", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic,
            [typeof(DataViewSchema)]) ?? throw new InvalidOperationException("SchemaShape.Create(DataViewSchema) not found.");
        return (SchemaShape)create.Invoke(null, [schema])!;
    }

    private static float Gaussian(Random random)
    {
        double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    private static float Uniform(Random random) => (float)(random.NextDouble() * 4 - 2);
}

/// <summary>Collects what the trainer sends to <c>mlContext.Log</c>.</summary>
internal sealed class LogCapture
{
    private readonly List<LoggingEventArgs> _messages = [];

    public LogCapture(MLContext ml) => ml.Log += (_, e) =>
    {
        lock (_messages)
            _messages.Add(e);
    };

    public IReadOnlyList<LoggingEventArgs> Messages
    {
        get
        {
            lock (_messages)
                return _messages.ToArray();
        }
    }

    public IReadOnlyList<LoggingEventArgs> FromTrainer(ChannelMessageKind kind)
        => Messages.Where(m => m.Kind == kind && m.Source.StartsWith("NeuralNetwork", StringComparison.Ordinal)).ToArray();
}
