using System.Diagnostics;
using System.Text.Json;
using MlNetMiniBatch.Kernels;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>Section 1: GFLOPS of <see cref="Gemm.Multiply"/> at the shapes of the 784-256-128-10 network, against
/// OpenBLAS sgemm through numpy (same shapes, same transposes, same thread counts) and the FMA roof.</summary>
internal static class GemmBench
{
    /// <summary>C[m,n] = op(A)·op(B); row-major storage as the network stores it (weights fanIn × fanOut).</summary>
    private sealed record Shape(string Name, string Meaning, bool TransposeA, bool TransposeB, int M, int N, int K)
    {
        public string Op => (TransposeA ? "T" : "N") + (TransposeB ? "T" : "N");
        public double Flops => 2.0 * M * N * K;
    }

    private static readonly Shape[] Shapes =
    {
        new("fwd-L1-b32", "X·W 784→256, batch 32", false, false, 32, 256, 784),
        new("fwd-L1-b128", "X·W 784→256, batch 128", false, false, 128, 256, 784),
        new("fwd-L1-b512", "X·W 784→256, batch 512", false, false, 512, 256, 784),
        new("fwd-L2-b128", "X·W 256→128, batch 128", false, false, 128, 128, 256),
        new("dX-L1-b128", "dY·Wᵀ 256→784, batch 128", false, true, 128, 784, 256),
        new("dW-L1-b128", "Xᵀ·dY 784×256, batch 128", true, false, 784, 256, 128),
        new("dX-L2-b128", "dY·Wᵀ 128→256, batch 128", false, true, 128, 256, 128),
        new("dW-L2-b128", "Xᵀ·dY 256×128, batch 128", true, false, 256, 128, 128),
        new("dW-L1-b512", "Xᵀ·dY 784×256, batch 512", true, false, 784, 256, 512),
        new("fwd-L2-b512", "X·W 256→128, batch 512", false, false, 512, 128, 256),
        new("dX-L2-b512", "dY·Wᵀ 128→256, batch 512", false, true, 512, 256, 128),
        new("dW-L2-b512", "Xᵀ·dY 256×128, batch 512", true, false, 256, 128, 512),
    };

    public static void Run(BenchOptions options, Peers peers)
    {
        Report.Heading("1. GEMM: Gemm.Multiply vs OpenBLAS sgemm (numpy), GFLOPS, median of timed samples");
        int[] threadCounts = new[] { 1, options.Threads }.Distinct().ToArray();

        // The roof first, while nothing else of ours is warm.
        var snapshot = CpuSnapshot.Take();
        var (roofOne, roofMany) = FmaRoof.MeasureWithRetry(options.Threads, options.Quick ? 3 : 7, out string? roofNote);
        var roof = new Dictionary<int, double> { [1] = roofOne, [options.Threads] = roofMany };
        foreach (int t in threadCounts)
            Report.Bench("gemm", $"fma-roof/t{t}", ("threads", t), ("width", FmaRoof.Width), ("gflops", roof[t]), ("gflops_per_thread", roof[t] / t));

        if (options.Threads > 1)
            FmaRoof.ReportSteadiness("gemm", "after the roof", options.Threads, options.Quick ? 1 : 3);

        var ours = new Dictionary<(string, int), (double Gflops, int Samples, bool Correct)>();
        foreach (int t in threadCounts)
            foreach (Shape s in Shapes)
                ours[(s.Name, t)] = MeasureOurs(s, t, options);

        var reference = new Dictionary<(string, int), double>();
        string? blasDescription = null;
        string? missing = peers.Missing("numpy");
        if (missing is null)
        {
            string shapesJson = JsonSerializer.Serialize(Shapes.Select(s => new { name = s.Name, ta = s.TransposeA, tb = s.TransposeB, m = s.M, n = s.N, k = s.K }));
            foreach (int t in threadCounts)
            {
                Report.Note($"numpy sgemm, {t} thread(s) ({Peers.EnvironmentDescription}):");
                var results = peers.RunScript("numpy", "numpy_gemm.py",
                    new[] { "--shapes", shapesJson, "--samples", options.GemmSamples.ToString(), "--budget", options.GemmCaseBudgetSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                    t, TimeSpan.FromMinutes(10));
                foreach (JsonElement r in results)
                {
                    if (r.Text("kind") == "blas")
                    {
                        blasDescription = $"OpenBLAS {r.Text("version")} kernel {r.Text("kernel") ?? "?"} ({r.Text("threading") ?? "?"})";
                        if (r.Text("kernel") is { } kernel && (kernel.Contains("Prescott", StringComparison.OrdinalIgnoreCase) || kernel.Contains("Generic", StringComparison.OrdinalIgnoreCase)))
                            Report.Note($"warning: OpenBLAS runs its {kernel} kernel, far below this CPU's best; set BENCH_OPENBLAS_CORETYPE (e.g. Haswell, SkylakeX).");
                        if (r.Number("threads") is { } reported && (int)reported != t)
                            Report.Note($"warning: OpenBLAS reports {reported} threads, {t} requested.");
                    }
                    else if (r.Text("name") is { } name && r.Number("gflops") is { } g)
                        reference[(name, t)] = g;
                }
            }
        }
        else
            Report.Note($"Reference skipped: {missing}. Our figures follow without ratios.");

        double? foreign = snapshot.ForeignShare(CpuSnapshot.Take());
        Console.WriteLine();
        Report.Note($"Other processes used {(foreign is { } f ? $"{100 * f:F0}%" : "?")} of the cores during this section" +
                    (foreign > 0.1 ? ": the roof and both sides' GFLOPS are low by about that much or more." : "."));
        Report.Note($"FMA roof ({FmaRoof.Width}, 12 independent chains): " +
                    string.Join(", ", threadCounts.Select(t => $"{Report.F(roof[t])} GFLOPS on {t} thread(s)")) + (roofNote is null ? "" : $" ({roofNote})"));
        Report.Note($"Reference: {blasDescription ?? "none"}");
        var table = new Table("shape", "m×n×k", "op", "threads", "ours GFLOPS", "OpenBLAS", "ours/OpenBLAS", "ours % roof");
        foreach (int t in threadCounts)
            foreach (Shape s in Shapes)
            {
                var (g, samples, correct) = ours[(s.Name, t)];
                double? r = reference.TryGetValue((s.Name, t), out double rv) ? rv : null;
                table.Add(s.Name, $"{s.M}×{s.N}×{s.K}", s.Op, t.ToString(), Report.F(g) + (correct ? "" : " WRONG"), Report.F(r),
                    Report.Ratio(g, r), Report.F(100 * g / roof[t], 0) + "%");
                Report.Bench("gemm", $"{s.Name}/t{t}", ("m", s.M), ("n", s.N), ("k", s.K), ("op", s.Op), ("threads", t),
                    ("gflops", g), ("openblas_gflops", r), ("ratio", r is { } rr ? g / rr : null), ("roof_gflops", roof[t]),
                    ("samples", samples), ("correct", correct));
            }
        table.Print();
        double? b128 = GeometricMeanRatio(ours, reference, threadCounts, s => s.Name.EndsWith("b128", StringComparison.Ordinal));
        if (b128 is { } ratio)
        {
            Report.Note($"Batch-128 shapes, geometric mean ours/OpenBLAS over 1 and {options.Threads} threads: {ratio:F2}x " +
                        $"(target ≥ 0.80: {(ratio >= 0.8 ? "met" : "not met")})");
            Report.Bench("gemm", "b128-geomean", ("ratio", ratio), ("target", 0.8), ("met", ratio >= 0.8));
        }
        Targets.Add($"GEMM vs OpenBLAS, batch-128 shapes (geomean, 1 and {options.Threads} threads)",
            b128 is { } shown ? $"{shown:F2}x" : "-", "≥ 0.80x", b128 is { } met ? met >= 0.8 : null);
        // Issue 15: the batch-128 forward product (128 rows × 784 inputs → 256) on one thread against one core's roof.
        if (ours.TryGetValue(("fwd-L1-b128", 1), out var forward))
        {
            double share = forward.Gflops / roof[1];
            Targets.Add("GEMM forward 128×256×784, 1 thread, share of one core's FMA roof (issue 15)", $"{100 * share:F0}%", "≥ 80%", share >= 0.8);
        }
    }

    private static double? GeometricMeanRatio(Dictionary<(string, int), (double Gflops, int Samples, bool Correct)> ours,
        Dictionary<(string, int), double> reference, int[] threadCounts, Func<Shape, bool> include)
    {
        var logs = new List<double>();
        foreach (int t in threadCounts)
            foreach (Shape s in Shapes.Where(include))
                if (reference.TryGetValue((s.Name, t), out double r) && r > 0)
                    logs.Add(Math.Log(ours[(s.Name, t)].Gflops / r));
        return logs.Count == 0 ? null : Math.Exp(logs.Average());
    }

    /// <summary>Warm up for at least 0.25 s (3 calls), size a sample to at least 10 ms, then time up to GemmSamples
    /// samples within the case's budget (at least 3); median GFLOPS. Checks a few entries of C against a double-precision
    /// dot product.</summary>
    private static (double Gflops, int Samples, bool Correct) MeasureOurs(Shape s, int threads, BenchOptions options)
    {
        var random = new Random(1);
        float[] a = RandomMatrix(random, s.M * s.K), b = RandomMatrix(random, s.K * s.N), c = new float[s.M * s.N];
        int lda = s.TransposeA ? s.M : s.K, ldb = s.TransposeB ? s.K : s.N, ldc = s.N;
        void Call() => Gemm.Multiply(s.TransposeA, s.TransposeB, s.M, s.N, s.K, a, lda, b, ldb, c, ldc, accumulate: false, threads);

        long start = Stopwatch.GetTimestamp();
        int calls = 0;
        while (calls < 3 || Stopwatch.GetElapsedTime(start).TotalSeconds < 0.25)
        {
            Call();
            calls++;
        }
        double perCall = Stopwatch.GetElapsedTime(start).TotalSeconds / calls;
        int reps = Math.Max(1, (int)Math.Ceiling(0.01 / perCall));
        var results = new List<double>();
        long begin = Stopwatch.GetTimestamp();
        while (results.Count < options.GemmSamples && (results.Count < 3 || Stopwatch.GetElapsedTime(begin).TotalSeconds < options.GemmCaseBudgetSeconds))
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int r = 0; r < reps; r++) Call();
            results.Add(s.Flops * reps / Stopwatch.GetElapsedTime(t0).TotalSeconds / 1e9);
        }

        bool correct = true;
        for (int probe = 0; probe < 16; probe++)
        {
            int i = random.Next(s.M), j = random.Next(s.N);
            double expected = 0, magnitude = 0;
            for (int p = 0; p < s.K; p++)
            {
                double term = (double)(s.TransposeA ? a[p * lda + i] : a[i * lda + p]) * (s.TransposeB ? b[j * ldb + p] : b[p * ldb + j]);
                expected += term;
                magnitude += Math.Abs(term);
            }
            if (Math.Abs(c[i * ldc + j] - expected) > 1e-4 * magnitude + 1e-6) correct = false;
        }
        return (Stats.Median(results), results.Count, correct);
    }

    private static float[] RandomMatrix(Random random, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}
