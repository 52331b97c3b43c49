using MlNetMiniBatch.Network;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Network;

/// <summary>
/// A hidden layer whose derivative reads off f(z) keeps f(z) alone, written over z: the forward and backward passes
/// give the same bits as with z kept apart, on the GEMM driver, the few-rows path and row slices (GELU, which keeps z,
/// would not), and the memory estimate counts what the buffers hold.
/// </summary>
[TestClass]
public sealed class LayerBuffersTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (var activation in Enum.GetValues<NeuralNetworkActivation>())
            foreach (var (rows, threads) in new[] { (2, 1), (37, 1), (2 * RowSlices.MinRows + 5, 2) })
                yield return new object[] { activation, rows, threads };
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void NotKeepingZChangesNoBit(NeuralNetworkActivation activation, int rows, int threads)
    {
        var layout = new NetworkLayout([19, 33, 17, 4]);
        var network = new MultilayerPerceptron(layout, activation);
        var random = new Random(11);
        var parameters = new float[layout.ParameterCount];
        WeightInitializer.Initialize(layout, activation, parameters, random);
        var input = Enumerable.Range(0, rows * layout.InputSize).Select(_ => Synthetic.Gaussian(random)).ToArray();
        // A unit with no weights and no bias has z = 0 exactly on every row: the edge where z > 0 and f(z) > 0 could part.
        var w1 = layout.Weights(parameters.AsSpan(), 0);
        for (int i = 0; i < layout.InputSize; i++)
            w1[i * layout.FanOut(0)] = 0f;
        layout.Bias(parameters.AsSpan(), 0)[0] = 0f;
        var targets = Enumerable.Range(0, rows).Select(_ => (float)random.Next(layout.OutputSize)).ToArray();
        var weights = Enumerable.Repeat(1f, rows).ToArray();

        int[] Pass(bool keepsZ)
        {
            var buffers = new LayerBuffers(layout, keepsZ, rows);
            var logits = network.Forward(parameters, input, rows, buffers, threads).ToArray();
            var logitGradient = new float[rows * layout.OutputSize];
            TrainingTask.For(NeuralNetworkTask.MulticlassClassification).Loss(logits, targets, weights, rows, layout.OutputSize, rows, logitGradient);
            var gradient = new float[layout.ParameterCount];
            network.Backward(parameters, input, rows, buffers, logitGradient, gradient, threads);
            return logits.Concat(gradient).Select(BitConverter.SingleToInt32Bits).ToArray();
        }

        long slicedBefore = RowSlices.Dispatched;
        int[] kept = Pass(keepsZ: true), overwritten = Pass(keepsZ: false);
        if (LayerBuffers.KeepsPreActivation(activation))
            CollectionAssert.AreNotEqual(kept, overwritten, $"{activation}'s derivative needs z: without it the gradient changes (so this check can fail)");
        else
            CollectionAssert.AreEqual(kept, overwritten, $"{activation}, {rows} rows, {threads} thread(s)");
        if (threads > 1)
            Assert.IsGreaterThanOrEqualTo(slicedBefore + 4, RowSlices.Dispatched, "both passes ran forward and backward as row slices");
    }

    [TestMethod]
    [DataRow(NeuralNetworkActivation.ReLU)]
    [DataRow(NeuralNetworkActivation.Tanh)]
    [DataRow(NeuralNetworkActivation.GELU)]
    public void TheMemoryEstimateCountsTheLayerBuffersHeld(NeuralNetworkActivation activation)
    {
        var layout = new NetworkLayout([30, 64, 48, 3]);
        const int rows = 100;
        var options = new NeuralNetworkOptions { HiddenLayers = [64, 48], Activation = activation, NumberOfThreads = 1 };
        var buffers = new LayerBuffers(layout, activation, rows);
        var apart = new NeuralNetworkOptions { HiddenLayers = [64, 48], Activation = NeuralNetworkActivation.GELU, NumberOfThreads = 1 };
        long kept = new LayerBuffers(layout, keepsPreActivation: true, rows).LayerFloats;
        long estimateDifference = TrainingMemory.Bytes(layout, rows, apart) - TrainingMemory.Bytes(layout, rows, options);
        Assert.AreEqual((kept - buffers.LayerFloats) * sizeof(float), estimateDifference,
            "the estimate drops exactly the z buffers that are not held");
        long hiddenWidths = 64 + 48;
        Assert.AreEqual(rows * ((3 * hiddenWidths) + (2 * 3)), kept, "z, f(z) and dZ of each hidden layer; z (its own f(z)) and dZ of the output layer");
        Assert.AreEqual(activation == NeuralNetworkActivation.GELU ? 0 : rows * hiddenWidths, kept - buffers.LayerFloats,
            "only GELU keeps z apart from f(z)");
    }
}
