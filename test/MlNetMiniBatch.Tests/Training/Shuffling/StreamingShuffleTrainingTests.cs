using System.Diagnostics;
using Microsoft.ML;
using MlNetMiniBatch.Training.Shuffling;

namespace MlNetMiniBatch.Tests.Training.Shuffling;

/// <summary>The streaming shuffle inside training, on views that cannot shuffle (LoadFromEnumerable): its temporary
/// files, its faults, and the training features that must keep working on streamed data.</summary>
[TestClass]
public sealed class StreamingShuffleTrainingTests
{
    private static IDataView Data(MLContext ml, Synthetic.ClassRow[] rows)
    {
        var raw = ml.Data.LoadFromEnumerable(rows);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(raw).Transform(raw);
        Assert.IsFalse(data.CanShuffle);
        return data;
    }

    private static NeuralNetworkOptions Options(string directory, int epochs = 3, int threads = 1) => new()
    {
        HiddenLayers = [8], BatchSize = 16, Epochs = epochs, Seed = 5, NumberOfThreads = threads, ShuffleTemporaryDirectory = directory,
    };

    private static NeuralNetworkModelParameters Train(MLContext ml, IDataView data, NeuralNetworkOptions options)
        => ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data).Model;

    private static string[] RunDirectories(string parent) => Directory.GetDirectories(parent, ShuffleDirectory.Prefix + "*");

    [TestMethod]
    public void TemporaryFilesLiveDuringTrainingAndAreRemovedAfterwards()
    {
        var ml = new MLContext(1);
        string directory = ShuffleFixture.NewDirectory();
        var options = Options(directory);
        var seen = new List<int>();
        options.OnEpochEnd = _ => seen.Add(RunDirectories(directory).Sum(d => Directory.GetFiles(d, "shard-*").Length));

        var model = Train(ml, Data(ml, Synthetic.Blobs(900)), options);

        Assert.HasCount(3, seen);
        Assert.IsTrue(seen.All(shards => shards > 0), "the shards exist while training runs");
        Assert.IsEmpty(Directory.GetFileSystemEntries(directory), "nothing is left after training");
        Assert.IsGreaterThanOrEqualTo(900L * 12, model.ShuffleBytesWritten, "every row's header at least was written");
        Assert.IsTrue(model.History.All(e => e.Rows == 900));
    }

    [TestMethod]
    public void TemporaryFilesAreRemovedWhenTrainingFails()
    {
        var ml = new MLContext(1);
        string directory = ShuffleFixture.NewDirectory();
        var options = Options(directory);
        options.OnEpochEnd = _ => throw new InvalidOperationException("callback failed");

        Assert.ThrowsExactly<InvalidOperationException>(() => Train(ml, Data(ml, Synthetic.Blobs(300)), options));

        Assert.IsEmpty(Directory.GetFileSystemEntries(directory));
    }

    [TestMethod]
    public void TemporaryFilesAreRemovedWhenTrainingIsCancelled()
    {
        var ml = new MLContext(1);
        string directory = ShuffleFixture.NewDirectory();
        using var cancellation = new CancellationTokenSource();
        var options = Options(directory);
        options.CancellationToken = cancellation.Token;
        options.OnEpochEnd = _ => cancellation.Cancel();

        Assert.ThrowsExactly<OperationCanceledException>(() => Train(ml, Data(ml, Synthetic.Blobs(300)), options));

        Assert.IsEmpty(Directory.GetFileSystemEntries(directory));
    }

    [TestMethod]
    public void LeftoversOfAKilledRunAreRemovedAtTheNextStart()
    {
        var ml = new MLContext(1);
        string directory = ShuffleFixture.NewDirectory();
        using var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        exited.WaitForExit();
        string killed = Path.Combine(directory, $"{ShuffleDirectory.Prefix}{exited.Id}-killed");
        Directory.CreateDirectory(killed);
        File.WriteAllBytes(Path.Combine(killed, "shard-000000.bin"), new byte[100]);
        string reusedPid = Path.Combine(directory, $"{ShuffleDirectory.Prefix}{Environment.ProcessId}-reused");
        Directory.CreateDirectory(reusedPid);
        File.WriteAllBytes(Path.Combine(reusedPid, ShuffleDirectory.LockFileName), []); // a running pid, but nobody holds the lock
        string running = Path.Combine(directory, $"{ShuffleDirectory.Prefix}{Environment.ProcessId}-running");
        Directory.CreateDirectory(running);
        using (new FileStream(Path.Combine(running, ShuffleDirectory.LockFileName), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            Train(ml, Data(ml, Synthetic.Blobs(300)), Options(directory, epochs: 1));

        Assert.IsFalse(Directory.Exists(killed), "the directory of a process that is gone is deleted");
        Assert.IsFalse(Directory.Exists(reusedPid), "a free lock means its owner is gone even when its pid runs again");
        Assert.IsTrue(Directory.Exists(running), "a run that holds its lock keeps its files");
        Directory.Delete(directory, recursive: true);
    }

    [TestMethod]
    public void AnUnwritableTemporaryDirectoryFailsBeforeTheFirstBatchNamingTheOption()
    {
        var ml = new MLContext(1);
        string file = Path.Combine(ShuffleFixture.NewDirectory(), "a-file");
        File.WriteAllText(file, "not a directory"); // unwritable even for root, unlike a chmod
        var options = Options(Path.Combine(file, "shuffle"));
        var progress = new Recorder();
        options.Progress = progress;

        var error = Assert.ThrowsExactly<InvalidOperationException>(() => Train(ml, Data(ml, Synthetic.Blobs(300)), options));

        Assert.Contains("ShuffleTemporaryDirectory", error.Message);
        Assert.Contains(Path.Combine(file, "shuffle"), error.Message);
        Assert.IsEmpty(progress.Reports, "no batch was trained");
    }

    [TestMethod]
    public void SameSeedGivesBitIdenticalWeightsWithOrWithoutThePrefetchThread()
    {
        var ml = new MLContext(1);
        string directory = ShuffleFixture.NewDirectory();
        var data = Data(ml, Synthetic.Blobs(700));
        var first = Train(ml, data, Options(directory, threads: 1));
        var again = Train(ml, data, Options(directory, threads: 1));
        var prefetched = Train(ml, data, Options(directory, threads: 2));
        var unshuffled = Options(directory, threads: 1);
        unshuffled.Shuffle = false;
        var cursorOrder = Train(ml, data, unshuffled);

        CollectionAssert.AreEqual(first.Parameters.ToArray(), again.Parameters.ToArray());
        CollectionAssert.AreEqual(first.Parameters.ToArray(), prefetched.Parameters.ToArray());
        CollectionAssert.AreNotEqual(first.Parameters.ToArray(), cursorOrder.Parameters.ToArray(), "the streamed run did shuffle");
    }

    [TestMethod]
    public void ResumingFromACheckpointEndsBitIdentical()
    {
        var ml = new MLContext(1);
        string directory = ShuffleFixture.NewDirectory();
        var data = Data(ml, Synthetic.Blobs(600));
        var uninterrupted = Train(ml, data, Options(directory, epochs: 4));
        var options = Options(directory, epochs: 2);
        options.CheckpointDirectory = Path.Combine(directory, "checkpoint");
        options.ResumeFromCheckpoint = true;
        Train(ml, data, options);
        options.Epochs = 4;

        var resumed = Train(ml, data, options);

        CollectionAssert.AreEqual(uninterrupted.Parameters.ToArray(), resumed.Parameters.ToArray());
    }

    [TestMethod]
    public void ValidationSplitInvalidRowsAndWeightsWorkOnStreamedData()
    {
        var ml = new MLContext(1);
        string directory = ShuffleFixture.NewDirectory();
        var rows = Synthetic.Blobs(1000);
        for (int i = 0; i < rows.Length; i++)
            rows[i].Weight = 1 + i % 4;
        foreach (int bad in new[] { 17, 400, 401 })
            rows[bad].Features[2] = float.NaN;
        var streamed = Data(ml, rows);
        var cached = ml.Data.Cache(streamed);
        NeuralNetworkOptions WithEverything() => new()
        {
            HiddenLayers = [8], BatchSize = 16, Epochs = 2, Seed = 5, NumberOfThreads = 1, ShuffleTemporaryDirectory = directory,
            ValidationFraction = 0.2f, SkipInvalidRows = true, ExampleWeightColumnName = "Weight",
        };
        var progress = new Recorder();
        var options = WithEverything();
        options.Progress = progress;

        var fromStream = Train(ml, streamed, options);
        var fromCache = Train(ml, cached, WithEverything());

        Assert.AreEqual(fromCache.History[0].Rows, fromStream.History[0].Rows, "the same rows are trained on: split and skipped rows agree");
        Assert.AreEqual(fromCache.History[0].Validation!.Loss, fromStream.History[0].Validation!.Loss, 0.05, "validation rows are the held-out rows");
        Assert.AreEqual((int?)((fromStream.History[0].Rows + 15) / 16), progress.Reports[0].BatchesPerEpoch,
            "the deal counted the rows, so batches per epoch are known in epoch 1");
        Assert.AreNotEqual(fromStream.History[0].Train.Loss, Train(ml, streamed, WithoutWeights()).History[0].Train.Loss, "weights count");

        var strict = WithEverything();
        strict.SkipInvalidRows = false;
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => Train(ml, streamed, strict));
        Assert.Contains("3 of 799 rows", error.Message); // the training side of the split: the report counts its own side only
        Assert.Contains("the first is row 17", error.Message);
        Assert.IsEmpty(Directory.GetFileSystemEntries(directory));

        NeuralNetworkOptions WithoutWeights()
        {
            var o = WithEverything();
            o.ExampleWeightColumnName = null;
            return o;
        }
    }

    [TestMethod]
    public void AMemoryLimitTooSmallIsRejectedWithTheOptionAndTheValue()
    {
        var ml = new MLContext(1);
        var options = Options(ShuffleFixture.NewDirectory());
        options.ShuffleMemoryLimit = 1000;
        var tooSmall = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.NeuralNetwork(options));
        Assert.Contains("ShuffleMemoryLimit must be at least 16384 bytes (16 KiB), but was 1000", tooSmall.Message);

        var wide = new GeneratedDataView(50, 2000, canShuffle: false); // 4 rows of 2,000 features take 32 KiB
        options.ShuffleMemoryLimit = 20_000;
        var fewRows = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Train(ml, wide, options));
        Assert.Contains("ShuffleMemoryLimit must hold at least a few rows of 2000 features", fewRows.Message);
        Assert.Contains("but was 20000", fewRows.Message);
    }

    /// <summary>Records reports synchronously (Progress&lt;T&gt; posts them later).</summary>
    private sealed class Recorder : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = [];

        public void Report(TrainingProgress value) => Reports.Add(value);
    }
}
