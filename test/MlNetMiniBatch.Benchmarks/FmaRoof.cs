using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// The machine's fp32 roof: independent fused multiply-add chains, as many as keep both FMA units busy.
/// The chains live in their own call-free, non-inlined methods: on Linux x64 every SIMD register is caller-saved, and a
/// vector live across any call (a Stopwatch read included) may be kept in stack memory for the whole loop.
/// </summary>
internal static class FmaRoof
{
    /// <summary>Accumulators per chain method: 12 independent chains cover 4-cycle latency × 2 units with room to spare.</summary>
    private const int Chains = 12;

    public static string Width => Vector512.IsHardwareAccelerated ? "Vector512" : Vector256.IsHardwareAccelerated ? "Vector256" : "Vector128";

    private static int Lanes => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 4;

    /// <summary>Median GFLOPS (all threads together) of <paramref name="samples"/> runs of about 0.1 s each.</summary>
    public static double Measure(int threads, int samples)
    {
        long iterations = 1_000_000;
        // Calibrate on one thread: grow until a run takes 50 ms, then size a run to about 0.1 s.
        while (true)
        {
            double seconds = RunOne(iterations);
            if (seconds >= 0.05) { iterations = (long)(iterations * 0.1 / seconds); break; }
            iterations *= 4;
        }
        var results = new List<double>();
        for (int s = 0; s < samples; s++)
        {
            double seconds = threads == 1 ? RunOne(iterations) : RunParallel(iterations, threads);
            results.Add(2.0 * Chains * Lanes * iterations * threads / seconds / 1e9);
        }
        return Stats.Median(results);
    }

    /// <summary>The roof on 1 thread and on <paramref name="threads"/>. A many-thread reading below 3/4 of the 1-thread rate
    /// per thread is taken again (twice at most, a second apart) and the highest kept: twice on a 2-core VM the 2-thread
    /// roof read as one core's while other processes used at most 1% of the cores, which put every share of it far above
    /// 100%. <paramref name="note"/> lists the readings when there was more than one, or is null.</summary>
    public static (double One, double Many) MeasureWithRetry(int threads, int samples, out string? note)
    {
        note = null;
        double one = Measure(1, samples);
        if (threads == 1)
            return (one, one);
        var readings = new List<double> { Measure(threads, samples) };
        while (readings.Count < 3 && readings.Max() < 0.75 * one * threads)
        {
            Thread.Sleep(1000);
            readings.Add(Measure(threads, samples));
        }
        double many = readings.Max();
        if (readings.Count > 1)
            note = $"the {threads}-thread roof was measured {readings.Count} times, {string.Join(", ", readings.Select(g => $"{g:F0}"))} GFLOPS; the highest is used" +
                   (many < 0.75 * one * threads ? ", and it is still below 3/4 of the 1-thread roof per thread: something is taking a core" : "");
        return (one, many);
    }

    /// <summary>
    /// How steadily <paramref name="threads"/> cores deliver the roof together: as many dedicated threads each run the
    /// chains in chunks of about 2.5 ms for <paramref name="seconds"/>; per thread, the share of its chunks that ran below
    /// 80% of its median rate. A core the host shares with other work shows here, while /proc/stat's load and steal
    /// stay near zero; a training step that waits for all its threads at every product runs at the slowest core's pace
    /// meanwhile.
    /// </summary>
    public static IReadOnlyList<double> SlowChunkShares(int threads, double seconds)
    {
        long iterations = 1_000_000;
        iterations = Math.Max(1000, (long)(iterations * 0.0025 / RunOne(iterations)));
        var shares = new double[threads];
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            workers[t] = new Thread(() =>
            {
                var chunkSeconds = new List<double>();
                long end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
                while (Stopwatch.GetTimestamp() < end)
                    chunkSeconds.Add(RunOne(iterations));
                double median = Stats.Median(chunkSeconds);
                shares[index] = (double)chunkSeconds.Count(c => c > median / 0.8) / chunkSeconds.Count;
            }) { IsBackground = true };
            workers[t].Start();
        }
        foreach (Thread w in workers) w.Join();
        return shares;
    }

    /// <summary>Measures <see cref="SlowChunkShares"/> and reports it as a note and a BENCH line of <paramref name="section"/>.</summary>
    public static void ReportSteadiness(string section, string when, int threads, double seconds)
    {
        var shares = SlowChunkShares(threads, seconds);
        Report.Note($"Core steadiness {when}: {threads} thread(s) at once for {seconds:F0} s, share of 2.5 ms FMA chunks below 80% of " +
                    $"the thread's median rate: worst thread {100 * shares.Max():F1}%, mean {100 * shares.Average():F1}%");
        Report.Bench(section, $"steadiness/{when.Replace(' ', '-')}", ("threads", threads), ("seconds", seconds),
            ("worst_slow_chunk_share", shares.Max()), ("mean_slow_chunk_share", shares.Average()));
    }

    private static double RunOne(long iterations)
    {
        long start = Stopwatch.GetTimestamp();
        float sink = Chain(iterations);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        GC.KeepAlive(sink);
        return seconds;
    }

    /// <summary>Wall time of <paramref name="threads"/> dedicated threads running the chains at once.</summary>
    private static double RunParallel(long iterations, int threads)
    {
        using var barrier = new Barrier(threads + 1);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() =>
            {
                barrier.SignalAndWait();
                GC.KeepAlive(Chain(iterations));
            }) { IsBackground = true };
            workers[t].Start();
        }
        barrier.SignalAndWait();
        long start = Stopwatch.GetTimestamp();
        foreach (Thread w in workers) w.Join();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static float Chain(long iterations) =>
        Vector512.IsHardwareAccelerated ? Chain512(iterations, Vector512.Create(0.9999f), Vector512.Create(1e-4f))
        : Vector256.IsHardwareAccelerated ? Chain256(iterations, Vector256.Create(0.9999f), Vector256.Create(1e-4f))
        : Chain128(iterations, Vector128.Create(0.9999f), Vector128.Create(1e-4f));

    // Fully optimised from the first call (no tier-0 code, no on-stack replacement) and never inlined.
    // a ← a·b + c converges to c / (1 − b) = 1: no overflow, no denormals, however long it runs.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chain512(long iterations, Vector512<float> b, Vector512<float> c)
    {
        Vector512<float> a0 = c, a1 = c + c, a2 = a1 + c, a3 = a2 + c, a4 = a3 + c, a5 = a4 + c;
        Vector512<float> a6 = a5 + c, a7 = a6 + c, a8 = a7 + c, a9 = a8 + c, a10 = a9 + c, a11 = a10 + c;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, b, c); a1 = Vector512.FusedMultiplyAdd(a1, b, c);
            a2 = Vector512.FusedMultiplyAdd(a2, b, c); a3 = Vector512.FusedMultiplyAdd(a3, b, c);
            a4 = Vector512.FusedMultiplyAdd(a4, b, c); a5 = Vector512.FusedMultiplyAdd(a5, b, c);
            a6 = Vector512.FusedMultiplyAdd(a6, b, c); a7 = Vector512.FusedMultiplyAdd(a7, b, c);
            a8 = Vector512.FusedMultiplyAdd(a8, b, c); a9 = Vector512.FusedMultiplyAdd(a9, b, c);
            a10 = Vector512.FusedMultiplyAdd(a10, b, c); a11 = Vector512.FusedMultiplyAdd(a11, b, c);
        }
        return Vector512.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chain256(long iterations, Vector256<float> b, Vector256<float> c)
    {
        Vector256<float> a0 = c, a1 = c + c, a2 = a1 + c, a3 = a2 + c, a4 = a3 + c, a5 = a4 + c;
        Vector256<float> a6 = a5 + c, a7 = a6 + c, a8 = a7 + c, a9 = a8 + c, a10 = a9 + c, a11 = a10 + c;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, b, c); a1 = Vector256.FusedMultiplyAdd(a1, b, c);
            a2 = Vector256.FusedMultiplyAdd(a2, b, c); a3 = Vector256.FusedMultiplyAdd(a3, b, c);
            a4 = Vector256.FusedMultiplyAdd(a4, b, c); a5 = Vector256.FusedMultiplyAdd(a5, b, c);
            a6 = Vector256.FusedMultiplyAdd(a6, b, c); a7 = Vector256.FusedMultiplyAdd(a7, b, c);
            a8 = Vector256.FusedMultiplyAdd(a8, b, c); a9 = Vector256.FusedMultiplyAdd(a9, b, c);
            a10 = Vector256.FusedMultiplyAdd(a10, b, c); a11 = Vector256.FusedMultiplyAdd(a11, b, c);
        }
        return Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chain128(long iterations, Vector128<float> b, Vector128<float> c)
    {
        Vector128<float> a0 = c, a1 = c + c, a2 = a1 + c, a3 = a2 + c, a4 = a3 + c, a5 = a4 + c;
        Vector128<float> a6 = a5 + c, a7 = a6 + c, a8 = a7 + c, a9 = a8 + c, a10 = a9 + c, a11 = a10 + c;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector128.FusedMultiplyAdd(a0, b, c); a1 = Vector128.FusedMultiplyAdd(a1, b, c);
            a2 = Vector128.FusedMultiplyAdd(a2, b, c); a3 = Vector128.FusedMultiplyAdd(a3, b, c);
            a4 = Vector128.FusedMultiplyAdd(a4, b, c); a5 = Vector128.FusedMultiplyAdd(a5, b, c);
            a6 = Vector128.FusedMultiplyAdd(a6, b, c); a7 = Vector128.FusedMultiplyAdd(a7, b, c);
            a8 = Vector128.FusedMultiplyAdd(a8, b, c); a9 = Vector128.FusedMultiplyAdd(a9, b, c);
            a10 = Vector128.FusedMultiplyAdd(a10, b, c); a11 = Vector128.FusedMultiplyAdd(a11, b, c);
        }
        return Vector128.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }
}
