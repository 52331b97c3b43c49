using Microsoft.ML;
using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// Section B (only with <c>--only breakdown</c>): where a training step's time goes, at batch 32, 128 and 512 on one
/// thread and on <c>--threads</c>: waiting for the reader, forward, loss, backward and optimizer step; inside them, how
/// long the calling thread ran its own share of the worker pool's items and how long it waited for the workers'; the
/// GEMMs' GFLOPS against the FMA roof; the bytes a step must at least stream; and what reading a row costs.
/// </summary>
internal static class BreakdownBench
{
    public static void Run(BenchContext context)
    {
        BenchOptions options = context.Options;
        int[] threadCounts = new[] { 1, options.Threads }.Distinct().ToArray();
        int repetitions = options.Quick ? 1 : options.Full ? 5 : 3;
        Report.Heading($"B. Step breakdown: 784-256-128-10 ReLU, {OptimizerName(options.BreakdownOptimizer)}, shuffled, 1 and {options.Threads} thread(s), " +
                       $"median epoch of {repetitions}");
        _ = context.Train;
        var beforeRoof = CpuSnapshot.Take();
        var (roofOne, roofMany) = FmaRoof.MeasureWithRetry(options.Threads, 5, out string? roofNote);
        double? roofForeign = beforeRoof.ForeignShare(CpuSnapshot.Take());
        Report.Note($"FMA roof {Report.F(roofOne, 0)} GFLOPS on 1 thread, {Report.F(roofMany, 0)} on {options.Threads} " +
                    $"(other processes used {(roofForeign is { } f ? $"{100 * f:F0}%" : "?")} of the cores meanwhile" +
                    (roofForeign > 0.1 ? ": the roof is low and every share of it high by about that much or more" : "") +
                    (roofNote is null ? "" : $"; {roofNote}") +
                    $"); L2 {Machine.CacheSize(2)}, L3 {Machine.CacheSize(3)}; load average {Machine.LoadAverage}");
        Report.Bench("breakdown", "roof", ("gflops_1", roofOne), ("gflops_n", roofMany), ("threads", options.Threads),
            ("l2", Machine.CacheSize(2)), ("l3", Machine.CacheSize(3)), ("load_average", Machine.LoadAverage), ("foreign_cpu_share", roofForeign));
        if (!WorkerPoolTimings.Enabled)
            Report.Note("Worker-pool timing is off (the switch was not set before the pool first ran); its columns are blank.");

        ReaderCost.PerRow read = ReaderCost.Measure(context.Train, context.TrainerOptions(512, 1, 1), repetitions, options.Threads);
        Report.Note($"Reading a row, one thread, µs, median of {repetitions} passes over {read.Rows:N0} rows, shuffled: ML.NET MoveNext " +
                    $"{Us(read.MoveNext)}, + label getter {Us(read.WithLabel)}, + feature getter {Us(read.CursorShuffled)} (in cursor order " +
                    $"{Us(read.CursorSequential)}); the trainer's reader {Us(read.ReaderShuffled)} (through the getters " +
                    $"{Us(read.ReaderThroughGetters)}); floor, the same " +
                    $"rows copied from one flat array with the finite check: {Us(read.FlatCopy)}; the training pass's reader noting cache rows, " +
                    $"then gathering each batch's features: {Us(read.GatheredOne)} on 1 thread, {Us(read.GatheredMany)} on {read.Threads}");
        Report.Bench("breakdown", "reader", ("move_next_us", read.MoveNext * 1e6), ("with_label_us", read.WithLabel * 1e6),
            ("cursor_shuffled_us", read.CursorShuffled * 1e6), ("cursor_sequential_us", read.CursorSequential * 1e6),
            ("reader_shuffled_us", read.ReaderShuffled * 1e6), ("reader_getters_us", read.ReaderThroughGetters * 1e6),
            ("flat_copy_us", read.FlatCopy * 1e6), ("gathered_1_us", read.GatheredOne * 1e6), ("gathered_n_us", read.GatheredMany * 1e6),
            ("rows", read.Rows));

        var steps = new Table("batch", "threads", "rows/s", "Fit rows/s", "step µs", "reader wait", "gather", "forward", "loss", "backward", "optimizer",
            "other", "reader CPU");
        var pool = new Table("batch", "threads", "batches/step", "publish µs", "own µs", "wait µs", "own items", "fwd GFLOPS", "bwd GFLOPS");
        Table? layers = null;
        var designs = new Table("batch", "threads", "trainer rows/s", "whole-pass slices rows/s", "whole-pass slices / trainer");
        var readers = new Table("batch", "threads", "compute threads gather", "reader gathers", "reader copies in cursor order",
            "compute / reader gathers", "compute / reader copies");
        var traffic = new Table("batch", "threads", "weights+grads MB", "optimizer MB", "activations MB", "fwd+bwd GB/s", "optimizer GB/s");
        foreach (int batch in options.BreakdownBatches)
        {
            var timers = threadCounts.ToDictionary(t => t, t => new StepTimer(context.Train, context.BreakdownOptions(batch, 1, t)));
            var slicers = threadCounts.ToDictionary(t => t, t => new SliceParallelTimer(context.Train, context.BreakdownOptions(batch, 1, t)));
            var copiers = threadCounts.ToDictionary(t => t, t => new StepTimer(context.Train, context.BreakdownOptions(batch, 1, t), FeatureCopy.ReaderCopiesInCursorOrder));
            var gatherers = threadCounts.ToDictionary(t => t, t => new StepTimer(context.Train, context.BreakdownOptions(batch, 1, t), FeatureCopy.ReaderGathers));
            foreach (int t in threadCounts)
            {
                timers[t].Epoch(0); // warm-up: JIT tiers, pool threads, caches
                slicers[t].Epoch(0);
                copiers[t].Epoch(0);
                gatherers[t].Epoch(0);
            }
            var epochs = threadCounts.ToDictionary(t => t, _ => new List<StepTimes>());
            var sliceEpochs = threadCounts.ToDictionary(t => t, _ => new List<(double Wall, long Rows)>());
            var copyEpochs = threadCounts.ToDictionary(t => t, _ => new List<StepTimes>());
            var readerGatherEpochs = threadCounts.ToDictionary(t => t, _ => new List<StepTimes>());
            for (int r = 1; r <= repetitions; r++)
                foreach (int t in threadCounts) // alternating, so a change in load hits every thread count and design alike
                {
                    epochs[t].Add(timers[t].Epoch(r));
                    sliceEpochs[t].Add(slicers[t].Epoch(r));
                    copyEpochs[t].Add(copiers[t].Epoch(r));
                    readerGatherEpochs[t].Add(gatherers[t].Epoch(r));
                }
            foreach (int t in threadCounts)
            {
                StepTimes m = epochs[t].OrderBy(e => e.Wall).ElementAt(epochs[t].Count / 2);
                double fit = FitRowsPerSecond(context, batch, t);
                var (ps, gs, ss) = timers[t].SubnormalShares();
                Report.Note($"batch {batch}, {t} thread(s), after {repetitions + 1} epochs: subnormal floats in the parameters {100 * ps:F2}%, " +
                            $"the gradient {100 * gs:F2}%, the optimizer state {100 * ss:F2}%");
                Report.Bench("breakdown", $"b{batch}/t{t}/subnormal", ("parameters", ps), ("gradient", gs), ("state", ss));
                Add(steps, pool, traffic, batch, t, m, StepCost.For(timers[t].Layout, batch, timers[t].OptimizerStateArrays, timers[t].KeepsPreActivation),
                    t == 1 ? roofOne : roofMany, read.ReaderShuffled, fit);
                layers ??= BackwardLayerTable(timers[t].Layout);
                AddBackwardLayers(layers, batch, t, m, timers[t].Layout, t == 1 ? roofOne : roofMany);
                var slices = sliceEpochs[t].OrderBy(e => e.Wall).ElementAt(sliceEpochs[t].Count / 2);
                double trainer = m.Rows / m.Wall, sliced = slices.Rows / slices.Wall;
                designs.Add(batch.ToString(), t.ToString(), Report.Thousands(trainer), Report.Thousands(sliced), Report.F(sliced / trainer, 2));
                Report.Bench("breakdown", $"b{batch}/t{t}/design", ("trainer_rows_per_s", trainer), ("whole_pass_slices_rows_per_s", sliced));
                double RowsPerSecond(List<StepTimes> e) { var m = e.OrderBy(x => x.Wall).ElementAt(e.Count / 2); return m.Rows / m.Wall; }
                double readerCopies = RowsPerSecond(copyEpochs[t]), readerGathers = RowsPerSecond(readerGatherEpochs[t]);
                readers.Add(batch.ToString(), t.ToString(), Report.Thousands(trainer), Report.Thousands(readerGathers), Report.Thousands(readerCopies),
                    Report.F(trainer / readerGathers, 2), Report.F(trainer / readerCopies, 2));
                Report.Bench("breakdown", $"b{batch}/t{t}/feature_copy", ("compute_gather_rows_per_s", trainer),
                    ("reader_gathers_rows_per_s", readerGathers), ("reader_copies_rows_per_s", readerCopies));
            }
        }
        Report.Note("µs per step; 'reader wait' is the compute thread waiting for its batch (on one thread, no prefetch: the read itself); " +
                    "'gather' is the compute threads copying the batch's features out of the cache (each item's rows touched first, with the next item's, so that their page walks overlap); " +
                    "'reader CPU' estimates a reader's time per batch, copy included, from the per-row cost above");
        steps.Print();
        Report.Note("Worker pool, caller's view, per step: publishing a batch (and waking workers), running its own items, waiting for " +
                    "the workers' items; 'own items' is the share of items the caller ran itself. GFLOPS count the GEMM arithmetic only.");
        pool.Print();
        Report.Note("The backward pass layer by layer, from the output down, µs per step (GFLOPS, % of the roof): each layer's weight and " +
                    "bias gradients (dW = inputᵀ·dZ, then the bias sums on the calling thread), then its input gradient (dX = dZ·Wᵀ with the " +
                    "activation's derivative), timed between the moments the pass reports to its gradient-ready hook. Where each thread " +
                    "gets RowSlices.MinRows rows or more, the input gradients of all layers run first, each thread down its own rows; " +
                    "'-' marks a kind of pass that ran in under half the steps (a short last batch).");
        layers?.Print();
        Report.Note("Bytes a step must at least stream (each GEMM reads its operands and writes its result once; the optimizer reads the " +
                    "parameters, gradient and momentum and writes parameters and momentum) and the rate that makes, over the time of its part.");
        traffic.Print();
        Report.Note("Two ways to use the threads, the same epochs alternating: the trainer's (row slices for the forward pass and the input " +
                    "gradients where each thread gets RowSlices.MinRows rows, each weight gradient and the step split across the threads; " +
                    "every product split below that), and a prototype (SliceParallelTimer) where each thread also forms its slice's weight " +
                    "gradients alone, the slices' gradients are summed once and the step is split: three dispatches per step instead of six, " +
                    "but bits that depend on the thread count.");
        designs.Print();
        Report.Note("Who copies a batch's cached features, rows/s, the same epochs alternating: the compute threads together before the " +
                    "forward pass; the reader thread, once it has noted the batch's cache rows, prefetching the next row; or the reader thread " +
                    "row by row as the cursor moves (on one thread all three read inline).");
        readers.Print();
    }

    private static void Add(Table steps, Table pool, Table traffic, int batch, int threads, StepTimes m, StepCost cost, double roof, double readPerRow, double fit)
    {
        double perStep = 1e6 / m.Batches;
        double rowsPerSecond = m.Rows / m.Wall;
        var all = m.PoolForward + m.PoolBackward + m.PoolOptimizer;
        double forwardGflops = cost.ForwardFlops * m.Batches / m.Forward / 1e9;
        double backwardGflops = cost.BackwardFlops * m.Batches / m.Backward / 1e9;
        double optimizerGbps = (double)cost.OptimizerBytes * m.Batches / m.Optimizer / 1e9;
        double passGbps = (double)(cost.ModelStreamBytes + cost.ActivationBytes) * m.Batches / (m.Forward + m.Backward) / 1e9;
        bool timed = WorkerPoolTimings.Enabled;
        double PoolUs(long ticks) => WorkerPoolTimings.Totals.Microseconds(ticks) / m.Batches;
        steps.Add(batch.ToString(), threads.ToString(), Report.Thousands(rowsPerSecond), Report.Thousands(fit), Report.F(m.Wall * perStep),
            Report.F(m.Reader * perStep), Report.F(m.Gather * perStep), Report.F(m.Forward * perStep), Report.F(m.Loss * perStep), Report.F(m.Backward * perStep),
            Report.F(m.Optimizer * perStep), Report.F(m.Other * perStep), Report.F(readPerRow * 1e6 * batch));
        pool.Add(batch.ToString(), threads.ToString(), Report.F((double)all.Batches / m.Batches),
            timed ? Report.F(PoolUs(all.PublishTicks)) : "-", timed ? Report.F(PoolUs(all.OwnTicks)) : "-",
            timed ? Report.F(PoolUs(all.WaitTicks)) : "-",
            timed && all.Items > 0 ? $"{100.0 * all.CallerItems / all.Items:F0}%" : "-",
            $"{Report.F(forwardGflops, 0)} ({100 * forwardGflops / roof:F0}%)", $"{Report.F(backwardGflops, 0)} ({100 * backwardGflops / roof:F0}%)");
        traffic.Add(batch.ToString(), threads.ToString(), Report.F(cost.ModelStreamBytes / 1e6, 2), Report.F(cost.OptimizerBytes / 1e6, 2),
            Report.F(cost.ActivationBytes / 1e6, 2), Report.F(passGbps, 1), Report.F(optimizerGbps, 1));
        Report.Bench("breakdown", $"b{batch}/t{threads}", ("batch", batch), ("threads", threads), ("rows_per_s", rowsPerSecond),
            ("fit_rows_per_s", fit), ("step_us", m.Wall * perStep), ("reader_wait_us", m.Reader * perStep), ("gather_us", m.Gather * perStep), ("forward_us", m.Forward * perStep),
            ("loss_us", m.Loss * perStep), ("backward_us", m.Backward * perStep), ("optimizer_us", m.Optimizer * perStep),
            ("other_us", m.Other * perStep), ("reader_cpu_us", readPerRow * 1e6 * batch),
            ("pool_batches_per_step", (double)all.Batches / m.Batches),
            ("pool_forward", timed ? Pool(m.PoolForward, m.Batches) : null), ("pool_backward", timed ? Pool(m.PoolBackward, m.Batches) : null),
            ("pool_optimizer", timed ? Pool(m.PoolOptimizer, m.Batches) : null),
            ("forward_gflops", forwardGflops), ("backward_gflops", backwardGflops), ("roof_gflops", roof),
            ("model_bytes", cost.ParameterBytes), ("model_stream_bytes", cost.ModelStreamBytes), ("optimizer_bytes", cost.OptimizerBytes),
            ("activation_bytes", cost.ActivationBytes), ("optimizer_gb_per_s", optimizerGbps), ("pass_gb_per_s", passGbps), ("load_average", Machine.LoadAverage));
    }

    private static Table BackwardLayerTable(NetworkLayout layout)
    {
        var columns = new List<string> { "batch", "threads", "all dX, row slices" };
        for (int l = layout.LayerCount - 1; l >= 0; l--)
        {
            columns.Add($"L{l + 1} dW+dB");
            if (l > 0) columns.Add($"L{l + 1} dX");
        }
        return new Table(columns.ToArray());
    }

    private static void AddBackwardLayers(Table layers, int batch, int threads, StepTimes m, NetworkLayout layout, double roof)
    {
        var cells = new List<string> { batch.ToString(), threads.ToString() };
        var json = new List<(string, object?)> { ("batch", batch), ("threads", threads) };
        // Over the passes of each kind: a short last batch may run unsliced in an epoch of sliced passes.
        int unsliced = m.Batches - m.SlicedPasses;
        string Cell(double seconds, long multiplyAdds, int passes)
        {
            if (2 * passes < m.Batches)
                return "-";
            double gflops = 2.0 * multiplyAdds * (passes == m.Batches ? m.Rows : (long)passes * batch) / seconds / 1e9;
            return $"{Report.F(seconds * 1e6 / passes)} ({Report.F(gflops, 0)}, {100 * gflops / roof:F0}%)";
        }
        long inputProducts = Enumerable.Range(1, layout.LayerCount - 1).Sum(l => (long)layout.FanIn(l) * layout.FanOut(l));
        cells.Add(Cell(m.SlicedInputGradients, inputProducts, m.SlicedPasses));
        json.Add(("sliced_input_gradients_us", m.SlicedPasses > 0 ? m.SlicedInputGradients * 1e6 / m.SlicedPasses : null));
        for (int l = layout.LayerCount - 1; l >= 0; l--)
        {
            long products = (long)layout.FanIn(l) * layout.FanOut(l);
            cells.Add(Cell(m.WeightGradient[l], products, m.Batches));
            json.Add(($"l{l + 1}_weight_gradient_us", m.WeightGradient[l] * 1e6 / m.Batches));
            if (l == 0) continue;
            cells.Add(Cell(m.InputGradient[l], products, unsliced));
            json.Add(($"l{l + 1}_input_gradient_us", unsliced > 0 ? m.InputGradient[l] * 1e6 / unsliced : null));
        }
        layers.Add(cells.ToArray());
        Report.Bench("breakdown", $"b{batch}/t{threads}/backward_layers", json.ToArray());
    }

    /// <summary>Per step: pool batches, µs publishing, running own items and waiting, and the caller's share of items.</summary>
    private static Dictionary<string, double> Pool(WorkerPoolTimings.Totals t, int steps) => new()
    {
        ["batches"] = Math.Round((double)t.Batches / steps, 2),
        ["publish_us"] = Math.Round(WorkerPoolTimings.Totals.Microseconds(t.PublishTicks) / steps, 2),
        ["own_us"] = Math.Round(WorkerPoolTimings.Totals.Microseconds(t.OwnTicks) / steps, 2),
        ["wait_us"] = Math.Round(WorkerPoolTimings.Totals.Microseconds(t.WaitTicks) / steps, 2),
        ["caller_item_share"] = t.Items > 0 ? Math.Round((double)t.CallerItems / t.Items, 3) : 0,
    };

    /// <summary>A real Fit at the same settings: rows/s of its second epoch (the first includes start-up).</summary>
    /// <summary>Rows/s of a real Fit's last epoch (of two), on the benchmark's cache unless <paramref name="data"/> says otherwise.</summary>
    internal static double FitRowsPerSecond(BenchContext context, int batch, int threads, IDataView? data = null)
    {
        var options = context.BreakdownOptions(batch, 2, threads);
        var model = context.ML.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data ?? context.Train);
        EpochSummary last = model.Model.History[^1];
        return last.Rows / last.Elapsed.TotalSeconds;
    }

    private static string OptimizerName(NeuralNetworkOptimizer optimizer) =>
        optimizer == NeuralNetworkOptimizer.Sgd ? "SGD momentum 0.9" : $"{optimizer} lr 0.001";

    private static string Us(double seconds) => Report.F(seconds * 1e6, 2);
}
