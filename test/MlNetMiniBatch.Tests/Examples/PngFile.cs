using System.Buffers.Binary;
using System.Text;

namespace MlNetMiniBatch.Tests.Examples;

/// <summary>Checks a PNG file by hand: the 8-byte signature, the IHDR chunk that must come first (length 13, CRC-32
/// checked) and the IEND chunk that must end the file. No image library involved.</summary>
internal static class PngFile
{
    private static readonly byte[] Signature = { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };

    /// <summary>The width and height from the IHDR chunk; fails the test when the file is not a well-formed PNG.</summary>
    public static (int Width, int Height) ReadSize(string path)
    {
        Assert.IsTrue(File.Exists(path), $"{path} was not written.");
        byte[] bytes = File.ReadAllBytes(path);
        Assert.IsGreaterThan(8 + 25 + 12, bytes.Length, "too short for signature, IHDR and IEND");
        CollectionAssert.AreEqual(Signature, bytes[..8], "PNG signature");

        // IHDR: length (4, big-endian) = 13, type "IHDR", width (4), height (4), bit depth, colour type,
        // compression, filter, interlace (1 each), CRC-32 of type and data (4).
        Assert.AreEqual(13u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(8, 4)), "IHDR length");
        Assert.AreEqual("IHDR", Encoding.ASCII.GetString(bytes, 12, 4), "first chunk");
        int width = checked((int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(16, 4)));
        int height = checked((int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(20, 4)));
        byte bitDepth = bytes[24], colourType = bytes[25];
        Assert.IsTrue(bitDepth is 1 or 2 or 4 or 8 or 16, $"bit depth {bitDepth}");
        Assert.IsTrue(colourType is 0 or 2 or 3 or 4 or 6, $"colour type {colourType}");
        Assert.AreEqual(BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(29, 4)), Crc32(bytes.AsSpan(12, 17)), "IHDR CRC");

        // IEND: length 0, type "IEND", CRC AE 42 60 82.
        ReadOnlySpan<byte> end = bytes.AsSpan(bytes.Length - 12);
        Assert.AreEqual(0u, BinaryPrimitives.ReadUInt32BigEndian(end[..4]), "IEND length");
        Assert.AreEqual("IEND", Encoding.ASCII.GetString(end.Slice(4, 4)), "last chunk");
        Assert.AreEqual(0xAE426082u, BinaryPrimitives.ReadUInt32BigEndian(end.Slice(8, 4)), "IEND CRC");
        return (width, height);
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
