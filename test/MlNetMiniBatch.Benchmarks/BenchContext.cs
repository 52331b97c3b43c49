using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Examples;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>What the sections share: the options, Fashion-MNIST loaded once, and the model the training section made.</summary>
internal sealed class BenchContext
{
    private IDataView? _train, _test;

    public BenchContext(BenchOptions options) => Options = options;

    public BenchOptions Options { get; }

    public MLContext ML { get; } = new(seed: 1);

    public string DataDirectory { get; private set; } = "";

    /// <summary>"full set", "shipped subset" or "--data".</summary>
    public string DataKind { get; private set; } = "";

    /// <summary>The batch-128 model of the training section, reused by the inference section.</summary>
    public NeuralNetworkPredictionTransformer? Model { get; set; }

    /// <summary>Training rows, cached with every column filled (so no epoch pays for decoding).</summary>
    public IDataView Train { get { Load(); return _train!; } }

    /// <summary>Test rows, cached and filled.</summary>
    public IDataView Test { get { Load(); return _test!; } }

    /// <summary>The options every run of ours shares: 784-256-128-10 ReLU, SGD momentum 0.9, learning rate 0.05,
    /// shuffled every epoch, seed 1.</summary>
    public NeuralNetworkOptions TrainerOptions(int batchSize, int epochs, int threads) => new()
    {
        HiddenLayers = new[] { 256, 128 },
        Activation = NeuralNetworkActivation.ReLU,
        BatchSize = batchSize,
        Epochs = epochs,
        Optimizer = NeuralNetworkOptimizer.Sgd,
        LearningRate = 0.05f,
        Momentum = 0.9f,
        Shuffle = true,
        Seed = 1,
        NumberOfThreads = threads,
    };

    /// <summary><see cref="TrainerOptions"/> with the breakdown section's optimizer (<c>--optimizer</c>).</summary>
    public NeuralNetworkOptions BreakdownOptions(int batchSize, int epochs, int threads)
    {
        var options = TrainerOptions(batchSize, epochs, threads);
        options.Optimizer = Options.BreakdownOptimizer;
        if (options.Optimizer != NeuralNetworkOptimizer.Sgd)
        {
            options.LearningRate = 0.001f;
            options.Momentum = 0;
        }
        return options;
    }

    public const int Classes = 10;

    private void Load()
    {
        if (_train is not null) return;
        string shipped = Path.Combine(AppContext.BaseDirectory, "data");
        string directory = FashionMnistData.FindDataDirectory(Options.DataDirectory, shipped)
            ?? throw new FileNotFoundException($"No Fashion-MNIST idx files in {FashionMnistData.SystemDirectory} or {shipped}; pass --data DIR.");
        DataDirectory = directory;
        DataKind = Options.DataDirectory is not null ? "--data" : directory == shipped ? "shipped subset" : "full set";
        _train = Fill(ML.Data.Cache(FashionMnistData.Load(ML, directory, train: true)));
        _test = Fill(ML.Data.Cache(FashionMnistData.Load(ML, directory, train: false)));
        Report.Note($"Data: {directory} ({DataKind}): {_train.GetRowCount():N0} training rows, {_test.GetRowCount():N0} test rows, cached in memory");
    }

    /// <summary>Reads every column of every row once, so the cache holds them all before anything is timed
    /// (ML.NET's cache fills only the columns a cursor asks for).</summary>
    private static IDataView Fill(IDataView cached)
    {
        using DataViewRowCursor cursor = cached.GetRowCursor(cached.Schema);
        var label = cursor.GetGetter<uint>(cached.Schema["Label"]);
        var features = cursor.GetGetter<VBuffer<float>>(cached.Schema["Features"]);
        uint key = 0;
        VBuffer<float> pixels = default;
        while (cursor.MoveNext())
        {
            label(ref key);
            features(ref pixels);
        }
        return cached;
    }
}
