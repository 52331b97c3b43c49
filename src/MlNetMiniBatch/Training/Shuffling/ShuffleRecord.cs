using System.Runtime.InteropServices;

namespace MlNetMiniBatch.Training.Shuffling;

/// <summary>
/// One training row in the streaming shuffle's temporary files: target, weight, then the features, dense or sparse,
/// whichever is smaller. Header: float target, float weight, int count (−1 = dense: FeatureCount floats follow;
/// otherwise count int indices then count float values). Only +0 counts as zero, so −0 survives the round trip and
/// a streamed run computes exactly what an in-memory run computes. Native byte order: the files never leave the process.
/// </summary>
internal static class ShuffleRecord
{
    public const int HeaderBytes = 12;

    public static int MaxBytes(int featureCount) => HeaderBytes + 4 * featureCount;

    /// <summary>Writes one row to <paramref name="destination"/> (at least <see cref="MaxBytes"/> long); returns the bytes used.</summary>
    public static int Encode(ReadOnlySpan<float> features, float target, float weight, Span<byte> destination)
    {
        int nonZero = 0;
        foreach (float v in features)
            if (BitConverter.SingleToInt32Bits(v) != 0)
                nonZero++;
        bool sparse = 2 * nonZero < features.Length;
        var header = MemoryMarshal.Cast<byte, int>(destination.Slice(0, HeaderBytes));
        header[0] = BitConverter.SingleToInt32Bits(target);
        header[1] = BitConverter.SingleToInt32Bits(weight);
        header[2] = sparse ? nonZero : -1;
        var body = destination.Slice(HeaderBytes);
        if (!sparse)
        {
            MemoryMarshal.AsBytes(features).CopyTo(body);
            return HeaderBytes + 4 * features.Length;
        }
        var indices = MemoryMarshal.Cast<byte, int>(body.Slice(0, 4 * nonZero));
        var values = MemoryMarshal.Cast<byte, float>(body.Slice(4 * nonZero, 4 * nonZero));
        for (int i = 0, k = 0; i < features.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(features[i]) == 0)
                continue;
            indices[k] = i;
            values[k++] = features[i];
        }
        return HeaderBytes + 8 * nonZero;
    }

    /// <summary>Length of the record starting at <paramref name="data"/>[0], or −1 when <paramref name="data"/> holds
    /// only part of it.</summary>
    public static int Length(ReadOnlySpan<byte> data, int featureCount)
    {
        if (data.Length < HeaderBytes)
            return -1;
        int count = MemoryMarshal.Read<int>(data.Slice(8));
        if (count < -1 || count > featureCount)
            throw new InvalidDataException("A temporary file of the streaming shuffle is damaged (a record has an impossible feature count).");
        int length = count < 0 ? MaxBytes(featureCount) : HeaderBytes + 8 * count;
        return length <= data.Length ? length : -1;
    }

    /// <summary>Writes the offsets of the whole records at the start of <paramref name="data"/> to
    /// <paramref name="offsets"/> (grown as needed); returns their count and, in <paramref name="end"/>, where the
    /// last one ends.</summary>
    public static int Index(ReadOnlySpan<byte> data, int featureCount, ref int[] offsets, out int end)
    {
        int rows = 0, position = 0;
        for (int length; (length = Length(data.Slice(position), featureCount)) > 0; position += length)
        {
            if (rows == offsets.Length)
                Array.Resize(ref offsets, 2 * offsets.Length);
            offsets[rows++] = position;
        }
        end = position;
        return rows;
    }

    /// <summary>Reads the record at <paramref name="data"/>[0] into a dense feature row, its target and its weight.</summary>
    public static void Decode(ReadOnlySpan<byte> data, Span<float> featureRow, out float target, out float weight)
    {
        target = MemoryMarshal.Read<float>(data);
        weight = MemoryMarshal.Read<float>(data.Slice(4));
        int count = MemoryMarshal.Read<int>(data.Slice(8));
        var body = data.Slice(HeaderBytes);
        if (count < 0)
        {
            MemoryMarshal.Cast<byte, float>(body.Slice(0, 4 * featureRow.Length)).CopyTo(featureRow);
            return;
        }
        featureRow.Clear();
        var indices = MemoryMarshal.Cast<byte, int>(body.Slice(0, 4 * count));
        var values = MemoryMarshal.Cast<byte, float>(body.Slice(4 * count, 4 * count));
        for (int k = 0; k < count; k++)
            featureRow[indices[k]] = values[k];
    }
}
