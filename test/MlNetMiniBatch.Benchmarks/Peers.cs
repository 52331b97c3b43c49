using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>Runs the Python peers (numpy sgemm, PyTorch) as subprocesses with the tuned OpenBLAS environment, and the
/// TorchSharp peer (a .NET program on libtorch, built on demand with --torchsharp).</summary>
internal sealed class Peers
{
    private readonly BenchOptions _options;
    private readonly Dictionary<string, (string? Interpreter, string? Problem)> _modules = new();
    private (string? Assembly, string? Problem)? _torchSharp;

    /// <summary>File name of the TorchSharp peer's project, in test/ beside the harness's.</summary>
    private const string TorchSharpProjectName = "MlNetMiniBatch.Benchmarks.TorchSharpPeer";

    public Peers(BenchOptions options) => _options = options;

    /// <summary>Directory of the peer scripts (copied next to the harness by the build).</summary>
    public static string ScriptDirectory => Path.Combine(AppContext.BaseDirectory, "peers");

    /// <summary>Directory of the OpenMP build of OpenBLAS, or null when it is not installed.</summary>
    public static string? OpenBlasOpenMpDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable("BENCH_OPENBLAS_DIR") is { Length: > 0 } overridden)
                return overridden;
            string multiarch = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.X64 => "x86_64-linux-gnu",
                Architecture.Arm64 => "aarch64-linux-gnu",
                _ => "",
            };
            string directory = $"/usr/lib/{multiarch}/openblas-openmp";
            return multiarch.Length > 0 && File.Exists(Path.Combine(directory, "libblas.so.3")) ? directory : null;
        }
    }

    /// <summary>OPENBLAS_CORETYPE given to the peers: SkylakeX on AVX-512 CPUs (OpenBLAS 0.3.21 does not recognise newer
    /// ones and falls back to SSE3 kernels), else none (OpenBLAS detects); BENCH_OPENBLAS_CORETYPE overrides.</summary>
    public static string? CoreType
    {
        get
        {
            string? overridden = Environment.GetEnvironmentVariable("BENCH_OPENBLAS_CORETYPE");
            if (overridden is not null) return overridden.Length > 0 ? overridden : null;
            return Avx512F.IsSupported ? "SkylakeX" : null;
        }
    }

    /// <summary>One line describing the environment the peers get.</summary>
    public static string EnvironmentDescription =>
        $"OPENBLAS_CORETYPE={CoreType ?? "(unset)"}, OPENBLAS_L2_SIZE unset, " +
        $"OpenBLAS {(OpenBlasOpenMpDirectory is { } d ? "OpenMP build from " + d : "as installed (no OpenMP build found: apt-get install libopenblas0-openmp)")}";

    /// <summary>Null when <paramref name="module"/> imports in one of the interpreters (--python, else python3 on PATH,
    /// then /usr/bin/python3, where Debian's python3-numpy and python3-torch live); otherwise why not.</summary>
    public string? Missing(string module) => Resolve(module).Problem;

    private (string? Interpreter, string? Problem) Resolve(string module)
    {
        if (_options.NoPeers) return (null, "skipped (--no-peers)");
        if (_modules.TryGetValue(module, out var known)) return known;
        string[] candidates = _options.Python is { } explicitPython ? new[] { explicitPython } : new[] { "python3", "/usr/bin/python3" };
        string problem = $"no Python interpreter ({string.Join(", ", candidates)})";
        foreach (string python in candidates)
        {
            var (exit, output) = Run(python, new[] { "-c", $"import {module}" }, PeerEnvironment(1, openBlas: true), TimeSpan.FromMinutes(2), echo: false);
            if (exit == 0) return _modules[module] = (python, null);
            if (exit == -1) continue;
            problem = output.Contains("ModuleNotFoundError", StringComparison.Ordinal)
                ? $"Python module '{module}' is not installed (apt-get install python3-{module})"
                : $"'import {module}' failed: {output.Trim().Split('\n').Last()}";
        }
        return _modules[module] = (null, problem);
    }

    /// <summary>Runs a peer script and returns the JSON objects of its <c>PEER {json}</c> lines; other output is echoed, indented.</summary>
    public List<JsonElement> RunScript(string module, string script, IEnumerable<string> arguments, int threads, TimeSpan timeout)
    {
        string python = Resolve(module).Interpreter ?? throw new InvalidOperationException($"{module}: {Missing(module)}");
        string path = Path.Combine(ScriptDirectory, script);
        var (exit, output) = Run(python, new[] { "-u", path }.Concat(arguments), PeerEnvironment(threads, openBlas: true), timeout, echo: true);
        return PeerLines(script, exit, output);
    }

    /// <summary>Null when the TorchSharp peer is built (the first call builds it: <c>dotnet build -c Release</c> of its
    /// project, which restores TorchSharp-cpu and libtorch the first time); otherwise why not, in one line.</summary>
    public string? TorchSharpMissing() => ResolveTorchSharp().Problem;

    private (string? Assembly, string? Problem) ResolveTorchSharp()
    {
        if (!_options.TorchSharp) return (null, "not asked for (--torchsharp)");
        if (_torchSharp is { } known) return known;
        string? project = TorchSharpProject();
        if (project is null)
            return (_torchSharp = (null, $"its project {TorchSharpProjectName}.csproj was not found (looked for test/{TorchSharpProjectName}/ above {AppContext.BaseDirectory})")).Value;
        Report.Note($"Building the TorchSharp peer ({project}); the first build restores TorchSharp-cpu and libtorch (about 600 MB) ...");
        var stopwatch = Stopwatch.StartNew();
        var (exit, output) = Run(DotnetHost, new[] { "build", "-c", "Release", "-nologo", "-v", "quiet", project }, static _ => { },
            TimeSpan.FromMinutes(30), echo: false);
        if (exit != 0)
        {
            string reason = exit switch
            {
                -1 => $"could not start {DotnetHost}: {output.Trim()}",
                -2 => "timed out after 30 minutes",
                _ => FirstError(output),
            };
            return (_torchSharp = (null, $"building {Path.GetFileName(project)} failed ({reason})")).Value;
        }
        string assembly = Path.Combine(Path.GetDirectoryName(project)!, "bin", "Release", TargetFramework, TorchSharpProjectName + ".dll");
        if (!File.Exists(assembly))
            return (_torchSharp = (null, $"the build succeeded but {assembly} is missing")).Value;
        Report.Note($"TorchSharp peer built in {stopwatch.Elapsed.TotalSeconds:F0} s: {assembly}");
        return (_torchSharp = (assembly, null)).Value;
    }

    /// <summary>Runs the TorchSharp peer and returns the JSON objects of its <c>PEER {json}</c> lines; other output is echoed, indented.</summary>
    public List<JsonElement> RunTorchSharp(IEnumerable<string> arguments, int threads, TimeSpan timeout)
    {
        string assembly = ResolveTorchSharp().Assembly ?? throw new InvalidOperationException($"TorchSharp peer: {TorchSharpMissing()}");
        var (exit, output) = Run(DotnetHost, new[] { assembly }.Concat(arguments), PeerEnvironment(threads, openBlas: false), timeout, echo: true);
        return PeerLines("TorchSharp peer", exit, output);
    }

    /// <summary>The peer's project: the path baked in when the harness was built, if it is still there; else found by
    /// walking up from the harness's directory to one with test/<see cref="TorchSharpProjectName"/>/ in it.</summary>
    private static string? TorchSharpProject()
    {
        string file = TorchSharpProjectName + ".csproj";
        string? baked = typeof(Peers).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "TorchSharpPeerProject")?.Value;
        if (baked is { Length: > 0 } && File.Exists(baked)) return Path.GetFullPath(baked);
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "test", TorchSharpProjectName, file);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The dotnet host this harness runs on (the runtime's directory is DOTNET_ROOT/shared/Microsoft.NETCore.App/VERSION/),
    /// else dotnet on PATH.</summary>
    private static string DotnetHost
    {
        get
        {
            string runtime = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar);
            string? root = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(runtime)));
            string host = root is null ? "" : Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
            return File.Exists(host) ? host : "dotnet";
        }
    }

    /// <summary>The harness's target framework (net10.0), which the peer shares through Directory.Build.props.</summary>
    private static string TargetFramework
    {
        get
        {
            string? name = typeof(Peers).Assembly.GetCustomAttribute<System.Runtime.Versioning.TargetFrameworkAttribute>()?.FrameworkName;
            string? version = name?.Split("Version=v").LastOrDefault();
            return version is { Length: > 0 } ? "net" + version : $"net{Environment.Version.Major}.{Environment.Version.Minor}";
        }
    }

    /// <summary>The first error a build printed, else its last line, shortened to one line.</summary>
    private static string FirstError(string output)
    {
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string line = lines.FirstOrDefault(l => l.Contains(": error ", StringComparison.Ordinal)) ?? lines.LastOrDefault() ?? "no output";
        return line.Length > 400 ? line[..400] + " ..." : line;
    }

    private static List<JsonElement> PeerLines(string what, int exit, string output)
    {
        var results = new List<JsonElement>();
        foreach (string line in output.Split('\n'))
            if (line.StartsWith("PEER ", StringComparison.Ordinal))
                results.Add(JsonDocument.Parse(line.AsMemory(5)).RootElement.Clone());
        if (exit != 0)
            Report.Note($"{what} exited with code {exit}{(exit == -2 ? " (timed out)" : "")}.");
        return results;
    }

    /// <summary>Exit code (−1: could not start, −2: timed out) and the combined output.</summary>
    private static (int Exit, string Output) Run(string program, IEnumerable<string> arguments, Action<IDictionary<string, string?>> environment,
        TimeSpan timeout, bool echo)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        environment(start.Environment);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned null.");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return (-1, e.Message);
        }
        using (process)
        {
            var output = new System.Text.StringBuilder();
            void OnLine(object? sender, DataReceivedEventArgs e)
            {
                if (e.Data is null) return;
                lock (output) output.Append(e.Data).Append('\n');
                if (echo && !e.Data.StartsWith("PEER ", StringComparison.Ordinal))
                    Console.WriteLine($"    | {e.Data}");
            }
            process.OutputDataReceived += OnLine;
            process.ErrorDataReceived += OnLine;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                return (-2, output.ToString());
            }
            process.WaitForExit(); // drains the asynchronous readers
            lock (output) return (process.ExitCode, output.ToString());
        }
    }

    /// <summary>The peers' thread variables; with <paramref name="openBlas"/> also the OpenBLAS settings of
    /// <see cref="EnvironmentDescription"/> (libtorch through TorchSharp brings its own MKL and does not load OpenBLAS).</summary>
    private static Action<IDictionary<string, string?>> PeerEnvironment(int threads, bool openBlas) => environment =>
    {
        if (openBlas) ConfigureOpenBlas(environment);
        string t = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["OPENBLAS_NUM_THREADS"] = t;
        environment["OMP_NUM_THREADS"] = t;
        environment["MKL_NUM_THREADS"] = t;
        environment["PYTHONDONTWRITEBYTECODE"] = "1";
    };

    private static void ConfigureOpenBlas(IDictionary<string, string?> environment)
    {
        environment.Remove("OPENBLAS_L2_SIZE");
        if (CoreType is { } core) environment["OPENBLAS_CORETYPE"] = core;
        else environment.Remove("OPENBLAS_CORETYPE");
        if (OpenBlasOpenMpDirectory is { } directory)
        {
            string? existing = environment.TryGetValue("LD_LIBRARY_PATH", out string? v) ? v : null;
            environment["LD_LIBRARY_PATH"] = string.IsNullOrEmpty(existing) ? directory : directory + ":" + existing;
        }
    }
}

internal static class Json
{
    public static double? Number(this JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    public static string? Text(this JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
