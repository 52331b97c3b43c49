using System.Data;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Npgsql;
using NpgsqlTypes;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>Section "postgres": peak resident memory and rows/s training one epoch straight from a PostgreSQL table of
/// 1×, 4× and 16× the Fashion-MNIST training set (through ML.NET's DatabaseLoader, default Shuffle), each in a child
/// process of its own, against the same network trained from the cached in-memory set. Needs MLNMB_POSTGRES.</summary>
internal static class PostgresStreamBench
{
    public const string ChildFlag = "--postgres-child";
    private const string InMemory = "memory";
    private const int Pixels = BinaryRecordDataView.Pixels;
    internal static readonly string Columns = "label, " + string.Join(", ", Enumerable.Range(0, Pixels).Select(i => $"p{i}"));

    public static void Run(BenchContext context)
    {
        BenchOptions options = context.Options;
        Report.Heading($"3b. Streaming from PostgreSQL: peak RSS and rows/s training 1 epoch from a table (batch {StreamBench.Batch}, {options.Threads} thread(s), child process per size)");
        string? connectionString = Environment.GetEnvironmentVariable("MLNMB_POSTGRES");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            Report.Note("skipped: MLNMB_POSTGRES is not set (start a server with  eval \"$(tools/postgres.sh start)\")");
            return;
        }
        string dataDirectory = options.DataDirectory ?? StreamBench.FindDataDirectory();
        var (labels, images, rows) = StreamBench.ReadTrainingSet(dataDirectory);
        string threads = options.Threads.ToString(CultureInfo.InvariantCulture);

        var results = new List<(string Source, long Rows, JsonElement Child)>();
        var reads = new List<(string Source, string Mode, JsonElement Child)>();
        if (StreamBench.RunChild("in-memory", ChildFlag, connectionString, InMemory, dataDirectory, threads) is { } memory)
            results.Add(("cached in memory", rows, memory));
        foreach (int m in options.StreamMultiples)
        {
            string table = $"mlnmb_bench_fashion_{rows}_x{m}";
            try
            {
                EnsureTable(connectionString, table, labels, images, rows, m);
            }
            catch (NpgsqlException e)
            {
                Report.Note($"{m}x: cannot write the table ({e.Message})");
                continue;
            }
            if (StreamBench.RunChild(table, ChildFlag, connectionString, table, dataDirectory, threads) is { } child)
                results.Add(($"table {m}x", rows * (long)m, child));
            foreach (var (mode, read) in PostgresReadCost.Run(connectionString, table))
                reads.Add(($"table {m}x", mode, read));
        }
        if (results.Count == 0) return;

        double memoryRate = results[0].Source == "cached in memory" ? results[0].Child.Number("rows_per_s") ?? double.NaN : double.NaN;
        var firstTable = results.FirstOrDefault(r => r.Source.StartsWith("table", StringComparison.Ordinal));
        double basePeak = firstTable.Source is null ? double.NaN : firstTable.Child.Number("peak_rss_bytes") ?? double.NaN;
        var report = new Table("source", "rows", "peak RSS MB", "vs 1st table", "rows/s", "vs in memory", "seconds", "disk MB",
            "copy: heap / committed MB", "epoch: heap / committed MB", "allocated MB", "GCs 0/1/2");
        foreach (var (source, r, c) in results)
        {
            double peak = c.Number("peak_rss_bytes") ?? double.NaN, rate = c.Number("rows_per_s") ?? double.NaN;
            report.Add(source, Report.Thousands(r), Report.F(peak / 1048576.0), Report.F(peak / basePeak, 3), Report.Thousands(rate),
                Report.F(rate / memoryRate, 3), Report.F(c.Number("seconds")), Report.F((c.Number("shuffle_bytes_written") ?? 0) / 1048576.0),
                MemorySampler.HeapAndCommitted(c, "start"), MemorySampler.HeapAndCommitted(c, "epoch"),
                MemorySampler.Megabytes(c, "gc_allocated_bytes"), c.TryGetProperty("gc_collections", out var g) ? g.GetString() ?? "" : "");
            Report.Bench("postgres", source.Replace(' ', '_'), ("rows", r), ("peak_rss_bytes", peak), ("rows_per_s", rate),
                ("ratio_to_memory", rate / memoryRate), ("seconds", c.Number("seconds")), ("shuffle_bytes_written", c.Number("shuffle_bytes_written")), ("batch", StreamBench.Batch), ("threads", options.Threads));
        }
        report.Print();
        if (reads.Count == 0) return;
        Report.Note("Reading the same tables without training (a child process each), to split the peak by layer:");
        var layers = new Table("source", "reader", "peak RSS MB", "peak heap MB", "allocated MB", "rows/s", "GCs 0/1/2");
        foreach (var (source, mode, c) in reads)
        {
            layers.Add(source, mode, MemorySampler.Megabytes(c, "peak_rss_bytes"), MemorySampler.Megabytes(c, "start_peak_heap_bytes"),
                MemorySampler.Megabytes(c, "gc_allocated_bytes"), Report.Thousands(c.Number("rows_per_s")),
                c.TryGetProperty("gc_collections", out var g) ? g.GetString() ?? "" : "");
            Report.Bench("postgres_read", $"{source.Replace(' ', '_')}_{mode}", ("peak_rss_bytes", c.Number("peak_rss_bytes")),
                ("peak_heap_bytes", c.Number("start_peak_heap_bytes")), ("peak_gc_committed_bytes", c.Number("start_peak_gc_committed_bytes")),
                ("rows_per_s", c.Number("rows_per_s")));
        }
        layers.Print();
        foreach (var (source, mode, c) in reads)
            if (c.TryGetProperty("top_allocations", out var top))
                Report.Note($"{source} {mode}: allocated {Report.F((c.Number("gc_allocated_bytes") ?? double.NaN) / 1048576.0)} MB in all; sampled by type: {top.GetString()}");
    }

    /// <summary>Creates the table unless it already holds the expected rows: label (key 1..10) and 784 real pixels.</summary>
    private static void EnsureTable(string connectionString, string table, byte[] labels, byte[] images, int rows, int multiple)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using (var exists = new NpgsqlCommand($"SELECT to_regclass('{table}') IS NOT NULL", connection))
        using (var count = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection))
            if ((bool)exists.ExecuteScalar()! && (long)count.ExecuteScalar()! == (long)rows * multiple)
                return;
        var clock = Stopwatch.StartNew();
        using (var drop = new NpgsqlCommand($"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (label integer NOT NULL, " +
                   string.Join(", ", Enumerable.Range(0, Pixels).Select(i => $"p{i} real NOT NULL")) + ")", connection))
            drop.ExecuteNonQuery();
        using (var writer = connection.BeginBinaryImport($"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)"))
        {
            for (int m = 0; m < multiple; m++)
                for (int r = 0; r < rows; r++)
                {
                    writer.StartRow();
                    writer.Write(labels[r] + 1, NpgsqlDbType.Integer);
                    for (int p = 0; p < Pixels; p++)
                        writer.Write(images[r * Pixels + p] / 255f, NpgsqlDbType.Real);
                }
            writer.Complete();
        }
        Report.Note($"wrote {table} ({(long)rows * multiple:N0} rows) with COPY in {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Child mode: train one epoch from the table (or the cached in-memory set) and report peak RSS and rows/s.</summary>
    public static int ChildMain(string[] args)
    {
        var (connectionString, table, dataDirectory, threads) = (args[1], args[2], args[3], int.Parse(args[4], CultureInfo.InvariantCulture));
        var ml = new MLContext(seed: 1);
        using var sampler = new MemorySampler(TimeSpan.FromMilliseconds(10));
        IDataView data = table == InMemory
            ? ml.Data.Cache(MlNetMiniBatch.Examples.FashionMnistData.Load(ml, dataDirectory, train: true))
            : Loader(ml, connectionString, table);
        if (table == InMemory)
            ml.Data.CreateEnumerable<CountRow>(data, reuseRowObject: true).Count(); // fill the cache before timing
        var options = new NeuralNetworkOptions
        {
            HiddenLayers = [256, 128], BatchSize = StreamBench.Batch, Epochs = 1, Optimizer = NeuralNetworkOptimizer.Sgd,
            LearningRate = 0.05f, Momentum = 0.9f, Seed = 1, NumberOfThreads = threads,
            ShuffleMemoryLimit = StreamBench.ShuffleMemoryLimit, // below 1×'s feature data, so every size shuffles in bounded groups
            Progress = new FirstBatch(() => sampler.Phase("epoch")), // the streaming copy ("start") ends before the first batch
        };
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data);
        EpochSummary epoch = model.Model.History[^1];
        var (peak, _) = Machine.ResidentSet();
        using var self = Process.GetCurrentProcess();
        var record = sampler.Report();
        record["rows"] = epoch.Rows;
        record["seconds"] = epoch.Elapsed.TotalSeconds;
        record["rows_per_s"] = epoch.Rows / epoch.Elapsed.TotalSeconds;
        record["peak_rss_bytes"] = peak ?? self.PeakWorkingSet64;
        record["train_loss"] = epoch.TrainLoss;
        record["shuffle_bytes_written"] = model.Model.ShuffleBytesWritten;
        Console.WriteLine("CHILD " + JsonSerializer.Serialize(record));
        return 0;
    }

    /// <summary>The table through ML.NET's DatabaseLoader: label (key 1..10) and 784 real pixels.</summary>
    internal static IDataView Loader(MLContext ml, string connectionString, string table) =>
        ml.Data.CreateDatabaseLoader(
                new DatabaseLoader.Column("Label", DbType.UInt32, [new DatabaseLoader.Range(0)], new KeyCount(10)),
                new DatabaseLoader.Column("Features", DbType.Single, 1, Pixels))
            .Load(new DatabaseSource(NpgsqlFactory.Instance, connectionString, $"SELECT {Columns} FROM {table}"));

    private sealed class CountRow
    {
        public uint Label { get; set; }
    }
}
