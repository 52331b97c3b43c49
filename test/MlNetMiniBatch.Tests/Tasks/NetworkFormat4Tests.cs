using MlNetMiniBatch.Network;
using MlNetMiniBatch.Persistence;
using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Tests.Tasks;

/// <summary>Network format 4 keeps one label scaling per output; the formats before it hold one and refuse more.</summary>
[TestClass]
public sealed class NetworkFormat4Tests
{
    private static NeuralNetworkModelParameters ThreeOutputs() => new(NeuralNetworkTask.MultiOutputRegression, new NetworkLayout([2, 3]),
        NeuralNetworkActivation.Tanh, new float[new NetworkLayout([2, 3]).ParameterCount], null,
        new TargetScaling([1000f, 1f, 0.001f], [400f, 0.5f, 0.0002f]), []);

    [TestMethod]
    public void EveryOutputsScalingRoundTrips()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            ModelFormat.Write(writer, ThreeOutputs());
        stream.Position = 0;

        var read = ModelFormat.Read(new BinaryReader(stream));

        CollectionAssert.AreEqual(new[] { 1000f, 1f, 0.001f }, read.LabelMeans.ToArray());
        CollectionAssert.AreEqual(new[] { 400f, 0.5f, 0.0002f }, read.LabelStandardDeviations.ToArray());
        Assert.AreEqual(stream.Length, stream.Position, "nothing left unread");
    }

    [TestMethod]
    public void AnOlderFormatCannotHoldSeveralScalings()
    {
        using var writer = new BinaryWriter(new MemoryStream());
        var error = Assert.ThrowsExactly<NotSupportedException>(() => ModelFormat.Write(writer, ThreeOutputs(), version: 3));
        Assert.Contains("format 3 stores one label scaling, not 3", error.Message);
    }

    [TestMethod]
    public void AScalingCountThatFitsNoOutputCountIsDamage()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            ModelFormat.Write(writer, ThreeOutputs());
        var bytes = stream.ToArray();
        int countOffset = bytes.Length - 4 - 2 * 8; // the count, then the two pairs after the first
        Assert.AreEqual(3, BitConverter.ToInt32(bytes, countOffset));
        BitConverter.TryWriteBytes(bytes.AsSpan(countOffset), 2);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => ModelFormat.Read(new BinaryReader(new MemoryStream(bytes))));
        Assert.Contains("2 label scalings for 3 outputs", error.Message);
    }
}
