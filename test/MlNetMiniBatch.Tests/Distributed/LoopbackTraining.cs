using Microsoft.ML;
using MlNetMiniBatch.Distributed;
using MlNetMiniBatch.Tests.Integration;

namespace MlNetMiniBatch.Tests.Distributed;

/// <summary>Runs one distributed Fit with every rank on its own thread of this process, over the loopback communicator.</summary>
internal static class LoopbackTraining
{
    /// <summary>Long enough for a rank's Fit on a shared 2-core machine; a failing rank aborts the others long before.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Trains on <paramref name="data"/> of each rank with options from <paramref name="options"/> and returns each
    /// rank's model, or throws the first rank's exception (the others' are in <paramref name="errors"/>).</summary>
    public static NeuralNetworkModelParameters[] Fit(int ranks, NeuralNetworkTask task, Func<int, IDataView> data,
        Func<int, NeuralNetworkOptions> options, bool perRankData = false, int checksumInterval = 0, int gradientBucketSize = 0,
        List<string>[]? logs = null, bool readsEveryRow = false) =>
        Run(ranks, task, data, options, perRankData, checksumInterval, gradientBucketSize, logs, readsEveryRow).Select(r => r.Model ?? throw r.Error!).ToArray();

    /// <summary>Every rank's model or exception.</summary>
    /// <param name="logs">When given, one list per rank receives the trainer's "NeuralNetwork" log lines.</param>
    /// <param name="readsEveryRow">Shared data: every rank reads every row of each batch and keeps its share (the path
    /// SkipInvalidRows takes), instead of reading only its own rows.</param>
    public static (NeuralNetworkModelParameters? Model, Exception? Error)[] Run(int ranks, NeuralNetworkTask task, Func<int, IDataView> data,
        Func<int, NeuralNetworkOptions> options, bool perRankData = false, int checksumInterval = 0, int gradientBucketSize = 0,
        List<string>[]? logs = null, bool readsEveryRow = false)
    {
        var group = LoopbackCommunicator.CreateGroup(ranks, Timeout);
        var results = new (NeuralNetworkModelParameters?, Exception?)[ranks];
        var threads = Enumerable.Range(0, ranks).Select(rank => new Thread(() =>
        {
            try
            {
                var rankOptions = options(rank);
                rankOptions.Distributed = DistributedTraining.Over(group[rank], perRankData, checksumInterval, gradientBucketSize, readsEveryRow);
                // One thread per rank: two ranks' kernels must not share the worker pool.
                rankOptions.NumberOfThreads = 1;
                var ml = new MLContext(1);
                if (logs?[rank] is { } log)
                    ml.Log += (_, e) => { if (e.Message.Contains("NeuralNetwork", StringComparison.Ordinal)) lock (log) log.Add(e.Message); };
                results[rank] = (TestData.Trainer(ml, task, rankOptions).Fit(data(rank)).Model, null);
            }
            catch (Exception e)
            {
                results[rank] = (null, e);
            }
        })).ToArray();
        foreach (var thread in threads)
            thread.Start();
        foreach (var thread in threads)
            Assert.IsTrue(thread.Join(Timeout + TimeSpan.FromSeconds(30)), "a rank hung");
        return results;
    }

    /// <summary>The same training in one process (one thread, as the ranks).</summary>
    public static NeuralNetworkModelParameters FitAlone(NeuralNetworkTask task, IDataView data, NeuralNetworkOptions options)
    {
        options.NumberOfThreads = 1;
        return TestData.Trainer(new MLContext(1), task, options).Fit(data).Model;
    }

    /// <summary>The task's featurized test data: cached, so that it shuffles itself, or not (the streaming shuffle).</summary>
    public static IDataView Data(NeuralNetworkTask task, int rows, int seed = 50, bool cache = true)
    {
        var ml = new MLContext(1);
        var raw = TestData.Load(ml, task, rows, seed);
        var featurized = TestData.Featurize(ml, task).Fit(raw).Transform(raw);
        return cache ? ml.Data.Cache(featurized) : featurized;
    }

    public static float[] Parameters(NeuralNetworkModelParameters model) => model.Parameters.ToArray();
}
