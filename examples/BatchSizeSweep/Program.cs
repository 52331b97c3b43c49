// Trains the same 784-256-128-10 network on Fashion-MNIST at several batch sizes under an equal budget and shows what
// the batch size changes: updates, speed, memory, how fast the validation loss falls, and the batch size the gradient
// noise scale suggests.
//
//   dotnet run -c Release --project examples/BatchSizeSweep [-- --data DIR] [--budget-seconds S | --epochs N]
//       [--batch-sizes 1,8,32,128,512,full] [--out DIR] [--target-loss L] [--seed N | --seeds 1,2,3]
//       [--no-adaptive] [--start-batch B] [--max-batch B] [--lr-scaling None|Linear|SquareRoot|AdaScale]
//
// Data: --data DIR if given; else the full set in /usr/share/datasets/fashion-mnist (Debian/Ubuntu package
// dataset-fashion-mnist) if installed; else the 10,000-row training subset shipped with the FashionMnist example.
// Validation: 10% of the training rows, split off once with seed 1 and the same for every batch size. Not the test
// set: choosing a batch size by its loss is tuning, and tuning on the test set would leave no unbiased test.
// Budget: by default an equal wall-clock budget per batch size (--budget-seconds, 20 s: the sweep of six batch sizes
// takes about three minutes on two cores with the subset); each run stops at the first epoch end past it, so on the
// full set every batch size trains at least one whole epoch (about a minute each on two cores today). --epochs N gives
// every batch size N epochs instead: then the histories, the default target and the noise-scale suggestion do not
// depend on the machine's speed, only the times do.
// Test: every run's final model is scored on the data's test file (t10k-*), once, after training.
// Seeds: --seeds 1,2,3 trains the whole sweep once per seed, with one target for all of them (chosen from all the runs
// unless --target-loss), prints each seed's table and then the means per run, with issue 13's bars for the adaptive
// run; each seed's plots go to --out/seed-N.
// Adaptive: after the fixed batch sizes, one run with AdaptiveBatchSize (up to --max-batch, default 1024), drawn as one
// more line on every plot; --no-adaptive leaves it out. It starts where the fixed runs' rows/s and noise scale predict
// the least time to a loss (AdaptiveSweepStart.Measured: the run at 32 gives the noise scale), or at --start-batch B.
// Output: a line per epoch, a table per batch size, five PNG plots in --out (default batch-size-sweep/), a plain-language
// reading of the numbers, and the fastest batch size to the target against the gradient noise scale's suggestion.
using Microsoft.ML;
using MlNetMiniBatch;
using MlNetMiniBatch.Examples;

string? dataArgument = null, outDirectory = "batch-size-sweep";
double budgetSeconds = 20;
int? epochs = null;
double? targetLoss = null;
int[] batchSizes = [1, 8, 32, 128, 512, BatchSizeSweep.FullBatch];
bool adaptive = true;
int? startBatch = null; // null: measured
int[] seeds = [1];
int? maxBatch = null;
NeuralNetworkLearningRateScaling? scaling = null;
try
{
    bool budgetGiven = false;
    for (int i = 0; i < args.Length; i++)
    {
        string? value = i + 1 < args.Length ? args[i + 1] : null;
        switch (args[i])
        {
            case "--data": dataArgument = value ?? throw new ArgumentException("--data needs a directory."); i++; break;
            case "--budget-seconds": budgetSeconds = Arguments.PositiveNumber(args[i], value); budgetGiven = true; i++; break;
            case "--epochs": epochs = (int)Arguments.PositiveInteger(args[i], value); i++; break;
            case "--batch-sizes": batchSizes = Arguments.BatchSizes(value); i++; break;
            case "--out": outDirectory = string.IsNullOrEmpty(value) ? throw new ArgumentException("--out needs a directory.") : value; i++; break;
            case "--target-loss": targetLoss = Arguments.PositiveNumber(args[i], value); i++; break;
            case "--seed": seeds = [(int)Arguments.PositiveInteger(args[i], value)]; i++; break;
            case "--seeds": seeds = Arguments.Seeds(value); i++; break;
            case "--no-adaptive": adaptive = false; break;
            case "--start-batch": startBatch = (int)Arguments.PositiveInteger(args[i], value); i++; break;
            case "--max-batch": maxBatch = (int)Arguments.PositiveInteger(args[i], value); i++; break;
            case "--lr-scaling": scaling = Enum.TryParse(value, ignoreCase: true, out NeuralNetworkLearningRateScaling s) && Enum.IsDefined(s) ? s
                    : throw new ArgumentException($"--lr-scaling needs None, Linear, SquareRoot or AdaScale, got '{value}'."); i++; break;
            case "-h" or "--help": Arguments.PrintUsage(); return 0;
            default: throw new ArgumentException($"Unknown option '{args[i]}'.");
        }
    }
    if (budgetGiven && epochs is not null)
        throw new ArgumentException("Give either --budget-seconds or --epochs, not both.");
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Arguments.PrintUsage();
    return 2;
}

// 1. Data: training rows split once into 90% training and 10% validation, both cached (the sweep shuffles every epoch).
var ml = new MLContext(seed: 1);
string shippedSubset = Path.Combine(AppContext.BaseDirectory, "data");
IDataView train, validation, test;
try
{
    string? dataDirectory = FashionMnistData.FindDataDirectory(dataArgument, shippedSubset);
    if (dataDirectory is null)
        throw new FileNotFoundException($"No Fashion-MNIST files in {FashionMnistData.SystemDirectory} or {shippedSubset}; pass --data DIR.");
    var split = ml.Data.TrainTestSplit(FashionMnistData.Load(ml, dataDirectory, train: true), testFraction: 0.1, seed: 1);
    (train, validation) = (ml.Data.Cache(split.TrainSet), ml.Data.Cache(split.TestSet));
    test = ml.Data.Cache(FashionMnistData.Load(ml, dataDirectory, train: false));
    string which = dataArgument is not null ? "--data" : dataDirectory == shippedSubset ? "shipped subset" : "full set";
    Console.WriteLine($"Data: {dataDirectory} ({which}): {Count(train):N0} training rows, {Count(validation):N0} validation rows " +
                      $"(10% of the training file, the same for every batch size), {Count(test):N0} test rows (scored after training only)");
}
catch (Exception e) when (e is IOException or InvalidDataException) // missing or malformed idx files
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

// 2. The sweep: the same network, optimizer and seed for every batch size; the noise scale measured on every run.
var sweep = new BatchSizeSweepOptions
{
    BatchSizes = batchSizes,
    TimeBudget = epochs is null ? TimeSpan.FromSeconds(budgetSeconds) : null,
    TargetValidationLoss = targetLoss,
    IncludeAdaptive = adaptive,
    AdaptiveStart = adaptive && startBatch is null ? AdaptiveSweepStart.Measured : AdaptiveSweepStart.BatchSize,
};
var epochLines = new EpochLines(batchSizes, adaptive);
var results = new List<BatchSizeSweepResult>();
foreach (int seed in seeds)
{
    var options = new NeuralNetworkOptions
    {
        HiddenLayers = [256, 128],
        Optimizer = NeuralNetworkOptimizer.Adam, // default learning rate 1e-3
        Epochs = epochs ?? NeuralNetworkOptions.Defaults.Epochs, // the sweep sets the epochs itself under a time budget
        Seed = seed,
        MeasureGradientNoise = true,
        BatchSize = startBatch ?? NeuralNetworkOptions.Defaults.BatchSize, // the adaptive run's first epoch unless measured; the fixed runs set their own
        MinimumBatchSize = adaptive ? startBatch : null, // null: the start
        MaximumBatchSize = adaptive ? maxBatch : null,
        LearningRateScaling = adaptive ? scaling : null,
        OnEpochEnd = epochLines.Write,
    };
    Console.WriteLine($"\nTraining 784-256-128-10 MLP, Adam (learning rate 1e-3), seed {seed}, at batch sizes " +
                      $"{string.Join(", ", batchSizes.Select(Arguments.Name))}{(adaptive ? " and adaptive from " + (startBatch?.ToString() ?? "the measured start") : "")}; budget per batch size: " +
                      (epochs is null ? $"{budgetSeconds:G} s of training (each run ends at the first epoch end past it)" : $"{epochs} epochs"));
    results.Add(BatchSizeSweep.Run(ml, NeuralNetworkTask.MulticlassClassification, options, train, validation, sweep));
}

// 3. The target validation loss. Without --target-loss it is chosen after the runs, from their results (10% above the
// median of their lowest validation losses, over every seed: see SweepReport.DefaultTarget): a fixed number would suit
// the subset or the full set, one budget or another, but not all of them. The time to reach it is then recomputed from
// each run's history.
double? target = targetLoss ?? SweepSeeds.PooledTarget(results);
results = results.Select(r => r.WithTargetValidationLoss(target)).ToList();
Console.WriteLine($"\nTarget validation loss: {target:G4} " +
                  (targetLoss is null ? "(10% above the median of the runs' lowest validation losses; --target-loss sets one)" : "(--target-loss)"));

// 4. Each seed's table, plots and reading of the numbers; the final models scored on the test set.
var testAccuracy = new List<IReadOnlyList<double>>();
for (int s = 0; s < seeds.Length; s++)
{
    BatchSizeSweepResult result = results[s];
    testAccuracy.Add(result.Entries.Select(e => ml.MulticlassClassification.Evaluate(e.Transformer.Transform(test)).MicroAccuracy).ToList());
    Console.WriteLine($"\nSeed {seeds[s]}:");
    foreach (string line in SweepReport.Table(result))
        Console.WriteLine(line);
    Console.WriteLine("(wall s: whole run; rows/s: training rows per second of epoch time; buf MB: the trainer's buffers at this batch size;" +
                      "\n heap MB: managed memory the run held after epoch 1; target in s / updates to tgt: epoch time and updates until the" +
                      "\n validation loss first reached the target; noise scale: gradient noise scale B_simple of the last epoch)");
    Console.WriteLine("final test accuracy: " + string.Join(", ", result.Entries.Zip(testAccuracy[s], (e, a) => $"{SweepReport.Name(e)} {a:F4}")));

    string plots = seeds.Length == 1 ? outDirectory : Path.Combine(outDirectory, $"seed-{seeds[s]}");
    try
    {
        Console.WriteLine($"\nPlots ({SweepPlots.DefaultWidth}×{SweepPlots.DefaultHeight} PNG):");
        foreach (string path in SweepPlots.SavePngs(result, plots))
            Console.WriteLine($"  {path}");
        if (LinePlot.FontFamily is null)
            Console.WriteLine("  (no font found on this machine, so the plots have no text; on Debian/Ubuntu: apt-get install fonts-dejavu-core)");
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"Could not write the plots: {e.Message}");
        return 1;
    }

    // What the numbers say, and the fastest batch size against the gradient noise scale's suggestion.
    Console.WriteLine($"\nWhat the sweep shows:\n{result.Explain()}");
    var (suggested, source) = SweepReport.Suggestion(result);
    string? why = result.Entries.FirstOrDefault(e => e.BatchSize == SweepReport.SuggestionBatchSize && !e.IsAdaptive)?.Model.SuggestedBatchSizeExplanation;
    Console.WriteLine($"\nGradient noise scale: suggestion {suggested?.ToString() ?? "none"}, from {source}." + (why is null ? "" : $" {why}"));
    Console.WriteLine($"Reached the target within 10% of the fastest time: {SweepReport.NearFastest(result)}");
    Console.WriteLine(SweepReport.Comparison(result));
    Console.WriteLine(SweepReport.ComparisonAtTarget(result));
}

// 5. Means over the seeds, and the adaptive run against issue 13's bars.
Console.WriteLine($"\nMeans over {seeds.Length} seed(s) ({string.Join(", ", seeds)}), target validation loss {target:G4}:");
var means = SweepSeeds.Means(results, testAccuracy);
foreach (string line in SweepSeeds.Table(means))
    Console.WriteLine(line);
if (adaptive)
{
    Console.WriteLine("Adaptive run against the bars:");
    foreach (string line in SweepSeeds.Bars(means))
        Console.WriteLine("  " + line);
}
return 0;

static long Count(IDataView view)
{
    long rows = 0;
    using var cursor = view.GetRowCursor([]);
    while (cursor.MoveNext())
        rows++;
    return rows;
}
