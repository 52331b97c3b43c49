using System.Runtime.InteropServices;

namespace MlNetMiniBatch.Training.Shuffling;

/// <summary>
/// One training row in the streaming shuffle's temporary files: targets, weight, then the features, dense or sparse,
/// whichever is smaller. Header: TargetCount float targets, float weight, int count (−1 = dense: FeatureCount floats
/// follow; otherwise count int indices then count float values). Only +0 counts as zero, so −0 survives the round trip and
/// a streamed run computes exactly what an in-memory run computes. Native byte order: the files never leave the process.
/// </summary>
internal static class ShuffleRecord
{
    public static int HeaderBytes(int targetCount) => 4 * targetCount + 8;

    public static int MaxBytes(int featureCount, int targetCount) => HeaderBytes(targetCount) + 4 * featureCount;

    /// <summary>Writes one row to <paramref name="destination"/> (at least <see cref="MaxBytes"/> long); returns the bytes used.</summary>
    public static int Encode(ReadOnlySpan<float> features, ReadOnlySpan<float> targets, float weight, Span<byte> destination)
    {
        int headerBytes = HeaderBytes(targets.Length);
        int nonZero = 0;
        foreach (float v in features)
            if (BitConverter.SingleToInt32Bits(v) != 0)
                nonZero++;
        bool sparse = 2 * nonZero < features.Length;
        var header = MemoryMarshal.Cast<byte, int>(destination.Slice(0, headerBytes));
        MemoryMarshal.Cast<float, int>(targets).CopyTo(header);
        header[targets.Length] = BitConverter.SingleToInt32Bits(weight);
        header[targets.Length + 1] = sparse ? nonZero : -1;
        var body = destination.Slice(headerBytes);
        if (!sparse)
        {
            MemoryMarshal.AsBytes(features).CopyTo(body);
            return headerBytes + 4 * features.Length;
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
        return headerBytes + 8 * nonZero;
    }

    /// <summary>Length of the record starting at <paramref name="data"/>[0], or −1 when <paramref name="data"/> holds
    /// only part of it.</summary>
    public static int Length(ReadOnlySpan<byte> data, int featureCount, int targetCount)
    {
        int headerBytes = HeaderBytes(targetCount);
        if (data.Length < headerBytes)
            return -1;
        int count = MemoryMarshal.Read<int>(data.Slice(headerBytes - 4));
        if (count < -1 || count > featureCount)
            throw new InvalidDataException("A temporary file of the streaming shuffle is damaged (a record has an impossible feature count).");
        int length = count < 0 ? MaxBytes(featureCount, targetCount) : headerBytes + 8 * count;
        return length <= data.Length ? length : -1;
    }

    /// <summary>Writes the offsets of the whole records at the start of <paramref name="data"/> to
    /// <paramref name="offsets"/> (grown as needed); returns their count and, in <paramref name="end"/>, where the
    /// last one ends.</summary>
    public static int Index(ReadOnlySpan<byte> data, int featureCount, int targetCount, ref int[] offsets, out int end)
    {
        int rows = 0, position = 0;
        for (int length; (length = Length(data.Slice(position), featureCount, targetCount)) > 0; position += length)
        {
            if (rows == offsets.Length)
                Array.Resize(ref offsets, 2 * offsets.Length);
            offsets[rows++] = position;
        }
        end = position;
        return rows;
    }

    /// <summary>Reads the record at <paramref name="data"/>[0] into a dense feature row, its targets and its weight.</summary>
    public static void Decode(ReadOnlySpan<byte> data, Span<float> featureRow, Span<float> targets, out float weight)
    {
        int headerBytes = HeaderBytes(targets.Length);
        MemoryMarshal.Cast<byte, float>(data.Slice(0, 4 * targets.Length)).CopyTo(targets);
        weight = MemoryMarshal.Read<float>(data.Slice(headerBytes - 8));
        int count = MemoryMarshal.Read<int>(data.Slice(headerBytes - 4));
        var body = data.Slice(headerBytes);
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
