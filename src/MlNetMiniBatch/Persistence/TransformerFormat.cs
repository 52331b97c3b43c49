using Microsoft.ML.Runtime;

namespace MlNetMiniBatch.Persistence;

/// <summary>
/// What a <see cref="NeuralNetworkPredictionTransformer"/> writes inside an ML.NET model file (its Model.key entry,
/// after ML.NET's header): the feature column's name and dimensions, then the network in <see cref="ModelFormat"/>
/// as a length-prefixed block followed by its CRC-32. The checksum makes any damage to the network fail loudly
/// instead of loading different weights; ModelFormat's own version makes a newer network format fail with a
/// message that names the fix.
/// </summary>
internal static class TransformerFormat
{
    /// <summary>Bound on the network block, far above any MLP this library trains (2 GB would not fit a float[] anyway).</summary>
    private const int MaxPayloadBytes = int.MaxValue - 64;

    public static void Write(BinaryWriter writer, NeuralNetworkPredictionTransformer transformer)
    {
        writer.Write(transformer.FeatureColumnName);
        var dimensions = transformer.FeatureColumnType is VectorDataViewType vector ? vector.Dimensions : [transformer.Model.InputSize];
        writer.Write(dimensions.Length);
        foreach (int d in dimensions) writer.Write(d);
        using var payload = new MemoryStream();
        using (var payloadWriter = new BinaryWriter(payload, System.Text.Encoding.UTF8, leaveOpen: true))
            ModelFormat.Write(payloadWriter, transformer.Model);
        var bytes = payload.GetBuffer().AsSpan(0, (int)payload.Length);
        writer.Write(bytes.Length);
        writer.Write(bytes);
        writer.Write(Crc32.Compute(bytes));
    }

    /// <summary>Reads what <see cref="Write"/> wrote; <paramref name="available"/> bounds every length read.
    /// Any inconsistency throws <see cref="InvalidDataException"/>.</summary>
    public static NeuralNetworkPredictionTransformer Read(IHostEnvironment environment, BinaryReader reader, long available)
    {
        try
        {
            string featureColumnName = reader.ReadString();
            if (string.IsNullOrWhiteSpace(featureColumnName))
                throw new InvalidDataException("The feature column name is empty.");
            int rank = ModelFormat.Count(reader, 1, 8, "feature dimension count");
            var dimensions = new int[rank];
            long features = 1;
            for (int i = 0; i < rank; i++)
                features *= dimensions[i] = ModelFormat.Count(reader, 1, 1 << 24, "feature dimension");
            int length = ModelFormat.Count(reader, 1, MaxPayloadBytes, "network block length");
            if (length > available)
                throw new InvalidDataException($"The network block claims {length} bytes, more than the {available} bytes the model entry holds.");
            var bytes = reader.ReadBytes(length);
            if (bytes.Length != length)
                throw new InvalidDataException("The network data is truncated.");
            uint stored = reader.ReadUInt32();
            if (Crc32.Compute(bytes) != stored)
                throw new InvalidDataException("The network block's checksum does not match: the file is damaged.");
            NeuralNetworkModelParameters model;
            using (var payload = new BinaryReader(new MemoryStream(bytes, writable: false)))
                model = ModelFormat.Read(payload);
            if (model.InputSize != features)
                throw new InvalidDataException($"The feature column has {features} values but the network reads {model.InputSize}.");
            var type = new VectorDataViewType(NumberDataViewType.Single, dimensions);
            return new NeuralNetworkPredictionTransformer(environment, model, featureColumnName, type);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or FormatException or OverflowException or ArgumentException)
        {
            throw Damaged(e);
        }
    }

    internal static InvalidDataException Damaged(Exception inner) => new(
        $"The MlNetMiniBatch neural network in this model file cannot be read: {inner.Message}", inner);
}

/// <summary>CRC-32 (IEEE 802.3, the zip and PNG polynomial), table-driven.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
