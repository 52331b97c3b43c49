using System.Text;
using Microsoft.ML;
using MlNetMiniBatch.Tests.Integration;
using MlNetMiniBatch.Persistence;

namespace MlNetMiniBatch.Tests.Correctness;

/// <summary>
/// A file from a newer MlNetMiniBatch, with an enum value or a format number this version does not know, says so and
/// names the fix, instead of "Invalid NeuralNetworkActivation value 5". The files are written with the real writer,
/// patched, and given a valid checksum, so only the unknown value can make them fail.
/// </summary>
[TestClass]
public sealed class NewerFormatTests
{
    private const int ActivationOffset = 12, VersionOffset = 4; // from the network's magic number

    [TestMethod]
    public void AnActivationThisVersionDoesNotKnowAsksForANewerPackage()
    {
        var error = ReadPatched(ActivationOffset, 5);

        Assert.Contains($"saved by a newer version of MlNetMiniBatch (format {ModelFormat.Version}", error.Message);
        Assert.Contains("NeuralNetworkActivation value 5", error.Message);
        Assert.Contains("Update the MlNetMiniBatch package", error.Message);
        Assert.DoesNotContain("Invalid NeuralNetworkActivation", error.Message);
    }

    [TestMethod]
    public void AFormatNumberThisVersionDoesNotKnowAsksForANewerPackage()
    {
        var error = ReadPatched(VersionOffset, ModelFormat.Version + 1);

        Assert.Contains($"saved by a newer version of MlNetMiniBatch (format {ModelFormat.Version + 1})", error.Message);
        Assert.Contains("Update the MlNetMiniBatch package", error.Message);
    }

    [TestMethod]
    public void AnUnknownStopReasonInAModelReadDirectlyAlsoAsksForANewerPackage()
    {
        // Checkpoints and other callers read ModelFormat directly, without the transformer's wrapper.
        var model = Trained();
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            ModelFormat.Write(writer, model);
        var bytes = stream.ToArray();
        // Task, activation, layer count and sizes, parameter count and parameters, class names, label scaling, then the stop reason.
        int offset = 4 + 4 + 4 + 4 + 4 + 4 * model.LayerSizes.Count + 4 + 4 * model.Parameters.Length;
        var classNames = new MemoryStream();
        using (var writer = new BinaryWriter(classNames, Encoding.UTF8, leaveOpen: true))
            model.ClassValues!.Write(writer);
        offset += 1 + (int)classNames.Length + 8;
        Assert.AreEqual((int)model.StopReason, BitConverter.ToInt32(bytes, offset), "the offset points at the stop reason");
        BitConverter.TryWriteBytes(bytes.AsSpan(offset), 9);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => ModelFormat.Read(new BinaryReader(new MemoryStream(bytes))));
        Assert.Contains($"saved by a newer version of MlNetMiniBatch (format {ModelFormat.Version}, with a TrainingStopReason value 9", error.Message);
    }

    private static InvalidDataException ReadPatched(int offsetFromMagic, int value)
    {
        var ml = new MLContext(1);
        var transformer = new NeuralNetworkPredictionTransformer(ml, Trained(), "Features",
            new Microsoft.ML.Data.VectorDataViewType(Microsoft.ML.Data.NumberDataViewType.Single, 4));
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            TransformerFormat.Write(writer, transformer);
        var bytes = stream.ToArray();
        int length = BitConverter.ToInt32(bytes, 0);
        var block = bytes.AsSpan(4, length);
        int magic = block.IndexOf("LMNB"u8);
        Assert.IsGreaterThan(0, magic);
        BitConverter.TryWriteBytes(block[(magic + offsetFromMagic)..], value);
        BitConverter.TryWriteBytes(bytes.AsSpan(4 + length), Crc32.Compute(block));

        return Assert.ThrowsExactly<InvalidDataException>(
            () => TransformerFormat.Read(ml, new BinaryReader(new MemoryStream(bytes)), bytes.Length));
    }

    private static NeuralNetworkModelParameters Trained()
    {
        var ml = new MLContext(1);
        return ml.MulticlassClassification.Trainers.NeuralNetwork(TestData.Options(epochs: 1, 4)).Fit(Synthetic.BlobsView(ml, 60)).Model;
    }
}
