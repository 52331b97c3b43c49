// Trains a 784-128-10 network on Fashion-MNIST straight from a PostgreSQL table: the rows are never all in memory.
//
//   eval "$(tools/postgres.sh start)"     # a throwaway server; it exports MLNMB_POSTGRES
//   dotnet run -c Release --project examples/PostgresStreaming [-- --connection CS] [--data DIR] [--epochs N]
//                                                               [--batch-size N] [--copies N] [--sorted] [--table NAME]
//
// 1. Loads Fashion-MNIST (--data DIR, else /usr/share/datasets/fashion-mnist, else the shipped subset) and writes the
//    training rows into a table with binary COPY (--copies N times, to make the table larger than memory would like;
//    --sorted stores them ordered by class, the layout that trains badly without a shuffle).
// 2. Trains from the table through ML.NET's DatabaseLoader with the default Shuffle = true: a view that cannot
//    shuffle gets the trainer's streaming shuffle. Progress shows rows/s, and the time left once the first epoch has
//    counted the rows.
// 3. Reports test accuracy (on the in-memory test set) and the process's peak memory.
using System.Data;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MlNetMiniBatch;
using MlNetMiniBatch.Examples;
using Npgsql;
using Spectre.Console;

string? connectionString = Environment.GetEnvironmentVariable("MLNMB_POSTGRES");
string? dataArgument = null;
string table = "fashion_mnist_train";
int epochs = 5, batchSize = 32, copies = 1;
bool sorted = false;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string? value = i + 1 < args.Length ? args[i + 1] : null;
        switch (args[i])
        {
            case "--connection": connectionString = value ?? throw new ArgumentException("--connection needs a connection string."); i++; break;
            case "--data": dataArgument = value ?? throw new ArgumentException("--data needs a directory."); i++; break;
            case "--epochs": epochs = PositiveInt(args[i], value); i++; break;
            case "--batch-size": batchSize = PositiveInt(args[i], value); i++; break;
            case "--copies": copies = PositiveInt(args[i], value); i++; break;
            case "--table": table = IsIdentifier(value) ? value! : throw new ArgumentException($"--table needs a plain SQL name, got '{value}'."); i++; break;
            case "--sorted": sorted = true; break;
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
const string startHint = "Start a throwaway server from the repository root with  eval \"$(tools/postgres.sh start)\"  " +
                         "(it sets MLNMB_POSTGRES), or pass --connection \"Host=...;Username=...;Password=...;Database=...\".";
if (string.IsNullOrWhiteSpace(connectionString))
{
    Console.Error.WriteLine("No PostgreSQL connection string: MLNMB_POSTGRES is not set and --connection was not given. " + startHint);
    return 1;
}

// 1. Fashion-MNIST into the table.
var ml = new MLContext(seed: 1);
var progress = new ConsoleProgress();
ml.Log += (_, e) => // the trainer's warnings, and the line saying how it shuffles
{
    if (e.Source.StartsWith("NeuralNetwork", StringComparison.Ordinal) &&
        (e.Kind == ChannelMessageKind.Warning || e.RawMessage.Contains("shuffl", StringComparison.OrdinalIgnoreCase)))
    {
        string line = $"  {e.Kind.ToString().ToLowerInvariant()}: {e.RawMessage}";
        if (progress.IsLive)
            progress.Console.WriteLine(line); // through Spectre, so that it lands above the live bars
        else
            Console.WriteLine(line);          // as is: Spectre would wrap it at its assumed 80 columns
    }
};
string shippedSubset = Path.Combine(AppContext.BaseDirectory, "data");
IDataView trainFiles, test;
try
{
    string dataDirectory = FashionMnistData.FindDataDirectory(dataArgument, shippedSubset)
        ?? throw new FileNotFoundException($"No Fashion-MNIST files in {FashionMnistData.SystemDirectory} or {shippedSubset}; pass --data DIR.");
    trainFiles = FashionMnistData.Load(ml, dataDirectory, train: true);
    test = FashionMnistData.Load(ml, dataDirectory, train: false);
    Console.WriteLine($"Data: {dataDirectory}: {trainFiles.GetRowCount():N0} training rows × {copies}, {test.GetRowCount():N0} test rows");
}
catch (Exception e) when (e is IOException or InvalidDataException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

try
{
    using var connection = new NpgsqlConnection(connectionString);
    connection.Open();
    var copyClock = Stopwatch.StartNew();
    long rows = FashionMnistTable.Write(connection, table, trainFiles, copies, sorted);
    Console.WriteLine($"Table {table}: {rows:N0} rows written with COPY in {copyClock.Elapsed.TotalSeconds:F1} s" +
                      (sorted ? ", stored sorted by label" : ""));
}
catch (NpgsqlException e)
{
    Console.Error.WriteLine($"Cannot use the PostgreSQL server ({e.Message}). {startHint}");
    return 1;
}

// 2. Training from the table. The label is stored as the key itself (1..10), so no MapValueToKey pass is needed.
var loader = ml.Data.CreateDatabaseLoader(
    new DatabaseLoader.Column("Label", DbType.UInt32, [new DatabaseLoader.Range(0)], new KeyCount(10)),
    new DatabaseLoader.Column("Features", DbType.Single, 1, FashionMnistData.PixelCount));
IDataView train = loader.Load(new DatabaseSource(NpgsqlFactory.Instance, connectionString, $"SELECT {FashionMnistTable.Columns} FROM {table}"));
var trainer = ml.MulticlassClassification.Trainers.NeuralNetwork(new NeuralNetworkOptions
{
    HiddenLayers = [128],
    BatchSize = batchSize,
    Epochs = epochs,
    Optimizer = NeuralNetworkOptimizer.Adam,
    LearningRate = 1e-3f,
    Seed = 1,
    Progress = progress,
});
Console.WriteLine($"\nTraining 784-128-10 from PostgreSQL: Adam 1e-3, batch {batchSize}, {epochs} epochs, Shuffle = true (default)");
var clock = Stopwatch.StartNew();
NeuralNetworkPredictionTransformer model;
try
{
    model = progress.Run(() => trainer.Fit(train));
}
catch (InvalidOperationException e) when (e.InnerException is NpgsqlException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
double seconds = clock.Elapsed.TotalSeconds;
long rowsTrained = model.Model.History.Sum(h => h.Rows);
Console.WriteLine($"Trained in {seconds:F1} s: {rowsTrained:N0} rows, {rowsTrained / seconds:N0} rows/s overall");

// 3. Test accuracy and peak memory.
var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
Console.WriteLine($"Test set: micro-accuracy {metrics.MicroAccuracy:P2}, macro-accuracy {metrics.MacroAccuracy:P2}");
Console.WriteLine($"Peak memory (resident): {PeakMemory.Bytes() / (1024.0 * 1024):N0} MB");
return 0;

static int PositiveInt(string option, string? value) =>
    int.TryParse(value, out int n) && n > 0 ? n : throw new ArgumentException($"{option} needs a positive integer, got '{value}'.");

static bool IsIdentifier(string? value) =>
    !string.IsNullOrEmpty(value) && (char.IsAsciiLetter(value[0]) || value[0] == '_') && value.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

static void PrintUsage() => Console.Error.WriteLine(
    "Usage: dotnet run -c Release --project examples/PostgresStreaming [-- --connection CS] [--data DIR] [--epochs N] " +
    "[--batch-size N] [--copies N] [--sorted] [--table NAME]");
