using System.Buffers.Binary;
using Microsoft.ML;
using MlNetMiniBatch.Optimizers;
using MlNetMiniBatch.Persistence;
using MlNetMiniBatch.Training;
using MlNetMiniBatch.TrainingHost;
using static MlNetMiniBatch.Tests.Training.CheckpointRuns;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>The checkpoint file: any damage gives one clear message, and a directory that cannot take one fails at once.</summary>
[TestClass]
public sealed class CheckpointFileTests
{
    [TestMethod]
    public void ACorruptCheckpointGivesAClearErrorFromFit()
    {
        string directory = NewDirectory();
        Interrupt(ResumeScenario.Options(directory), afterEpoch: 1);
        string path = Checkpoint.PathIn(directory);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => Train(ResumeScenario.Options(directory)));
        AssertClear(error, path);
    }

    // Each try costs milliseconds (a file write and two exceptions), so the tests step through the weights, which are
    // all read the same way, and try every byte of the header, the settings and the start of the model.
    [TestMethod]
    public void TruncationAtAnyLengthGivesTheOneClearMessage()
    {
        var (directory, bytes) = SavedCheckpoint();
        string path = Checkpoint.PathIn(directory);
        for (int length = 0; length < bytes.Length; length += length < 256 ? 1 : 11)
        {
            File.WriteAllBytes(path, bytes[..length]);
            AssertClear(Assert.ThrowsExactly<InvalidDataException>(() => Read(directory), $"truncated to {length} bytes"), path);
        }
    }

    [TestMethod]
    public void AFlippedByteAnywhereGivesTheOneClearMessage()
    {
        var (directory, bytes) = SavedCheckpoint();
        string path = Checkpoint.PathIn(directory);
        for (int i = 0; i < bytes.Length; i += 3)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[i] ^= 0x5A;
            File.WriteAllBytes(path, damaged);
            AssertClear(Assert.ThrowsExactly<InvalidDataException>(() => Read(directory), $"byte {i} flipped"), path);
        }
    }

    // Behind a valid checksum (a file that was damaged before it was written, or crafted), the parser itself must still
    // never fail with anything but the clear message: no ArgumentException, FormatException, OverflowException.
    [TestMethod]
    public void DamageBehindAValidChecksumGivesTheClearMessageOrAValidCheckpoint()
    {
        var (directory, bytes) = SavedCheckpoint();
        string path = Checkpoint.PathIn(directory);
        foreach (byte mask in new byte[] { 0x01, 0xFF })
        {
            for (int i = mask == 0x01 ? 0 : 1; i < bytes.Length - 4; i += 2) // every byte, with one mask or the other
            {
                var damaged = (byte[])bytes.Clone();
                damaged[i] ^= mask;
                BinaryPrimitives.WriteUInt32LittleEndian(damaged.AsSpan(damaged.Length - 4), Crc32.Compute(damaged.AsSpan(0, damaged.Length - 4)));
                File.WriteAllBytes(path, damaged);
                try
                {
                    Read(directory);
                }
                catch (InvalidDataException e)
                {
                    AssertClear(e, path);
                }
                catch (InvalidOperationException e) when (e.Message.Contains("different settings"))
                {
                    // the damage hit the recorded settings
                }
            }
        }
    }

    [TestMethod]
    [DataRow(1, "older version of MlNetMiniBatch (checkpoint format 1)")]
    [DataRow(3, "newer version of MlNetMiniBatch (checkpoint format 3)")]
    public void ACheckpointOfAnotherFormatSaysWhich(int version, string expected)
    {
        var (directory, bytes) = SavedCheckpoint();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), version);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4), Crc32.Compute(bytes.AsSpan(0, bytes.Length - 4)));
        File.WriteAllBytes(Checkpoint.PathIn(directory), bytes);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => Read(directory));
        StringAssert.Contains(error.Message, expected);
        AssertClear(error, Checkpoint.PathIn(directory));
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void AnUnwritableCheckpointDirectoryFailsBeforeTheFirstBatch(bool resume)
    {
        string file = Path.Combine(NewDirectory(), "a-file");
        File.WriteAllText(file, "");
        foreach (string directory in new[] { file, Path.Combine(file, "below-a-file") })
        {
            var options = ResumeScenario.Options(directory);
            options.ResumeFromCheckpoint = resume;
            options.ProgressInterval = TimeSpan.Zero;
            int batches = 0;
            options.Progress = new SynchronousProgress(_ => batches++);

            var error = Assert.ThrowsExactly<ArgumentException>(() => Train(options));

            Assert.AreEqual("CheckpointDirectory", error.ParamName);
            StringAssert.Contains(error.Message, $"CheckpointDirectory '{directory}' cannot be written");
            Assert.AreEqual(0, batches, "nothing was trained");
        }
    }

    private static void AssertClear(InvalidDataException error, string path)
    {
        StringAssert.StartsWith(error.Message, $"The checkpoint {path} cannot be read (");
        StringAssert.EndsWith(error.Message, "). Delete it to start over.");
    }

    /// <summary>A checkpoint after epoch 2 of the resume scenario with a tiny network (every byte of the file is tried,
    /// and most of a bigger one would be more weights), and its bytes.</summary>
    private static (string Directory, byte[] Bytes) SavedCheckpoint()
    {
        string directory = NewDirectory();
        Interrupt(TinyOptions(directory), afterEpoch: 2);
        var bytes = File.ReadAllBytes(Checkpoint.PathIn(directory));
        Assert.AreEqual(2, Read(directory)!.EpochsDone, "the undamaged file reads");
        return (directory, bytes);
    }

    /// <summary>Reads the checkpoint as Fit with the scenario's options would.</summary>
    private static TrainingState? Read(string directory) => Checkpoint.TryRead(directory, ScenarioKey, layout => Optimizer.Create(ScenarioOptions, layout));

    private static NeuralNetworkOptions TinyOptions(string directory)
    {
        var options = ResumeScenario.Options(directory);
        options.HiddenLayers = [2];
        return options;
    }

    private static readonly NeuralNetworkOptions ScenarioOptions = TinyOptions("unused");

    private static readonly TrainingStateKey ScenarioKey = TrainingStateKey.For(NeuralNetworkTask.MulticlassClassification, ScenarioOptions,
        TrainingColumns.Bind(ResumeScenario.Data(new MLContext(1)).Schema, NeuralNetworkTask.MulticlassClassification, ScenarioOptions, "training"),
        hasValidationData: false, ScenarioOptions.Seed);

    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
