using System.Diagnostics;

namespace MlNetMiniBatch.Tests.Distributed;

/// <summary>Runs test/MlNetMiniBatch.MpiHost under mpirun and collects what each rank wrote.</summary>
internal sealed record MpiRun(int ExitCode, string Output, string[]?[] RankFiles, TimeSpan Elapsed)
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    /// <summary>Runs "mpirun -np <paramref name="ranks"/> dotnet MlNetMiniBatch.MpiHost.dll <paramref name="scenario"/>";
    /// inconclusive without mpirun, except in CI (CI=true), where .ci/run installs Open MPI and the test must run.</summary>
    public static MpiRun Start(string scenario, int ranks, params string[] arguments)
    {
        string mpirun = FindMpirun();
        string host = Path.Combine(AppContext.BaseDirectory.Replace("MlNetMiniBatch.Tests", "MlNetMiniBatch.MpiHost"), "MlNetMiniBatch.MpiHost.dll");
        Assert.IsTrue(File.Exists(host), $"the MPI host is built with the tests: {host}");
        string directory = Directory.CreateTempSubdirectory("mpi-").FullName;
        // --allow-run-as-root: CI runs as root; --oversubscribe: more ranks than this machine's cores.
        var start = new ProcessStartInfo(mpirun)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var argument in new[] { "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(), "dotnet", host, scenario, directory }.Concat(arguments))
            start.ArgumentList.Add(argument);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"mpirun did not end within {Limit.TotalSeconds} s (scenario {scenario}, {ranks} ranks): a hang.\n{output.Result}{errors.Result}");
        }
        var files = Enumerable.Range(0, ranks)
            .Select(rank => Path.Combine(directory, $"rank{rank}.txt"))
            .Select(path => File.Exists(path) ? File.ReadAllLines(path) : null).ToArray();
        var run = new MpiRun(process.ExitCode, output.Result + errors.Result, files, clock.Elapsed);
        Directory.Delete(directory, recursive: true);
        return run;
    }

    /// <summary>The line "<paramref name="name"/>: ..." of <paramref name="rank"/>'s file, without the name.</summary>
    public string Line(int rank, string name)
    {
        var lines = RankFiles[rank];
        Assert.IsNotNull(lines, $"rank {rank} wrote no file; mpirun said:\n{Output}");
        string? line = lines.FirstOrDefault(l => l.StartsWith(name + ": ", StringComparison.Ordinal));
        Assert.IsNotNull(line, $"rank {rank} wrote no '{name}' line:\n{string.Join('\n', lines)}");
        return line[(name.Length + 2)..];
    }

    private static string FindMpirun()
    {
        string? found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(folder => Path.Combine(folder, "mpirun")).FirstOrDefault(File.Exists);
        if (found is not null)
            return found;
        const string install = "mpirun was not found on PATH: install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) to run the MPI tests.";
        if (Environment.GetEnvironmentVariable("CI") == "true")
            Assert.Fail(install + " In CI, .ci/run installs it.");
        Assert.Inconclusive(install);
        return "";
    }
}
