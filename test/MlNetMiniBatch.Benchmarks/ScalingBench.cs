using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// Section S (only with <c>--only scaling</c>): thread scaling of training, issue 15's sweep for the 16-core device.
/// Rows/s of ours and of the PyTorch peer at every thread count of <c>--thread-list</c> (default 1, 2, 4, 8, 16, clipped
/// to the cores) and batch size of <c>--batches</c> (default 128, 512, 2048), the speedup of each against its own run on
/// the fewest threads, and the target: ours at 16 threads at least 8x ours at 1 thread, batch 512.
/// Per batch and thread count, ours: one untimed 1-epoch warm-up Fit, then one Fit of E epochs, the median epoch's rows/s
/// (History Elapsed). PyTorch: one process per thread count (torch.set_num_threads), all batch sizes, E + 1 epochs each,
/// the first untimed, the median of the others. E is planned from the 1-thread warm-ups so that the sweep fits
/// <c>--time-budget</c>, and replanned before every run from what the runs so far took; what cannot fit is dropped and
/// named. The two sides alternate per thread count, so a change in the machine's load hits both alike.
/// </summary>
internal static class ScalingBench
{
    private const int TargetBatch = 512, TargetThreads = 16;
    private const double TargetSpeedup = 8;

    /// <summary>Every estimate of a run's seconds is padded by this factor.</summary>
    private const double Safety = 1.15;

    /// <summary>A run of the sweep: ours at one batch size and thread count, or the peer (Batch null) at one thread count.</summary>
    private sealed record Item(int Threads, int? Batch);

    public static void Run(BenchContext context, Peers peers)
    {
        var clock = Stopwatch.StartNew();
        BenchOptions options = context.Options;
        double budget = options.TimeBudgetSeconds;
        int[] batches = options.ScalingBatches;
        var (threadCounts, clipped) = options.ScalingThreads;
        int minEpochs = options.EpochsOverride ?? (options.Quick ? 1 : 2), maxEpochs = options.EpochsOverride ?? (options.Quick ? 1 : 10);
        Report.Heading($"S. Thread scaling: 784-256-128-10 ReLU, SGD momentum 0.9, lr 0.05, threads {string.Join(",", threadCounts)}, " +
                       $"batch {string.Join(",", batches)}, time budget {budget:F0} s");
        if (clipped.Length > 0)
            Report.Note($"thread counts {string.Join(",", clipped)} left out: this machine has {Environment.ProcessorCount} logical cores");
        _ = context.Train;
        string? missing = peers.Missing("torch");
        Report.Note(missing is null ? $"PyTorch peer: {Peers.EnvironmentDescription}" : $"PyTorch peer skipped: {missing}. Our figures follow without it.");
        int t0 = threadCounts[0];
        FmaRoof.ReportSteadiness("scaling", "before the runs", threadCounts[^1], 3);

        // Calibration: the warm-up Fits of the first thread count, whose epochs give the first estimates.
        var oursEpoch = new Dictionary<int, double>();
        var oursOverhead = new Dictionary<int, double>();
        foreach (int batch in batches)
        {
            var (epochs, wall, _) = Fit(context, batch, 1, t0, null);
            oursEpoch[batch] = epochs[0];
            oursOverhead[batch] = Math.Max(0, wall - epochs[0]);
            Report.Note($"warm-up, batch {batch}, {t0} thread(s): {epochs[0]:F2} s per epoch");
        }
        // The peer before it has run: PyTorch's start (import, idx files) and epochs 1.5x ours (issue 15's figures had it
        // within 0.8-1.3x of ours on 1 thread); replaced by what its first run took.
        double torchStartup = 8;
        var torchEpoch = batches.ToDictionary(b => b, b => 1.5 * oursEpoch[b]);

        double Cost(Item item, int e) => Safety * (item.Batch is { } b
            ? (item.Threads == t0 ? 0 : oursOverhead[b] + oursEpoch[b]) + oursOverhead[b] + e * oursEpoch[b]
            : torchStartup + (e + 1) * batches.Sum(bb => torchEpoch[bb]));

        var pending = new List<Item>();
        foreach (int t in threadCounts)
        {
            pending.AddRange(batches.Select(b => new Item(t, b)));
            if (missing is null) pending.Add(new Item(t, null));
        }
        int planned = maxEpochs;
        bool first = true;
        var ours = new Dictionary<(int Batch, int Threads), (double Rps, int Epochs, double? Foreign)>();
        var torch = new Dictionary<(int Batch, int Threads), (double Rps, int Epochs)>();
        var dropped = new List<string>();
        var torchForeign = new Dictionary<int, double?>();
        string? torchInfo = null;
        while (pending.Count > 0)
        {
            // Replan before every run: the most epochs (never more than planned before) that fit what is left of the
            // budget; at the fewest, keep ours at batch 512 first, then the peer on the fewest threads (every speedup of the
            // peer is against it), then ours at the other batch sizes, then the peer's other runs.
            double left = budget - clock.Elapsed.TotalSeconds;
            int e = planned;
            while (e > minEpochs && pending.Sum(i => Cost(i, e)) > left) e--;
            var keep = new HashSet<Item>(pending);
            if (pending.Sum(i => Cost(i, e)) > left)
            {
                keep.Clear();
                double room = left;
                foreach (Item i in pending.OrderBy(i => i.Batch == TargetBatch ? 0 : i.Batch is null ? (i.Threads == t0 ? 1 : 3) : 2).ThenBy(i => i.Threads))
                    if (Cost(i, e) <= room) { keep.Add(i); room -= Cost(i, e); }
            }
            if (first || e != planned)
                Report.Note($"plan: {e} timed epoch(s) per run, {pending.Sum(i => Cost(i, e)):F0} s estimated for {pending.Count} runs, " +
                            $"{left:F0} s left of the budget");
            first = false;
            planned = e;
            Item item = pending[0];
            pending.RemoveAt(0);
            string what = item.Batch is { } ib ? $"ours, batch {ib}, {item.Threads} thread(s)" : $"PyTorch, {item.Threads} thread(s)";
            if (!keep.Contains(item))
            {
                dropped.Add(what);
                Report.Note($"dropped: {what} (estimated {Cost(item, e):F0} s, {left:F0} s left)");
                continue;
            }
            using var token = new CancellationTokenSource(TimeSpan.FromSeconds(Math.Max(1, left)));
            try
            {
                if (item.Batch is { } batch)
                {
                    if (item.Threads != t0) Fit(context, batch, 1, item.Threads, token.Token); // the warm-up
                    var snapshot = CpuSnapshot.Take();
                    var (epochs, wall, rows) = Fit(context, batch, e, item.Threads, token.Token);
                    double? foreign = snapshot.ForeignShare(CpuSnapshot.Take());
                    double median = Stats.Median(epochs);
                    oursEpoch[batch] = median;
                    oursOverhead[batch] = Math.Max(0, wall - epochs.Sum());
                    ours[(batch, item.Threads)] = (rows / median, e, foreign);
                    Report.Note($"{what}: {rows / median:N0} rows/s (median of {e} epoch(s), {string.Join(" ", epochs.Select(s => s.ToString("F2", CultureInfo.InvariantCulture)))} s)");
                    Report.Bench("scaling", $"ours/b{batch}/t{item.Threads}", ("batch", batch), ("threads", item.Threads), ("epochs", e),
                        ("median_epoch_rows_per_s", rows / median), ("epoch_seconds", epochs), ("fit_seconds", wall), ("foreign_cpu_share", foreign));
                }
                else
                {
                    Report.Note($"{what}, batch {string.Join(",", batches)}, {e + 1} epochs each (the first untimed):");
                    var watch = Stopwatch.StartNew();
                    var snapshot = CpuSnapshot.Take();
                    var results = peers.RunScript("torch", "torch_mlp.py", new[]
                    {
                        "--data", context.DataDirectory, "--batch-sizes", string.Join(",", batches), "--epochs", (e + 1).ToString(CultureInfo.InvariantCulture),
                        "--threads", item.Threads.ToString(CultureInfo.InvariantCulture), "--lr", "0.05", "--momentum", "0.9", "--seed", "1",
                    }, item.Threads, TimeSpan.FromSeconds(Math.Max(5, left)));
                    torchForeign[item.Threads] = snapshot.ForeignShare(CpuSnapshot.Take());
                    double epochTotal = 0;
                    foreach (JsonElement r in results)
                    {
                        if (r.Text("kind") == "torch-info")
                            torchInfo ??= $"PyTorch {r.Text("torch")}, {r.Text("blas") ?? "BLAS"} {r.Text("version")} kernel {r.Text("kernel") ?? "?"} ({r.Text("threading") ?? "?"})";
                        if (r.Text("kind") != "train" || r.Number("batch") is not { } b || r.Number("rows") is not { } rows
                            || !r.TryGetProperty("epoch_seconds", out JsonElement array)) continue;
                        double[] seconds = array.EnumerateArray().Select(s => s.GetDouble()).ToArray();
                        epochTotal += seconds.Sum();
                        double median = Stats.Median(seconds.Length > 1 ? seconds[1..] : seconds);
                        double perEpoch = rows / seconds.Length;
                        torchEpoch[(int)b] = median;
                        torch[((int)b, item.Threads)] = (perEpoch / median, Math.Max(1, seconds.Length - 1));
                        Report.Bench("scaling", $"torch/b{(int)b}/t{item.Threads}", ("batch", (int)b), ("threads", item.Threads),
                            ("epochs", seconds.Length - 1), ("median_epoch_rows_per_s", perEpoch / median), ("epoch_seconds", seconds));
                    }
                    if (epochTotal > 0) torchStartup = Math.Max(0, watch.Elapsed.TotalSeconds - epochTotal);
                    foreach (int b in batches.Where(b => !torch.ContainsKey((b, item.Threads))))
                        dropped.Add($"PyTorch, batch {b}, {item.Threads} thread(s) (no result{(watch.Elapsed.TotalSeconds >= left - 1 ? ": cut off at the budget" : "")})");
                }
            }
            catch (OperationCanceledException)
            {
                dropped.Add(what + " (cut off at the budget)");
                Report.Note($"{what}: cut off at the time budget");
            }
        }

        FmaRoof.ReportSteadiness("scaling", "after the runs", threadCounts[^1], 3);
        Console.WriteLine();
        Report.Note("rows/s: training rows / the median epoch's wall time (ours: History Elapsed after a 1-epoch warm-up Fit; PyTorch: its " +
                    "epoch loop, first epoch untimed); speedup: against the same side on the fewest threads; epochs: timed, ours/PyTorch.");
        if (torchInfo is not null) Report.Note($"Peer: {torchInfo}");
        var table = new Table("batch", "threads", "ours rows/s", $"ours vs {t0}t", "PyTorch rows/s", $"PyTorch vs {t0}t", "ours/PyTorch", "epochs", "other load ours/peer");
        foreach (int batch in batches)
            foreach (int t in threadCounts)
            {
                double? o = ours.TryGetValue((batch, t), out var ov) ? ov.Rps : null, p = torch.TryGetValue((batch, t), out var pv) ? pv.Rps : null;
                double? o1 = ours.TryGetValue((batch, t0), out var ob) ? ob.Rps : null, p1 = torch.TryGetValue((batch, t0), out var pb) ? pb.Rps : null;
                table.Add(batch.ToString(CultureInfo.InvariantCulture), t.ToString(CultureInfo.InvariantCulture), Report.Thousands(o), Report.Ratio(o, o1),
                    Report.Thousands(p), Report.Ratio(p, p1), Report.Ratio(o, p),
                    $"{(o is null ? "-" : ov.Epochs.ToString(CultureInfo.InvariantCulture))}/{(p is null ? "-" : pv.Epochs.ToString(CultureInfo.InvariantCulture))}",
                    $"{Percent(o is null ? null : ov.Foreign)}/{Percent(p is null ? null : torchForeign.GetValueOrDefault(t))}");
                Report.Bench("scaling", $"compare/b{batch}/t{t}", ("batch", batch), ("threads", t), ("ours_rows_per_s", o), ("torch_rows_per_s", p),
                    ("ours_speedup", o / o1), ("torch_speedup", p / p1), ("ratio", o / p));
            }
        table.Print();
        Report.Note("other load: share of the machine's cores used by other processes during our timed Fit / the peer's process.");
        double? target = t0 == 1 && ours.TryGetValue((TargetBatch, 1), out var one) && ours.TryGetValue((TargetBatch, TargetThreads), out var sixteen)
            ? sixteen.Rps / one.Rps : null;
        string why = threadCounts.Contains(1) && threadCounts.Contains(TargetThreads) ? "its runs were dropped"
            : $"needs 1 and {TargetThreads} threads in the list ({Environment.ProcessorCount} cores here)";
        Report.Note(target is { } s
            ? $"target: ours {TargetThreads}t / 1t at batch {TargetBatch} = {s:F2}x, wanted >= {TargetSpeedup:F0}x: {(s >= TargetSpeedup ? "met" : "not met")}"
            : $"target: ours {TargetThreads}t / 1t at batch {TargetBatch} >= {TargetSpeedup:F0}x: not measured ({why})");
        Targets.Add($"our rows/s, {TargetThreads} threads / 1 thread, batch {TargetBatch} (issue 15)", target is { } m ? $"{m:F2}x" : "-",
            $"≥ {TargetSpeedup:F0}x", target is { } mm ? mm >= TargetSpeedup : null);
        Report.Note(dropped.Count == 0 ? $"nothing dropped; the section took {clock.Elapsed.TotalSeconds:F0} s of its {budget:F0} s budget"
            : $"dropped to fit the {budget:F0} s budget: {string.Join("; ", dropped)}; the section took {clock.Elapsed.TotalSeconds:F0} s");
        Report.Bench("scaling", "summary", ("seconds", clock.Elapsed.TotalSeconds), ("budget_seconds", budget), ("epochs", planned),
            ("speedup_16t_b512", target), ("target", TargetSpeedup), ("met", target is { } tm ? tm >= TargetSpeedup : null), ("dropped", dropped.Count));
    }

    private static string Percent(double? share) => share is { } f ? $"{100 * f:F0}%" : "-";

    /// <summary>One Fit with the harness's settings: each epoch's seconds (History Elapsed), the Fit's wall time, rows per epoch.</summary>
    private static (double[] EpochSeconds, double Wall, double Rows) Fit(BenchContext context, int batch, int epochs, int threads, CancellationToken? token)
    {
        NeuralNetworkOptions trainerOptions = context.TrainerOptions(batch, epochs, threads);
        if (token is { } t) trainerOptions.CancellationToken = t;
        var watch = Stopwatch.StartNew();
        var history = context.ML.MulticlassClassification.Trainers.NeuralNetwork(trainerOptions).Fit(context.Train).Model.History;
        return (history.Select(h => h.Elapsed.TotalSeconds).ToArray(), watch.Elapsed.TotalSeconds, history[0].Rows);
    }
}
