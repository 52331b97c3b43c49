using System.Numerics.Tensors;
using MlNetMiniBatch.Kernels;

namespace MlNetMiniBatch.Network;

/// <summary>
/// A layer's bias gradient: the column sums of its dZ over the batch's rows, each column added in row order. Large
/// ones are split by columns across the threads; a column's sum is the same additions whichever thread makes them, so
/// the bits do not depend on the thread count. On the calling thread alone they are a serial part of every step.
/// </summary>
internal static unsafe class BiasGradient
{
    /// <summary>Fewest dZ floats worth splitting: about 5 µs of adds, against a dispatch's one or two.</summary>
    public const int MinFloats = 1 << 16;

    // Column ranges start on a cache line (16 floats), so that no two threads write the same line of the bias.
    private const int LineFloats = 16;

    /// <summary>Sums that were split across threads: lets tests prove that a run at their sizes took this path.</summary>
    internal static long Dispatched => Interlocked.Read(ref _dispatched);

    private static long _dispatched;

    /// <summary>dB[j] = Σ over rows r of dZ[r × width + j], for j in [0, width).</summary>
    public static void Sum(ReadOnlySpan<float> dZ, int rows, int width, Span<float> dB, int threads)
    {
        int items = threads > 1 && (long)rows * width >= MinFloats ? Math.Min(threads, width / LineFloats) : 1;
        fixed (float* z = dZ, b = dB)
        {
            var work = new Work { DZ = z, DB = b, Rows = rows, Width = width, Items = Math.Max(1, items) };
            if (items <= 1)
            {
                work.Run(0);
                return;
            }
            Interlocked.Increment(ref _dispatched);
            WorkerPool.Shared.Run(in work, items, threads);
        }
    }

    private struct Work : IParallelWork
    {
        public float* DZ, DB;
        public int Rows, Width, Items;

        public readonly void Run(int index)
        {
            int first = Boundary(index), end = Boundary(index + 1);
            if (first >= end)
                return;
            var dB = new Span<float>(DB + first, end - first);
            dB.Clear();
            for (int r = 0; r < Rows; r++)
                TensorPrimitives.Add(dB, new ReadOnlySpan<float>(DZ + ((long)r * Width) + first, end - first), dB);
        }

        private readonly int Boundary(int item) => item >= Items ? Width : (int)((long)Width * item / Items) / LineFloats * LineFloats;
    }
}
