using System.Buffers.Binary;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Persistence;

/// <summary>
/// The file that lets a run continue where it stopped: its <see cref="TrainingState"/>, serialised (the model in
/// <see cref="ModelFormat"/>, then the optimizer, the schedule's and early stopping's state). Layout: magic, version,
/// payload length, payload, then the CRC-32 of everything before it, so that any damage (a truncated copy, a flipped
/// bit) gives one clear message instead of a different model. Written to a temporary file, flushed to disk, then
/// renamed over the previous checkpoint, so a crash at any moment leaves either the old or the new checkpoint, whole.
/// </summary>
internal static class Checkpoint
{
    private const uint Magic = 0x4B434E4D; // "MNCK"

    /// <summary>1: no checksum, key as one string (not read any more). 2: checksum, key by setting.</summary>
    private const int Version = 2;

    private const int HeaderBytes = 16, ChecksumBytes = 4;
    public const string FileName = "checkpoint.mlnmb";

    /// <summary>Test hook: called with the epoch being saved once the temporary file is half written and flushed,
    /// so a test can kill the process in the middle of a write.</summary>
    internal static Action<int>? PartlyWritten;

    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    public static bool Exists(string directory) => File.Exists(PathIn(directory));

    /// <summary>Fails now, rather than after the first epoch's work, when checkpoints cannot be written to
    /// <paramref name="directory"/>: creates it and a temporary file in it.</summary>
    public static void CheckWritable(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
            string probe = Path.Combine(directory, $".write-probe-{Guid.NewGuid():N}.tmp");
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ArgumentException(
                $"CheckpointDirectory '{directory}' cannot be written ({e.Message}). Give a directory this process can create " +
                "files in, or set CheckpointDirectory = null to train without checkpoints.", nameof(NeuralNetworkOptions.CheckpointDirectory), e);
        }
    }

    public static void Write(string directory, TrainingState state)
    {
        using var buffer = Serialize(state);
        var bytes = buffer.GetBuffer();
        int length = (int)buffer.Length, half = length / 2;
        Directory.CreateDirectory(directory);
        string path = PathIn(directory), temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes, 0, half);
            if (PartlyWritten is { } hook)
            {
                stream.Flush(flushToDisk: true);
                hook(state.EpochsDone);
            }
            stream.Write(bytes, half, length - half);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Removes the checkpoint of a finished run, and the temporary file of a write that was killed.</summary>
    public static void Delete(string directory)
    {
        string path = PathIn(directory);
        foreach (string file in new[] { path, path + ".tmp" })
            if (File.Exists(file))
                File.Delete(file);
    }

    /// <summary>The run saved in <paramref name="directory"/>, continuing on an optimizer made by
    /// <paramref name="newOptimizer"/>; null when there is none. Throws <see cref="InvalidOperationException"/> naming
    /// the settings that differ from <paramref name="expected"/>, and <see cref="InvalidDataException"/> with one
    /// message for any damaged file.</summary>
    public static TrainingState? TryRead(string directory, TrainingStateKey expected, Func<NetworkLayout, Optimizer> newOptimizer)
    {
        string path = PathIn(directory);
        if (!File.Exists(path))
            return null;
        try
        {
            var bytes = File.ReadAllBytes(path);
            CheckFrame(bytes);
            using var reader = new BinaryReader(new MemoryStream(bytes, HeaderBytes, bytes.Length - HeaderBytes - ChecksumBytes, writable: false));
            var key = TrainingStateKey.Read(reader);
            if (expected.DifferencesFrom(key) is { Count: > 0 } differences)
                throw new InvalidOperationException(
                    $"The checkpoint in '{directory}' was written with different settings: {string.Join("; ", differences)}. " +
                    $"Resume with the same settings, or delete {path} to start over.");
            var state = ReadState(reader, key, newOptimizer);
            if (reader.BaseStream.Position != reader.BaseStream.Length)
                throw new InvalidDataException("it has data after the training state");
            return state;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException or UnauthorizedAccessException
            or ArgumentException or FormatException or OverflowException)
        {
            string detail = e is InvalidDataException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            throw new InvalidDataException($"The checkpoint {path} cannot be read ({detail}). Delete it to start over.", e);
        }
    }

    private static MemoryStream Serialize(TrainingState state)
    {
        var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(0L); // payload length, filled in below
            WriteState(writer, state);
            writer.Flush();
            long payload = buffer.Length - HeaderBytes;
            buffer.Position = 8;
            writer.Write(payload);
            writer.Flush();
            buffer.Position = buffer.Length;
            writer.Write(Crc32.Compute(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
        }
        return buffer;
    }

    private static void CheckFrame(byte[] bytes)
    {
        if (bytes.Length < HeaderBytes + ChecksumBytes)
            throw new InvalidDataException($"it is {bytes.Length} bytes long, too short for a checkpoint");
        var header = bytes.AsSpan();
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
            throw new InvalidDataException("it is not an MlNetMiniBatch checkpoint");
        int version = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (version > Version)
            throw new InvalidDataException($"it was written by a newer version of MlNetMiniBatch (checkpoint format {version})");
        if (version < Version)
            throw new InvalidDataException($"it was written by an older version of MlNetMiniBatch (checkpoint format {version}), which this one does not resume");
        long payload = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        if (payload != bytes.Length - HeaderBytes - ChecksumBytes)
            throw new InvalidDataException($"it holds {bytes.Length - HeaderBytes - ChecksumBytes} bytes of training state where it should hold {payload}: it is truncated or damaged");
        if (Crc32.Compute(header[..^ChecksumBytes]) != BinaryPrimitives.ReadUInt32LittleEndian(header[^ChecksumBytes..]))
            throw new InvalidDataException("its checksum does not match: it is damaged");
    }

    private static void WriteState(BinaryWriter writer, TrainingState state)
    {
        state.Key.Write(writer);
        writer.Write(state.Seed);
        ModelFormat.Write(writer, state.ToModel(state.Parameters));
        writer.Write(state.Optimizer.Steps);
        var moments = state.Optimizer.State;
        writer.Write(moments.Length);
        foreach (var array in moments) WriteArray(writer, array);
        writer.Write(state.LearningRate);
        writer.Write(state.PlateauWait);
        writer.Write(state.BestValue.HasValue);
        writer.Write(state.BestValue ?? 0);
        writer.Write(state.BestEpoch ?? -1);
        writer.Write(state.EpochsWithoutImprovement);
        writer.Write(state.BestParameters is not null);
        if (state.BestParameters is not null) WriteArray(writer, state.BestParameters);
    }

    private static TrainingState ReadState(BinaryReader reader, TrainingStateKey key, Func<NetworkLayout, Optimizer> newOptimizer)
    {
        int seed = reader.ReadInt32();
        var model = ModelFormat.Read(reader);
        var optimizer = newOptimizer(model.Layout);
        long steps = reader.ReadInt64();
        optimizer.Steps = steps >= 0 ? steps : throw new InvalidDataException($"Invalid optimizer step count {steps}.");
        var moments = optimizer.State;
        int count = ModelFormat.Count(reader, 0, 16, "optimizer state count");
        if (count != moments.Length)
            throw new InvalidDataException($"it holds {count} optimizer arrays where the optimizer has {moments.Length}");
        foreach (var array in moments) ReadArray(reader, array);
        float learningRate = reader.ReadSingle();
        int plateauWait = reader.ReadInt32();
        bool hasBest = reader.ReadBoolean();
        double best = reader.ReadDouble();
        int bestEpoch = reader.ReadInt32(), wait = reader.ReadInt32();
        float[]? bestParameters = null;
        if (reader.ReadBoolean())
            ReadArray(reader, bestParameters = new float[model.Layout.ParameterCount]);
        return new TrainingState
        {
            Key = key, Seed = seed, Task = model.Task, Layout = model.Layout, Activation = model.Activation,
            Parameters = model.Parameters.ToArray(), ClassValues = model.ClassValues, TargetScaling = model.TargetScaling,
            TrainingOptions = model.TrainingOptions ?? throw new InvalidDataException("it does not record the training options"),
            History = [.. model.History], StopReason = model.StopReason, Optimizer = optimizer, LearningRate = learningRate,
            PlateauWait = plateauWait, BestValue = hasBest ? best : null, BestEpoch = bestEpoch >= 0 ? bestEpoch : null,
            EpochsWithoutImprovement = wait, BestParameters = bestParameters,
        };
    }

    private static void WriteArray(BinaryWriter writer, float[] array)
    {
        writer.Write(array.Length);
        foreach (float v in array) writer.Write(v);
    }

    /// <summary>Fills <paramref name="destination"/>, whose length the saved array must have.</summary>
    private static void ReadArray(BinaryReader reader, float[] destination)
    {
        int length = reader.ReadInt32();
        if (length != destination.Length)
            throw new InvalidDataException($"it holds an array of {length} values where the network needs {destination.Length}");
        for (int i = 0; i < length; i++) destination[i] = reader.ReadSingle();
    }
}
