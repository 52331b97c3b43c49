// Performance harness of MlNetMiniBatch: GEMM, end-to-end training, streaming memory and inference, each against a
// reference measured in the same invocation (OpenBLAS through numpy, PyTorch) where one is installed.
//
//   dotnet run -c Release --project test/MlNetMiniBatch.Benchmarks -- [--quick] [--only gemm|train|stream|postgres|infer|breakdown|mpi|reader|gemmcontext|scaling] [--threads N] [--full]
//
// Output: a table per section, and one line per case 'BENCH {json}' for scripts.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MlNetMiniBatch.Benchmarks;

if (args.Length > 0 && args[0] == StreamBench.ChildFlag)
    return StreamBench.ChildMain(args);
if (args.Length > 0 && args[0] == PostgresStreamBench.ChildFlag)
    return PostgresStreamBench.ChildMain(args);
if (args.Length > 0 && args[0] == PostgresReadCost.ChildFlag)
    return PostgresReadCost.ChildMain(args);
if (args.Length > 0 && args[0] == MpiBench.WorkerFlag)
    return MpiBench.WorkerMain(args);

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}
if (options.Help)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

// The worker pool's timing hook reads its switch once, when the pool first runs; it costs a few timestamps per pool
// batch, so it is on only when the breakdown asks for it.
if (options.Runs("breakdown"))
{
    AppContext.SetSwitch(MlNetMiniBatch.Kernels.WorkerPoolTimings.Switch, true);
    if (options.Only.Count > 1)
        Console.WriteLine("  note: worker-pool timing is on for every section of this run (it is for the breakdown)");
}

var total = Stopwatch.StartNew();
Console.WriteLine($"MlNetMiniBatch benchmarks ({options.Mode} mode, {options.Threads} thread(s))");
Console.WriteLine($"  machine: {Machine.CpuName}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}");
Console.WriteLine($"  .NET {Environment.Version}, {FmaRoof.Width}, Vector512 {(Vector512.IsHardwareAccelerated ? "accelerated" : "not accelerated")}" +
                  $"{(Debugger.IsAttached ? ", DEBUGGER ATTACHED" : "")}");
Console.WriteLine($"  load average at start: {Machine.LoadAverage}{(Machine.Busy ? "  (warning: the machine is busy; figures will be noisy)" : "")}");
#if DEBUG
Console.WriteLine("  warning: Debug build; run with -c Release for meaningful figures");
#endif
Report.Bench("meta", "start", ("mode", options.Mode), ("threads", options.Threads), ("cpu", Machine.CpuName),
    ("cores", Environment.ProcessorCount), ("dotnet", Environment.Version.ToString()), ("simd", FmaRoof.Width),
    ("load_average", Machine.LoadAverage), ("peers_env", Peers.EnvironmentDescription));

var peers = new Peers(options);
var context = new BenchContext(options);
if (options.Runs("gemm")) GemmBench.Run(options, peers);
if (options.Runs("train")) TrainBench.Run(context, peers);
if (options.Runs("stream")) StreamBench.Run(context);
if (options.Runs("postgres")) PostgresStreamBench.Run(context);
if (options.Runs("infer")) InferBench.Run(context);
if (options.Runs("breakdown")) BreakdownBench.Run(context);
if (options.Runs("mpi")) MpiBench.Run(context);
if (options.Runs("reader")) ReaderBench.Run(context);
if (options.Runs("gemmcontext")) GemmContextBench.Run(options);
if (options.Runs("scaling")) ScalingBench.Run(context, peers);

Targets.Print();
Console.WriteLine();
Console.WriteLine($"Done in {total.Elapsed.TotalSeconds:F0} s; load average at the end: {Machine.LoadAverage}");
Report.Bench("meta", "end", ("seconds", total.Elapsed.TotalSeconds), ("load_average", Machine.LoadAverage));
return 0;
