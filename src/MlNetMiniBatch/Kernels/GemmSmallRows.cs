using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MlNetMiniBatch.Kernels;

/// <summary>
/// GEMM for very few rows of C with an untransposed B (batch-1 inference: x·W): each row of C is a vector–matrix
/// product streamed straight from B's rows. Packing B would cost as much as the whole product at m = 1, and an
/// 8-row micro-kernel would spend 7/8 of its FMAs on padding.
/// </summary>
/// <remarks>
/// Every column of C is one FMA chain over k in order, from zero, then added to C, whether it falls in a wide
/// block, a single vector or a masked tail; so the result never depends on how columns are split across threads.
/// The tails use x86 masked loads, hence <see cref="IsSupported"/>.
/// </remarks>
internal static unsafe class GemmSmallRows
{
    /// <summary>Largest m routed here; from m = 4 on, the packed 8-row kernel is faster.</summary>
    public const int MaxRows = 3;

    /// <summary>Columns per thread are a multiple of this, so splits fall on 16-wide vector blocks.</summary>
    public const int ColumnGrain = 16;

    /// <summary>Whether the 512- or 256-bit variant can run here (both need x86 masked loads).</summary>
    public static bool IsSupported(bool use512) => use512 ? Avx512F.IsSupported : Avx.IsSupported;

    /// <summary>Runs the whole problem on up to <paramref name="threads"/> threads, split by column ranges.</summary>
    public static void Multiply(in GemmArgs g, int threads, bool use512)
    {
        int grains = (g.N + ColumnGrain - 1) / ColumnGrain;
        int parts = (long)g.M * g.N * g.K < Gemm.ParallelThreshold ? 1 : Math.Min(threads, grains);
        if (parts <= 1)
        {
            Compute(in g, 0, g.N, use512);
            return;
        }

        var work = new Work { Args = g, Parts = parts, Grains = grains, Use512 = use512 };
        WorkerPool.Shared.Run(in work, parts, parts);
    }

    /// <summary>Computes C[0..m, col0..col1] (requires !TransposeB and a SIMD path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute(in GemmArgs g, int col0, int col1, bool use512)
    {
        nint aStep = g.TransposeA ? g.Lda : 1;
        for (int i = 0; i < g.M; i++)
        {
            float* a = g.TransposeA ? g.A + i : g.A + (i * g.Lda);
            float* c = g.C + (i * g.Ldc);
            int j = col0;
            if (use512)
            {
                for (; j + 128 <= col1; j += 128)
                {
                    Row512x8(g.K, a, aStep, g.B + j, g.Ldb, c + j, g.Accumulate);
                }

                for (; j < col1; j += 16)
                {
                    Row512x1(g.K, a, aStep, g.B + j, g.Ldb, c + j, g.Accumulate, Math.Min(16, col1 - j));
                }
            }
            else
            {
                for (; j + 64 <= col1; j += 64)
                {
                    Row256x8(g.K, a, aStep, g.B + j, g.Ldb, c + j, g.Accumulate);
                }

                for (; j < col1; j += 8)
                {
                    Row256x1(g.K, a, aStep, g.B + j, g.Ldb, c + j, g.Accumulate, Math.Min(8, col1 - j));
                }
            }
        }
    }

    // Eight independent chains cover the FMA latency × throughput of current x64 cores; call-free so they stay
    // in registers.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Row512x8(nint k, float* a, nint aStep, float* b, nint ldb, float* c, bool add)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector512<float> c4 = default, c5 = default, c6 = default, c7 = default;
        for (nint p = 0; p < k; p++)
        {
            Vector512<float> x = Vector512.Create(*a);
            c0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b), c0);
            c1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 16), c1);
            c2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 32), c2);
            c3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 48), c3);
            c4 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 64), c4);
            c5 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 80), c5);
            c6 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 96), c6);
            c7 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 112), c7);
            a += aStep;
            b += ldb;
        }

        if (add)
        {
            c0 += Vector512.Load(c); c1 += Vector512.Load(c + 16);
            c2 += Vector512.Load(c + 32); c3 += Vector512.Load(c + 48);
            c4 += Vector512.Load(c + 64); c5 += Vector512.Load(c + 80);
            c6 += Vector512.Load(c + 96); c7 += Vector512.Load(c + 112);
        }

        c0.Store(c); c1.Store(c + 16); c2.Store(c + 32); c3.Store(c + 48);
        c4.Store(c + 64); c5.Store(c + 80); c6.Store(c + 96); c7.Store(c + 112);
    }

    /// <summary>16 columns, or the last 1..15 through masked loads/stores that never touch memory past them.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Row512x1(nint k, float* a, nint aStep, float* b, nint ldb, float* c, bool add, int count)
    {
        Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();
        Vector512<float> acc = default;
        for (nint p = 0; p < k; p++)
        {
            acc = Vector512.FusedMultiplyAdd(Vector512.Create(*a), Avx512F.MaskLoad(b, mask, default), acc);
            a += aStep;
            b += ldb;
        }

        if (add)
        {
            acc += Avx512F.MaskLoad(c, mask, default);
        }

        Avx512F.MaskStore(c, mask, acc);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Row256x8(nint k, float* a, nint aStep, float* b, nint ldb, float* c, bool add)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector256<float> c4 = default, c5 = default, c6 = default, c7 = default;
        for (nint p = 0; p < k; p++)
        {
            Vector256<float> x = Vector256.Create(*a);
            c0 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b), c0);
            c1 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 8), c1);
            c2 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 16), c2);
            c3 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 24), c3);
            c4 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 32), c4);
            c5 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 40), c5);
            c6 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 48), c6);
            c7 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b + 56), c7);
            a += aStep;
            b += ldb;
        }

        if (add)
        {
            c0 += Vector256.Load(c); c1 += Vector256.Load(c + 8);
            c2 += Vector256.Load(c + 16); c3 += Vector256.Load(c + 24);
            c4 += Vector256.Load(c + 32); c5 += Vector256.Load(c + 40);
            c6 += Vector256.Load(c + 48); c7 += Vector256.Load(c + 56);
        }

        c0.Store(c); c1.Store(c + 8); c2.Store(c + 16); c3.Store(c + 24);
        c4.Store(c + 32); c5.Store(c + 40); c6.Store(c + 48); c7.Store(c + 56);
    }

    /// <summary>8 columns, or the last 1..7 through masked loads/stores that never touch memory past them.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Row256x1(nint k, float* a, nint aStep, float* b, nint ldb, float* c, bool add, int count)
    {
        Vector256<float> mask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle();
        Vector256<float> acc = default;
        for (nint p = 0; p < k; p++)
        {
            acc = Vector256.FusedMultiplyAdd(Vector256.Create(*a), Avx.MaskLoad(b, mask), acc);
            a += aStep;
            b += ldb;
        }

        if (add)
        {
            acc += Avx.MaskLoad(c, mask);
        }

        Avx.MaskStore(c, mask, acc);
    }

    /// <summary>One thread's share: a range of whole 16-column groups.</summary>
    private struct Work : IParallelWork
    {
        public GemmArgs Args;
        public int Parts;
        public int Grains;
        public bool Use512;

        public readonly void Run(int index)
        {
            int c0 = index * Grains / Parts * ColumnGrain;
            int c1 = Math.Min(Args.N, (index + 1) * Grains / Parts * ColumnGrain);
            Compute(in Args, c0, c1, Use512);
        }
    }
}
