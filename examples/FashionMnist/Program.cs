// Trains a 784-256-128-10 multilayer perceptron on Fashion-MNIST with MlNetMiniBatch, then evaluates it.
//
//   dotnet run -c Release --project examples/FashionMnist [-- --data DIR] [--epochs N] [--batch-size N]
//
// Data: --data DIR if given; else the full set in /usr/share/datasets/fashion-mnist (Debian/Ubuntu package
// dataset-fashion-mnist) if installed; else the 10,000 + 2,000 row subset shipped in data/.
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MlNetMiniBatch;
using MlNetMiniBatch.Examples;

string? dataArgument = null;
int epochs = 10, batchSize = 32;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string? value = i + 1 < args.Length ? args[i + 1] : null;
        switch (args[i])
        {
            case "--data": dataArgument = value ?? throw new ArgumentException("--data needs a directory."); i++; break;
            case "--epochs": epochs = PositiveInt(args[i], value); i++; break;
            case "--batch-size": batchSize = PositiveInt(args[i], value); i++; break;
            case "-h" or "--help": PrintUsage(); return 0;
            default: throw new ArgumentException($"Unknown option '{args[i]}'.");
        }
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    PrintUsage();
    return 2;
}

// 1. Data.
var ml = new MLContext(seed: 1);
ml.Log += (_, e) => // the trainer reports one line per epoch; everything else ML.NET logs is left out
{
    if (e.Source.StartsWith("NeuralNetwork", StringComparison.Ordinal) && e.Kind is ChannelMessageKind.Info or ChannelMessageKind.Warning)
        Console.WriteLine($"  {e.RawMessage}");
};

string shippedSubset = Path.Combine(AppContext.BaseDirectory, "data");
IDataView train, test;
try
{
    string? dataDirectory = FashionMnistData.FindDataDirectory(dataArgument, shippedSubset);
    if (dataDirectory is null)
        throw new FileNotFoundException($"No Fashion-MNIST files in {FashionMnistData.SystemDirectory} or {shippedSubset}; pass --data DIR.");
    train = ml.Data.Cache(FashionMnistData.Load(ml, dataDirectory, train: true));
    test = FashionMnistData.Load(ml, dataDirectory, train: false);
    string which = dataArgument is not null ? "--data" : dataDirectory == shippedSubset ? "shipped subset" : "full set";
    Console.WriteLine($"Data: {dataDirectory} ({which}): {train.GetRowCount():N0} training rows, {test.GetRowCount():N0} test rows");
}
catch (Exception e) when (e is IOException or InvalidDataException) // missing or malformed idx files
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

// 2. Training. Label is a key column with the class names attached, Features 784 pixels in [0, 1].
var trainer = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions
{
    HiddenLayers = new[] { 256, 128 },
    BatchSize = batchSize,
    Epochs = epochs,
    Optimizer = NeuralNetworkOptimizer.Adam,
    LearningRate = 1e-3f,
    Seed = 1,
});
Console.WriteLine($"\nTraining 784-256-128-10 MLP: Adam, learning rate 1e-3, batch size {batchSize}, epochs {epochs}");
var stopwatch = Stopwatch.StartNew();
NeuralNetworkPredictionTransformer model = trainer.Fit(train);
Console.WriteLine($"Trained in {stopwatch.Elapsed.TotalSeconds:F1} s\n");

Console.WriteLine($"{"epoch",5} {"iterations",10} {"rows",11} {"train loss",10} {"elapsed",9}");
foreach (EpochSummary epoch in model.Model.History)
    Console.WriteLine($"{epoch.Epoch,5} {epoch.Iterations,10:N0} {epoch.Rows,11:N0} {epoch.TrainLoss,10:F4} {epoch.Elapsed.TotalSeconds,8:F1}s");

// 3. Evaluation on the held-out test set.
MulticlassClassificationMetrics metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
Console.WriteLine($"\nTest set: micro-accuracy {metrics.MicroAccuracy:P2}, macro-accuracy {metrics.MacroAccuracy:P2}, " +
                  $"log-loss {metrics.LogLoss:F4}");
Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());

// 4. Single predictions, with the predicted key mapped back to its class name.
ITransformer withNames = model.Append(
    ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel").Fit(model.Transform(test)));
using var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(withNames);
Console.WriteLine("Sample predictions (first test images):");
foreach (LabeledImage image in ml.Data.CreateEnumerable<LabeledImage>(ml.Data.TakeRows(test, 8), reuseRowObject: false))
{
    ImagePrediction prediction = engine.Predict(image);
    string actual = FashionMnistData.ClassNames[image.Label - 1]; // key values are 1-based
    string mark = prediction.PredictedClass == actual ? "" : "   <- wrong";
    Console.WriteLine($"  actual {actual,-12} predicted {prediction.PredictedClass,-12} (p = {prediction.Score.Max():F3}){mark}");
}
return 0;

static int PositiveInt(string option, string? value) =>
    int.TryParse(value, out int n) && n > 0 ? n : throw new ArgumentException($"{option} needs a positive integer, got '{value}'.");

static void PrintUsage() =>
    Console.Error.WriteLine("Usage: dotnet run -c Release --project examples/FashionMnist [-- --data DIR] [--epochs N] [--batch-size N]");

/// <summary>Prediction input: 28×28 pixels in [0, 1], row-major.</summary>
internal class ImageInput
{
    [VectorType(FashionMnistData.PixelCount)]
    public float[] Features { get; set; } = [];
}

/// <summary>A test row read back from the data view; Label is the key (1..10).</summary>
internal sealed class LabeledImage : ImageInput
{
    public uint Label { get; set; }
}

/// <summary>Prediction output: class probabilities and the predicted class name.</summary>
internal sealed class ImagePrediction
{
    public float[] Score { get; set; } = [];
    public string PredictedClass { get; set; } = "";
}
