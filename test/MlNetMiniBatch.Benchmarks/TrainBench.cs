using System.Globalization;
using System.Text.Json;
using Microsoft.ML;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>Section 2: training rows/s and test accuracy of the 784-256-128-10 network on Fashion-MNIST at batch
/// sizes 32, 128 and 512, against PyTorch running the same network, optimizer and epochs in a subprocess; with
/// --threads above 1 also ours at 1 thread (the thread scaling); with --torchsharp also against TorchSharp (libtorch) at 1
/// thread and at --threads.</summary>
internal static class TrainBench
{
    private static readonly int[] BatchSizes = { 32, 128, 512 };

    /// <summary>Targets of issue 15: rows/s ratio ours/PyTorch per batch size (issue 3 asked 1.2 at 128 and 512).</summary>
    private static double TargetRatio(int batch) => batch == 32 ? 2.0 : 1.3;

    /// <summary>Targets of issue 15 on a 2-core machine: our rows/s on 2 threads against 1 thread, at batch 128 and 512.</summary>
    private static double? ScalingTargetRatio(int batch, int threads) => threads != 2 ? null : batch switch { 128 => 1.4, 512 => 1.7, _ => null };

    /// <summary>Issue 15: the accuracy difference must lie within the noise, two standard errors of the difference; with
    /// one seed there is no standard error, and issue 3's ±0.5 points applies.</summary>
    private static (string Target, bool? Met) AccuracyTarget(double? delta, double? error) =>
        error is { } e ? ($"within 2 SE (±{2 * e:F2} pts)", delta is { } d ? Math.Abs(d) <= 2 * e : null)
        : ("within ±0.5 pts", delta is { } d1 ? Math.Abs(d1) <= 0.5 : null);

    /// <summary>Target of issue 15: single-thread rows/s at least level with TorchSharp (libtorch) at batch 128 and 512;
    /// none at batch 32.</summary>
    private static double? TorchSharpTargetRatio(int batch) => batch is 128 or 512 ? 1.0 : null;

    private sealed record RunResult(int Batch, bool Noise, double RowsPerSecond, double MedianEpochRowsPerSecond, double Seconds,
        long Rows, double Accuracy, double FitSeconds, double? ForeignShare, IReadOnlyList<double> LaterEpochs);

    public static void Run(BenchContext context, Peers peers)
    {
        BenchOptions options = context.Options;
        int epochs = options.Epochs, threads = options.Threads;
        Report.Heading($"2. Training: 784-256-128-10 ReLU, SGD momentum 0.9, lr 0.05, shuffled, {epochs} epoch(s), {threads} thread(s)");
        _ = context.Train; // load and cache before anything is timed

        // Ours and the peer alternate per batch size, so a change in the machine's load hits both sides alike.
        var ours = new List<RunResult>();
        var samples = BatchSizes.ToDictionary(b => b, b => new SeedSamples());
        var torch = new Dictionary<int, (double RowsPerSecond, double Accuracy, double? Foreign)>();
        string? torchInfo = null;
        string? missing = peers.Missing("torch");
        if (missing is not null)
            Report.Note($"PyTorch peer skipped: {missing}. Our figures follow without ratios.");
        TorchSharpRuns? sharp = null;
        if (options.TorchSharp)
        {
            // Built here, before anything of this section is timed.
            string? sharpMissing = peers.TorchSharpMissing();
            if (sharpMissing is not null)
                Report.Note($"TorchSharp peer skipped: {sharpMissing}.");
            else
                sharp = new TorchSharpRuns(threads);
        }
        foreach (int batch in BatchSizes)
        {
            ours.Add(TrainOurs(context, batch, noise: false, epochs, threads));
            if (batch == 128)
                ours.Add(TrainOurs(context, 128, noise: true, epochs, threads));
            // Ours at 1 thread (the same Fit, NumberOfThreads = 1): the thread scaling, and the TorchSharp peer's comparison.
            if (threads != 1)
            {
                RunResult single = TrainOurs(context, batch, noise: false, epochs, threads: 1);
                samples[batch].AddSingle(single.RowsPerSecond, single.Accuracy);
                samples[batch].SingleForeign = single.ForeignShare;
            }
            if (sharp is not null)
            {
                foreach (int t in sharp.ThreadCounts)
                {
                    Report.Note($"TorchSharp, batch {batch}, {t} thread(s):");
                    var sharpSnapshot = CpuSnapshot.Take();
                    var sharpResults = RunTorchSharp(context, peers, new[] { batch }, seed: 1, epochs, t);
                    CollectTorchSharp(sharp, sharpResults, seed: 1, epochs, t, sharpSnapshot.ForeignShare(CpuSnapshot.Take()));
                }
            }
            if (missing is not null) continue;
            Report.Note($"PyTorch, batch {batch} ({Peers.EnvironmentDescription}):");
            var snapshot = CpuSnapshot.Take();
            var results = RunTorch(context, peers, new[] { batch }, seed: 1, epochs, threads);
            double? foreign = snapshot.ForeignShare(CpuSnapshot.Take());
            foreach (JsonElement r in results)
            {
                if (r.Text("kind") == "torch-info")
                    torchInfo = $"PyTorch {r.Text("torch")}, {r.Number("torch_threads")} threads, {r.Text("blas") ?? "BLAS"} {r.Text("version")} kernel {r.Text("kernel") ?? "?"} ({r.Text("threading") ?? "?"})";
                else if (r.Text("kind") == "train" && r.Number("batch") is { } b && r.Number("rows_per_s") is { } rps && r.Number("test_accuracy") is { } acc)
                {
                    torch[(int)b] = (rps, acc, foreign);
                    samples[(int)b].TorchLaterEpochs.AddRange(LaterEpochs(r));
                    Report.Bench("train", $"torch/b{(int)b}", ("batch", (int)b), ("epochs", epochs), ("threads", threads),
                        ("rows_per_s", rps), ("test_accuracy", acc), ("seconds", r.Number("seconds")), ("foreign_cpu_share", foreign));
                }
            }
        }

        // Every seed is a complete timed run on each side: rows/s are the medians over seeds (single runs on this shared
        // machine move by 10-30%), accuracies the means (one seed's accuracy moves by 1-2 points).
        int seeds = options.Seeds;
        foreach (RunResult run in ours.Where(r => !r.Noise))
        {
            samples[run.Batch].Add(run.RowsPerSecond, run.Accuracy, torch.TryGetValue(run.Batch, out var t) ? t : null);
            samples[run.Batch].OursLaterEpochs.AddRange(run.LaterEpochs);
        }
        if (seeds > 1)
            RepeatSeeds(context, peers, samples, seeds, epochs, threads, missing is null, sharp);
        // The noise estimator's single run compares with seed 1's run, before the seeds' medians replace it.
        RunResult off = ours.First(r => r.Batch == 128 && !r.Noise), on = ours.First(r => r.Noise);
        for (int i = 0; i < ours.Count; i++)
            if (!ours[i].Noise)
                ours[i] = ours[i] with { RowsPerSecond = Stats.Median(samples[ours[i].Batch].OursRps), Accuracy = samples[ours[i].Batch].OursAcc.Average() };
        foreach (int batch in torch.Keys.ToList())
            torch[batch] = (Stats.Median(samples[batch].TorchRps), samples[batch].TorchAcc.Average(), torch[batch].Foreign);

        Console.WriteLine();
        Report.Note($"rows/s = training rows / sum of the epochs' wall time (ours: History Elapsed; PyTorch{(sharp is null ? "" : " and TorchSharp")}: the epoch loops);");
        Report.Note(seeds > 1
            ? $"rows/s: median over seeds 1..{seeds}, each a full timed run, the two sides alternating; accuracy: mean over the same runs, ± the standard error of the difference."
            : "rows/s and accuracy: seed 1 on each side.");
        Report.Note("initialisation: both He-uniform before ReLU, Glorot-uniform output layer, zero biases (different random draws).");
        if (torchInfo is not null) Report.Note($"Peer: {torchInfo}");
        var table = new Table("batch", "ours rows/s", "PyTorch rows/s", "ours/PyTorch", "target", "ours acc", "PyTorch acc", "Δacc (pts)", "other load ours/peer");
        foreach (RunResult run in ours.Where(r => !r.Noise))
        {
            (double Rps, double Acc, double? Foreign)? peer = torch.TryGetValue(run.Batch, out var p) ? p : null;
            double? ratio = peer is { } pp ? run.RowsPerSecond / pp.Rps : null;
            double? delta = peer is { } pa ? 100 * (run.Accuracy - pa.Acc) : null;
            double? error = samples[run.Batch].DifferenceStandardError() is { } se ? 100 * se : null;
            string target = $"≥{TargetRatio(run.Batch):F1}x" + (ratio is { } rt ? (rt >= TargetRatio(run.Batch) ? " met" : " not met") : "");
            var (accuracyTarget, accuracyMet) = AccuracyTarget(delta, error);
            table.Add(run.Batch.ToString(CultureInfo.InvariantCulture), Report.Thousands(run.RowsPerSecond), Report.Thousands(peer?.Rps),
                Report.Ratio(run.RowsPerSecond, peer?.Rps), target, Report.F(run.Accuracy, 4), Report.F(peer?.Acc, 4),
                delta is { } d ? d.ToString("+0.00;-0.00", CultureInfo.InvariantCulture) + (error is { } e ? $" ±{e:F2}" : "") : "-",
                $"{Percent(run.ForeignShare)}/{Percent(peer?.Foreign)}");
            Targets.Add($"training rows/s vs PyTorch, {threads} threads, batch {run.Batch} (issue 15)", ratio is { } shownRatio ? $"{shownRatio:F2}x" : "-",
                $"≥ {TargetRatio(run.Batch):F1}x", ratio is { } r2 ? r2 >= TargetRatio(run.Batch) : null);
            Targets.Add($"test accuracy vs PyTorch, batch {run.Batch} (issue 15)", delta is { } shownDelta ? $"{shownDelta:+0.00;-0.00} pts" : "-",
                accuracyTarget, accuracyMet);
            Report.Bench("train", $"compare/b{run.Batch}", ("batch", run.Batch), ("epochs", epochs), ("threads", threads),
                ("ours_rows_per_s", run.RowsPerSecond), ("torch_rows_per_s", peer?.Rps), ("ratio", ratio), ("target_ratio", TargetRatio(run.Batch)),
                ("ratio_met", ratio is { } r1 ? r1 >= TargetRatio(run.Batch) : null), ("ours_accuracy", run.Accuracy), ("torch_accuracy", peer?.Acc),
                ("accuracy_delta_points", delta), ("accuracy_delta_standard_error_points", error), ("seeds", seeds),
                ("accuracy_target", accuracyTarget), ("accuracy_met", accuracyMet));
        }
        table.Print();
        Report.Note("other load: share of the machine's cores used by other processes while each side trained.");
        if (missing is null)
            SameStartCheck.Run(context, peers, BatchSizes, threads);
        if (options.AccuracySeeds is { } accuracySeeds)
        {
            if (missing is null)
                PrintMoreSeedsAccuracy(context, peers, samples, seeds, accuracySeeds, epochs, threads);
            else
                Report.Note($"--accuracy-seeds {accuracySeeds} not run: the PyTorch peer is missing: {missing}.");
        }
        PrintSteadyState(samples, threads);
        if (threads != 1)
            PrintScaling(samples, seeds, threads);
        if (sharp is not null)
            PrintTorchSharp(sharp, samples, seeds, epochs, threads);
        else if (options.TorchSharp)
            foreach (int batch in BatchSizes)
                if (TorchSharpTargetRatio(batch) is { } t)
                    Targets.Add($"training rows/s vs TorchSharp, 1 thread, batch {batch} (issue 15)", "-", $"≥ {t:F1}x", null);

        // One run each is too noisy on a shared 2-core machine (single runs measured 4% to 38%): alternate short
        // runs with the estimator off and on, and compare the median epoch of each arm.
        var (offMedian, onMedian) = InterleavedNoiseOverhead(context, threads, repetitions: epochs == 1 ? 3 : 6);
        double overhead = 100 * (off.RowsPerSecond / on.RowsPerSecond - 1);
        double overheadMedianEpoch = 100 * (offMedian / onMedian - 1);
        Console.WriteLine();
        var noise = new Table("batch 128", "rows/s (seed 1's runs above)", "rows/s (median of alternating 1-epoch runs)", "test acc (seed 1)");
        noise.Add("MeasureGradientNoise = false", Report.Thousands(off.RowsPerSecond), Report.Thousands(offMedian), Report.F(off.Accuracy, 4));
        noise.Add("MeasureGradientNoise = true", Report.Thousands(on.RowsPerSecond), Report.Thousands(onMedian), Report.F(on.Accuracy, 4));
        noise.Print();
        Report.Note($"Gradient-noise overhead: {overheadMedianEpoch:F1}% on the alternating runs' medians ({overhead:F1}% between the two " +
                    $"single runs above) (target < 5%: {(overheadMedianEpoch < 5 ? "met" : "not met")})");
        Targets.Add("MeasureGradientNoise overhead, batch 128 (issue 6)", $"{overheadMedianEpoch:F1}%", "< 5%", overheadMedianEpoch < 5);
        Report.Bench("train", "noise-overhead/b128", ("rows_per_s_off", off.RowsPerSecond), ("rows_per_s_on", on.RowsPerSecond),
            ("overhead_percent", overhead), ("overhead_percent_median_epoch", overheadMedianEpoch), ("target_percent", 5.0), ("met", overheadMedianEpoch < 5));
    }

    /// <summary>Median epoch rows/s at batch 128 with the noise estimator off and on, from alternating 1-epoch runs.</summary>
    private static (double Off, double On) InterleavedNoiseOverhead(BenchContext context, int threads, int repetitions)
    {
        var rates = new Dictionary<bool, List<double>> { [false] = new(), [true] = new() };
        for (int i = 0; i < repetitions; i++)
        {
            foreach (bool measure in new[] { false, true })
            {
                NeuralNetworkOptions options = context.TrainerOptions(128, 1, threads);
                options.MeasureGradientNoise = measure;
                var summary = context.ML.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(context.Train).Model.History[0];
                rates[measure].Add(summary.Rows / summary.Elapsed.TotalSeconds);
            }
        }
        return (Stats.Median(rates[false]), Stats.Median(rates[true]));
    }

    /// <summary>Per batch size, one value per seed and side.</summary>
    private sealed class SeedSamples
    {
        public List<double> OursRps { get; } = new();
        public List<double> OursAcc { get; } = new();
        public List<double> TorchRps { get; } = new();
        public List<double> TorchAcc { get; } = new();

        /// <summary>Rows/s of every run's epochs after its first: the steady state, without either side's warm-up.</summary>
        public List<double> OursLaterEpochs { get; } = new();
        public List<double> TorchLaterEpochs { get; } = new();

        /// <summary>Ours at 1 thread, when the section runs on more.</summary>
        public List<double> SingleRps { get; } = new();
        public List<double> SingleAcc { get; } = new();

        /// <summary>Other processes' share of the cores during seed 1's run at 1 thread.</summary>
        public double? SingleForeign { get; set; }

        public void AddSingle(double rowsPerSecond, double accuracy)
        {
            SingleRps.Add(rowsPerSecond);
            SingleAcc.Add(accuracy);
        }

        public void Add(double rowsPerSecond, double accuracy, (double RowsPerSecond, double Accuracy, double? Foreign)? torch)
        {
            OursRps.Add(rowsPerSecond);
            OursAcc.Add(accuracy);
            if (torch is { } t)
                AddTorch(t.RowsPerSecond, t.Accuracy);
        }

        public void AddTorch(double rowsPerSecond, double accuracy)
        {
            TorchRps.Add(rowsPerSecond);
            TorchAcc.Add(accuracy);
        }

        /// <summary>Standard error of mean(ours) − mean(PyTorch) from the spread of each side's seeds.</summary>
        public double? DifferenceStandardError() =>
            OursAcc.Count > 1 && TorchAcc.Count > 1 ? Stats.DifferenceStandardError(OursAcc, TorchAcc) : null;
    }

    /// <summary>Seeds 2..n: ours at every batch size, then the peer at every batch size, seed by seed; then, on more than
    /// one thread, ours at 1 thread at every batch size; with the TorchSharp peer, then TorchSharp at every batch size, at
    /// 1 thread and at N.</summary>
    private static void RepeatSeeds(BenchContext context, Peers peers, Dictionary<int, SeedSamples> samples, int seeds, int epochs,
        int threads, bool withPeer, TorchSharpRuns? sharp)
    {
        for (int seed = 2; seed <= seeds; seed++)
        {
            Report.Note($"seed {seed} of {seeds} ...");
            foreach (int batch in BatchSizes)
            {
                var (rowsPerSecond, accuracy, laterEpochs) = FitSeed(context, batch, epochs, threads, seed);
                samples[batch].OursRps.Add(rowsPerSecond);
                samples[batch].OursAcc.Add(accuracy);
                samples[batch].OursLaterEpochs.AddRange(laterEpochs);
                Report.Bench("train", $"ours/b{batch}/seed{seed}", ("batch", batch), ("seed", seed), ("rows_per_s", rowsPerSecond), ("test_accuracy", accuracy));
            }
            if (withPeer)
            {
                var results = RunTorch(context, peers, BatchSizes, seed, epochs, threads);
                foreach (JsonElement r in results)
                    if (r.Text("kind") == "train" && r.Number("batch") is { } b && r.Number("rows_per_s") is { } rps && r.Number("test_accuracy") is { } acc
                        && samples.TryGetValue((int)b, out var sample))
                    {
                        sample.AddTorch(rps, acc);
                        sample.TorchLaterEpochs.AddRange(LaterEpochs(r));
                        Report.Bench("train", $"torch/b{(int)b}/seed{seed}", ("batch", (int)b), ("seed", seed), ("rows_per_s", rps), ("test_accuracy", acc));
                    }
            }
            if (threads != 1)
                foreach (int batch in BatchSizes)
                {
                    var (rowsPerSecond, accuracy, _) = FitSeed(context, batch, epochs, threads: 1, seed);
                    samples[batch].AddSingle(rowsPerSecond, accuracy);
                    Report.Bench("train", $"ours/b{batch}/t1/seed{seed}", ("batch", batch), ("seed", seed), ("threads", 1),
                        ("rows_per_s", rowsPerSecond), ("test_accuracy", accuracy));
                }
            if (sharp is null) continue;
            foreach (int t in sharp.ThreadCounts)
                CollectTorchSharp(sharp, RunTorchSharp(context, peers, BatchSizes, seed, epochs, t), seed, epochs, t, foreign: null);
        }
    }

    /// <summary>One timed Fit of ours with the section's settings and <paramref name="seed"/>: rows/s over its epochs and test accuracy.</summary>
    private static (double RowsPerSecond, double Accuracy, IReadOnlyList<double> LaterEpochs) FitSeed(BenchContext context, int batch, int epochs, int threads, int seed)
    {
        NeuralNetworkOptions options = context.TrainerOptions(batch, epochs, threads);
        options.Seed = seed;
        var model = context.ML.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(context.Train);
        double accuracy = context.ML.MulticlassClassification.Evaluate(model.Transform(context.Test)).MicroAccuracy;
        double rowsPerSecond = model.Model.History.Sum(h => h.Rows) / model.Model.History.Sum(h => h.Elapsed.TotalSeconds);
        return (rowsPerSecond, accuracy, LaterEpochs(model.Model.History));
    }

    /// <summary>The TorchSharp peer's samples, per batch size and thread count.</summary>
    private sealed class TorchSharpRuns
    {
        private readonly Dictionary<(int Batch, int Threads), (List<double> Rps, List<double> Acc)> _peer = new();

        public TorchSharpRuns(int threads) => ThreadCounts = threads == 1 ? new[] { 1 } : new[] { 1, threads };

        /// <summary>The peer runs at 1 thread and, when it differs, at the section's thread count.</summary>
        public int[] ThreadCounts { get; }

        /// <summary>The peer's description per thread count, from its torch-info line.</summary>
        public SortedDictionary<int, string> Info { get; } = new();

        /// <summary>Other processes' share of the cores during seed 1, per (batch, threads).</summary>
        public Dictionary<(int Batch, int Threads), double?> PeerForeign { get; } = new();

        public void AddPeer(int batch, int threads, double rowsPerSecond, double accuracy)
        {
            if (!_peer.TryGetValue((batch, threads), out var lists)) _peer[(batch, threads)] = lists = (new(), new());
            lists.Rps.Add(rowsPerSecond);
            lists.Acc.Add(accuracy);
        }

        /// <summary>Median rows/s and mean accuracy of the peer, null where it reported nothing.</summary>
        public (double Rps, double Acc)? Peer(int batch, int threads) =>
            _peer.TryGetValue((batch, threads), out var l) && l.Rps.Count > 0 ? (Stats.Median(l.Rps), l.Acc.Average()) : null;

        /// <summary>Ours at 1 thread: the extra runs, or the section's own when it runs at 1 thread.</summary>
        public static (double Rps, double Acc, int Count)? Ours(SeedSamples main, int threads) =>
            threads == 1 ? (Stats.Median(main.OursRps), main.OursAcc.Average(), main.OursRps.Count)
            : main.SingleRps.Count > 0 ? (Stats.Median(main.SingleRps), main.SingleAcc.Average(), main.SingleRps.Count) : null;
    }

    /// <summary>The TorchSharp peer at the given batch sizes, seed and thread count.</summary>
    private static IReadOnlyList<JsonElement> RunTorchSharp(BenchContext context, Peers peers, int[] batchSizes, int seed, int epochs, int threads) =>
        peers.RunTorchSharp(PeerArguments(context, batchSizes, seed, epochs, threads), threads, TimeSpan.FromMinutes(60));

    private static void CollectTorchSharp(TorchSharpRuns sharp, IReadOnlyList<JsonElement> results, int seed, int epochs, int threads, double? foreign)
    {
        foreach (JsonElement r in results)
        {
            if (r.Text("kind") == "torch-info")
                sharp.Info[threads] = $"TorchSharp {r.Text("torchsharp")}, libtorch {r.Text("torch")}, {r.Number("torch_threads")} thread(s), " +
                                      $"{r.Number("interop_threads")} inter-op" + (r.Text("libstdcxx_compat") is { } compat ? $" ({compat})" : "");
            else if (r.Text("kind") == "train" && r.Number("batch") is { } b && r.Number("rows_per_s") is { } rps && r.Number("test_accuracy") is { } acc)
            {
                sharp.AddPeer((int)b, threads, rps, acc);
                if (seed == 1) sharp.PeerForeign[((int)b, threads)] = foreign;
                Report.Bench("train", $"torchsharp/b{(int)b}/t{threads}{(seed == 1 ? "" : $"/seed{seed}")}", ("batch", (int)b), ("epochs", epochs),
                    ("threads", threads), ("seed", seed), ("rows_per_s", rps), ("test_accuracy", acc), ("seconds", r.Number("seconds")),
                    ("foreign_cpu_share", foreign));
            }
        }
    }

    /// <summary>Our rows/s on the section's threads against 1 thread, the same seeds (issue 15's targets on 2 cores).</summary>
    private static void PrintScaling(Dictionary<int, SeedSamples> samples, int seeds, int threads)
    {
        Console.WriteLine();
        string n = threads.ToString(CultureInfo.InvariantCulture);
        var table = new Table("batch", "ours 1t rows/s", $"ours {n}t rows/s", $"{n}t / 1t", "target", "ours acc 1t", $"ours acc {n}t");
        foreach (int batch in BatchSizes)
        {
            SeedSamples main = samples[batch];
            double? single = main.SingleRps.Count > 0 ? Stats.Median(main.SingleRps) : null;
            double? multi = main.OursRps.Count > 0 ? Stats.Median(main.OursRps) : null;
            double? ratio = single is { } s1 && multi is { } sn ? sn / s1 : null;
            double? target = ScalingTargetRatio(batch, threads);
            bool? met = target is { } tg && ratio is { } r ? r >= tg : null;
            table.Add(batch.ToString(CultureInfo.InvariantCulture), Report.Thousands(single), Report.Thousands(multi), Report.Ratio(multi, single),
                target is { } shown ? $"≥{shown:F1}x" + (met is { } m ? (m ? " met" : " not met") : "") : "-",
                Report.F(main.SingleAcc.Count > 0 ? main.SingleAcc.Average() : null, 4), Report.F(main.OursAcc.Count > 0 ? main.OursAcc.Average() : null, 4));
            if (target is { } t)
                Targets.Add($"our rows/s, {n} threads / 1 thread, batch {batch} (issue 15)", ratio is { } shownRatio ? $"{shownRatio:F2}x" : "-",
                    $"≥ {t:F1}x", met);
            Report.Bench("train", $"scaling/b{batch}", ("batch", batch), ("threads", threads), ("seeds", seeds), ("ours_rows_per_s_1t", single),
                ("ours_rows_per_s_nt", multi), ("ratio", ratio), ("target_ratio", target), ("met", met));
        }
        table.Print();
        Report.Note(seeds > 1
            ? $"rows/s: median over seeds 1..{seeds}, each a full timed run at 1 thread after the runs on {n}; accuracy: mean over the same runs."
            : "rows/s and accuracy: seed 1.");
    }

    /// <summary>Ours against TorchSharp at 1 thread (the target of issue 15) and at the section's thread count.</summary>
    private static void PrintTorchSharp(TorchSharpRuns sharp, Dictionary<int, SeedSamples> samples, int seeds, int epochs, int threads)
    {
        Console.WriteLine();
        foreach (string info in sharp.Info.Values) Report.Note($"Peer: {info}");
        Report.Note(threads == 1
            ? "ours at 1 thread: the runs above."
            : $"ours at 1 thread: the same Fit as above with NumberOfThreads = 1, run before the peer at each batch size and seed; ours at {threads} threads: the table above.");
        bool multi = threads != 1;
        string n = threads.ToString(CultureInfo.InvariantCulture);
        var headers = new List<string> { "batch", "ours 1t rows/s", "TorchSharp 1t rows/s", "ours/TorchSharp 1t", "target 1t" };
        if (multi) headers.AddRange(new[] { $"ours {n}t rows/s", $"TorchSharp {n}t rows/s", $"ours/TorchSharp {n}t" });
        headers.AddRange(new[] { "ours acc 1t", "TorchSharp acc 1t" });
        if (multi) headers.Add($"TorchSharp acc {n}t");
        headers.Add("other load ours/peer 1t");
        var table = new Table(headers.ToArray());
        foreach (int batch in BatchSizes)
        {
            SeedSamples main = samples[batch];
            var ours1 = TorchSharpRuns.Ours(main, threads);
            double? oursN = main.OursRps.Count > 0 ? Stats.Median(main.OursRps) : null;
            var peer1 = sharp.Peer(batch, 1);
            var peerN = sharp.Peer(batch, threads);
            double? ratio1 = ours1 is { } o1 && peer1 is { } p1 ? o1.Rps / p1.Rps : null;
            double? ratioN = oursN is { } oN && peerN is { } pN ? oN / pN.Rps : null;
            double? target = TorchSharpTargetRatio(batch);
            bool? met = target is { } tg && ratio1 is { } r1 ? r1 >= tg : null;
            var cells = new List<string>
            {
                batch.ToString(CultureInfo.InvariantCulture), Report.Thousands(ours1?.Rps), Report.Thousands(peer1?.Rps), Report.Ratio(ours1?.Rps, peer1?.Rps),
                target is { } shown ? $"≥{shown:F1}x" + (met is { } m ? (m ? " met" : " not met") : "") : "-",
            };
            if (multi) cells.AddRange(new[] { Report.Thousands(oursN), Report.Thousands(peerN?.Rps), Report.Ratio(oursN, peerN?.Rps) });
            cells.AddRange(new[] { Report.F(ours1?.Acc, 4), Report.F(peer1?.Acc, 4) });
            if (multi) cells.Add(Report.F(peerN?.Acc, 4));
            double? oursForeign = multi ? main.SingleForeign : null;
            cells.Add($"{Percent(oursForeign)}/{Percent(sharp.PeerForeign.GetValueOrDefault((batch, 1)))}");
            table.Add(cells.ToArray());
            if (target is { } t)
                Targets.Add($"training rows/s vs TorchSharp, 1 thread, batch {batch} (issue 15)", ratio1 is { } shownRatio ? $"{shownRatio:F2}x" : "-",
                    $"≥ {t:F1}x", met);
            Report.Bench("train", $"compare-torchsharp/b{batch}", ("batch", batch), ("epochs", epochs), ("threads", threads), ("seeds", seeds),
                ("ours_rows_per_s_1t", ours1?.Rps), ("torchsharp_rows_per_s_1t", peer1?.Rps), ("ratio_1t", ratio1), ("target_ratio_1t", target),
                ("ratio_1t_met", met), ("ours_rows_per_s_nt", oursN), ("torchsharp_rows_per_s_nt", peerN?.Rps), ("ratio_nt", ratioN),
                ("ours_accuracy_1t", ours1?.Acc), ("torchsharp_accuracy_1t", peer1?.Acc), ("torchsharp_accuracy_nt", peerN?.Acc));
        }
        table.Print();
        Report.Note(seeds > 1
            ? $"rows/s: median over seeds 1..{seeds} on each side; accuracy: mean over the same runs. other load: seed 1."
            : "rows/s and accuracy: seed 1 on each side.");
    }

    /// <summary>
    /// The accuracy difference over seeds 1..<paramref name="lastSeed"/>: the timed seeds' accuracies plus one more run a
    /// side and batch size for each further seed, ours then the peer. Ten seeds see one draw of ten: a seed's accuracy
    /// moves by 1–2 points at batch 32, so a fixed set of ten can sit a standard error or two off on either side.
    /// </summary>
    private static void PrintMoreSeedsAccuracy(BenchContext context, Peers peers, Dictionary<int, SeedSamples> samples, int timedSeeds,
        int lastSeed, int epochs, int threads)
    {
        var ours = BatchSizes.ToDictionary(b => b, b => new List<double>(samples[b].OursAcc));
        var peer = BatchSizes.ToDictionary(b => b, b => new List<double>(samples[b].TorchAcc));
        for (int seed = timedSeeds + 1; seed <= lastSeed; seed++)
        {
            Report.Note($"accuracy seed {seed} of {lastSeed} ...");
            foreach (int batch in BatchSizes)
                ours[batch].Add(FitSeed(context, batch, epochs, threads, seed).Accuracy);
            foreach (JsonElement r in RunTorch(context, peers, BatchSizes, seed, epochs, threads))
                if (r.Text("kind") == "train" && r.Number("batch") is { } b && r.Number("test_accuracy") is { } acc && peer.TryGetValue((int)b, out var list))
                    list.Add(acc);
        }
        var table = new Table("batch", "seeds", "ours acc (SD pts)", "PyTorch acc (SD pts)", "Δacc (pts)", "within 2 SE");
        foreach (int batch in BatchSizes)
        {
            List<double> o = ours[batch], p = peer[batch];
            if (o.Count < 2 || p.Count < 2)
                continue;
            double delta = 100 * (o.Average() - p.Average());
            double error = 100 * Stats.DifferenceStandardError(o, p);
            table.Add(batch.ToString(CultureInfo.InvariantCulture), $"{o.Count} / {p.Count}",
                $"{o.Average():F4} ({100 * Math.Sqrt(Stats.Variance(o)):F2})", $"{p.Average():F4} ({100 * Math.Sqrt(Stats.Variance(p)):F2})",
                $"{delta:+0.00;-0.00} ±{error:F2}", Math.Abs(delta) <= 2 * error ? "yes" : "no");
            Report.Bench("train", $"accuracy-seeds/b{batch}", ("batch", batch), ("ours_seeds", o.Count), ("torch_seeds", p.Count),
                ("ours_accuracy", o.Average()), ("torch_accuracy", p.Average()), ("accuracy_delta_points", delta),
                ("accuracy_delta_standard_error_points", error), ("within_2_se", Math.Abs(delta) <= 2 * error));
        }
        Console.WriteLine();
        Report.Note($"Accuracy over seeds 1..{lastSeed} (seeds {timedSeeds + 1}..{lastSeed} run for accuracy alone, {threads} thread(s) each side; " +
                    $"ours gives the same bits on any thread count). Issue 15's check is the {timedSeeds}-seed one above.");
        table.Print();
    }

    /// <summary>The PyTorch peer with our settings (SGD momentum 0.9, lr 0.05) at the given batch sizes and seed.</summary>
    private static IReadOnlyList<JsonElement> RunTorch(BenchContext context, Peers peers, int[] batchSizes, int seed, int epochs, int threads) =>
        peers.RunScript("torch", "torch_mlp.py", PeerArguments(context, batchSizes, seed, epochs, threads), threads, TimeSpan.FromMinutes(60));

    /// <summary>The command line both torch peers take (SGD momentum 0.9, lr 0.05, as ours).</summary>
    private static string[] PeerArguments(BenchContext context, int[] batchSizes, int seed, int epochs, int threads) => new[]
    {
        "--data", context.DataDirectory, "--batch-sizes", string.Join(",", batchSizes), "--epochs", epochs.ToString(CultureInfo.InvariantCulture),
        "--threads", threads.ToString(CultureInfo.InvariantCulture), "--lr", "0.05", "--momentum", "0.9", "--seed", seed.ToString(CultureInfo.InvariantCulture),
    };

    private static string Percent(double? share) => share is { } f ? $"{100 * f:F0}%" : "-";

    /// <summary>The same runs without their first epochs. Each PyTorch run is a fresh process whose first epoch also
    /// warms up its allocator and thread pool, while ours run in a warm process; the targets above count every epoch, as a
    /// user's run would, and this shows how much of the ratio the warm-up is.</summary>
    private static void PrintSteadyState(Dictionary<int, SeedSamples> samples, int threads)
    {
        var measured = BatchSizes.Where(b => samples[b].OursLaterEpochs.Count > 0 && samples[b].TorchLaterEpochs.Count > 0).ToList();
        if (measured.Count == 0)
            return;
        var table = new Table("batch", "ours rows/s", "PyTorch rows/s", "ours/PyTorch");
        foreach (int batch in measured)
        {
            SeedSamples s = samples[batch];
            double ours = Stats.Median(s.OursLaterEpochs), peer = Stats.Median(s.TorchLaterEpochs);
            table.Add(batch.ToString(CultureInfo.InvariantCulture), Report.Thousands(ours), Report.Thousands(peer), Report.Ratio(ours, peer));
            Report.Bench("train", $"steady/b{batch}", ("batch", batch), ("threads", threads), ("ours_rows_per_s", ours), ("torch_rows_per_s", peer),
                ("ratio", ours / peer), ("ours_epochs", s.OursLaterEpochs.Count), ("torch_epochs", s.TorchLaterEpochs.Count));
        }
        Console.WriteLine();
        Report.Note($"Steady state, {threads} threads: the median over every run's epochs after its first (the runs above).");
        table.Print();
    }

    private static RunResult TrainOurs(BenchContext context, int batch, bool noise, int epochs, int threads)
    {
        MLContext ml = context.ML;
        NeuralNetworkOptions trainerOptions = context.TrainerOptions(batch, epochs, threads);
        trainerOptions.MeasureGradientNoise = noise;
        bool sectionThreads = threads == context.Options.Threads;
        string label = $"batch {batch}{(noise ? " + noise" : "")}{(sectionThreads ? "" : $", {threads} thread(s)")}";
        trainerOptions.OnEpochEnd = e =>
            Report.Note($"ours, {label}, epoch {e.Summary.Epoch}/{epochs}: {e.Summary.Rows / e.Summary.Elapsed.TotalSeconds:N0} rows/s ({e.Summary.Elapsed.TotalSeconds:F1} s)");
        var snapshot = CpuSnapshot.Take();
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        NeuralNetworkPredictionTransformer model = ml.MulticlassClassification.Trainers.NeuralNetwork(trainerOptions).Fit(context.Train);
        double fitSeconds = stopwatch.Elapsed.TotalSeconds;
        double? foreign = snapshot.ForeignShare(CpuSnapshot.Take());
        IReadOnlyList<EpochSummary> history = model.Model.History;
        long rows = history.Sum(h => h.Rows);
        double seconds = history.Sum(h => h.Elapsed.TotalSeconds);
        double medianEpoch = Stats.Median(history.Select(h => h.Rows / h.Elapsed.TotalSeconds).ToList());
        double accuracy = ml.MulticlassClassification.Evaluate(model.Transform(context.Test)).MicroAccuracy;
        if (batch == 128 && !noise && sectionThreads) context.Model = model;
        Report.Bench("train", $"ours/b{batch}{(noise ? "-noise" : "")}{(sectionThreads ? "" : $"/t{threads}")}", ("batch", batch), ("epochs", epochs), ("threads", threads),
            ("measure_gradient_noise", noise), ("rows_per_s", rows / seconds), ("median_epoch_rows_per_s", medianEpoch), ("rows", rows),
            ("seconds", seconds), ("fit_seconds", fitSeconds), ("test_accuracy", accuracy), ("foreign_cpu_share", foreign),
            ("data", context.DataKind));
        return new RunResult(batch, noise, rows / seconds, medianEpoch, seconds, rows, accuracy, fitSeconds, foreign, LaterEpochs(history));
    }

    /// <summary>Rows/s of every epoch of a Fit after its first.</summary>
    private static IReadOnlyList<double> LaterEpochs(IReadOnlyList<EpochSummary> history) =>
        history.Skip(1).Select(h => h.Rows / h.Elapsed.TotalSeconds).ToList();

    /// <summary>Rows/s of every epoch of a peer's run after its first, from its epoch_seconds (each epoch is all the rows).</summary>
    private static IReadOnlyList<double> LaterEpochs(JsonElement run)
    {
        if (!run.TryGetProperty("epoch_seconds", out JsonElement times) || times.ValueKind != JsonValueKind.Array
            || run.Number("rows") is not { } rows || run.Number("epochs") is not { } epochs || epochs < 1)
            return [];
        return times.EnumerateArray().Skip(1).Where(t => t.ValueKind == JsonValueKind.Number && t.GetDouble() > 0)
            .Select(t => rows / epochs / t.GetDouble()).ToList();
    }
}
