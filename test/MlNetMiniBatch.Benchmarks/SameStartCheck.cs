using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.ML;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// Part of section 2: whether ours and PyTorch make the same updates, so that the accuracy column compares random draws
/// and not two algorithms. For each batch size and several starting models (ours after one update, seeds 1..n), both
/// sides train the same rows in file order (Shuffle = false) for two epochs, each ending in a partial batch, with SGD
/// momentum 0.9 and lr 0.05; then the weights are compared. Float rounding in another summation order leaves them about
/// 1e-6 apart, relative to how far they moved; a different formula (the loss's mean, the momentum, the partial batch,
/// the epoch boundary) leaves a sizeable share of it. Now and then a pre-activation within rounding of zero makes a ReLU
/// switch on one side only, and the runs part by up to 1e-2 (PyTorch against itself does the same after a 1e-7
/// perturbation of its start), so the verdict is on the median over the starts.
/// </summary>
internal static class SameStartCheck
{
    private const int Starts = 5;
    private const double RowsPerBatch = 5.5;
    private const int Epochs = 2;

    /// <summary>Largest difference, relative to the weights' change, that still counts as the same updates.</summary>
    private const double SameUpdates = 1e-4;

    public static void Run(BenchContext context, Peers peers, int[] batchSizes, int threads)
    {
        string directory = Directory.CreateTempSubdirectory("mlnet-minibatch-same-start-").FullName;
        try
        {
            var ours = new Dictionary<(int Batch, int Start), (float[] Start, float[] Trained, int Updates)>();
            IReadOnlyList<int>? sizes = null;
            foreach (int batch in batchSizes)
                for (int seed = 1; seed <= Starts; seed++)
                {
                    var options = context.TrainerOptions(batch, epochs: 1, threads);
                    options.Shuffle = false;
                    options.Seed = seed;
                    var start = context.ML.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(context.ML.Data.TakeRows(context.Train, batch)).Model;
                    options.Epochs = Epochs;
                    var trained = context.ML.MulticlassClassification.Trainers.NeuralNetwork(options)
                        .Fit(context.ML.Data.TakeRows(context.Train, (long)(RowsPerBatch * batch)), start).Model;
                    float[] startParameters = Flatten(start);
                    File.WriteAllBytes(Path.Combine(directory, $"start-b{batch}-s{seed}.bin"), MemoryMarshal.AsBytes(startParameters.AsSpan()).ToArray());
                    ours[(batch, seed)] = (startParameters, Flatten(trained), trained.History.Sum(e => e.Iterations));
                    sizes = start.LayerSizes;
                }
            var peerUpdates = new Dictionary<(int, int), int>();
            foreach (JsonElement r in peers.RunScript("torch", "torch_same_start.py", new[]
            {
                "--data", context.DataDirectory, "--dir", directory, "--sizes", string.Join(",", sizes!),
                "--batch-sizes", string.Join(",", batchSizes), "--starts", Starts.ToString(CultureInfo.InvariantCulture),
                "--rows-per-batch", RowsPerBatch.ToString(CultureInfo.InvariantCulture), "--epochs", Epochs.ToString(CultureInfo.InvariantCulture),
                "--lr", "0.05", "--momentum", "0.9",
            }, threads: 1, TimeSpan.FromMinutes(10)))
                if (r.Text("kind") == "same-start" && r.Number("batch") is { } b && r.Number("start") is { } s && r.Number("updates") is { } u)
                    peerUpdates[((int)b, (int)s)] = (int)u;

            Console.WriteLine();
            Report.Note($"Same start, same rows in file order ({Epochs} epochs of {RowsPerBatch} batches), ours against PyTorch, over {Starts} starting models:");
            var table = new Table("batch", "updates ours / PyTorch", "largest weight change", "|ours − PyTorch| / change, median [range]", $"same updates (median ≤ {SameUpdates:0e0})");
            foreach (int batch in batchSizes)
            {
                var relative = new List<double>();
                double change = 0;
                bool countsAgree = true;
                for (int seed = 1; seed <= Starts; seed++)
                {
                    var (start, trained, updates) = ours[(batch, seed)];
                    var (moved, apart) = LargestChangeAndDifference(start, trained, ReadFloats(Path.Combine(directory, $"torch-b{batch}-s{seed}.bin"), trained.Length));
                    relative.Add(apart / moved);
                    change = Math.Max(change, moved);
                    countsAgree &= peerUpdates.GetValueOrDefault((batch, seed)) == updates;
                }
                int oursUpdates = ours[(batch, 1)].Updates;
                double median = Stats.Median(relative);
                bool same = countsAgree && median <= SameUpdates;
                table.Add(batch.ToString(CultureInfo.InvariantCulture), $"{oursUpdates} / {peerUpdates.GetValueOrDefault((batch, 1))}",
                    Scientific(change), $"{Scientific(median)} [{Scientific(relative.Min())} – {Scientific(relative.Max())}]", same ? "yes" : "NO");
                Report.Bench("train", $"same-start/b{batch}", ("batch", batch), ("starts", Starts), ("updates", oursUpdates),
                    ("torch_updates", peerUpdates.GetValueOrDefault((batch, 1))), ("largest_change", change), ("median_relative_difference", median),
                    ("largest_relative_difference", relative.Max()), ("same_updates", same));
            }
            table.Print();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static (double Change, double Difference) LargestChangeAndDifference(float[] start, float[] ours, float[] peer)
    {
        double change = 0, difference = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            change = Math.Max(change, Math.Abs(ours[i] - start[i]));
            difference = Math.Max(difference, Math.Abs(ours[i] - peer[i]));
        }
        return (change, difference);
    }

    private static string Scientific(double value) => value.ToString("0.0e0", CultureInfo.InvariantCulture);

    /// <summary>The model's parameters layer by layer, weights [inputs × outputs] then biases: the peer's file layout.</summary>
    private static float[] Flatten(NeuralNetworkModelParameters model)
    {
        var values = new List<float>();
        for (int layer = 0; layer < model.LayerCount; layer++)
        {
            values.AddRange(model.GetWeights(layer).ToArray());
            values.AddRange(model.GetBiases(layer).ToArray());
        }
        return values.ToArray();
    }

    private static float[] ReadFloats(string path, int count)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length != count * sizeof(float))
            throw new InvalidDataException($"{path} holds {bytes.Length} bytes, but the model has {count} parameters ({count * sizeof(float)} bytes).");
        return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }
}
