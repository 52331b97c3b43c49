// Trains the Fashion-MNIST network of examples/FashionMnist on every rank of an MPI job, as one synchronous
// data-parallel run: each rank computes the gradient of its share of every batch, and the ranks add them.
//
//   mpirun -np 4 dotnet run -c Release --project examples/DistributedFashionMnist [-- --data DIR] [--epochs N] [--batch-size N]
//
// Without mpirun (or with -np 1) it trains in one process, the same run up to rounding. Data as in examples/FashionMnist:
// --data DIR, else the full set in /usr/share/datasets/fashion-mnist if installed, else the shipped subset. Every rank
// reads the same files (on several machines: the same path on each, or a shared file system).
// --batch-size is the global batch, rows per update over all ranks (default 512). The learning rate follows it by the
// linear scaling rule (Goyal et al. 2017): 0.05 at batch 128, times batchSize / 128, reached by a linear warm-up over
// the first two epochs (half the rate, then all of it; the schedule changes the rate per epoch), then a cosine decay. Rank 0 prints the epochs, the test metrics and rows per second.
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch;
using MlNetMiniBatch.Examples;

string? dataArgument = null;
int epochs = 5, batchSize = 512;
for (int i = 0; i < args.Length; i++)
{
    string? value = i + 1 < args.Length ? args[i + 1] : null;
    switch (args[i])
    {
        case "--data": dataArgument = value; i++; break;
        case "--epochs": epochs = PositiveInt(args[i], value); i++; break;
        case "--batch-size": batchSize = PositiveInt(args[i], value); i++; break;
        default:
            Console.Error.WriteLine($"Unknown option '{args[i]}'. Usage: mpirun -np N dotnet run -c Release --project " +
                                    "examples/DistributedFashionMnist [-- --data DIR] [--epochs N] [--batch-size N]");
            return 2;
    }
}
bool root = (Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK") ?? "0") == "0";
string ranks = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") ?? "1";

var ml = new MLContext(seed: 1);
ml.Log += (_, e) => // rank 0's choice of training mode and its epoch lines; the other ranks log no epochs
{
    if (root && e.Source.StartsWith("NeuralNetwork", StringComparison.Ordinal) && e.RawMessage.StartsWith("NeuralNetwork ", StringComparison.Ordinal)
        && (e.RawMessage.Contains("distributed", StringComparison.Ordinal) || e.RawMessage.Contains("epoch", StringComparison.Ordinal)))
        Console.WriteLine($"  {e.RawMessage}");
};
string? dataDirectory = FashionMnistData.FindDataDirectory(dataArgument, Path.Combine(AppContext.BaseDirectory, "data"));
if (dataDirectory is null)
{
    Console.Error.WriteLine($"No Fashion-MNIST files found (looked in {FashionMnistData.SystemDirectory} and the shipped subset); pass --data DIR.");
    return 1;
}
IDataView train = ml.Data.Cache(FashionMnistData.Load(ml, dataDirectory, train: true));
IDataView test = FashionMnistData.Load(ml, dataDirectory, train: false);
float learningRate = 0.05f * batchSize / 128;
if (root)
    Console.WriteLine($"{ranks} rank(s), {train.GetRowCount():N0} training rows from {dataDirectory}; 784-256-128-10, SGD momentum 0.9, " +
                      $"global batch {batchSize}, learning rate {learningRate:G3} (warm-up 2 epochs, cosine decay), {epochs} epochs");

var trainer = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions
{
    HiddenLayers = [256, 128],
    BatchSize = batchSize,
    Epochs = epochs,
    Optimizer = NeuralNetworkOptimizer.Sgd,
    Momentum = 0.9f,
    LearningRate = learningRate,
    LearningRateSchedule = LearningRateSchedule.CosineDecay(minimumRate: learningRate / 100, warmupEpochs: 2),
    Seed = 1,
    // Distributed is left null: training spreads over the ranks because mpirun started more than one.
});
var clock = Stopwatch.StartNew();
var model = trainer.Fit(train);
double seconds = clock.Elapsed.TotalSeconds;
if (root)
{
    long rows = model.Model.History.Sum(h => h.Rows);
    var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
    Console.WriteLine($"Trained {rows:N0} rows in {seconds:F1} s: {rows / seconds:N0} rows/s over {ranks} rank(s); " +
                      $"test micro-accuracy {metrics.MicroAccuracy:P2}, log-loss {metrics.LogLoss:F4}");
}
return 0;

static int PositiveInt(string option, string? value) =>
    int.TryParse(value, out int n) && n > 0 ? n : throw new ArgumentException($"{option} needs a positive integer, got '{value}'.");
