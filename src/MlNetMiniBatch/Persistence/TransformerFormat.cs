using Microsoft.ML.Runtime;

namespace MlNetMiniBatch.Persistence;

/// <summary>
/// What a <see cref="NeuralNetworkPredictionTransformer"/> writes inside an ML.NET model file (its Model.key entry,
/// after ML.NET's header): one length-prefixed block followed by the block's CRC-32. The block holds the feature
/// column's name and dimensions, then the network in <see cref="ModelFormat"/>. The checksum makes any damage fail
/// loudly instead of loading a different network; ModelFormat's own version makes a newer network format fail with a
/// message that names the fix.
/// </summary>
internal static class TransformerFormat
{
    /// <summary>The largest block: one byte array (its length is also written as an int).</summary>
    internal static long MaxBlockBytes => Array.MaxLength;

    /// <summary>Room left in the block for everything but the weights (names, history, options); a model whose weights
    /// leave less is refused before anything is written.</summary>
    private const long OtherBytesAllowance = 64L << 20;

    public static void Write(BinaryWriter writer, NeuralNetworkPredictionTransformer transformer)
    {
        CheckFits(transformer.Model.Parameters.Length);
        using var block = new MemoryStream();
        using (var blockWriter = new BinaryWriter(block, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            blockWriter.Write(transformer.FeatureColumnName);
            var dimensions = transformer.FeatureColumnType is VectorDataViewType vector ? vector.Dimensions : [transformer.Model.InputSize];
            blockWriter.Write(dimensions.Length);
            foreach (int d in dimensions) blockWriter.Write(d);
            ModelFormat.Write(blockWriter, transformer.Model);
        }
        var bytes = block.GetBuffer().AsSpan(0, checked((int)block.Length));
        writer.Write(bytes.Length);
        writer.Write(bytes);
        writer.Write(Crc32.Compute(bytes));
    }

    /// <summary>Refuses, with the numbers, a network whose weights do not fit in one model-file block.</summary>
    internal static void CheckFits(long parameterCount)
    {
        long bytes = sizeof(float) * parameterCount;
        if (bytes > MaxBlockBytes - OtherBytesAllowance)
            throw new InvalidOperationException(
                $"The network has {parameterCount} parameters ({bytes / (1 << 20)} MB), more than an MlNetMiniBatch model file can hold " +
                $"({(MaxBlockBytes - OtherBytesAllowance) / (1 << 20)} MB of weights in one block). Save a smaller network (fewer hidden units, " +
                "or fewer features, e.g. ProduceHashedNgrams with fewer bits).");
    }

    /// <summary>Reads what <see cref="Write"/> wrote; <paramref name="available"/> (the entry's model size) bounds the
    /// block length before anything is allocated. Any inconsistency throws <see cref="InvalidDataException"/>.</summary>
    public static NeuralNetworkPredictionTransformer Read(IHostEnvironment environment, BinaryReader reader, long available)
    {
        try
        {
            int length = ModelFormat.Count(reader, 1, int.MaxValue, "block length");
            if (length > available - 8)
                throw new InvalidDataException($"The network block claims {length} bytes, more than the model entry holds.");
            var bytes = reader.ReadBytes(length);
            if (bytes.Length != length)
                throw new InvalidDataException("The network data is truncated.");
            if (Crc32.Compute(bytes) != reader.ReadUInt32())
                throw new InvalidDataException("The network block's checksum does not match: the file is damaged.");

            using var block = new BinaryReader(new MemoryStream(bytes, writable: false));
            string featureColumnName = block.ReadString();
            if (string.IsNullOrWhiteSpace(featureColumnName))
                throw new InvalidDataException("The feature column name is empty.");
            int rank = ModelFormat.Count(block, 1, 8, "feature dimension count");
            var dimensions = new int[rank];
            long features = 1;
            for (int i = 0; i < rank; i++)
            {
                features *= dimensions[i] = ModelFormat.Count(block, 1, Array.MaxLength, "feature dimension");
                if (features > Array.MaxLength)
                    throw new InvalidDataException($"The feature dimensions {string.Join(" × ", dimensions.Take(i + 1))} make more values than a vector holds.");
            }
            var model = ModelFormat.Read(block);
            if (model.InputSize != features)
                throw new InvalidDataException($"The feature column has {features} values but the network reads {model.InputSize}.");
            var type = new VectorDataViewType(NumberDataViewType.Single, dimensions);
            return new NeuralNetworkPredictionTransformer(environment, model, featureColumnName, type);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or FormatException or OverflowException or ArgumentException)
        {
            // No inner exception on purpose: ML.NET wraps loader exceptions in TargetInvocationExceptions, so users find
            // the cause with GetBaseException(), which must then be this sentence, not a bare "end of stream".
            string detail = e is InvalidDataException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            throw new InvalidDataException($"The MlNetMiniBatch neural network in this model file cannot be read: {detail}");
        }
    }
}

/// <summary>CRC-32 (IEEE 802.3, the zip and PNG polynomial), table-driven, eight bytes per step ("slicing by 8"):
/// a wide model's block is hundreds of megabytes, and tests run unoptimized Debug code.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var t = Table;
        uint crc = 0xFFFFFFFF;
        while (data.Length >= 8)
        {
            uint low = crc ^ System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data);
            uint high = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            crc = t[7 * 256 + (low & 0xFF)] ^ t[6 * 256 + ((low >> 8) & 0xFF)] ^ t[5 * 256 + ((low >> 16) & 0xFF)] ^ t[4 * 256 + (low >> 24)]
                ^ t[3 * 256 + (high & 0xFF)] ^ t[2 * 256 + ((high >> 8) & 0xFF)] ^ t[256 + ((high >> 16) & 0xFF)] ^ t[high >> 24];
            data = data[8..];
        }
        foreach (byte b in data)
            crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    /// <summary>Table k (k = 0..7) gives the CRC of a byte followed by k zero bytes.</summary>
    private static uint[] BuildTable()
    {
        var table = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        for (int i = 0; i < 256; i++)
            for (int k = 1; k < 8; k++)
                table[k * 256 + i] = (table[(k - 1) * 256 + i] >> 8) ^ table[table[(k - 1) * 256 + i] & 0xFF];
        return table;
    }
}
