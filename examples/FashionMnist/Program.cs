// Trains a 784-256-128-10 multilayer perceptron on Fashion-MNIST with MlNetMiniBatch, then evaluates it.
//
//   dotnet run -c Release --project examples/FashionMnist [-- --data DIR] [--epochs N] [--batch-size N] [--plot PATH]
//
// Data: --data DIR if given; else the full set in /usr/share/datasets/fashion-mnist (Debian/Ubuntu package
// dataset-fashion-mnist) if installed; else the 10,000 + 2,000 row subset shipped in data/.
// 10% of the training rows (stratified, drawn with the seed) are held out as validation data for the per-epoch
// metrics; the test set is used only for the final evaluation.
// Output: a live progress bar while training (one line per epoch when the output is not a terminal), the epoch
// table, test metrics, sample predictions, and the learning curves as a PNG (--plot, default learning-curve.png).
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MlNetMiniBatch;
using MlNetMiniBatch.Examples;
using Spectre.Console;

string? dataArgument = null;
string plotPath = "learning-curve.png";
int epochs = 15, batchSize = 32;
const float validationFraction = 0.1f;
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
            case "--plot": plotPath = string.IsNullOrEmpty(value) ? throw new ArgumentException("--plot needs a file path.") : value; i++; break;
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
var progress = new ConsoleProgress(); // prints the epoch lines itself
ml.Log += (_, e) => // the trainer's warnings only; written through Spectre so that they land above the live bars
{
    if (e.Source.StartsWith("NeuralNetwork", StringComparison.Ordinal) && e.Kind == ChannelMessageKind.Warning)
        progress.Console.WriteLine($"  warning: {e.RawMessage}");
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
    Console.WriteLine($"Data: {dataDirectory} ({which}): {train.GetRowCount():N0} training rows " +
                      $"({validationFraction * 100:0}% held out for validation), {test.GetRowCount():N0} test rows");
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
    LearningRateSchedule = LearningRateSchedule.CosineDecay(minimumRate: 1e-5f), // settles into a minimum at the end
    Dropout = 0.2f,                                                             // 10,000 rows overfit a 235k-weight network
    ValidationFraction = validationFraction,
    EarlyStoppingPatience = 5,                                                  // and end with the best epoch's weights
    Seed = 1,
    Progress = progress,
});
Console.WriteLine($"\nTraining 784-256-128-10 MLP: Adam, learning rate 1e-3 with cosine decay, dropout 0.2, batch size {batchSize}, " +
                  $"up to {epochs} epochs, early stopping on the validation loss");
var stopwatch = Stopwatch.StartNew();
NeuralNetworkPredictionTransformer model = progress.Run(() => trainer.Fit(train));
Console.WriteLine($"Trained in {stopwatch.Elapsed.TotalSeconds:F1} s\n");

IReadOnlyList<EpochSummary> history = model.Model.History;
Console.WriteLine($"{"epoch",5} {"iterations",10} {"rows",9} {"lr",8} {"train loss",10} {"train acc",9} {"valid loss",10} {"valid acc",9} {"elapsed",8}");
foreach (EpochSummary epoch in history)
    Console.WriteLine($"{epoch.Epoch,5} {epoch.Iterations,10:N0} {epoch.Rows,9:N0} {epoch.LearningRate,8:G3} " +
                      $"{epoch.Train.Loss,10:F4} {epoch.Train.Accuracy,9:F4} {epoch.Validation?.Loss,10:F4} {epoch.Validation?.Accuracy,9:F4} " +
                      $"{epoch.Elapsed.TotalSeconds,7:F1}s");

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

// 5. Learning curves: loss and accuracy per epoch, train and validation.
try
{
    LearningCurvePlot.SavePng(plotPath, history);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"Could not write the learning-curve plot: {e.Message}");
    return 1;
}
Console.WriteLine($"\nLearning curves: {Path.GetFullPath(plotPath)} ({LearningCurvePlot.DefaultWidth}×{LearningCurvePlot.DefaultHeight} PNG)");
if (LinePlot.FontFamily is null)
    Console.WriteLine("  (no font found on this machine, so the plot has no text; on Debian/Ubuntu: apt-get install fonts-dejavu-core)");
return 0;

static int PositiveInt(string option, string? value) =>
    int.TryParse(value, out int n) && n > 0 ? n : throw new ArgumentException($"{option} needs a positive integer, got '{value}'.");

static void PrintUsage() =>
    Console.Error.WriteLine("Usage: dotnet run -c Release --project examples/FashionMnist [-- --data DIR] [--epochs N] [--batch-size N] [--plot PATH]");

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
