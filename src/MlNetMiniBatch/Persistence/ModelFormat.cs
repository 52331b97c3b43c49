using MlNetMiniBatch.Network;
using MlNetMiniBatch.Scoring;
using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Persistence;

/// <summary>
/// The library's own binary form of a trained network: shape, weights, class values, label scaling and history.
/// Used inside ML.NET model files and inside checkpoints. Little-endian via BinaryWriter; every length and count is
/// checked on read, so a damaged file fails with <see cref="InvalidDataException"/>, never with a huge allocation.
/// </summary>
internal static class ModelFormat
{
    private const uint Magic = 0x424E4D4C; // "LMNB"

    /// <summary>Format written. Readers accept every version from 1 up to this one; bump it for any change to the layout
    /// and keep reading the old ones. 1: network, classes, label scaling, history. 2: + training options (may be absent).
    /// 3: + each epoch's batch size, the adaptive batch-size options. 4: + at the end, the number of label scaling pairs
    /// and the pairs after the first (one per output of a multi-output regression; the first stays where it was).</summary>
    internal const int Version = 4;

    /// <param name="version">The format to write: older ones only to test that they still read.</param>
    public static void Write(BinaryWriter writer, NeuralNetworkModelParameters model, int version = Version)
    {
        writer.Write(Magic);
        writer.Write(version);
        writer.Write((int)model.Task);
        writer.Write((int)model.Activation);
        writer.Write(model.LayerSizes.Count);
        foreach (int size in model.LayerSizes) writer.Write(size);
        var parameters = model.Parameters;
        writer.Write(parameters.Length);
        WriteFloats(writer, parameters);
        writer.Write(model.ClassValues is not null);
        model.ClassValues?.Write(writer);
        var scaling = model.TargetScaling;
        if (version < 4 && scaling.Count != 1)
            throw new NotSupportedException($"Network format {version} stores one label scaling, not {scaling.Count}.");
        writer.Write(scaling.Mean[0]);
        writer.Write(scaling.StandardDeviation[0]);
        writer.Write((int)model.StopReason);
        WriteNullable(writer, model.BestEpoch);
        writer.Write(model.History.Count);
        foreach (var epoch in model.History) WriteEpoch(writer, epoch, version);
        if (version < 2)
            return;
        writer.Write(model.TrainingOptions is not null);
        model.TrainingOptions?.Write(writer);
        if (version >= 3)
            model.TrainingOptions?.WriteAdaptive(writer);
        if (version < 4)
            return;
        writer.Write(scaling.Count);
        for (int o = 1; o < scaling.Count; o++)
        {
            writer.Write(scaling.Mean[o]);
            writer.Write(scaling.StandardDeviation[o]);
        }
    }

    public static NeuralNetworkModelParameters Read(BinaryReader reader)
    {
        try
        {
            if (reader.ReadUInt32() != Magic)
                throw new InvalidDataException("This is not an MlNetMiniBatch network (wrong magic number).");
            int version = reader.ReadInt32();
            if (version > Version)
                throw Newer($"format {version}");
            if (version < 1)
                throw new InvalidDataException($"Invalid network format version {version}.");
            var task = ReadEnum<NeuralNetworkTask>(reader, version);
            var activation = ReadEnum<NeuralNetworkActivation>(reader, version);
            int layerCount = Count(reader, 2, 1000, "layer count");
            var sizes = new int[layerCount];
            for (int i = 0; i < layerCount; i++) sizes[i] = Count(reader, 1, Array.MaxLength, "layer size");
            var layout = Layout(sizes);
            int parameterCount = Count(reader, 0, Array.MaxLength, "parameter count");
            if (parameterCount != layout.ParameterCount)
                throw new InvalidDataException($"The network stores {parameterCount} parameters, but its layer sizes need {layout.ParameterCount}.");
            CheckRemaining(reader, 4L * parameterCount);
            var parameters = new float[parameterCount];
            ReadFloats(reader, parameters);
            var classValues = reader.ReadBoolean() ? LabelKeyValues.Read(reader) : null;
            float labelMean = reader.ReadSingle(), labelStd = reader.ReadSingle();
            var stopReason = ReadEnum<TrainingStopReason>(reader, version);
            int? bestEpoch = ReadNullableInt(reader);
            int epochs = Count(reader, 0, 10_000_000, "epoch count");
            var history = new List<EpochSummary>(Math.Min(epochs, 1024));
            for (int i = 0; i < epochs; i++) history.Add(ReadEpoch(reader, version));
            var options = version >= 2 && reader.ReadBoolean() ? TrainingOptionsSummary.Read(reader) : null;
            if (version >= 3)
                options?.ReadAdaptive(reader);
            if (version < 3)
            {
                // Every epoch of an older file ran at the options' one batch size (0 when a format-1 file does not say).
                for (int i = 0; i < history.Count; i++)
                    history[i] = history[i].WithBatchSize(options?.BatchSize ?? 0);
            }
            var scaling = version >= 4 ? ReadScaling(reader, labelMean, labelStd, layout.OutputSize) : TargetScaling.Of(labelMean, labelStd);
            return new NeuralNetworkModelParameters(task, layout, activation, parameters, classValues, scaling, history,
                stopReason, bestEpoch, options);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("The network data is truncated.", e);
        }
    }

    /// <summary>The pairs after the first: one for all outputs, or one per output.</summary>
    private static TargetScaling ReadScaling(BinaryReader reader, float firstMean, float firstStd, int outputs)
    {
        int count = Count(reader, 1, outputs, "label scaling count");
        if (count != 1 && count != outputs)
            throw new InvalidDataException($"The network stores {count} label scalings for {outputs} outputs.");
        CheckRemaining(reader, 8L * (count - 1));
        var mean = new float[count];
        var std = new float[count];
        (mean[0], std[0]) = (firstMean, firstStd);
        for (int o = 1; o < count; o++)
        {
            mean[o] = reader.ReadSingle();
            std[o] = reader.ReadSingle();
        }
        return count == 1 ? TargetScaling.Of(firstMean, firstStd) : new TargetScaling(mean, std);
    }

    /// <summary>Little-endian floats in one block copy (a wide model has tens of millions of them).</summary>
    private static void WriteFloats(BinaryWriter writer, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
        else
            foreach (float v in values) writer.Write(v);
    }

    private static void ReadFloats(BinaryReader reader, Span<float> values)
    {
        if (!BitConverter.IsLittleEndian)
        {
            for (int i = 0; i < values.Length; i++) values[i] = reader.ReadSingle();
            return;
        }
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values);
        while (!bytes.IsEmpty)
        {
            int read = reader.Read(bytes);
            if (read == 0)
                throw new EndOfStreamException();
            bytes = bytes[read..];
        }
    }

    private static void WriteEpoch(BinaryWriter writer, EpochSummary epoch, int version)
    {
        writer.Write(epoch.Epoch);
        writer.Write(epoch.Iterations);
        writer.Write(epoch.Rows);
        writer.Write(epoch.LearningRate);
        WriteMetrics(writer, epoch.Train);
        writer.Write(epoch.Validation is not null);
        if (epoch.Validation is { } validation) WriteMetrics(writer, validation);
        writer.Write(epoch.Elapsed.Ticks);
        writer.Write(epoch.IsBest);
        WriteNullable(writer, epoch.GradientNoiseScale);
        if (version >= 3)
            writer.Write(epoch.BatchSize);
    }

    private static EpochSummary ReadEpoch(BinaryReader reader, int version)
    {
        int number = reader.ReadInt32(), iterations = reader.ReadInt32();
        long rows = reader.ReadInt64();
        float learningRate = reader.ReadSingle();
        var train = ReadMetrics(reader);
        var validation = reader.ReadBoolean() ? ReadMetrics(reader) : null;
        var elapsed = TimeSpan.FromTicks(reader.ReadInt64());
        bool isBest = reader.ReadBoolean();
        double? noise = ReadNullableDouble(reader);
        int batchSize = version >= 3 ? Count(reader, 1, int.MaxValue, "epoch batch size") : 0;
        return new EpochSummary(number, iterations, rows, learningRate, train, validation, elapsed, noise, batchSize) { IsBest = isBest };
    }

    private static void WriteMetrics(BinaryWriter writer, EpochMetrics metrics)
    {
        writer.Write(metrics.Loss);
        WriteNullable(writer, metrics.Accuracy);
        WriteNullable(writer, metrics.MacroAccuracy);
        WriteNullable(writer, metrics.AreaUnderRocCurve);
        WriteNullable(writer, metrics.RootMeanSquaredError);
        WriteNullable(writer, metrics.RSquared);
    }

    private static EpochMetrics ReadMetrics(BinaryReader reader) => new(reader.ReadDouble(), ReadNullableDouble(reader),
        ReadNullableDouble(reader), ReadNullableDouble(reader), ReadNullableDouble(reader), ReadNullableDouble(reader));

    private static void WriteNullable(BinaryWriter writer, double? value)
    {
        writer.Write(value.HasValue);
        if (value is { } v) writer.Write(v);
    }

    private static void WriteNullable(BinaryWriter writer, int? value)
    {
        writer.Write(value.HasValue);
        if (value is { } v) writer.Write(v);
    }

    private static double? ReadNullableDouble(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadDouble() : null;

    private static int? ReadNullableInt(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadInt32() : null;

    /// <summary>An enum value this version does not know comes from a newer version (files are checksummed, so damage
    /// fails before this); <paramref name="formatVersion"/> is the format the file says it is in.</summary>
    internal static T ReadEnum<T>(BinaryReader reader, int formatVersion = Version) where T : struct, Enum
    {
        int value = reader.ReadInt32();
        var result = (T)(object)value;
        return Enum.IsDefined(result) ? result : throw Newer($"format {formatVersion}, with a {typeof(T).Name} value {value} that this version does not know");
    }

    /// <summary>The one message for a file this version cannot read because a later version wrote it.</summary>
    internal static InvalidDataException Newer(string what) => new(
        $"The network was saved by a newer version of MlNetMiniBatch ({what}); this version reads network formats 1 to {Version}. Update the MlNetMiniBatch package to load it.");

    /// <summary>The layout of stored layer sizes; sizes that training could never have produced are damage, not a newer version.</summary>
    private static NetworkLayout Layout(int[] sizes)
    {
        try
        {
            return new NetworkLayout(sizes);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"Invalid layer sizes {string.Join('-', sizes)}: {e.Message}");
        }
    }

    internal static int Count(BinaryReader reader, int min, int max, string what)
    {
        int value = reader.ReadInt32();
        return value >= min && value <= max ? value : throw new InvalidDataException($"Invalid {what} {value}.");
    }

    /// <summary>Refuses a length the stream cannot hold, before allocating for it.</summary>
    internal static void CheckRemaining(BinaryReader reader, long bytes)
    {
        var stream = reader.BaseStream;
        if (stream.CanSeek && stream.Length - stream.Position < bytes)
            throw new InvalidDataException("The network data is truncated.");
    }
}
