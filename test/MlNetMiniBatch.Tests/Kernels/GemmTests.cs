using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Tests.Kernels;

[TestClass]
public sealed class GemmTests
{
    private const float PadSentinel = 777f;

    private static readonly int[] OddSizes = [0, 1, 3, 17, 33, 65];

    // Shapes that cross the block boundaries (k > 512, m > 128, n > 1024) or end in ragged tiles.
    private static readonly (int M, int N, int K)[] BlockingShapes =
    [
        (7, 40, 600), (70, 70, 1025), (200, 33, 5), (9, 1100, 3), (31, 47, 513), (16, 64, 512), (130, 20, 300),
    ];

    [TestMethod]
    [DataRow(false, false, "Vector512")]
    [DataRow(false, true, "Vector512")]
    [DataRow(true, false, "Vector512")]
    [DataRow(true, true, "Vector512")]
    [DataRow(false, false, "Vector256")]
    [DataRow(false, true, "Vector256")]
    [DataRow(true, false, "Vector256")]
    [DataRow(true, true, "Vector256")]
    [DataRow(false, false, "Scalar")]
    [DataRow(false, true, "Scalar")]
    [DataRow(true, false, "Scalar")]
    [DataRow(true, true, "Scalar")]
    public void MatchesNaiveOnOddAndBlockingShapes(bool transposeA, bool transposeB, string pathName)
    {
        SimdPath path = RequireSupported(pathName);
        var rng = new Random((transposeA ? 1 : 0) + (transposeB ? 2 : 0) + (4 * (int)path));
        var shapes = new List<(int M, int N, int K)>();
        foreach (int m in OddSizes)
        {
            foreach (int n in OddSizes)
            {
                foreach (int k in OddSizes)
                {
                    shapes.Add((m, n, k));
                }
            }
        }

        shapes.AddRange(BlockingShapes);
        foreach (var (m, n, k) in shapes)
        {
            foreach (bool accumulate in new[] { false, true })
            {
                // Alternate tight and padded leading dimensions so both layouts see every shape class.
                int pad = (m + n + k) % 2 == 0 ? 0 : 3;
                CheckAgainstNaive(rng, transposeA, transposeB, m, n, k, pad, accumulate, path, threads: 1);
            }
        }
    }

    [TestMethod]
    [DataRow("Vector512")]
    [DataRow("Vector256")]
    [DataRow("Scalar")]
    public void MatchesNaiveOnMlpShapes(string pathName)
    {
        SimdPath path = RequireSupported(pathName);
        var rng = new Random(42);

        // Forward X·W, input gradient dZ·Wᵀ, weight gradient Xᵀ·dZ for the 784-256-128-10 network.
        CheckAgainstNaive(rng, false, false, 32, 256, 784, 5, false, path, threads: 2);
        CheckAgainstNaive(rng, false, false, 1, 256, 784, 0, false, path, threads: 1);
        CheckAgainstNaive(rng, false, false, 128, 10, 128, 0, true, path, threads: 2);
        CheckAgainstNaive(rng, false, false, 128, 1, 128, 0, false, path, threads: 2);
        CheckAgainstNaive(rng, false, true, 32, 784, 256, 0, false, path, threads: 2);
        CheckAgainstNaive(rng, false, true, 128, 128, 10, 1, false, path, threads: 1);
        CheckAgainstNaive(rng, true, false, 784, 256, 32, 0, true, path, threads: 2);
        CheckAgainstNaive(rng, true, false, 256, 128, 128, 2, false, path, threads: 2);
    }

    [TestMethod]
    [DataRow("Vector512")]
    [DataRow("Vector256")]
    [DataRow("Scalar")]
    public void ThreadCountDoesNotChangeBits(string pathName)
    {
        SimdPath path = RequireSupported(pathName);
        var rng = new Random(7);
        (bool TA, bool TB, int M, int N, int K)[] cases =
        [
            (false, false, 128, 256, 784), (false, true, 128, 784, 256), (true, false, 784, 256, 128),
            (false, false, 65, 300, 70), (true, true, 300, 20, 50), (false, false, 700, 3, 40),
            (false, false, 1, 300, 784), (true, false, 3, 77, 400), (false, false, 2, 1000, 100),
            (true, false, 784, 256, 1100), (false, false, 300, 256, 1100),
        ];
        for (int index = 0; index < cases.Length; index++)
        {
            var (ta, tb, m, n, k) = cases[index];
            bool accumulate = index % 2 == 1;
            float[] a = RandomMatrix(rng, ta ? k : m, ta ? m : k, ta ? m : k);
            float[] b = RandomMatrix(rng, tb ? n : k, tb ? k : n, tb ? k : n);
            float[] c0 = RandomMatrix(rng, m, n, n);
            float[] single = (float[])c0.Clone();
            Gemm.Multiply(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, single, n, accumulate, 1, path);
            foreach (int threads in new[] { 2, 3 })
            {
                float[] multi = (float[])c0.Clone();
                Gemm.Multiply(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, multi, n, accumulate, threads, path);
                for (int i = 0; i < single.Length; i++)
                {
                    if (BitConverter.SingleToInt32Bits(single[i]) != BitConverter.SingleToInt32Bits(multi[i]))
                    {
                        Assert.Fail($"{path} {m}x{n}x{k} tA={ta} tB={tb} acc={accumulate}: threads={threads} " +
                            $"differs at {i}: {multi[i]:R} vs {single[i]:R}.");
                    }
                }
            }
        }
    }

    [TestMethod]
    [DataRow("Vector512")]
    [DataRow("Vector256")]
    [DataRow("Scalar")]
    public void ANarrowWeightGradientHasTheBitsOfTheSameColumnsOfAWideOne(string pathName)
    {
        // Xᵀ·dZ with fewer columns than a micro-panel (the output layer's weight gradient) is computed as its transpose;
        // each column must still be the bits that a product wide enough to be computed directly gives for it.
        SimdPath path = RequireSupported(pathName);
        var rng = new Random(13);
        (int M, int N, int K)[] cases = [(128, 10, 512), (784, 1, 600), (33, 3, 37), (256, 15, 1025), (40, 31, 1)];
        for (int index = 0; index < cases.Length; index++)
        {
            var (m, n, k) = cases[index];
            int wide = n + 32;
            float[] a = RandomMatrix(rng, k, m, m);
            float[] bWide = RandomMatrix(rng, k, wide, wide);
            float[] b = new float[k * n];
            for (int r = 0; r < k; r++)
                bWide.AsSpan(r * wide, n).CopyTo(b.AsSpan(r * n, n));
            float[] cWide0 = RandomMatrix(rng, m, wide, wide);
            foreach (bool accumulate in new[] { false, true })
            {
                float[] cWide = (float[])cWide0.Clone();
                Gemm.Multiply(true, false, m, wide, k, a, m, bWide, wide, cWide, wide, accumulate, 1, path);
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    float[] c = new float[m * n];
                    for (int i = 0; i < m; i++)
                        cWide0.AsSpan(i * wide, n).CopyTo(c.AsSpan(i * n, n));
                    Gemm.Multiply(true, false, m, n, k, a, m, b, n, c, n, accumulate, threads, path);
                    float[] expected = new float[m * n];
                    for (int i = 0; i < m; i++)
                        cWide.AsSpan(i * wide, n).CopyTo(expected.AsSpan(i * n, n));
                    AssertSameBits(expected, c, $"{path} {m}x{n}x{k} accumulate={accumulate} threads={threads}");
                }
            }
        }
    }

    [TestMethod]
    [DataRow("Vector512")]
    [DataRow("Vector256")]
    [DataRow("Scalar")]
    public unsafe void WhereBSitsAgainstACacheLineDoesNotChangeBits(string pathName)
    {
        // An untransposed B whose rows start off a 64-byte line is read in place from its first aligned column and
        // packed around it; every offset must give the aligned result bit for bit, on one and two threads, with and
        // without the fused epilogue, and B's row gaps (NaN) must never reach C.
        SimdPath path = RequireSupported(pathName);
        var rng = new Random(11);
        (int M, int N, int K, int Ldb)[] cases = [(40, 256, 300, 256), (9, 50, 33, 64), (20, 100, 17, 112), (64, 8, 40, 16), (5, 31, 9, 32)];
        foreach (var (m, n, k, ldb) in cases)
        {
            float[] a = RandomMatrix(rng, m, k, k);
            float[] b = RandomMatrix(rng, k, n, ldb);
            float[] bias = RandomMatrix(rng, 1, n, n);
            float[] store = GC.AllocateArray<float>(b.Length + 32, pinned: true);
            nuint address = (nuint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref store[0]);
            int toLine = (int)((64 - (address % 64)) % 64) / sizeof(float);
            float[]? plain = null;
            var fused = new Dictionary<NeuralNetworkActivation, float[]>();
            for (int offset = 0; offset < 16; offset++)
            {
                store.AsSpan().Fill(float.NaN);
                b.CopyTo(store, toLine + offset);
                var bAt = store.AsSpan(toLine + offset, b.Length);
                foreach (int threads in new[] { 1, 2 })
                {
                    var c = new float[m * n];
                    Gemm.Multiply(false, false, m, n, k, a, k, bAt, ldb, c, n, accumulate: false, threads, path);
                    plain ??= c;
                    AssertSameBits(plain, c, $"{path} {m}x{n}x{k} ldb={ldb} offset={offset} threads={threads}");
                    // The fused product always takes the widest accelerated path. Every activation: the transcendental
                    // ones give other bits where a span is split, so B's address must not move the split.
                    foreach (var activation in Enum.GetValues<NeuralNetworkActivation>())
                    {
                        var z = new float[m * n];
                        var activated = new float[m * n];
                        Gemm.MultiplyAddBias(m, n, k, a, k, bAt, ldb, z, bias, activation, activated, threads);
                        if (!fused.TryAdd(activation, activated))
                            AssertSameBits(fused[activation], activated, $"fused {activation} {m}x{n}x{k} ldb={ldb} offset={offset} threads={threads}");
                    }
                }
            }

            Assert.IsTrue(plain!.All(float.IsFinite), "a row gap of B reached C");
            plain = null;
            fused.Clear();
        }
    }

    private static void AssertSameBits(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: differs at {i}: {actual[i]:R} vs {expected[i]:R}.");
        }
    }

    [TestMethod]
    public void AutoPathEqualsWidestAcceleratedPath()
    {
        SimdPath widest = Gemm.IsSupported(SimdPath.Vector512) ? SimdPath.Vector512
            : Gemm.IsSupported(SimdPath.Vector256) ? SimdPath.Vector256 : SimdPath.Scalar;
        var rng = new Random(3);
        float[] a = RandomMatrix(rng, 33, 70, 70);
        float[] b = RandomMatrix(rng, 70, 45, 45);
        float[] auto = new float[33 * 45];
        float[] forced = new float[33 * 45];
        Gemm.Multiply(false, false, 33, 45, 70, a, 70, b, 45, auto, 45, false);
        Gemm.Multiply(false, false, 33, 45, 70, a, 70, b, 45, forced, 45, false, 1, widest);
        CollectionAssert.AreEqual(forced, auto);
    }

    [TestMethod]
    public void SteadyStateCallsDoNotAllocate()
    {
        var rng = new Random(5);
        float[] a = RandomMatrix(rng, 784, 256, 256);
        float[] b = RandomMatrix(rng, 784, 256, 256);
        float[] c = new float[784 * 256];

        void RunAll()
        {
            Gemm.Multiply(false, false, 128, 256, 784, a, 784, b, 256, c, 256, false, 1);
            Gemm.Multiply(false, false, 128, 256, 784, a, 784, b, 256, c, 256, false, 2);
            Gemm.Multiply(false, true, 128, 784, 256, a, 256, b, 256, c, 784, false, 2);
            Gemm.Multiply(true, false, 256, 128, 128, a, 256, b, 256, c, 128, true, 2);
            Gemm.Multiply(false, false, 3, 5, 7, a, 7, b, 5, c, 5, false, 2);
            Gemm.Multiply(false, false, 1, 256, 784, a, 784, b, 256, c, 256, false, 2);
        }

        RunAll();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 3; i++)
        {
            RunAll();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.AreEqual(0L, allocated, "Steady-state GEMM calls allocated on the calling thread.");
    }

    [TestMethod]
    public void ZeroKClearsOrKeepsC()
    {
        float[] c = [1, 2, 3, PadSentinel, 4, 5, 6];
        Gemm.Multiply(false, false, 2, 3, 0, [], 0, [], 3, c, 4, accumulate: true);
        CollectionAssert.AreEqual(new float[] { 1, 2, 3, PadSentinel, 4, 5, 6 }, c);
        Gemm.Multiply(false, false, 2, 3, 0, [], 0, [], 3, c, 4, accumulate: false);
        CollectionAssert.AreEqual(new float[] { 0, 0, 0, PadSentinel, 0, 0, 0 }, c);
    }

    [TestMethod]
    public void InvalidArgumentsAreRejected()
    {
        float[] a = new float[12];
        float[] b = new float[12];
        float[] c = new float[12];
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => Gemm.Multiply(false, false, -1, 3, 4, a, 4, b, 3, c, 3, false));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => Gemm.Multiply(false, false, 3, 3, 4, a, 4, b, 3, c, 3, false, threads: 0));
        var lda = Assert.ThrowsExactly<ArgumentException>(
            () => Gemm.Multiply(false, false, 3, 3, 4, a, 3, b, 3, c, 3, false));
        Assert.AreEqual("lda", lda.ParamName);
        var ldbT = Assert.ThrowsExactly<ArgumentException>(
            () => Gemm.Multiply(false, true, 3, 3, 4, a, 4, b, 3, c, 3, false));
        Assert.AreEqual("ldb", ldbT.ParamName);
        var shortB = Assert.ThrowsExactly<ArgumentException>(
            () => Gemm.Multiply(false, false, 3, 3, 4, a, 4, b.AsSpan(0, 11), 3, c, 3, false));
        Assert.AreEqual("b", shortB.ParamName);
        var shortC = Assert.ThrowsExactly<ArgumentException>(
            () => Gemm.Multiply(false, false, 3, 3, 4, a, 4, b, 3, c, 5, false));
        Assert.AreEqual("c", shortC.ParamName);
        Assert.ThrowsExactly<ArgumentException>(
            () => Gemm.MultiplyNaive(true, false, 3, 3, 4, a, 2, b, 3, c, 3, false));
    }

    // Paths travel as names because SimdPath is internal and test methods must be public.
    private static SimdPath RequireSupported(string pathName)
    {
        SimdPath path = Enum.Parse<SimdPath>(pathName);
        if (!Gemm.IsSupported(path))
        {
            Assert.Inconclusive($"{path} is not hardware accelerated on this machine.");
        }

        return path;
    }

    private static void CheckAgainstNaive(
        Random rng, bool ta, bool tb, int m, int n, int k, int pad, bool accumulate, SimdPath path, int threads)
    {
        int lda = (ta ? m : k) + pad;
        int ldb = (tb ? k : n) + pad;
        int ldc = n + pad;
        float[] a = RandomMatrix(rng, ta ? k : m, ta ? m : k, lda);
        float[] b = RandomMatrix(rng, tb ? n : k, tb ? k : n, ldb);
        float[] c = RandomMatrix(rng, m, n, ldc);
        if (!accumulate)
        {
            // C must be overwritten, never scaled: NaN would survive a 0·C.
            for (int i = 0; i < m && n > 0; i++)
            {
                c.AsSpan(i * ldc, n).Fill(float.NaN);
            }
        }

        // The gaps between rows hold a sentinel: A/B gaps must never be read into a result, C gaps never written.
        for (int i = 0; i < m && c.Length > 0; i++)
        {
            c.AsSpan((i * ldc) + n, Math.Min(pad, c.Length - (i * ldc) - n)).Fill(PadSentinel);
        }

        float[] expected = (float[])c.Clone();
        Gemm.MultiplyNaive(ta, tb, m, n, k, a, lda, b, ldb, expected, ldc, accumulate);
        Gemm.Multiply(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate, threads, path);

        float tolerance = 1e-5f * MathF.Sqrt(Math.Max(k, 1));
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < ldc && (i * ldc) + j < c.Length; j++)
            {
                float want = expected[(i * ldc) + j];
                float got = c[(i * ldc) + j];
                bool ok = j < n
                    ? MathF.Abs(got - want) <= tolerance * Math.Max(1f, MathF.Abs(want))
                    : got == PadSentinel;
                if (!ok)
                {
                    Assert.Fail($"{path} {m}x{n}x{k} tA={ta} tB={tb} acc={accumulate} pad={pad} threads={threads}: " +
                        $"C[{i},{j}] = {got:R}, expected {want:R}.");
                }
            }
        }
    }

    /// <summary>Values in [-1, 1); row gaps (leading dimension beyond <paramref name="cols"/>) hold NaN.</summary>
    private static float[] RandomMatrix(Random rng, int rows, int cols, int ld)
    {
        int length = rows == 0 || cols == 0 ? 0 : ((rows - 1) * ld) + cols;
        float[] data = new float[length];
        Array.Fill(data, float.NaN);
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                data[(i * ld) + j] = (rng.NextSingle() * 2f) - 1f;
            }
        }

        return data;
    }
}
