using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>Section 4: scoring throughput of <c>model.Transform(test)</c> enumerated in full, and the latency and
/// allocations of single-row <c>PredictionEngine.Predict</c>.</summary>
internal static class InferBench
{
    public sealed class Input
    {
        [VectorType(BinaryRecordDataView.Pixels)]
        public float[] Features { get; set; } = new float[BinaryRecordDataView.Pixels];
    }

    public sealed class Output
    {
        public float[] Score { get; set; } = Array.Empty<float>();
        public uint PredictedLabel { get; set; }
    }

    public static void Run(BenchContext context)
    {
        BenchOptions options = context.Options;
        Report.Heading($"4. Inference: Transform rows/s and PredictionEngine.Predict latency ({options.Threads} thread(s) at training)");
        MLContext ml = context.ML;
        NeuralNetworkPredictionTransformer model = context.Model ?? TrainModel(context);
        IDataView test = context.Test;
        long testRows = test.GetRowCount() ?? 0;

        // Transform: enumerate every row, reading the Score column and touching its values.
        int passes = options.Quick ? 3 : options.Full ? 15 : 7;
        double checksum = 0;
        var rates = new List<double>();
        for (int pass = -1; pass < passes; pass++) // pass −1 warms up
        {
            long start = Stopwatch.GetTimestamp();
            IDataView scored = model.Transform(test);
            using DataViewRowCursor cursor = scored.GetRowCursor(new[] { scored.Schema["Score"] });
            var getter = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
            VBuffer<float> score = default;
            long rows = 0;
            while (cursor.MoveNext())
            {
                getter(ref score);
                checksum += score.GetValues()[0];
                rows++;
            }
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (pass >= 0) rates.Add(rows / seconds);
        }
        double transformRate = Stats.Median(rates);
        Report.Bench("infer", "transform", ("rows", testRows), ("passes", passes), ("rows_per_s", transformRate),
            ("us_per_row", 1e6 / transformRate), ("checksum", checksum));

        // PredictionEngine: 10,000 single-row calls after 2,000 warm-up calls, each timed; allocations per call.
        var inputs = ml.Data.CreateEnumerable<Input>(ml.Data.TakeRows(test, 1000), reuseRowObject: false).ToArray();
        using PredictionEngine<Input, Output> engine = ml.Model.CreatePredictionEngine<Input, Output>(model);
        const int Warmup = 2000, Calls = 10_000;
        var reused = new Output();
        var latencies = new double[Calls];
        (double MedianUs, double MeanUs, double BytesPerCall) Measure(bool reuseOutput)
        {
            for (int i = 0; i < Warmup; i++)
            {
                if (reuseOutput) engine.Predict(inputs[i % inputs.Length], ref reused);
                else checksum += engine.Predict(inputs[i % inputs.Length]).PredictedLabel;
            }
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            long begin = Stopwatch.GetTimestamp();
            for (int i = 0; i < Calls; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                if (reuseOutput) engine.Predict(inputs[i % inputs.Length], ref reused);
                else engine.Predict(inputs[i % inputs.Length]);
                latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            }
            double totalUs = Stopwatch.GetElapsedTime(begin).TotalMicroseconds;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            return (Stats.Median(latencies), totalUs / Calls, (double)allocated / Calls);
        }
        var plain = Measure(reuseOutput: false);
        var withRef = Measure(reuseOutput: true);
        Report.Bench("infer", "predict", ("calls", Calls), ("median_us", plain.MedianUs), ("mean_us", plain.MeanUs), ("bytes_per_call", plain.BytesPerCall));
        Report.Bench("infer", "predict-ref-output", ("calls", Calls), ("median_us", withRef.MedianUs), ("mean_us", withRef.MeanUs), ("bytes_per_call", withRef.BytesPerCall));

        var table = new Table("case", "rows/s", "µs per row (median)", "µs per row (mean)", "bytes allocated per row");
        table.Add($"Transform({testRows:N0} test rows), median of {passes}", Report.Thousands(transformRate), "-", Report.F(1e6 / transformRate, 2), "-");
        table.Add("PredictionEngine.Predict(input)", Report.Thousands(1e6 / plain.MeanUs), Report.F(plain.MedianUs, 2), Report.F(plain.MeanUs, 2), Report.F(plain.BytesPerCall, 0));
        table.Add("PredictionEngine.Predict(input, ref output)", Report.Thousands(1e6 / withRef.MeanUs), Report.F(withRef.MedianUs, 2), Report.F(withRef.MeanUs, 2), Report.F(withRef.BytesPerCall, 0));
        Console.WriteLine();
        table.Print();
        Report.Note($"Predict: {Calls:N0} calls after {Warmup:N0} warm-up calls, 1,000 distinct test rows in turn; Predict(input) allocates its output object.");
    }

    private static NeuralNetworkPredictionTransformer TrainModel(BenchContext context)
    {
        Report.Note("Training a model for scoring (1 epoch, batch 128); the training section does this when it runs.");
        NeuralNetworkOptions options = context.TrainerOptions(128, 1, context.Options.Threads);
        return context.ML.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(context.Train);
    }
}
