namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// Section R (only with <c>--only reader</c>): the reader's cost per row (<see cref="ReaderCost"/>, with more passes than
/// the breakdown takes) and what it is worth to a real Fit at batch 512 on <c>--threads</c>: the trainer reading the
/// benchmark's cache in place against the same trainer reading it through the getters, Fits alternating.
/// </summary>
internal static class ReaderBench
{
    public static void Run(BenchContext context)
    {
        BenchOptions options = context.Options;
        int repetitions = options.Quick ? 3 : options.Full ? 11 : 7;
        Report.Heading($"R. Reading rows from ML.NET's cache: per row on one thread, and a Fit at batch 512 on {options.Threads} thread(s), " +
                       $"medians of {repetitions}");
        _ = context.Train;
        Report.Note($"load average {Machine.LoadAverage}");
        ReaderCost.PerRow read = ReaderCost.Measure(context.Train, context.TrainerOptions(512, 1, 1), repetitions, options.Threads);
        Report.Note($"µs per row, shuffled: ML.NET MoveNext {Us(read.MoveNext)}, + label getter {Us(read.WithLabel)}, + feature getter " +
                    $"{Us(read.CursorShuffled)} (in cursor order {Us(read.CursorSequential)}); the trainer's reader in place " +
                    $"{Us(read.ReaderShuffled)}, through the getters {Us(read.ReaderThroughGetters)} (median of the passes' ratios " +
                    $"{Report.F(read.GettersOverInPlace, 2)}); flat-array floor {Us(read.FlatCopy)}; noting cache rows, then gathering each batch's " +
                    $"features {Us(read.GatheredOne)} on 1 thread, {Us(read.GatheredMany)} on {read.Threads}");
        Report.Bench("reader", "per_row", ("move_next_us", read.MoveNext * 1e6), ("with_label_us", read.WithLabel * 1e6),
            ("cursor_shuffled_us", read.CursorShuffled * 1e6), ("cursor_sequential_us", read.CursorSequential * 1e6),
            ("reader_shuffled_us", read.ReaderShuffled * 1e6), ("reader_getters_us", read.ReaderThroughGetters * 1e6),
            ("flat_copy_us", read.FlatCopy * 1e6), ("gathered_1_us", read.GatheredOne * 1e6), ("gathered_n_us", read.GatheredMany * 1e6), ("getters_over_in_place", read.GettersOverInPlace), ("rows", read.Rows),
            ("load_average", Machine.LoadAverage));

        var getterView = new GetterOnlyView(context.Train);
        BreakdownBench.FitRowsPerSecond(context, 512, options.Threads); // warm-up
        var inPlace = new List<double>();
        var getters = new List<double>();
        for (int r = 0; r < repetitions; r++)
        {
            inPlace.Add(BreakdownBench.FitRowsPerSecond(context, 512, options.Threads));
            getters.Add(BreakdownBench.FitRowsPerSecond(context, 512, options.Threads, getterView));
        }
        double a = Stats.Median(inPlace), b = Stats.Median(getters);
        double ratio = Stats.Median(inPlace.Zip(getters, (x, y) => x / y).ToList());
        Report.Note($"Fit at batch 512, {options.Threads} thread(s), rows/s of the last of 2 epochs, alternating: in place {Report.Thousands(a)}, " +
                    $"through the getters {Report.Thousands(b)} (median of the pairs' ratios {Report.F(ratio, 3)}); load average {Machine.LoadAverage}");
        Report.Bench("reader", "fit", ("in_place_rows_per_s", a), ("getters_rows_per_s", b), ("in_place_over_getters", ratio),
            ("threads", options.Threads), ("load_average", Machine.LoadAverage));
    }

    private static string Us(double seconds) => Report.F(seconds * 1e6, 2);
}
