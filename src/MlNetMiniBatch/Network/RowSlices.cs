using System.Runtime.InteropServices;
using MlNetMiniBatch.Kernels;

namespace MlNetMiniBatch.Network;

/// <summary>
/// Runs the row-independent parts of a pass, the forward pass and the input gradients down the layers, as one dispatch
/// per pass: each thread takes a contiguous slice of the batch's rows through every layer on its own, instead of every
/// layer's product being split across the threads and joined again. A row's values do not depend on which rows share
/// its product (<see cref="GemmDriver{TKernel}.Compute"/>), so the results are the same bits as the split products'.
/// </summary>
internal static unsafe class RowSlices
{
    /// <summary>Fewest rows a slice may have. Below it each thread's products are too short to run near the roof, and
    /// splitting every product across all threads does as well or better.</summary>
    public const int MinRows = 40;

    /// <summary>Passes that ran as slices: lets tests prove that a run at their sizes took this path.</summary>
    internal static long Dispatched => Interlocked.Read(ref _dispatched);

    private static long _dispatched;

    /// <summary>How many slices a pass over <paramref name="rows"/> rows takes on <paramref name="threads"/> threads:
    /// one per thread when every thread gets <see cref="MinRows"/>, else 1 (the products are split instead).</summary>
    public static int Count(int rows, int threads) => threads > 1 && rows >= (long)threads * MinRows ? threads : 1;

    /// <summary>Rows [First, First + Count) of slice <paramref name="index"/>: whole micro-kernel row blocks where possible,
    /// so that no slice but the last ends in a padded tile.</summary>
    public static (int First, int Count) Rows(int rows, int slices, int index)
    {
        int block = MicroKernel512.Mr;
        int blocks = (rows + block - 1) / block;
        int first = Math.Min(rows, (int)((long)blocks * index / slices) * block);
        int end = Math.Min(rows, (int)((long)blocks * (index + 1) / slices) * block);
        return (first, end - first);
    }

    /// <summary>Runs <paramref name="pass"/>'s slices, one per thread; returns when all are done.</summary>
    public static void Run(MultilayerPerceptron network, LayerBuffers buffers, in SlicedPass pass, int slices)
    {
        Interlocked.Increment(ref _dispatched);
        var networkHandle = GCHandle.Alloc(network);
        var buffersHandle = GCHandle.Alloc(buffers);
        try
        {
            var work = new Work { Pass = pass, Network = GCHandle.ToIntPtr(networkHandle), Buffers = GCHandle.ToIntPtr(buffersHandle), Slices = slices };
            WorkerPool.Shared.Run(in work, slices, slices);
        }
        finally
        {
            buffersHandle.Free();
            networkHandle.Free();
        }
    }

    /// <summary>What a slice needs of its pass, as pointers: the caller keeps the arrays pinned until the pass returns.</summary>
    internal struct SlicedPass
    {
        public bool Backward;
        public float* Parameters;
        public int ParameterCount;
        public float* Input;
        public int Rows;
        public float Dropout;
        public ulong DropoutSeed;
    }

    private struct Work : IParallelWork
    {
        public SlicedPass Pass;
        public IntPtr Network, Buffers;
        public int Slices;

        public readonly void Run(int index)
        {
            var network = (MultilayerPerceptron)GCHandle.FromIntPtr(Network).Target!;
            var buffers = (LayerBuffers)GCHandle.FromIntPtr(Buffers).Target!;
            var (first, count) = Rows(Pass.Rows, Slices, index);
            if (count == 0)
                return;
            var parameters = new ReadOnlySpan<float>(Pass.Parameters, Pass.ParameterCount);
            if (Pass.Backward)
            {
                network.InputGradients(parameters, Pass.Rows, first, count, buffers, threads: 1);
            }
            else
            {
                var input = new ReadOnlySpan<float>(Pass.Input, Pass.Rows * network.Layout.InputSize);
                network.ForwardRows(parameters, input, Pass.Rows, first, count, buffers, threads: 1, Pass.Dropout, Pass.DropoutSeed);
            }
        }
    }
}
