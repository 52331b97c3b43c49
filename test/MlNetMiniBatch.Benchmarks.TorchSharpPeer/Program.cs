// TorchSharp peer of the training benchmark: the same 784-256-128-10 ReLU network, optimizer, batch sizes and epochs
// as ../MlNetMiniBatch.Benchmarks/peers/torch_mlp.py, on libtorch through TorchSharp instead of Python.
//
// Usage: dotnet MlNetMiniBatch.Benchmarks.TorchSharpPeer.dll --data DIR --batch-sizes 32,128,512 --epochs 3 --threads 2
//            --lr 0.05 --momentum 0.9 [--seed 1]
//
// Data: the same idx files the C# harness reads (train-*/t10k-*, plain or .gz), pixels / 255.
// Training: nn.Linear layers initialised like the C# trainer (He-uniform U(±sqrt(6/fan_in)) before each ReLU,
// Glorot-uniform U(±sqrt(6/(fan_in+fan_out))) for the output layer, zero biases); SGD with momentum, mean
// cross-entropy, a new randperm order every epoch, manual batching by indexing with a slice of it, the last partial
// batch included; torch.set_num_threads(--threads), one inter-op thread. Timed: the training epochs only (batch
// gathering included, data loading excluded). Every step runs in its own dispose scope, so its tensors are freed
// when it ends rather than when the garbage collector gets to them.
// Output: one 'PEER {json}' line describing torch, then one per batch size (rows/s over all epochs, per-epoch seconds,
// test accuracy), as the Python peer prints them.
using System.Globalization;
using MlNetMiniBatch.Benchmarks.TorchSharpPeer;

PeerOptions options;
try
{
    options = PeerOptions.Parse(args);
}
catch (ArgumentException e)
{
    return Output.Fail(e.Message, 2);
}

string? compat;
try
{
    compat = LibStdCxxCompat.Apply(); // before the first use of TorchSharp loads its native library
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
{
    return Output.Fail($"could not adapt libLibTorchSharp.so to this libstdc++: {e.Message}");
}
return Peer.Run(options, compat);

namespace MlNetMiniBatch.Benchmarks.TorchSharpPeer
{
    using System.Diagnostics;
    using System.IO.Compression;
    using System.Text.Json;
    using TorchSharp;
    using TorchSharp.Modules;
    using static TorchSharp.torch;

    internal sealed record PeerOptions(string Data, int[] BatchSizes, int Epochs, int Threads, double LearningRate, double Momentum, long Seed)
    {
        public static PeerOptions Parse(string[] args)
        {
            string? data = null;
            string batchSizes = "32,128,512";
            int epochs = 3, threads = 2;
            double lr = 0.05, momentum = 0.9;
            long seed = 1;
            for (int i = 0; i < args.Length; i++)
            {
                string arg = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value.");
                switch (arg)
                {
                    case "--data": data = Value(); break;
                    case "--batch-sizes": batchSizes = Value(); break;
                    case "--epochs": epochs = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--threads": threads = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--lr": lr = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--momentum": momentum = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--seed": seed = long.Parse(Value(), CultureInfo.InvariantCulture); break;
                    default: throw new ArgumentException($"unknown option '{arg}'");
                }
            }
            if (data is null) throw new ArgumentException("--data is required");
            int[] sizes = batchSizes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            if (sizes.Length == 0 || sizes.Any(b => b <= 0) || epochs <= 0 || threads <= 0)
                throw new ArgumentException("batch sizes, epochs and threads must be positive");
            return new PeerOptions(data, sizes, epochs, threads, lr, momentum, seed);
        }
    }

    internal static class Output
    {
        /// <summary>One machine-readable result line, read by the C# harness.</summary>
        private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        public static void Emit(Dictionary<string, object?> record) => Console.WriteLine("PEER " + JsonSerializer.Serialize(record, JsonOptions));

        public static int Fail(string message, int code = 3)
        {
            Console.Error.WriteLine(message);
            return code;
        }
    }

    internal static class Peer
    {
        public static int Run(PeerOptions options, string? compat)
        {
            torch.set_num_interop_threads(1); // before any inter-op work starts
            torch.set_num_threads(options.Threads);
            Tensor xTrain, yTrain, xTest, yTest;
            try
            {
                (xTrain, yTrain) = Load(options.Data, "train");
                (xTest, yTest) = Load(options.Data, "t10k");
            }
            catch (FileNotFoundException e)
            {
                return Output.Fail(e.Message);
            }
            using (var warm = torch.ones(8, 8)) using (torch.mm(warm, warm)) { } // loads the kernels before torch is described

            string torchSharp = typeof(torch).Assembly.GetName().Version?.ToString() ?? "?";
            Output.Emit(new()
            {
                ["kind"] = "torch-info",
                ["torch"] = torch.__version__,
                ["torchsharp"] = torchSharp,
                ["torch_threads"] = torch.get_num_threads(),
                ["interop_threads"] = torch.get_num_interop_threads(),
                ["library"] = LoadedLibrary("libtorch_cpu.so"),
                ["libstdcxx_compat"] = compat,
                ["train_rows"] = xTrain.shape[0],
                ["test_rows"] = xTest.shape[0],
            });
            Console.WriteLine($"TorchSharp {torchSharp}, libtorch {torch.__version__}, {torch.get_num_threads()} threads, " +
                              $"{torch.get_num_interop_threads()} inter-op thread(s){(compat is null ? "" : "; " + compat)}");

            foreach (int batchSize in options.BatchSizes)
            {
                torch.manual_seed(options.Seed);
                var (model, seconds, lastLoss) = Train(xTrain, yTrain, batchSize, options);
                long rows = xTrain.shape[0] * options.Epochs;
                double accuracy = Accuracy(model, xTest, yTest);
                model.Dispose();
                Output.Emit(new()
                {
                    ["kind"] = "train",
                    ["batch"] = batchSize,
                    ["epochs"] = options.Epochs,
                    ["rows"] = rows,
                    ["seconds"] = seconds.Sum(),
                    ["rows_per_s"] = rows / seconds.Sum(),
                    ["epoch_seconds"] = seconds,
                    ["test_accuracy"] = accuracy,
                    ["last_batch_loss"] = lastLoss,
                });
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"batch {batchSize}: {rows / seconds.Sum():N0} rows/s, test accuracy {accuracy:F4}"));
            }
            return 0;
        }

        private static Sequential Network()
        {
            var linears = new[] { nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 10) };
            var model = nn.Sequential(("fc1", linears[0]), ("relu1", nn.ReLU()), ("fc2", linears[1]), ("relu2", nn.ReLU()), ("fc3", linears[2]));
            using (torch.no_grad())
            {
                for (int i = 0; i < linears.Length; i++)
                {
                    long fanOut = linears[i].weight!.shape[0], fanIn = linears[i].weight!.shape[1];
                    double limit = i < linears.Length - 1 ? Math.Sqrt(6.0 / fanIn) : Math.Sqrt(6.0 / (fanIn + fanOut));
                    linears[i].weight!.uniform_(-limit, limit);
                    linears[i].bias!.zero_();
                }
            }
            return model;
        }

        private static (Sequential Model, List<double> EpochSeconds, double LastLoss) Train(Tensor x, Tensor y, int batchSize, PeerOptions options)
        {
            Sequential model = Network();
            using var optimizer = torch.optim.SGD(model.parameters(), options.LearningRate, options.Momentum);
            using var lossFunction = nn.CrossEntropyLoss();
            long rows = x.shape[0];
            var epochSeconds = new List<double>();
            double lastLoss = double.NaN;
            for (int epoch = 0; epoch < options.Epochs; epoch++)
            {
                var stopwatch = Stopwatch.StartNew();
                using (torch.NewDisposeScope())
                {
                    Tensor order = torch.randperm(rows);
                    model.train();
                    for (long begin = 0; begin < rows; begin += batchSize)
                    {
                        using var step = torch.NewDisposeScope();
                        long end = Math.Min(begin + batchSize, rows);
                        Tensor index = order[TensorIndex.Slice(begin, end)];
                        model.zero_grad(set_to_none: true); // the optimizer's parameters; its own zero_grad() zeroes in place
                        Tensor loss = lossFunction.forward(model.forward(x[index]), y[index]);
                        loss.backward();
                        optimizer.step();
                        if (end == rows && epoch == options.Epochs - 1)
                            lastLoss = loss.item<float>(); // once, as the Python peer reads it after the loop
                    }
                }
                epochSeconds.Add(stopwatch.Elapsed.TotalSeconds);
            }
            return (model, epochSeconds, lastLoss);
        }

        private static double Accuracy(Sequential model, Tensor x, Tensor y)
        {
            model.eval();
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            return model.forward(x).argmax(1).eq(y).to_type(ScalarType.Float32).mean().item<float>();
        }

        /// <summary>Images as rows of pixels / 255 (float32), labels as int64, from the idx files.</summary>
        private static (Tensor X, Tensor Y) Load(string directory, string split)
        {
            var (images, imageDims) = ReadIdx(directory, $"{split}-images-idx3-ubyte");
            var (labels, _) = ReadIdx(directory, $"{split}-labels-idx1-ubyte");
            long count = imageDims[0], width = imageDims.Skip(1).Aggregate(1L, (a, d) => a * d);
            var pixels = new float[images.Length];
            for (int i = 0; i < images.Length; i++) pixels[i] = images[i] / 255.0f;
            var classes = new long[labels.Length];
            for (int i = 0; i < labels.Length; i++) classes[i] = labels[i];
            return (torch.tensor(pixels, new[] { count, width }), torch.tensor(classes));
        }

        /// <summary>The data of an idx file (plain or .gz): a zero-padded magic whose fourth byte is the rank, the
        /// dimensions as big-endian 32-bit integers, then unsigned bytes.</summary>
        private static (byte[] Data, long[] Dims) ReadIdx(string directory, string name)
        {
            foreach (string path in new[] { Path.Combine(directory, name), Path.Combine(directory, name + ".gz") })
            {
                if (!File.Exists(path)) continue;
                byte[] data;
                using (Stream file = File.OpenRead(path))
                using (Stream input = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file)
                using (var memory = new MemoryStream())
                {
                    input.CopyTo(memory);
                    data = memory.ToArray();
                }
                int rank = data[3];
                var dims = new long[rank];
                for (int i = 0; i < rank; i++)
                    dims[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4 + (4 * i)));
                return (data[(4 + (4 * rank))..], dims);
            }
            throw new FileNotFoundException($"neither {name} nor {name}.gz in {directory}");
        }

        /// <summary>Path of a loaded native library, from /proc/self/maps; null when not found.</summary>
        private static string? LoadedLibrary(string fileName)
        {
            if (!File.Exists("/proc/self/maps")) return null;
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/');
                if (slash >= 0 && line.EndsWith("/" + fileName, StringComparison.Ordinal))
                    return line[slash..];
            }
            return null;
        }
    }
}
