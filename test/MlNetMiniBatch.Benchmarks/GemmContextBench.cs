using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// Section G (only with <c>--only gemmcontext</c>): why a GEMM runs slower inside training than alone. The
/// 784-256-128-10 network's forward and backward passes on one thread, on random rows, under conditions that add one
/// difference between the isolated GEMM and a training step at a time, the conditions alternating: the first layer's
/// GEMM alone and with its fused bias and activation; the whole forward pass on the same rows again and again; a
/// training cycle (forward, backward and an SGD-momentum pass over parameters, gradient and momentum) on rows that
/// change every step, as the reader's do; and that cycle with the parameter vector placed at each of four offsets
/// from a 64-byte cache line, since the network reads its weights in place from one flat array. With
/// <c>--threads N</c> above 1, the same cycle also runs on N threads, alone and with a stand-in for the trainer's reader
/// thread copying the next batch's rows (with the finite check) while the step computes, as the prefetching stream does.
/// </summary>
internal static unsafe class GemmContextBench
{
    private static readonly int[] BatchSizes = { 128, 512 };
    private static readonly int[] Sizes = { 784, 256, 128, 10 };

    // Enough distinct input rows that each step's batch comes from memory, as a shuffled epoch's do.
    private const int InputRows = 16384;

    public static void Run(BenchOptions options)
    {
        int rounds = options.Quick ? 5 : options.Full ? 40 : 15;
        int threads = options.Threads;
        Report.Heading($"G. GEMM in context: 784-256-128-10 ReLU, 1 thread{(threads > 1 ? $" and {threads}" : "")}, random rows, µs per pass, median of {rounds} alternating rounds");
        var (roof, roofMany) = FmaRoof.MeasureWithRetry(threads, 5, out string? roofNote);
        Report.Note($"FMA roof {Report.F(roof, 0)} GFLOPS on 1 thread, {Report.F(roofMany, 0)} on {threads}" + (roofNote is null ? "" : $" ({roofNote})") +
                    $"; L2 {Machine.CacheSize(2)}; load average {Machine.LoadAverage}");
        var table = new Table("batch", "threads", "condition", "forward µs", "fwd GFLOPS", "backward µs", "bwd GFLOPS", "L1 GEMM µs", "L1 GFLOPS",
            "fastest fwd / bwd / L1 µs");
        foreach (int batch in BatchSizes)
        {
            var layout = new NetworkLayout(Sizes);
            var cases = new List<Case>
            {
                new("L1 GEMM alone, same rows", batch, layout, 0, Mode.GemmAlone),
                new("L1 GEMM + bias/ReLU, same rows", batch, layout, 0, Mode.GemmEpilogue),
                new("forward, same rows", batch, layout, 0, Mode.ForwardOnly),
                new("forward+backward, same rows", batch, layout, 0, Mode.PassesOnly),
                new("training cycle, params +0 B", batch, layout, 0, Mode.Cycle),
                new("training cycle, params +16 B", batch, layout, 4, Mode.Cycle),
                new("training cycle, params +32 B", batch, layout, 8, Mode.Cycle),
                new("training cycle, params +48 B", batch, layout, 12, Mode.Cycle),
            };
            if (threads > 1)
            {
                cases.Add(new("L1 GEMM alone, same rows", batch, layout, 0, Mode.GemmAlone, threads));
                cases.Add(new("forward+backward, same rows", batch, layout, 0, Mode.PassesOnly, threads));
                cases.Add(new("training cycle, params +0 B", batch, layout, 0, Mode.Cycle, threads));
                cases.Add(new("training cycle + reader stand-in", batch, layout, 0, Mode.Cycle, threads, ReaderWork.Copy));
                cases.Add(new("training cycle + reader, streaming stores", batch, layout, 0, Mode.Cycle, threads, ReaderWork.CopyStreaming));
                cases.Add(new("training cycle + reader's time, no memory", batch, layout, 0, Mode.Cycle, threads, ReaderWork.Spin));
            }
            foreach (var c in cases)
                c.Round(3); // warm-up: JIT tiers, caches
            for (int r = 0; r < rounds; r++)
                foreach (var c in cases)
                    c.Round(8);
            double fwdFlops = 0, bwdFlops = 0, l1Flops = 2.0 * batch * Sizes[0] * Sizes[1];
            for (int l = 0; l < Sizes.Length - 1; l++)
            {
                fwdFlops += 2.0 * batch * Sizes[l] * Sizes[l + 1];
                bwdFlops += 2.0 * batch * Sizes[l] * Sizes[l + 1] * (l == 0 ? 1 : 2);
            }
            foreach (var c in cases)
            {
                double caseRoof = c.Threads == 1 ? roof : roofMany;
                double f = Stats.Median(c.Forward), b = Stats.Median(c.Backward), g = Stats.Median(c.FirstGemm);
                string Gf(double us, double flops) => double.IsNaN(us) ? "-" : $"{Report.F(flops / us / 1e3, 0)} ({100 * flops / us / 1e3 / caseRoof:F0}%)";
                string Min(List<double> v) => v.All(double.IsNaN) ? "-" : Report.F(v.Min(), 0);
                table.Add(batch.ToString(), c.Threads.ToString(), c.Name, Report.F(f), Gf(f, fwdFlops), Report.F(b), Gf(b, bwdFlops), Report.F(g), Gf(g, l1Flops),
                    $"{Min(c.Forward)} / {Min(c.Backward)} / {Min(c.FirstGemm)}");
                if (c.ReaderUs.Count > 0)
                    Report.Note($"batch {batch}, {c.Threads} threads, {c.Name}: the reader stand-in took {Report.F(Stats.Median(c.ReaderUs))} µs a batch (median)");
                Report.Bench("gemmcontext", $"b{batch}/t{c.Threads}/{c.Name}", ("batch", batch), ("threads", c.Threads), ("forward_us", f), ("backward_us", b), ("l1_gemm_us", g),
                    ("forward_min_us", c.Forward.Min()), ("backward_min_us", c.Backward.Min()), ("l1_gemm_min_us", c.FirstGemm.Min()),
                    ("forward_gflops", fwdFlops / f / 1e3), ("backward_gflops", bwdFlops / b / 1e3), ("roof_gflops", caseRoof), ("reader_us", c.ReaderUs.Count > 0 ? Stats.Median(c.ReaderUs) : double.NaN),
                    ("load_average", Machine.LoadAverage));
            }
        }
        table.Print();
        Report.Note("Medians, and the fastest round (on a shared machine the least disturbed one). 'L1 GEMM' is the first layer's forward product (batch×784 · 784×256) timed on its own inside the forward pass; " +
                    "'same rows' repeats one batch (inputs and weights stay cached, as in the GEMM section); 'training cycle' draws each " +
                    "step's rows from 16,384 random ones and updates every parameter after the backward pass (lr 1e-7, so nothing diverges); " +
                    "'+ reader stand-in' has another thread copy the next batch's rows from random places with the finite check while the step " +
                    "computes (the step waits for it at its end, outside the timed parts), the cost of the trainer's reader beside the GEMMs.");
    }

    private enum Mode { GemmAlone, GemmEpilogue, ForwardOnly, PassesOnly, Cycle }

    /// <summary>What the reader stand-in does per batch: copy the rows as the trainer's reader does, copy them with
    /// stores that bypass the cache, or only spend the reader's measured time on its core (1.2 µs a row) without touching
    /// memory, which separates taking a core from evicting the compute threads' cache lines.</summary>
    private enum ReaderWork { None, Copy, CopyStreaming, Spin }

    private sealed class Case
    {
        private readonly int _batch;
        private readonly NetworkLayout _layout;
        private readonly Mode _mode;
        private readonly float[] _parameterStore, _gradient, _velocity, _inputs, _logitGradient;
        private readonly int _parameterOffset;
        private readonly MultilayerPerceptron _network;
        private readonly LayerBuffers _buffers;
        private readonly ReaderStandIn? _reader;
        private int _step;

        public Case(string name, int batch, NetworkLayout layout, int floatsPastLine, Mode mode, int threads = 1, ReaderWork reader = ReaderWork.None)
        {
            (Name, _batch, _layout, _mode, Threads) = (name, batch, layout, mode, threads);
            // Pinned, so the offset from a cache line chosen here stays true.
            _parameterStore = GC.AllocateArray<float>(layout.ParameterCount + 32, pinned: true);
            nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_parameterStore));
            int toLine = (int)((64 - (address & 63)) & 63) / sizeof(float);
            _parameterOffset = toLine + floatsPastLine;
            WeightInitializer.Initialize(layout, NeuralNetworkActivation.ReLU, Parameters, new Random(1));
            _gradient = new float[layout.ParameterCount];
            _velocity = new float[layout.ParameterCount];
            var random = new Random(2);
            _inputs = new float[(long)InputRows * layout.InputSize];
            for (int i = 0; i < _inputs.Length; i++)
                _inputs[i] = random.NextSingle();
            _logitGradient = new float[batch * layout.OutputSize];
            for (int i = 0; i < _logitGradient.Length; i++)
                _logitGradient[i] = (random.NextSingle() - 0.5f) / batch;
            _network = new MultilayerPerceptron(layout, NeuralNetworkActivation.ReLU);
            _buffers = new LayerBuffers(layout, NeuralNetworkActivation.ReLU, batch);
            if (reader != ReaderWork.None)
                _reader = new ReaderStandIn(_inputs, layout.InputSize, batch, reader);
        }

        public string Name { get; }

        public int Threads { get; }

        public List<double> ReaderUs { get; } = new();

        public List<double> Forward { get; } = new();
        public List<double> Backward { get; } = new();
        public List<double> FirstGemm { get; } = new();

        private Span<float> Parameters => _parameterStore.AsSpan(_parameterOffset, _layout.ParameterCount);

        /// <summary>Runs <paramref name="steps"/> steps and records the mean µs of each timed part.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Round(int steps)
        {
            long forward = 0, backward = 0, gemm = 0;
            int width = _layout.InputSize;
            for (int s = 0; s < steps; s++)
            {
                int first = _mode == Mode.Cycle ? (_step++ * _batch) % (InputRows - _batch + 1) : 0;
                ReadOnlySpan<float> input = _inputs.AsSpan(first * width, _batch * width);
                ReadOnlySpan<float> parameters = Parameters;
                long t0 = Stopwatch.GetTimestamp();
                if (_mode is Mode.GemmAlone or Mode.GemmEpilogue)
                {
                    var z = _buffers.PreActivation(0, _batch);
                    if (_mode == Mode.GemmAlone)
                        Gemm.Multiply(false, false, _batch, Sizes[1], width, input, width, _layout.Weights(parameters, 0), Sizes[1], z, Sizes[1],
                            accumulate: false, Threads);
                    else
                        Gemm.MultiplyAddBias(_batch, Sizes[1], width, input, width, _layout.Weights(parameters, 0), Sizes[1], z,
                            _layout.Bias(parameters, 0), NeuralNetworkActivation.ReLU, _buffers.Activation(0, _batch), Threads);
                    gemm += Stopwatch.GetTimestamp() - t0;
                    continue;
                }

                _reader?.Start();
                _network.Forward(parameters, input, _batch, _buffers, Threads);
                long t1 = Stopwatch.GetTimestamp();
                forward += t1 - t0;
                if (_mode == Mode.ForwardOnly)
                    continue;
                _network.Backward(parameters, input, _batch, _buffers, _logitGradient, _gradient, Threads);
                backward += Stopwatch.GetTimestamp() - t1;
                if (_mode == Mode.Cycle)
                {
                    // The momentum SGD step's memory traffic: v = 0.9 v + g; p -= lr v.
                    TensorPrimitives.MultiplyAdd(_velocity, 0.9f, _gradient, _velocity);
                    TensorPrimitives.MultiplyAdd(_velocity, -1e-7f, Parameters, Parameters);
                }
                _reader?.Finish();
            }
            if (_reader is not null)
                ReaderUs.Add(_reader.TakeMeanMicroseconds());
            double us = 1e6 / Stopwatch.Frequency / steps;
            if (_mode is Mode.GemmAlone or Mode.GemmEpilogue)
            {
                FirstGemm.Add(gemm * us);
                Forward.Add(double.NaN);
                Backward.Add(double.NaN);
                return;
            }
            Forward.Add(forward * us);
            Backward.Add(_mode == Mode.ForwardOnly ? double.NaN : backward * us);
            FirstGemm.Add(double.NaN);
        }
    }

    /// <summary>
    /// Stands in for the prefetching stream's reader thread: on each <see cref="Start"/> it copies a batch of rows from
    /// random places of the input into its own buffer, checking each value is finite, as the trainer's reader does.
    /// </summary>
    private sealed class ReaderStandIn
    {
        private readonly float[] _source, _batchStore;
        private readonly int _width, _rows, _batchOffset;
        private readonly ReaderWork _work;
        private readonly SemaphoreSlim _go = new(0), _done = new(0);
        private int _next = 1;
        private long _ticks, _batches;

        public ReaderStandIn(float[] source, int width, int rows, ReaderWork work)
        {
            (_source, _width, _rows, _work) = (source, width, rows, work);
            // Pinned and started on a cache line, so that the streaming stores' aligned addresses stay true.
            _batchStore = GC.AllocateArray<float>(rows * width + 16, pinned: true);
            nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_batchStore));
            _batchOffset = (int)((64 - (address & 63)) & 63) / sizeof(float);
            new Thread(Loop) { IsBackground = true, Name = "reader stand-in" }.Start();
        }

        public void Start() => _go.Release();

        private void CopyRow(ReadOnlySpan<float> row, Span<float> target)
        {
            var bad = Vector512<float>.Zero;
            int j = 0;
            fixed (float* from = row)
            fixed (float* to = target)
            {
                bool streaming = _work == ReaderWork.CopyStreaming && Avx512F.IsSupported && ((nuint)to & 63) == 0;
                for (; j <= row.Length - Vector512<float>.Count; j += Vector512<float>.Count)
                {
                    var v = Vector512.Load(from + j);
                    if (streaming)
                        Avx512F.StoreAlignedNonTemporal(to + j, v);
                    else
                        v.Store(to + j);
                    bad |= ~Vector512.Equals(v - v, Vector512<float>.Zero);
                }
                for (; j < row.Length; j++)
                {
                    to[j] = from[j];
                    if (!float.IsFinite(from[j]))
                        bad = Vector512<float>.One;
                }
            }
            if (bad != Vector512<float>.Zero)
                throw new InvalidOperationException("The reader stand-in met a non-finite input.");
        }

        public void Finish() => _done.Wait();

        public double TakeMeanMicroseconds()
        {
            double us = _batches == 0 ? double.NaN : _ticks * 1e6 / Stopwatch.Frequency / _batches;
            (_ticks, _batches) = (0, 0);
            return us;
        }

        private void Loop()
        {
            int sourceRows = _source.Length / _width;
            while (true)
            {
                _go.Wait();
                long t0 = Stopwatch.GetTimestamp();
                if (_work == ReaderWork.Spin)
                {
                    long end = t0 + (long)(_rows * 1.2e-6 * Stopwatch.Frequency);
                    while (Stopwatch.GetTimestamp() < end)
                        Thread.SpinWait(20);
                }
                else
                {
                    for (int r = 0; r < _rows; r++)
                    {
                        _next = (int)((_next * 1103515245L + 12345) & 0x7FFFFFFF);
                        CopyRow(_source.AsSpan((_next % sourceRows) * _width, _width), _batchStore.AsSpan(_batchOffset + (r * _width), _width));
                    }
                }
                _ticks += Stopwatch.GetTimestamp() - t0;
                _batches++;
                _done.Release();
            }
        }
    }
}
