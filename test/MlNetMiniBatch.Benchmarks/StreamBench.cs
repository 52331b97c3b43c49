using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>Section 3: peak resident memory while training one epoch from a binary file of 1×, 4× and 16× the
/// Fashion-MNIST training set, each in a child process of its own so that each peak is that size's alone. The file
/// view cannot shuffle, so the streaming shuffle runs, with a memory limit below even the 1× data so that every size
/// uses all of it; the bytes it wrote are reported.</summary>
internal static class StreamBench
{
    public const string ChildFlag = "--stream-child";
    internal const int Batch = 128;
    private const double TargetRatio = 1.10;
    internal const long ShuffleMemoryLimit = 64L << 20;

    public static void Run(BenchContext context)
    {
        BenchOptions options = context.Options;
        string dataDirectory = context.Options.DataDirectory is { } d ? d : FindDataDirectory();
        var (labels, images, rows) = ReadTrainingSet(dataDirectory);
        Directory.CreateDirectory(options.CacheDirectory);
        foreach (StreamFile format in StreamFile.All)
            Run(options, format, labels, images, rows);
    }

    private static void Run(BenchOptions options, StreamFile format, byte[] labels, byte[] images, int rows)
    {
        Report.Heading($"3. Streaming: peak RSS training 1 epoch from a {format.Name} file, streaming shuffle in {ShuffleMemoryLimit >> 20} MiB (batch {Batch}, {options.Threads} thread(s), child process per size)");
        var multiples = new List<int>();
        long free = new DriveInfo(Path.GetFullPath(options.CacheDirectory)).AvailableFreeSpace;
        foreach (int m in options.StreamMultiples)
        {
            string path = format.PathFor(options.CacheDirectory, rows, m);
            long size = format.Bytes(labels, images, rows, m);
            bool present = File.Exists(path) && new FileInfo(path).Length == size;
            if (!present && size + (512L << 20) > free)
            {
                Report.Note($"skipping {m}x: {size / 1e6:F0} MB needed, {free / 1e6:F0} MB free in {options.CacheDirectory}");
                continue;
            }
            if (!present)
            {
                var stopwatch = Stopwatch.StartNew();
                format.Generate(path, labels, images, rows, m);
                free -= size;
                Report.Note($"generated {path} ({size / 1e6:F0} MB) in {stopwatch.Elapsed.TotalSeconds:F1} s");
            }
            multiples.Add(m);
        }
        if (multiples.Count == 0) return;

        var results = new List<(int Multiple, long Rows, long FileBytes, JsonElement Child)>();
        foreach (int m in multiples)
        {
            string path = format.PathFor(options.CacheDirectory, rows, m);
            JsonElement? child = RunChild(Path.GetFileName(path), ChildFlag, path, options.Threads.ToString(CultureInfo.InvariantCulture), format.Name);
            if (child is not { } c)
            {
                Report.Note($"{m}x: the child process reported nothing.");
                continue;
            }
            results.Add((m, rows * (long)m, new FileInfo(path).Length, c));
        }
        if (results.Count == 0) return;

        double basePeak = results[0].Child.Number("peak_rss_bytes") ?? double.NaN;
        var table = new Table("file", "rows", "file MB", "shuffle MB written", "peak RSS MB", "vs smallest", "copy: heap / committed MB",
            "epoch: heap / committed MB", "allocated MB", "rows/s", "seconds", "copy seconds");
        foreach (var (m, r, bytes, c) in results)
        {
            double peak = c.Number("peak_rss_bytes") ?? double.NaN;
            table.Add($"{format.Name} {m}x", Report.Thousands(r), Report.F(bytes / 1e6, 0), Report.F((c.Number("shuffle_bytes_written") ?? double.NaN) / 1e6, 0),
                Report.F(peak / 1048576.0), Report.F(peak / basePeak, 3), MemorySampler.HeapAndCommitted(c, "start"), MemorySampler.HeapAndCommitted(c, "epoch"),
                MemorySampler.Megabytes(c, "gc_allocated_bytes"), Report.Thousands(c.Number("rows_per_s")), Report.F(c.Number("seconds")), Report.F(c.Number("copy_seconds")));
            Report.Bench("stream", $"{format.Name}_x{m}", ("format", format.Name), ("multiple", m), ("rows", r), ("file_bytes", bytes), ("peak_rss_bytes", peak),
                ("peak_working_set_bytes", c.Number("peak_working_set_bytes")), ("rss_before_training_bytes", c.Number("rss_before_bytes")),
                ("ratio_to_smallest", peak / basePeak), ("rows_per_s", c.Number("rows_per_s")), ("seconds", c.Number("seconds")),
                ("copy_seconds", c.Number("copy_seconds")), ("copy_peak_heap_bytes", c.Number("start_peak_heap_bytes")),
                ("epoch_peak_heap_bytes", c.Number("epoch_peak_heap_bytes")),
                ("shuffle_bytes_written", c.Number("shuffle_bytes_written")), ("shuffle_memory_limit", ShuffleMemoryLimit),
                ("batch", Batch), ("threads", options.Threads));
        }
        table.Print();
        var (lastM, _, _, last) = results[^1];
        double ratio = (last.Number("peak_rss_bytes") ?? double.NaN) / basePeak;
        bool? met = lastM == 16 && results[0].Multiple == 1 ? ratio <= TargetRatio : null;
        Report.Note($"{format.Name}: peak RSS {lastM}x / {results[0].Multiple}x = {ratio:F3} (target ≤ {TargetRatio:F2} for 16x / 1x: " +
                    $"{(met is { } ok ? (ok ? "met" : "not met") : "not measured at 16x / 1x")})");
        Targets.Add($"peak RSS {lastM}x / {results[0].Multiple}x data ({format.Name} file)", $"{ratio:F3}", "≤ 1.10 (16x / 1x)", met);
        Report.Bench("stream", $"{format.Name}_ratio", ("format", format.Name), ("largest", lastM), ("smallest", results[0].Multiple), ("ratio", ratio),
            ("target", TargetRatio), ("met", met));
    }

    internal static string FindDataDirectory() =>
        MlNetMiniBatch.Examples.FashionMnistData.FindDataDirectory(null, Path.Combine(AppContext.BaseDirectory, "data"))
        ?? throw new FileNotFoundException("No Fashion-MNIST idx files; pass --data DIR.");

    /// <summary>Labels and pixels of the idx training files (plain or gzipped), without their headers.</summary>
    internal static (byte[] Labels, byte[] Images, int Rows) ReadTrainingSet(string directory)
    {
        static byte[] Read(string directory, string name, int headerBytes)
        {
            string path = File.Exists(Path.Combine(directory, name)) ? Path.Combine(directory, name) : Path.Combine(directory, name + ".gz");
            using Stream file = File.OpenRead(path);
            using Stream input = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var memory = new MemoryStream();
            input.CopyTo(memory);
            return memory.ToArray()[headerBytes..];
        }
        byte[] labels = Read(directory, "train-labels-idx1-ubyte", 8);
        byte[] images = Read(directory, "train-images-idx3-ubyte", 16);
        if (images.Length != labels.Length * BinaryRecordDataView.Pixels)
            throw new InvalidDataException($"{directory}: {labels.Length} labels but {images.Length / (double)BinaryRecordDataView.Pixels} images.");
        return (labels, images, labels.Length);
    }

    /// <summary>Starts this program again with <paramref name="arguments"/> (a child mode) and returns its result line.</summary>
    internal static JsonElement? RunChild(string what, params string[] arguments)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("Unknown process path.");
        var start = new ProcessStartInfo { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.FileName = self;
            start.ArgumentList.Add(typeof(StreamBench).Assembly.Location);
        }
        else
            start.FileName = self;
        foreach (string a in arguments) start.ArgumentList.Add(a);

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the child process.");
        JsonElement? result = null;
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.WriteLine($"    | {e.Data}"); };
        process.BeginErrorReadLine();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            if (line.StartsWith("CHILD ", StringComparison.Ordinal))
                result = JsonDocument.Parse(line.AsMemory(6)).RootElement.Clone();
            else
                Console.WriteLine($"    | {line}");
        }
        process.WaitForExit();
        if (process.ExitCode != 0) Report.Note($"child process for {what} exited with code {process.ExitCode}");
        return result;
    }

    /// <summary>Child mode: train one epoch from the file and report this process's peak resident set.</summary>
    public static int ChildMain(string[] args)
    {
        string path = args[1];
        int threads = int.Parse(args[2], CultureInfo.InvariantCulture);
        var ml = new MLContext(seed: 1);
        using var sampler = new MemorySampler(TimeSpan.FromMilliseconds(10));
        IDataView data = StreamFile.Named(args[3]).Open(ml, path);
        var (_, rssBefore) = Machine.ResidentSet();
        var clock = Stopwatch.StartNew();
        double copySeconds = double.NaN;
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = new[] { 256, 128 },
            BatchSize = Batch,
            Epochs = 1,
            Optimizer = NeuralNetworkOptimizer.Sgd,
            LearningRate = 0.05f,
            Momentum = 0.9f,
            ShuffleMemoryLimit = ShuffleMemoryLimit, // the file view cannot shuffle: the streaming shuffle runs
            Seed = 1,
            NumberOfThreads = threads,
            Progress = new FirstBatch(() => // the streaming copy ("start") ends before the first batch
            {
                copySeconds = clock.Elapsed.TotalSeconds;
                sampler.Phase("epoch");
            }),
        };
        long? rowsTotal = data.GetRowCount();
        options.OnEpochEnd = e => Console.WriteLine(
            $"{Path.GetFileName(path)}: {e.Summary.Rows:N0} rows in {e.Summary.Elapsed.TotalSeconds:F1} s");
        NeuralNetworkPredictionTransformer model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data);
        EpochSummary epoch = model.Model.History[^1];
        var (peak, current) = Machine.ResidentSet();
        using var self = Process.GetCurrentProcess();
        var record = sampler.Report();
        foreach (var (name, value) in new Dictionary<string, object?>
        {
            ["rows"] = epoch.Rows,
            ["copy_seconds"] = copySeconds,
            ["rows_in_file"] = rowsTotal,
            ["seconds"] = epoch.Elapsed.TotalSeconds,
            ["rows_per_s"] = epoch.Rows / epoch.Elapsed.TotalSeconds,
            ["peak_rss_bytes"] = peak ?? self.PeakWorkingSet64,
            ["rss_bytes"] = current,
            ["rss_before_bytes"] = rssBefore,
            ["peak_working_set_bytes"] = self.PeakWorkingSet64,
            ["train_loss"] = epoch.TrainLoss,
            ["shuffle_bytes_written"] = model.Model.ShuffleBytesWritten,
        })
            record[name] = value;
        Console.WriteLine("CHILD " + JsonSerializer.Serialize(record));
        return 0;
    }
}
