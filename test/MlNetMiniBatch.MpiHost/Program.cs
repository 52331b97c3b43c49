// One rank of an MPI job, started by MpiCommunicatorTests as "mpirun -np N dotnet MlNetMiniBatch.MpiHost.dll <scenario> <dir>".
// Each rank writes what it saw to <dir>/rank<R>.txt as "name: values" lines (floats in round-trip form); the test checks them.
//   collectives   allreduce (float, double, non-blocking), broadcast from the last rank, barrier;
//   error         an MPI call with an invalid root, made through the raw binding so that MPI itself rejects it;
//   die, throw    allreduces in a loop; after HostValues.DeathStep of them the last rank kills itself (SIGKILL) or
//                 throws an exception that nothing catches;
//   time N R      times R allreduces of N floats after 10 unmeasured ones (a benchmark, not a test: rank 0 prints
//                 the mean milliseconds per allreduce).
//   train         TrainingScenario with distributed training chosen automatically (mpirun started the ranks): each
//                 rank writes its weights, its history and the trainer's log lines;
//   train-overlap the same with the gradient summed in buckets of at least one parameter during backward (one per layer);
//   train-die     the same; the last rank kills itself (SIGKILL) in the middle of epoch 2;
//   train-throw   the same; the last rank's OnEpochEnd throws in epoch 1, and the host catches the exception and
//                 waits, as a program that carries on would: the job must end anyway;
//   train-cancel D  checkpoints in D; every rank cancels its token after epoch 2 and writes "cancelled";
//   train-resume D  resumes from the checkpoint in D and writes its weights and history.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using MlNetMiniBatch;
using MlNetMiniBatch.Distributed;
using MlNetMiniBatch.MpiHost;

string scenario = args[0], directory = args[1];
if (scenario.StartsWith("train", StringComparison.Ordinal))
    return Train(scenario, directory, args.Length > 2 ? args[2] : null);
var world = MpiCommunicator.World;
var lines = new List<string> { $"size: {world.Size}" };
void Record(string name, IEnumerable<float> values) =>
    lines.Add($"{name}: {string.Join(' ', values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}");

switch (scenario)
{
    case "collectives":
    {
        float[] floats = HostValues.ForRank(world.Rank);
        world.AllreduceSum(floats);
        Record("allreduce float", floats);

        double[] doubles = HostValues.DoublesForRank(world.Rank);
        world.AllreduceSum(doubles);
        lines.Add($"allreduce double: {string.Join(' ', doubles.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}");

        var large = new float[HostValues.PendingLength];
        Array.Fill(large, world.Rank + 1);
        var pending = world.StartAllreduceSum(large);
        double busy = 0;
        for (int i = 0; i < 1_000_000; i++)
            busy += Math.Sqrt(i);
        pending.Wait();
        pending.Wait();
        Record("iallreduce distinct", large.Distinct());
        lines.Add($"busy: {busy > 0}");

        // Two slices started one after the other, the second while the first may still be in flight, and a gap
        // between them that no slice covers.
        int quarter = HostValues.PendingLength / 4;
        var slices = world.CreateSliceReductions(HostValues.PendingLength, [(2 * quarter, 2 * quarter), (0, quarter)]);
        Array.Fill(slices.Buffer, world.Rank + 1);
        slices.Start(0);
        slices.Test(0);
        slices.Start(1);
        slices.Wait(1);
        slices.Wait(0);
        Record("slices distinct", slices.Buffer.AsSpan(2 * quarter).ToArray().Concat(slices.Buffer.AsSpan(0, quarter).ToArray()).Distinct());
        Record("slice gap distinct", slices.Buffer.AsSpan(quarter, quarter).ToArray().Distinct());

        float[] broadcast = HostValues.ForRank(world.Rank);
        world.Broadcast(broadcast, root: world.Size - 1);
        Record("broadcast", broadcast);

        world.Barrier();
        lines.Add("barrier: passed");
        break;
    }
    case "error":
        try
        {
            unsafe
            {
                var mpi = OpenMpi.Library;
                float value = 0;
                mpi.Bcast(&value, 1, mpi.Float, world.Size, mpi.CommWorld);
            }
            lines.Add("error: none");
        }
        catch (MpiException exception)
        {
            lines.Add($"error: {exception.Message}");
            lines.Add($"code: {exception.ErrorCode}");
        }
        break;
    case "die":
    case "throw":
        var values = new float[1000];
        for (int step = 0; step < 1_000_000; step++)
        {
            if (step == HostValues.DeathStep && world.Rank == world.Size - 1)
            {
                File.WriteAllText(Path.Combine(directory, $"rank{world.Rank}.txt"), $"{scenario} at step {step}\n");
                if (scenario == "throw")
                    throw new InvalidOperationException($"Rank {world.Rank} fails on purpose.");
                Process.GetCurrentProcess().Kill();
            }
            world.AllreduceSum(values);
        }
        lines.Add("loop: all steps done");
        break;
    case "time":
    {
        int count = int.Parse(args[2], CultureInfo.InvariantCulture), repeats = int.Parse(args[3], CultureInfo.InvariantCulture);
        var gradient = new float[count];
        for (int i = 0; i < 10; i++)
            world.AllreduceSum(gradient);
        world.Barrier();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++)
            world.AllreduceSum(gradient);
        world.Barrier();
        double milliseconds = clock.Elapsed.TotalMilliseconds / repeats;
        if (world.Rank == 0)
            Console.WriteLine($"{world.Size} ranks: {milliseconds:0.000} ms per allreduce of {count} floats ({count * 4e-3 / milliseconds:0} MB/s of buffer)");
        lines.Add($"ms per allreduce: {milliseconds.ToString("R", CultureInfo.InvariantCulture)}");
        break;
    }
    default:
        throw new ArgumentException($"Unknown scenario '{scenario}'.", nameof(args));
}
File.WriteAllLines(Path.Combine(directory, $"rank{world.Rank}.txt"), lines);
return 0;

// Training as a user program would: nothing chooses MPI but mpirun having started more than one rank.
static int Train(string scenario, string directory, string? checkpoints)
{
    int rank = int.Parse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK")!, CultureInfo.InvariantCulture);
    int size = int.Parse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE")!, CultureInfo.InvariantCulture);
    bool last = rank == size - 1;
    var lines = new List<string> { $"size: {size}" };
    var log = new List<string>();
    var options = TrainingScenario.Options();
    using var cancel = new CancellationTokenSource();
    options.CancellationToken = cancel.Token;
    options.CheckpointDirectory = checkpoints;
    options.ResumeFromCheckpoint = scenario == "train-resume";
    options.ProgressInterval = TimeSpan.Zero;
    if (scenario == "train-overlap")
        options.Distributed = DistributedTraining.Mpi(gradientBucketSize: 1);
    options.Progress = new Synchronous(p =>
    {
        if (scenario == "train-die" && last && p.Epoch == 2 && p.Batch == 4)
        {
            File.WriteAllText(Path.Combine(directory, $"rank{rank}.txt"), "died in epoch 2\n");
            Process.GetCurrentProcess().Kill();
        }
    });
    options.OnEpochEnd = context =>
    {
        if (scenario == "train-throw" && last)
            throw new InvalidOperationException($"Rank {rank}'s callback fails on purpose.");
        if (scenario == "train-cancel" && context.Summary.Epoch == 2)
            cancel.Cancel();
    };
    var ml = new MLContext(1);
    ml.Log += (_, e) =>
    {
        if (e.Message.Contains("NeuralNetwork", StringComparison.Ordinal))
            lock (log)
                log.Add(e.Message);
    };
    try
    {
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(TrainingScenario.Data(ml)).Model;
        lines.Add($"weights: {string.Join(' ', model.Parameters.ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}");
        lines.Add($"history: {string.Join(' ', model.History.Select(h => $"{h.Epoch}:{h.Iterations}:{h.Rows}"))}");
        lines.Add($"loss: {string.Join(' ', model.History.Select(h => h.TrainLoss.ToString("R", CultureInfo.InvariantCulture)))}");
    }
    catch (OperationCanceledException) when (scenario == "train-cancel")
    {
        lines.Add("cancelled: yes");
    }
    catch (InvalidOperationException e) when (scenario == "train-throw")
    {
        File.WriteAllText(Path.Combine(directory, $"rank{rank}.txt"), $"caught: {e.Message}\n");
        Thread.Sleep(TimeSpan.FromMinutes(5));
    }
    lock (log)
    {
        lines.Add($"distributed log: {log.FirstOrDefault(l => l.Contains("distributed", StringComparison.Ordinal))}");
        lines.Add($"gradient log: {log.FirstOrDefault(l => l.Contains("gradient sums", StringComparison.Ordinal))}");
        lines.Add($"epoch log lines: {log.Count(l => l.Contains($"/{TrainingScenario.Epochs}).", StringComparison.Ordinal))}");
    }
    File.WriteAllLines(Path.Combine(directory, $"rank{rank}.txt"), lines);
    return 0;
}

/// <summary>Reports on the training thread (Progress&lt;T&gt; would post to the thread pool).</summary>
sealed class Synchronous(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}
