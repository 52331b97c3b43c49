using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace MlNetMiniBatch.Kernels;

/// <summary>
/// The blocked GEMM loop nest around one micro-kernel, plus the static split of C across threads.
/// Instantiated per kernel struct so <c>TKernel.Mr/Nr</c> are constants and <c>TKernel.Run</c> is a direct call.
/// </summary>
internal static unsafe class GemmDriver<TKernel>
    where TKernel : struct, IMicroKernel
{
    // kc: each pass over C adds up to 512 k steps, so a micro-kernel call loads and stores its C tile once per 512
    // multiply-adds per element. A B micro-panel (≤ 512 × 32 floats = 64 KiB) then streams from L2 rather than staying
    // in L1, which costs less than the extra passes over C (and an in-place panel, rows a leading dimension apart,
    // does not stay in L1 anyway).
    private const int KcMax = 512;

    // mc: the packed A block (≤ 128 × 512 floats = 256 KiB) and the B block it meets share L2.
    private const int McMax = 128;

    // nc: the packed B block (≤ 512 × 1024 floats = 2 MiB) stays in L2/L3; the trainer's widths fit in one block.
    private const int NcMax = 1024;

    // A packed float costs about as much as 8 multiply-adds (measured packing ~0.5 cycle/float, 16 MACs/cycle).
    private const long PackWeight = 8;

    // Row splits of large products go out as 4 items per thread (see Multiply): measured faster in training at batch
    // 128 and 512 than one item per thread. Below 8M multiply-adds (batch 32) it does not pay.
    private const int ItemsPerThread = 4;
    private const long FineSplitMultiplyAdds = 8L << 20;

    // Reading a float of B in place that another core may hold costs about as much as 2 multiply-adds.
    private const long SharedReadWeight = 2;

    // The most floats of C that Multiply computes as its transpose in a scratch buffer (4 MiB).
    private const long MaxTransposedFloats = 1 << 20;

    /// <summary>The most floats a thread's scratch holds after products of at most <paramref name="widestColumns"/>
    /// columns of C, whose narrow products computed as their transpose (<see cref="MultiplyAsTranspose"/>) have at most
    /// <paramref name="narrowFloats"/> floats: the packed A and B blocks and the transposed output at their largest,
    /// twice over, since the buffers grow by doubling.</summary>
    public static long ScratchFloats(int widestColumns, long narrowFloats)
    {
        long columns = (long)DivUp(Math.Min(Math.Max(widestColumns, 1), NcMax), TKernel.Nr) * TKernel.Nr;
        long largest = ((long)McMax * KcMax) + (columns * KcMax) + Math.Min(narrowFloats, MaxTransposedFloats);
        return 2 * (largest + (3 * PackingBuffers.AlignFloats));
    }

    /// <summary>Runs the whole problem on up to <paramref name="threads"/> threads (k ≥ 1, m ≥ 1, n ≥ 1).</summary>
    public static void Multiply(in GemmArgs g, int threads)
    {
        if (g.N < TKernel.Nr && g.M >= TKernel.Nr && g.TransposeA && g.Epilogue.Kind == EpilogueKind.None
            && (long)g.M * g.N <= MaxTransposedFloats)
        {
            MultiplyAsTranspose(in g, threads);
            return;
        }

        int parts = (long)g.M * g.N * g.K < Gemm.ParallelThreshold ? 1 : threads;
        bool splitColumns = true;
        if (parts > 1)
        {
            int colPanels = DivUp(g.N, TKernel.Nr);
            int rowPanels = DivUp(g.M, TKernel.Mr);
            int colParts = Math.Min(parts, colPanels);
            int rowParts = Math.Min(parts, rowPanels);

            // Estimated cost of the busiest thread, in multiply-adds: its padded tiles plus its packing, where the
            // operand along the unsplit dimension is packed whole by every thread — A when splitting columns, a
            // transposed B when splitting rows (an untransposed B is read in place).
            long colCost = ((long)DivUp(colPanels, colParts) * TKernel.Nr * g.M * g.K)
                + (PackWeight * (long)g.M * g.K)
                + (g.TransposeB ? PackWeight * (long)g.N * g.K / colParts : 0);
            long rowCost = ((long)DivUp(rowPanels, rowParts) * TKernel.Mr * g.N * g.K)
                + (PackWeight * (long)g.M * g.K / rowParts)
                + (g.TransposeB ? PackWeight * (long)g.N * g.K : 0);
            // An untransposed B (the weights, forward) is read in place by every thread that needs it: all of it when
            // splitting rows, and then every core's cached copy is invalidated when the weights are updated. (Counting
            // it turns the batch-32 forward product 32×256×784 to a column split: a whole training step on two threads
            // went from 305 to 267 µs in alternating runs.)
            long bRead = g.TransposeB ? 0 : SharedReadWeight * (long)g.N * g.K;
            colCost += bRead / colParts;
            rowCost += bRead;
            splitColumns = colCost <= rowCost;
            parts = splitColumns ? colParts : rowParts;

            // Large row splits go out as several items per thread, claimed as threads come free: a thread descheduled
            // for a while (by the batch reader, or another process) then leaves its later items to the others instead
            // of making them wait for it at the end. Row items over an untransposed B cost little extra (each packs only
            // its own rows of A and reads B in place, streaming it from L2 once more per item); others would each pack a
            // whole operand, so stay one per thread.
            if (!splitColumns && !g.TransposeB && (long)g.M * g.N * g.K >= FineSplitMultiplyAdds && rowPanels >= threads * ItemsPerThread)
            {
                parts = threads * ItemsPerThread;
            }
        }

        if (parts <= 1)
        {
            Compute(in g, 0, g.M, 0, g.N);
            return;
        }

        var work = new Work { Args = g, Parts = parts, SplitColumns = splitColumns };
        WorkerPool.Shared.Run(in work, parts, threads);
    }

    /// <summary>
    /// A product narrower than one micro-panel, with A transposed: the output layer's weight gradient xᵀ·dZ for a few
    /// classes or one target. Computed directly, every kernel call would run mostly on the panel's zero padding and
    /// every thread would pack all of A; its transpose Cᵀ = op(B)ᵀ·Aᵀ has the narrow side as rows and reads A in place.
    /// Each element is the same products added in the same k blocks and order, so the bits are the direct product's.
    /// </summary>
    private static void MultiplyAsTranspose(in GemmArgs g, int threads)
    {
        int m = g.M, n = g.N;
        float* t = PackingBuffers.ForTranspose(m * n);
        if (g.Accumulate)
        {
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    t[(j * m) + i] = g.C[(i * g.Ldc) + j];
                }
            }
        }

        var transposed = new GemmArgs
        {
            A = g.B,
            Lda = g.Ldb,
            TransposeA = !g.TransposeB,
            B = g.A,
            Ldb = g.Lda,
            TransposeB = false,
            C = t,
            Ldc = m,
            M = n,
            N = m,
            K = g.K,
            Accumulate = g.Accumulate,
        };
        Multiply(in transposed, threads);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                g.C[(i * g.Ldc) + j] = t[(j * m) + i];
            }
        }
    }

    /// <summary>
    /// Computes C[row0..row1, col0..col1]. Every element's value depends only on k (through the fixed kc blocking),
    /// never on the region bounds, which is what makes any split across threads bit-identical.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute(in GemmArgs g, int row0, int row1, int col0, int col1)
    {
        int mr = TKernel.Mr;
        int nr = TKernel.Nr;
        int k = g.K;
        int rows = row1 - row0;
        int cols = col1 - col0;

        // Balanced blocks (784 = 4 × 196 rather than 3 × 256 + 16) avoid a short, overhead-heavy last block.
        int kcStep = DivUp(k, DivUp(k, KcMax));
        int mcStep = DivUp(DivUp(rows, DivUp(rows, McMax)), mr) * mr;
        int ncStep = DivUp(DivUp(cols, DivUp(cols, NcMax)), nr) * nr;

        float* packA = PackingBuffers.ForA(mcStep * kcStep);
        float* packB = PackingBuffers.ForB(ncStep * kcStep);
        float* tile = stackalloc float[TKernel.Mr * TKernel.Nr];

        for (int jc = col0; jc < col1; jc += ncStep)
        {
            int nc = Math.Min(ncStep, col1 - jc);
            for (int pc = 0; pc < k; pc += kcStep)
            {
                int kc = Math.Min(kcStep, k - pc);
                bool add = g.Accumulate || pc > 0;
                bool finish = pc + kc == k && g.Epilogue.Kind != EpilogueKind.None;
                float* bBlock = g.TransposeB ? g.B + (jc * g.Ldb) + pc : g.B + (pc * g.Ldb) + jc;

                // An untransposed B already has each k step's columns contiguous, so full-width panels are read in
                // place (as fast as packed at large m, and much faster at small m, where packing is not repaid). The in-place
                // panels start at the first column whose address is on a cache line, so that no vector load of B
                // straddles two lines (the parameter vector lands at any 8-byte offset); the columns before them and
                // the ragged ones after share packed, zero-padded panels.
                int lead = 0, inPlace = 0;
                if (!g.TransposeB)
                {
                    // Where the packed lead columns end depends on B's address, so the epilogue's pieces do too: only
                    // an epilogue that gives the same bits in any pieces may follow B's alignment.
                    lead = g.Epilogue.GivesTheSameBitsInAnyPieces ? ColumnsToCacheLine(bBlock, g.Ldb) : 0;
                    if (lead >= nc)
                        lead = 0;
                    inPlace = (nc - lead) / nr * nr;
                }

                int trailFrom = lead + inPlace;
                int packed = nc - inPlace;
                if (packed > 0)
                {
                    if (lead == 0)
                        GemmPacking.PackB(g.TransposeB, bBlock + trailFrom, g.Ldb, kc, packed, nr, packB);
                    else
                        GemmPacking.PackTwoColumnRuns(bBlock, g.Ldb, kc, lead, bBlock + trailFrom, packed - lead, nr, packB);
                }

                for (int ic = row0; ic < row1; ic += mcStep)
                {
                    int mc = Math.Min(mcStep, row1 - ic);
                    float* aBlock = g.TransposeA ? g.A + (pc * g.Lda) + ic : g.A + (ic * g.Lda) + pc;
                    GemmPacking.PackA(g.TransposeA, aBlock, g.Lda, mc, kc, mr, packA);
                    float* cBlock = g.C + (ic * g.Ldc) + jc;

                    for (int jr = 0; jr < inPlace; jr += nr)
                    {
                        int col = lead + jr;
                        float* bp = bBlock + col;

                        // The first row block meets each in-place panel cold (the optimizer step has just streamed the
                        // model through the cache), with k rows a line or two each, a leading dimension apart: each
                        // micro-kernel call asks for a share of the next panel's lines so that it is in L2 in time.
                        float* next = null;
                        int nextRows = 0, rowsPerCall = 0;
                        if (ic == row0 && Sse.IsSupported)
                        {
                            if (jr + nr < inPlace)
                            {
                                next = bp + nr;
                                nextRows = kc;
                            }
                            else if (pc + kc < k)
                            {
                                next = g.B + ((pc + kc) * g.Ldb) + jc + lead;
                                nextRows = Math.Min(kcStep, k - pc - kc);
                            }

                            rowsPerCall = DivUp(nextRows, DivUp(mc, mr));
                        }

                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            int h = Math.Min(mr, mc - ir);
                            if (next != null)
                            {
                                int p0 = (ir / mr) * rowsPerCall, p1 = Math.Min(nextRows, p0 + rowsPerCall);
                                for (int p = p0; p < p1; p++)
                                {
                                    Sse.Prefetch1(next + (p * g.Ldb));
                                    Sse.Prefetch1(next + (p * g.Ldb) + (nr - 1));
                                }
                            }

                            float* ap = packA + (ir * kc);
                            float* cp = cBlock + (ir * g.Ldc) + col;
                            if (h == mr)
                            {
                                TKernel.Run(kc, ap, bp, g.Ldb, cp, g.Ldc, add);
                            }
                            else
                            {
                                TKernel.Run(kc, ap, bp, g.Ldb, tile, nr, add: false);
                                StoreEdge(tile, nr, cp, g.Ldc, h, nr, add);
                            }

                            if (finish)
                            {
                                g.Epilogue.Apply(ic + ir, jc + col, h, nr, cp, g.Ldc);
                            }
                        }
                    }

                    // Packed panels hold, in order, the lead columns [0, lead) and the rest [trailFrom, nc): a panel's
                    // column v is column v of C when v < lead, else column v - lead + trailFrom.
                    for (int v0 = 0; v0 < packed; v0 += nr)
                    {
                        int w = Math.Min(nr, packed - v0);
                        float* bp = packB + (v0 * kc);
                        int leadCount = Math.Clamp(lead - v0, 0, w);
                        int restFrom = Math.Max(v0, lead);
                        int restCol = restFrom - lead + trailFrom;
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            int h = Math.Min(mr, mc - ir);
                            float* ap = packA + (ir * kc);
                            float* cRow = cBlock + (ir * g.Ldc);
                            if (leadCount == 0 && h == mr && w == nr)
                            {
                                TKernel.Run(kc, ap, bp, nr, cRow + restCol, g.Ldc, add);
                            }
                            else
                            {
                                TKernel.Run(kc, ap, bp, nr, tile, nr, add: false);
                                if (leadCount > 0)
                                    StoreEdge(tile, nr, cRow + v0, g.Ldc, h, leadCount, add);
                                if (w > leadCount)
                                    StoreEdge(tile + leadCount, nr, cRow + restCol, g.Ldc, h, w - leadCount, add);
                            }

                            if (finish)
                            {
                                if (leadCount > 0)
                                    g.Epilogue.Apply(ic + ir, jc + v0, h, leadCount, cRow + v0, g.Ldc);
                                if (w > leadCount)
                                    g.Epilogue.Apply(ic + ir, jc + restCol, h, w - leadCount, cRow + restCol, g.Ldc);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// How many columns of an untransposed B lie before the first column whose rows all start on a 64-byte line:
    /// 0 when B is already aligned, or when its rows are not all equally aligned (then no column is).
    /// </summary>
    private static int ColumnsToCacheLine(float* b, nint ldb)
    {
        nuint address = (nuint)b;
        if ((ldb * sizeof(float)) % 64 != 0 || address % sizeof(float) != 0)
            return 0;
        return (int)((64 - (address % 64)) % 64) / sizeof(float);
    }

    /// <summary>Writes the valid h×w corner of a tile; <c>tile + c</c> matches the kernel's own lane-wise add.</summary>
    private static void StoreEdge(float* tile, int nr, float* c, nint ldc, int h, int w, bool add)
    {
        for (int i = 0; i < h; i++)
        {
            float* t = tile + (i * nr);
            float* d = c + (i * ldc);
            if (add)
            {
                for (int j = 0; j < w; j++)
                {
                    d[j] = t[j] + d[j];
                }
            }
            else
            {
                for (int j = 0; j < w; j++)
                {
                    d[j] = t[j];
                }
            }
        }
    }

    private static int DivUp(int x, int y) => (x + y - 1) / y;

    /// <summary>One thread's share: a contiguous run of whole column (or row) panels of C.</summary>
    private struct Work : IParallelWork
    {
        public GemmArgs Args;
        public int Parts;
        public bool SplitColumns;

        public readonly void Run(int index)
        {
            if (SplitColumns)
            {
                int panels = DivUp(Args.N, TKernel.Nr);
                int c0 = index * panels / Parts * TKernel.Nr;
                int c1 = Math.Min(Args.N, (index + 1) * panels / Parts * TKernel.Nr);
                Compute(in Args, 0, Args.M, c0, c1);
            }
            else
            {
                int panels = DivUp(Args.M, TKernel.Mr);
                int r0 = index * panels / Parts * TKernel.Mr;
                int r1 = Math.Min(Args.M, (index + 1) * panels / Parts * TKernel.Mr);
                Compute(in Args, r0, r1, 0, Args.N);
            }
        }
    }
}
