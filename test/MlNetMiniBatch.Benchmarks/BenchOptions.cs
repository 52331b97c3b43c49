using System.Globalization;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>The harness's command line. Every figure it prints is measured in the same invocation.</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        Usage: dotnet run -c Release --project test/MlNetMiniBatch.Benchmarks -- [options]

          --quick              short run (1 epoch, fewer repetitions, streaming at 1x and 16x only); under a minute with a SIMD GEMM
          --full               long run (10 epochs, more repetitions)
          --only SECTION       run one section: gemm, train, stream, postgres (needs MLNMB_POSTGRES) or infer (comma-separated
                               list allowed); also breakdown, run only when asked for: where a training step's time goes
                               (reader, forward, loss, backward, optimizer, worker-pool waits, GFLOPS, bytes streamed);
                               and mpi, also only when asked for: rows/s under mpirun -np 1 and 2 (needs Open MPI), 1 and 2
                               threads per rank, batch 512 and 2048, gradient summed after backward or in buckets during it;
                               and reader, also only when asked for: a row's read cost, the cache read in place against the
                               getters, and a Fit's rows/s with each; and gemmcontext, also only when asked for: the
                               network's GEMMs on one thread alone, in its passes and in a training cycle; and scaling, also only
                               when asked for: rows/s of ours and PyTorch at each thread count of --thread-list and batch size of
                               --batches, speedups against the fewest threads (issue 15's sweep for the 16-core device)
          --thread-list L      scaling: comma-separated thread counts (default 1,2,4,8,16), clipped to the logical cores
          --batches L          scaling and breakdown: comma-separated batch sizes (default 128,512,2048; breakdown 32,128,512)
          --time-budget S      scaling: seconds the whole section may take, data loading included (default 420); it plans its
                               epochs to fit, and names what it drops when even the fewest do not (--epochs fixes them)
          --bucket N           mpi: the fewest parameters per gradient bucket of the overlapped cases (default 16384)
          --threads N          threads for training, inference and the peers; GEMM runs at 1 and N (default 2)
          --epochs N           override the epochs of the training section (mpi: epochs per job, the first untimed; default 2)
          --seeds N            timed runs per side and batch size in the training section (default 10, quick 1); mpi: rounds
                               of alternating jobs (default 3, quick 1)
          --accuracy-seeds N   train: after the timed seeds, seeds up to N on each side for accuracy alone (their rows/s are
                               not used), and the accuracy difference over seeds 1..N beside the --seeds check (N > --seeds)
          --data DIR           Fashion-MNIST idx files (default: /usr/share/datasets/fashion-mnist, else the shipped subset)
          --cache-dir DIR      where the streaming files are generated (default: $TMPDIR/mlnetminibatch-bench)
          --stream-multiples L comma-separated multiples of the training set for the streaming section (default 1,4,16)
          --optimizer NAME     optimizer of the breakdown section: sgd (momentum 0.9, lr 0.05; the default), adam or rmsprop
                               (both lr 0.001, no momentum)
          --python PATH        Python interpreter for the peers (default: python3 on PATH, else /usr/bin/python3)
          --no-peers           skip numpy and PyTorch
          --torchsharp         train: also run the TorchSharp peer (TorchSharp-cpu 0.107, libtorch 2.10 with MKL/oneDNN), the
                               same network and loop as the PyTorch peer, at 1 thread and at --threads, against ours at 1
                               thread and at --threads (target: at least level at 1 thread, batch 128 and 512). Off by
                               default: the harness builds test/MlNetMiniBatch.Benchmarks.TorchSharpPeer once per run with
                               dotnet build -c Release, and its first restore downloads libtorch (about 600 MB); when the
                               build fails the harness says why in one line and goes on without it. Not affected by --no-peers
          -h, --help           this text

        Environment for the peers: the harness sets OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs (override with
        BENCH_OPENBLAS_CORETYPE, empty = leave OpenBLAS to detect), clears OPENBLAS_L2_SIZE, and puts the OpenMP build of
        OpenBLAS first on LD_LIBRARY_PATH when it is installed (override the directory with BENCH_OPENBLAS_DIR).
        """;

    public static readonly string[] Sections = { "gemm", "train", "stream", "postgres", "infer", "breakdown", "mpi", "reader", "gemmcontext", "scaling" };

    /// <summary>Sections left out of a run without --only: diagnostics, and one that starts dozens of mpirun jobs.</summary>
    private static readonly string[] OnRequest = { "breakdown", "mpi", "reader", "gemmcontext", "scaling" };

    public bool Quick { get; private set; }
    public bool Full { get; private set; }
    public HashSet<string> Only { get; } = new(StringComparer.OrdinalIgnoreCase);
    public int Threads { get; private set; } = 2;
    public int? EpochsOverride { get; private set; }
    public int? SeedsOverride { get; private set; }

    /// <summary>Seeds of the training section's accuracy comparison, the timed ones included; null: only the timed ones.</summary>
    public int? AccuracySeeds { get; private set; }
    public string? DataDirectory { get; private set; }
    public string CacheDirectory { get; private set; } = Path.Combine(Path.GetTempPath(), "mlnetminibatch-bench");
    public int[]? StreamMultiplesOverride { get; private set; }
    public string? Python { get; private set; }
    public bool NoPeers { get; private set; }

    /// <summary>Whether the training section also runs the TorchSharp peer (and ours at 1 thread beside it).</summary>
    public bool TorchSharp { get; private set; }
    public NeuralNetworkOptimizer BreakdownOptimizer { get; private set; } = NeuralNetworkOptimizer.Sgd;
    public bool Help { get; private set; }

    /// <summary>Thread counts of the scaling section before clipping (--thread-list), null for the default.</summary>
    public int[]? ThreadListOverride { get; private set; }

    /// <summary>Batch sizes given with --batches, null for each section's own.</summary>
    public int[]? BatchesOverride { get; private set; }

    /// <summary>Batch sizes of the scaling section (--batches, default 128, 512, 2048).</summary>
    public int[] ScalingBatches => BatchesOverride ?? new[] { 128, 512, 2048 };

    /// <summary>Batch sizes of the breakdown section (--batches, default 32, 128, 512).</summary>
    public int[] BreakdownBatches => BatchesOverride ?? new[] { 32, 128, 512 };

    /// <summary>Seconds the scaling section may take (--time-budget).</summary>
    public double TimeBudgetSeconds { get; private set; } = 420;

    /// <summary>Thread counts of the scaling section (--thread-list, default 1, 2, 4, 8, 16), ascending, without those above
    /// the logical cores, which are returned as Clipped.</summary>
    public (int[] Threads, int[] Clipped) ScalingThreads
    {
        get
        {
            int[] all = ThreadListOverride ?? new[] { 1, 2, 4, 8, 16 };
            int[] kept = all.Where(t => t <= Environment.ProcessorCount).ToArray();
            return (kept.Length > 0 ? kept : new[] { 1 }, all.Except(kept).ToArray());
        }
    }

    /// <summary>Gradient bucket size of the mpi section's overlapped cases.</summary>
    public int MpiBucketSize { get; private set; } = 16384;

    /// <summary>Epochs of the training section: 1 quick, 3 normal, 10 full, unless overridden.</summary>
    public int Epochs => EpochsOverride ?? (Quick ? 1 : Full ? 10 : 3);

    public string Mode => Quick ? "quick" : Full ? "full" : "normal";

    /// <summary>Seeds of the training section: each is a full timed run on both sides; rows/s are the medians and
    /// accuracies the means over them (one seed's accuracy moves by 1–2 points, so ±0.5 needs about ten).</summary>
    public int Seeds => SeedsOverride ?? (Quick ? 1 : 10);

    public int[] StreamMultiples => StreamMultiplesOverride ?? (Quick ? new[] { 1, 16 } : new[] { 1, 4, 16 });

    /// <summary>Timed samples per GEMM case (the median is reported) and the time budget of one case.</summary>
    public int GemmSamples => Quick ? 5 : Full ? 31 : 15;

    public double GemmCaseBudgetSeconds => Quick ? 0.4 : Full ? 6 : 2;

    public bool Runs(string section) => Only.Count == 0 ? !OnRequest.Contains(section) : Only.Contains(section);

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value.");
            switch (arg)
            {
                case "--quick": o.Quick = true; break;
                case "--full": o.Full = true; break;
                case "--only":
                    foreach (string s in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!Sections.Contains(s, StringComparer.OrdinalIgnoreCase))
                            throw new ArgumentException($"--only: unknown section '{s}' (sections: {string.Join(", ", Sections)}).");
                        o.Only.Add(s);
                    }
                    break;
                case "--threads": o.Threads = Positive(arg, Value()); break;
                case "--epochs": o.EpochsOverride = Positive(arg, Value()); break;
                case "--seeds": o.SeedsOverride = Positive(arg, Value()); break;
                case "--accuracy-seeds": o.AccuracySeeds = Positive(arg, Value()); break;
                case "--data": o.DataDirectory = Value(); break;
                case "--cache-dir": o.CacheDirectory = Value(); break;
                case "--stream-multiples": o.StreamMultiplesOverride = PositiveList(arg, Value()); break;
                case "--thread-list": o.ThreadListOverride = PositiveList(arg, Value()); break;
                case "--batches": o.BatchesOverride = PositiveList(arg, Value()); break;
                case "--time-budget": o.TimeBudgetSeconds = Positive(arg, Value()); break;
                case "--python": o.Python = Value(); break;
                case "--optimizer": o.BreakdownOptimizer = OptimizerNamed(Value()); break;
                case "--no-peers": o.NoPeers = true; break;
                case "--torchsharp": o.TorchSharp = true; break;
                case "--bucket": o.MpiBucketSize = Positive(arg, Value()); break;
                case "-h" or "--help": o.Help = true; break;
                default: throw new ArgumentException($"Unknown option '{arg}'.");
            }
        }
        if (o.Quick && o.Full) throw new ArgumentException("--quick and --full exclude each other.");
        if (o.AccuracySeeds is { } accuracySeeds && accuracySeeds <= o.Seeds)
            throw new ArgumentException($"--accuracy-seeds {accuracySeeds} adds nothing to the {o.Seeds} timed seeds: give more than --seeds.");
        return o;
    }

    private static NeuralNetworkOptimizer OptimizerNamed(string value) => value.ToLowerInvariant() switch
    {
        "sgd" => NeuralNetworkOptimizer.Sgd,
        "adam" => NeuralNetworkOptimizer.Adam,
        "rmsprop" => NeuralNetworkOptimizer.RmsProp,
        _ => throw new ArgumentException($"--optimizer: unknown optimizer '{value}' (sgd, adam or rmsprop)."),
    };

    /// <summary>A comma-separated list of positive integers, distinct and ascending.</summary>
    private static int[] PositiveList(string option, string value)
    {
        int[] list = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => Positive(option, s)).Distinct().Order().ToArray();
        return list.Length > 0 ? list : throw new ArgumentException($"{option} needs at least one value.");
    }

    private static int Positive(string option, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n : throw new ArgumentException($"{option} needs a positive integer, got '{value}'.");
}
