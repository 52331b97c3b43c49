using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>Section "mpi" (on request): training rows/s of Fashion-MNIST under <c>mpirun -np 1</c> and <c>-np 2</c>, at 1
/// and 2 threads per rank, batch 512 and 2048, with the gradient summed after backward or in buckets during it. Each
/// case is one mpirun job of this harness in worker mode; the cases alternate (reversed every other round) and the
/// medians are reported, with the scaling efficiency against the 90% of Goyal et al. (2017).</summary>
internal static partial class MpiBench
{
    public const string WorkerFlag = "--mpi-worker";

    /// <summary>Goyal et al. (2017) kept about 90% scaling efficiency from 8 to 256 GPUs.</summary>
    private const double GoyalEfficiency = 0.90;

    private static readonly int[] Batches = [512, 2048];
    private static readonly int[] ThreadsPerRank = [1, 2];
    private static readonly TimeSpan JobLimit = TimeSpan.FromMinutes(5);

    private readonly record struct Case(int Ranks, int Threads, int Batch, int BucketSize)
    {
        public string Name => $"np{Ranks}_t{Threads}_b{Batch}_{(BucketSize == 0 ? "after" : $"overlap{BucketSize}")}";
    }

    private sealed record Sample(double RowsPerSecond, double? WaitMsPerUpdate, double? FinishedShare, string? Waits);

    public static void Run(BenchContext context)
    {
        BenchOptions options = context.Options;
        int rounds = options.SeedsOverride ?? (options.Quick ? 1 : 3);
        int epochs = Math.Max(2, options.EpochsOverride ?? 2);
        int bucket = options.MpiBucketSize;
        Report.Heading($"MPI: training rows/s at np = 1 and 2, {string.Join(" and ", ThreadsPerRank)} thread(s) per rank, batch " +
                       $"{string.Join(" and ", Batches)}, gradient summed after backward or during it (buckets of at least {bucket:N0} parameters)");
        string? mpirun = FindOnPath("mpirun");
        if (mpirun is null)
        {
            Report.Note("mpirun is MISSING: not found on PATH, so this section measured nothing. Install Open MPI " +
                        "(Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) and run it again.");
            Report.Bench("mpi", "missing", ("mpirun", "missing"));
            return;
        }
        string data = options.DataDirectory ?? StreamBench.FindDataDirectory();
        Report.Note($"each case: {mpirun} {string.Join(' ', MpirunArguments(1))} dotnet {Path.GetFileName(typeof(MpiBench).Assembly.Location)} " +
                    $"{WorkerFlag} DATA BATCH THREADS BUCKET {epochs}; OMPI_MCA_mpi_yield_when_idle=1 unless set");
        Report.Note($"rows/s over epochs 2-{epochs} of the full training set (epoch 1 warms up); {rounds} round(s) of alternating cases; " +
                    $"784-256-128-10 ReLU, SGD momentum 0.9; load average at start {Machine.LoadAverage}");

        var cases = new List<Case>();
        foreach (int threads in ThreadsPerRank)
            foreach (int batch in Batches)
            {
                cases.Add(new Case(1, threads, batch, 0));
                cases.Add(new Case(2, threads, batch, 0));
                cases.Add(new Case(2, threads, batch, bucket));
            }
        var samples = cases.ToDictionary(c => c, _ => new List<Sample>());
        for (int round = 0; round < rounds; round++)
            foreach (var c in round % 2 == 0 ? cases : Enumerable.Reverse(cases))
            {
                if (RunJob(mpirun, c, data, epochs) is { } sample)
                    samples[c].Add(sample);
                else
                    Report.Note($"{c.Name}: the job reported nothing");
            }

        double Median(Case c) => Stats.Median(samples[c].Select(s => s.RowsPerSecond).ToList());
        var table = new Table("ranks x threads", "batch", "gradient sum", "rows/s (median)", "min-max", "vs np=1 same threads",
            "efficiency", "vs np=1 same cores", "wait ms/update", "buckets done by end of backward");
        foreach (var c in cases)
        {
            var s = samples[c];
            double rowsPerSecond = Median(c);
            double single = Median(c with { Ranks = 1, BucketSize = 0 });
            // The same cores: np = 2 x t threads against one process with 2t threads, where this run has it.
            var sameCores = c with { Ranks = 1, Threads = c.Threads * c.Ranks, BucketSize = 0 };
            double? sameCoresRate = samples.ContainsKey(sameCores) ? Median(sameCores) : null;
            double speedup = rowsPerSecond / single, efficiency = speedup / c.Ranks;
            double? wait = MedianOf(s, x => x.WaitMsPerUpdate), finished = MedianOf(s, x => x.FinishedShare);
            table.Add($"{c.Ranks} x {c.Threads}", c.Batch.ToString(CultureInfo.InvariantCulture), c.BucketSize == 0 ? "after backward" : $"buckets >= {c.BucketSize:N0}",
                Report.Thousands(rowsPerSecond), s.Count == 0 ? "-" : $"{Report.Thousands(s.Min(x => x.RowsPerSecond))}-{Report.Thousands(s.Max(x => x.RowsPerSecond))}",
                c.Ranks == 1 ? "1.00x" : Report.Ratio(rowsPerSecond, single), c.Ranks == 1 ? "-" : Percent(efficiency),
                c.Ranks == 1 || sameCoresRate is null ? "-" : Report.Ratio(rowsPerSecond, sameCoresRate), Report.F(wait, 2),
                c.BucketSize == 0 || finished is null ? "-" : Percent(finished.Value));
            Report.Bench("mpi", c.Name, ("ranks", c.Ranks), ("threads_per_rank", c.Threads), ("batch", c.Batch), ("bucket_size", c.BucketSize),
                ("overlap", c.BucketSize > 0), ("rows_per_s", rowsPerSecond), ("runs", s.Count), ("speedup_vs_np1_same_threads", c.Ranks == 1 ? null : speedup),
                ("scaling_efficiency", c.Ranks == 1 ? null : efficiency), ("goyal_efficiency", GoyalEfficiency),
                ("ratio_vs_np1_same_cores", c.Ranks == 1 ? null : rowsPerSecond / sameCoresRate), ("wait_ms_per_update", wait),
                ("buckets_finished_during_backward", c.BucketSize == 0 ? null : finished), ("epochs", epochs), ("load_average", Machine.LoadAverage));
        }
        table.Print();
        foreach (int threads in ThreadsPerRank)
            foreach (int batch in Batches)
            {
                var after = new Case(2, threads, batch, 0);
                double efficiency = Median(after) / Median(after with { Ranks = 1 }) / 2;
                double overlap = Median(after with { BucketSize = bucket }) / Median(after);
                Report.Note($"np = 2 x {threads}, batch {batch}: scaling efficiency {Percent(efficiency)} " +
                            $"({(efficiency >= GoyalEfficiency ? "at or above" : "below")} Goyal et al.'s {Percent(GoyalEfficiency)}); overlap / after backward = {overlap:F2}x");
            }
        Report.Note($"load average at the end: {Machine.LoadAverage}");
    }

    private static double? MedianOf(List<Sample> samples, Func<Sample, double?> value)
    {
        var values = samples.Select(value).OfType<double>().ToList();
        return values.Count == 0 ? null : Stats.Median(values);
    }

    private static string Percent(double share) => double.IsFinite(share) ? $"{100 * share:F0}%" : "-";

    private static string[] MpirunArguments(int ranks) =>
        // --bind-to none: Open MPI binds each rank to one core by default at np <= 2, which would leave a rank's second
        // thread without a core of its own.
        ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", ranks.ToString(CultureInfo.InvariantCulture)];

    private static Sample? RunJob(string mpirun, Case c, string data, int epochs)
    {
        var start = new ProcessStartInfo(mpirun) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in MpirunArguments(c.Ranks))
            start.ArgumentList.Add(argument);
        foreach (string argument in new[] { "dotnet", typeof(MpiBench).Assembly.Location, WorkerFlag, data, Invariant(c.Batch), Invariant(c.Threads),
                     Invariant(c.BucketSize), Invariant(epochs) })
            start.ArgumentList.Add(argument);
        // A rank waiting for the other would otherwise spin on one of the two cores the other needs.
        if (Environment.GetEnvironmentVariable("OMPI_MCA_mpi_yield_when_idle") is null)
            start.Environment["OMPI_MCA_mpi_yield_when_idle"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start mpirun.");
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(JobLimit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Report.Note($"{c.Name}: mpirun did not end within {JobLimit.TotalMinutes} min; killed");
            return null;
        }
        string line = output.Result.Split('\n').FirstOrDefault(l => l.StartsWith("MPIBENCH ", StringComparison.Ordinal)) ?? "";
        if (process.ExitCode != 0 || line.Length == 0)
        {
            Report.Note($"{c.Name}: mpirun exited with code {process.ExitCode}:\n{output.Result}{errors.Result}");
            return null;
        }
        var json = JsonDocument.Parse(line.AsMemory("MPIBENCH ".Length)).RootElement;
        string? waits = json.TryGetProperty("waits", out var w) ? w.GetString() : null;
        var sample = new Sample(json.Number("rows_per_s") ?? double.NaN, Parse(waits, MsEach(), "ms"), FinishedShare(waits), waits);
        Console.WriteLine($"    {c.Name}: {Report.Thousands(sample.RowsPerSecond)} rows/s{(waits is null ? "" : $"; {waits}")}");
        return sample;
    }

    private static double? Parse(string? text, Regex pattern, string group) =>
        text is not null && pattern.Match(text) is { Success: true } m ? double.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture) : null;

    private static double? FinishedShare(string? waits) =>
        waits is not null && Finished().Match(waits) is { Success: true } m
            ? double.Parse(m.Groups["done"].Value, CultureInfo.InvariantCulture) / double.Parse(m.Groups["all"].Value, CultureInfo.InvariantCulture)
            : null;

    [GeneratedRegex(@"\((?<ms>[0-9.]+) ms each\)")]
    private static partial Regex MsEach();

    [GeneratedRegex(@"(?<done>[0-9]+) of (?<all>[0-9]+) already summed")]
    private static partial Regex Finished();

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name)).FirstOrDefault(File.Exists);

    /// <summary>Worker mode, one rank of a job: trains the benchmark network on the full training set and, on rank 0,
    /// prints <c>MPIBENCH {json}</c> with the rows/s of the epochs after the first and the trainer's gradient-wait line.</summary>
    public static int WorkerMain(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        string data = args[1];
        int batch = int.Parse(args[2], CultureInfo.InvariantCulture), threads = int.Parse(args[3], CultureInfo.InvariantCulture);
        int bucket = int.Parse(args[4], CultureInfo.InvariantCulture), epochs = int.Parse(args[5], CultureInfo.InvariantCulture);
        var context = new BenchContext(BenchOptions.Parse(["--data", data]));
        var train = context.Train;
        var options = context.TrainerOptions(batch, epochs, threads);
        // At np = 1 this trains alone (a world of one rank), exactly as without mpirun.
        options.Distributed = DistributedTraining.Mpi(gradientBucketSize: bucket);
        string? waits = null;
        context.ML.Log += (_, e) =>
        {
            if (e.Message.Contains("gradient sums", StringComparison.Ordinal))
                waits = e.Message;
        };
        var model = context.ML.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(train).Model;
        var timed = model.History.Skip(1).ToArray();
        double seconds = timed.Sum(h => h.Elapsed.TotalSeconds);
        long rows = timed.Sum(h => h.Rows);
        if ((Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK") ?? "0") == "0")
            Console.WriteLine("MPIBENCH " + JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["rows_per_s"] = rows / seconds, ["seconds"] = seconds, ["rows"] = rows, ["waits"] = waits,
                ["train_loss"] = model.History[^1].Train.Loss,
            }));
        return 0;
    }
}
