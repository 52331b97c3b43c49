using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Microsoft.ML;
using static MlNetMiniBatch.ModelHost.ModelReport;
using static MlNetMiniBatch.Tests.Persistence.PersistenceFixture;

namespace MlNetMiniBatch.Tests.Persistence;

/// <summary>A truncated, bit-flipped, foreign or too-new model file fails with an exception that says what is wrong;
/// it never hangs, never crashes the process, and never loads a network of the wrong shape.</summary>
[TestClass]
public sealed class CorruptFileTests
{
    private static readonly Lazy<byte[]> Saved = new(() =>
    {
        var trained = Get(NeuralNetworkTask.MulticlassClassification);
        using var stream = new MemoryStream();
        trained.Context.Model.Save(trained.Model, trained.Data.Schema, stream);
        return stream.ToArray();
    });

    /// <summary>Exceptions that would mean a bug rather than a clear report about the file.</summary>
    private static readonly Type[] Unclear =
        [typeof(NullReferenceException), typeof(IndexOutOfRangeException), typeof(AccessViolationException), typeof(OutOfMemoryException),
         typeof(InsufficientExecutionStackException), typeof(DivideByZeroException)];

    [TestMethod]
    public void TruncatedFilesFailClearly()
    {
        var bytes = Saved.Value;
        foreach (int length in new[] { 0, 1, 2, 10, 30, 100, bytes.Length / 4, bytes.Length / 2, bytes.Length * 3 / 4, bytes.Length - 30, bytes.Length - 1 })
        {
            var error = Load(bytes.AsSpan(0, length).ToArray(), out _);
            Assert.IsNotNull(error, $"a file cut to {length} of {bytes.Length} bytes loaded");
            AssertClear(error, $"cut to {length} bytes");
        }
    }

    [TestMethod]
    public void ForeignFilesFailClearly()
    {
        var random = new Random(4);
        var noise = new byte[5000];
        random.NextBytes(noise);
        using var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        using (var entry = new StreamWriter(archive.CreateEntry("readme.txt").Open()))
            entry.Write("not a model");
        foreach (var (name, bytes) in new[] { ("noise", noise), ("text", Encoding.UTF8.GetBytes("hello, world")), ("empty", []), ("unrelated zip", zip.ToArray()) })
        {
            var error = Load(bytes, out _);
            Assert.IsNotNull(error, $"{name} loaded");
            AssertClear(error, name);
        }
    }

    [TestMethod]
    public void RandomBitFlipsAnywhereInTheFileLoadTheRightShapeOrFailClearly()
    {
        var bytes = Saved.Value;
        var random = new Random(12345);
        var clock = Stopwatch.StartNew();
        int flips = 0, loaded = 0;
        for (; flips < 300 && clock.Elapsed < TimeSpan.FromSeconds(12); flips++)
        {
            var damaged = (byte[])bytes.Clone();
            int position = random.Next(damaged.Length);
            damaged[position] ^= (byte)(1 << random.Next(8));
            var error = Load(damaged, out var model);
            if (error is null)
            {
                loaded++;
                AssertSameShape(model!, $"flip at {position}");
            }
            else
            {
                AssertClear(error, $"flip at {position}");
            }
        }
        Assert.IsTrue(flips >= 50, $"only {flips} flips checked in the time allowed");
        Console.WriteLine($"{flips} flips, {loaded} still loaded");
    }

    [TestMethod]
    public void DamageInsideOurEntryIsCaughtEvenWhenTheZipIsConsistent()
    {
        // The zip's own CRC catches most damage; here the entry is rewritten damaged, with a correct zip CRC, so only
        // our header checks and our block checksum stand between the damage and a silently different network.
        var bytes = Saved.Value;
        var entry = ReadOurEntry(bytes, out string entryName);
        int blockStart = ModelStart(entry), blockEnd = blockStart + (int)BitConverter.ToInt64(entry, 24); // FpModel, CbModel
        var random = new Random(777);
        var clock = Stopwatch.StartNew();
        int flips = 0;
        for (; flips < 200 && clock.Elapsed < TimeSpan.FromSeconds(12); flips++)
        {
            var damaged = (byte[])entry.Clone();
            int position = random.Next(damaged.Length);
            damaged[position] ^= (byte)(1 << random.Next(8));
            var error = Load(ReplaceEntry(bytes, entryName, damaged), out var model);
            if (position >= blockStart && position < blockEnd)
            {
                Assert.IsNotNull(error, $"a flip in our block at {position} went unnoticed");
                var cause = error.GetBaseException();
                Assert.IsInstanceOfType<InvalidDataException>(cause, $"flip at {position}: {AllMessages(error)}");
                StringAssert.Contains(cause.Message, "MlNetMiniBatch", $"flip at {position}: {AllMessages(error)}");
            }
            else if (error is null)
                AssertSameShape(model!, $"header flip at {position}");
            else
                AssertClear(error, $"header flip at {position}");
        }
        Assert.IsTrue(flips >= 50, $"only {flips} flips checked in the time allowed");
    }

    [TestMethod]
    public void ANetworkInANewerFormatFailsWithAMessageNamingTheFix()
    {
        var bytes = Saved.Value;
        var entry = ReadOurEntry(bytes, out string entryName);
        var patched = PatchBlock(entry, block =>
        {
            int modelFormat = ModelFormatStart(block);
            BitConverter.TryWriteBytes(block.AsSpan(modelFormat + 4), 99); // ModelFormat version after its magic number
        });
        var error = Load(ReplaceEntry(bytes, entryName, patched), out _);
        Assert.IsNotNull(error);
        var cause = error.GetBaseException();
        Assert.IsInstanceOfType<InvalidDataException>(cause, AllMessages(error));
        StringAssert.Contains(cause.Message, "saved by a newer version of MlNetMiniBatch (format 99)");
        StringAssert.Contains(cause.Message, "Update the MlNetMiniBatch package");
    }

    [TestMethod]
    public void AnEntryLayoutFromANewerLibraryFailsWithAMessageNamingTheFix()
    {
        var bytes = Saved.Value;
        var entry = ReadOurEntry(bytes, out string entryName);
        var patched = (byte[])entry.Clone();
        BitConverter.TryWriteBytes(patched.AsSpan(72), 0x00010003u); // ModelHeader.ModelVerWritten
        BitConverter.TryWriteBytes(patched.AsSpan(76), 0x00010002u); // ModelHeader.ModelVerReadable
        var error = Load(ReplaceEntry(bytes, entryName, patched), out _);
        Assert.IsNotNull(error);
        // ML.NET wraps what a loader throws (TargetInvocationException per nesting level); the innermost exception is ours.
        var cause = error.GetBaseException();
        Assert.IsInstanceOfType<InvalidDataException>(cause, AllMessages(error));
        StringAssert.Contains(cause.Message, "newer MlNetMiniBatch");
        StringAssert.Contains(cause.Message, "Update the MlNetMiniBatch package");
    }

    [TestMethod]
    public void TheFileNamesItsLoaderAssemblyWithoutAVersion()
    {
        // ML.NET calls Assembly.Load on this name; without a version any installed MlNetMiniBatch, older or newer, answers.
        var entry = ReadOurEntry(Saved.Value, out _);
        long position = BitConverter.ToInt64(entry, 144); // ModelHeader.FpAssemblyName
        int bytes = BitConverter.ToInt32(entry, 152);     // ModelHeader.CbAssemblyName
        Assert.AreEqual("MlNetMiniBatch", Encoding.Unicode.GetString(entry, (int)position, bytes));
        Assert.AreEqual("MlNetMiniBatchNeuralNet", Encoding.ASCII.GetString(entry, 80, 23), "loader signature (never changes)");
    }

    [TestMethod]
    public void ANetworkInTheOlderFormat1StillReads()
    {
        // Format 1 (before training options were kept) is format 2 without the trailing options. The entry around it
        // has had one layout since the first release, so reading old files comes down to ModelFormat reading old versions.
        var original = FindNetwork(Get(NeuralNetworkTask.MulticlassClassification).Model).Model;
        using var current = new MemoryStream();
        using (var writer = new BinaryWriter(current, Encoding.UTF8, leaveOpen: true))
            MlNetMiniBatch.Persistence.ModelFormat.Write(writer, original, version: 2);
        using var options = new MemoryStream();
        using (var writer = new BinaryWriter(options, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(true);
            original.TrainingOptions!.Write(writer);
        }
        var bytes = current.ToArray();
        Assert.IsTrue(bytes.AsSpan().EndsWith(options.ToArray()), "format 2 ends with the options");
        var version1 = bytes[..^(int)options.Length];
        BitConverter.TryWriteBytes(version1.AsSpan(4), 1);

        var read = MlNetMiniBatch.Persistence.ModelFormat.Read(new BinaryReader(new MemoryStream(version1)));
        Assert.IsNull(read.TrainingOptions);
        CollectionAssert.AreEqual(original.Parameters.ToArray(), read.Parameters.ToArray());
        CollectionAssert.AreEqual(original.ClassNames!.ToArray(), read.ClassNames!.ToArray());
        Assert.AreEqual(original.History.Count, read.History.Count);
    }

    private static void AssertSameShape(ITransformer model, string what)
    {
        var expected = FindNetwork(Get(NeuralNetworkTask.MulticlassClassification).Model).Model;
        var network = FindNetwork(model).Model;
        CollectionAssert.AreEqual(expected.LayerSizes.ToArray(), network.LayerSizes.ToArray(), what);
        Assert.AreEqual(expected.Task, network.Task, what);
    }

    private static void AssertClear(Exception error, string what)
    {
        for (var e = error; e is not null; e = e.InnerException)
            Assert.IsFalse(Unclear.Contains(e.GetType()), $"{what}: {error}");
        Assert.IsFalse(string.IsNullOrWhiteSpace(error.GetBaseException().Message), what);
    }

    /// <summary>Loads on a worker thread with a time limit, so a hang fails the test instead of stalling the run.</summary>
    private static Exception? Load(byte[] bytes, out ITransformer? model)
    {
        var task = Task.Run(() => new MLContext(1).Model.Load(new MemoryStream(bytes, writable: false), out _));
        if (!task.ContinueWith(_ => { }, TaskScheduler.Default).Wait(TimeSpan.FromSeconds(20)))
            Assert.Fail("Model.Load did not return within 20 s");
        model = task.IsCompletedSuccessfully ? task.Result : null;
        return task.Exception?.InnerException;
    }

    internal static string AllMessages(Exception e) => e.InnerException is null ? $"{e.GetType().Name}: {e.Message}" : $"{e.GetType().Name}: {e.Message} | {AllMessages(e.InnerException)}";

    /// <summary>The Model.key entry our transformer wrote (found by our loader signature in ML.NET's header).</summary>
    private static byte[] ReadOurEntry(byte[] zip, out string name)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        foreach (var entry in archive.Entries.Where(e => e.Name == "Model.key"))
        {
            using var stream = new MemoryStream();
            using (var source = entry.Open()) source.CopyTo(stream);
            var bytes = stream.ToArray();
            if (bytes.AsSpan(0, 256).IndexOf("MlNetMiniBatchNeuralNet"u8) >= 0)
            {
                name = entry.FullName;
                return bytes;
            }
        }
        throw new InvalidOperationException("No entry of ours in the model file.");
    }

    private static byte[] ReplaceEntry(byte[] zip, string name, byte[] content)
    {
        using var stream = new MemoryStream();
        stream.Write(zip);
        using (var archive = new ZipArchive(stream, ZipArchiveMode.Update, leaveOpen: true))
        {
            archive.GetEntry(name)!.Delete();
            using var target = archive.CreateEntry(name).Open();
            target.Write(content);
        }
        return stream.ToArray();
    }

    /// <summary>Where our data starts: ML.NET's header field FpModel (offset 16).</summary>
    private static int ModelStart(byte[] entry) => (int)BitConverter.ToInt64(entry, 16);

    /// <summary>Where ModelFormat starts inside our block: after the feature column name and dimensions.</summary>
    private static int ModelFormatStart(byte[] block)
    {
        using var reader = new BinaryReader(new MemoryStream(block));
        reader.ReadString();
        int rank = reader.ReadInt32();
        return (int)reader.BaseStream.Position + 4 * rank;
    }

    /// <summary>Rewrites our block (length, bytes, CRC-32) after <paramref name="edit"/> / <paramref name="replace"/>.</summary>
    private static byte[] PatchBlock(byte[] entry, Action<byte[]> edit, Func<byte[], byte[]>? replace = null)
    {
        int start = ModelStart(entry);
        int length = BitConverter.ToInt32(entry, start);
        var block = entry.AsSpan(start + 4, length).ToArray();
        edit(block);
        if (replace is not null) block = replace(block);
        using var result = new MemoryStream();
        result.Write(entry, 0, start);
        using (var writer = new BinaryWriter(result, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(block.Length);
            writer.Write(block);
            writer.Write(MlNetMiniBatch.Persistence.Crc32.Compute(block));
        }
        result.Write(entry, start + 4 + length + 4, entry.Length - (start + 4 + length + 4));
        return result.ToArray();
    }
}
