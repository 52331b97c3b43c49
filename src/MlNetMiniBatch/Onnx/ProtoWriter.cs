using System.Buffers.Binary;
using System.Text;

namespace MlNetMiniBatch.Onnx;

/// <summary>
/// The few pieces of the protobuf wire format an ONNX ModelProto needs (varint, 32-bit and length-delimited fields),
/// written by hand so the library needs no protobuf dependency. A nested message is written to its own
/// <see cref="ProtoWriter"/> first, then copied in with its length.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _buffer = new();

    private enum WireType { Varint = 0, Fixed32 = 5, LengthDelimited = 2 }

    public ReadOnlySpan<byte> Written => _buffer.GetBuffer().AsSpan(0, (int)_buffer.Length);

    public void WriteTo(Stream stream) => stream.Write(Written);

    public ProtoWriter Int64(int field, long value)
    {
        Tag(field, WireType.Varint);
        Varint((ulong)value);
        return this;
    }

    public ProtoWriter Float(int field, float value)
    {
        Tag(field, WireType.Fixed32);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        _buffer.Write(bytes);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, WireType.LengthDelimited);
        Varint((ulong)value.Length);
        _buffer.Write(value);
        return this;
    }

    public ProtoWriter Message(int field, Action<ProtoWriter> write)
    {
        var nested = new ProtoWriter();
        write(nested);
        return Bytes(field, nested.Written);
    }

    /// <summary>A packed repeated int64 field.</summary>
    public ProtoWriter PackedInt64(int field, IEnumerable<long> values)
    {
        var nested = new ProtoWriter();
        foreach (long v in values) nested.Varint((ulong)v);
        return Bytes(field, nested.Written);
    }

    private void Tag(int field, WireType type) => Varint((ulong)field << 3 | (ulong)type);

    private void Varint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _buffer.WriteByte((byte)value);
    }
}
