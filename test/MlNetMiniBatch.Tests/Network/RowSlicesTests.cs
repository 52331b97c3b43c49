using MlNetMiniBatch.Network;
using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Tests.Network;

/// <summary>
/// A pass that runs as row slices, one per thread, gives the bits of the one-thread pass: the logits, every layer's
/// buffers, the dropout masks and every gradient. Odd widths leave SIMD tails, and a batch that is not a whole number of
/// micro-kernel row blocks leaves the last slice a padded tile.
/// </summary>
[TestClass]
public sealed class RowSlicesTests
{
    [TestMethod]
    [DataRow(2, 2 * RowSlices.MinRows, 0f, NeuralNetworkActivation.ReLU)]
    [DataRow(3, 3 * RowSlices.MinRows + 13, 0.3f, NeuralNetworkActivation.Tanh)]
    [DataRow(2, 517, 0.5f, NeuralNetworkActivation.LeakyReLU)]
    public void ASlicedPassIsBitIdenticalToTheOneThreadPass(int threads, int rows, float dropout, NeuralNetworkActivation activation)
    {
        var layout = new NetworkLayout([37, 70, 50, 5]);
        var network = new MultilayerPerceptron(layout, activation);
        var random = new Random(3);
        var parameters = new float[layout.ParameterCount];
        WeightInitializer.Initialize(layout, activation, parameters, random);
        var input = Enumerable.Range(0, rows * layout.InputSize).Select(_ => Synthetic.Gaussian(random)).ToArray();
        var targets = Enumerable.Range(0, rows).Select(_ => (float)random.Next(layout.OutputSize)).ToArray();
        var weights = Enumerable.Repeat(1f, rows).ToArray();
        Assert.AreEqual(threads, RowSlices.Count(rows, threads), "the batch is large enough to be sliced on this many threads");
        Assert.AreEqual(1, RowSlices.Count(rows, 1));

        (int[] Bits, long Slices) Pass(int t)
        {
            long before = RowSlices.Dispatched;
            var buffers = new LayerBuffers(layout, network.Activation, rows);
            var logits = network.Forward(parameters, input, rows, buffers, t, dropout, dropoutSeed: 11).ToArray();
            var logitGradient = new float[rows * layout.OutputSize];
            TrainingTask.For(NeuralNetworkTask.MulticlassClassification).Loss(logits, targets, weights, rows, layout.OutputSize, rows, logitGradient);
            var gradient = new float[layout.ParameterCount];
            network.Backward(parameters, input, rows, buffers, logitGradient, gradient, t);
            var values = logits.Concat(gradient);
            for (int l = 0; l < layout.LayerCount; l++)
            {
                values = values.Concat(buffers.PreActivation(l, rows).ToArray()).Concat(buffers.LayerGradient(l, rows).ToArray());
                if (l < layout.LayerCount - 1)
                {
                    values = values.Concat(buffers.Activation(l, rows).ToArray());
                    if (dropout > 0)
                        values = values.Concat(buffers.DropoutMask(l, rows).ToArray()).Concat(buffers.Output(l, rows).ToArray());
                }
            }
            return (values.Select(BitConverter.SingleToInt32Bits).ToArray(), RowSlices.Dispatched - before);
        }

        var one = Pass(1);
        var sliced = Pass(threads);
        Assert.AreEqual(0, one.Slices, "one thread never slices");
        Assert.AreEqual(2, sliced.Slices, "the forward pass and the input gradients each ran as slices");
        CollectionAssert.AreEqual(one.Bits, sliced.Bits);
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void EachLayerIsReportedOnceFromTheOutputDownWithItsFinalGradient(int threads)
    {
        // Distributed training starts a layer's reduction when it is reported, so its gradient must be final by then,
        // in the one-thread order of layers as in the sliced one.
        var layout = new NetworkLayout([30, 40, 20, 4]);
        int rows = 2 * RowSlices.MinRows + 8;
        var network = new MultilayerPerceptron(layout, NeuralNetworkActivation.ReLU);
        var random = new Random(5);
        var parameters = new float[layout.ParameterCount];
        WeightInitializer.Initialize(layout, NeuralNetworkActivation.ReLU, parameters, random);
        var input = Enumerable.Range(0, rows * layout.InputSize).Select(_ => Synthetic.Gaussian(random)).ToArray();
        var logitGradient = Enumerable.Range(0, rows * layout.OutputSize).Select(_ => Synthetic.Gaussian(random)).ToArray();
        var buffers = new LayerBuffers(layout, network.Activation, rows);
        network.Forward(parameters, input, rows, buffers, threads);
        var gradient = new float[layout.ParameterCount];
        var hook = new RecordingHook(layout, gradient);
        long before = RowSlices.Dispatched;
        network.Backward(parameters, input, rows, buffers, logitGradient, gradient, threads, hook);
        Assert.AreEqual(threads > 1 ? 1 : 0, RowSlices.Dispatched - before, "the input gradients ran as slices on more than one thread");
        CollectionAssert.AreEqual(new[] { 2, 1, 0 }, hook.Layers);
        for (int l = 0; l < layout.LayerCount; l++)
            CollectionAssert.AreEqual(LayerParameters(layout, gradient, l), hook.Seen[l], $"layer {l} was final when reported");
    }

    private static float[] LayerParameters(NetworkLayout layout, float[] values, int layer) =>
        values.AsSpan(layout.WeightOffset(layer), layout.WeightCount(layer) + layout.FanOut(layer)).ToArray();

    private sealed class RecordingHook(NetworkLayout layout, float[] gradient) : ILayerGradientReady
    {
        public List<int> Layers { get; } = [];

        public Dictionary<int, float[]> Seen { get; } = [];

        public void LayerReady(int layer)
        {
            Layers.Add(layer);
            Seen[layer] = LayerParameters(layout, gradient, layer);
        }

        public void Advance()
        {
        }
    }

    [TestMethod]
    public void ABatchTooSmallForAFullSliceOnEveryThreadIsNotSliced()
    {
        Assert.AreEqual(1, RowSlices.Count(2 * RowSlices.MinRows - 1, 2));
        Assert.AreEqual(1, RowSlices.Count(32, 2));
        Assert.AreEqual(16, RowSlices.Count(16 * RowSlices.MinRows, 16));
    }

    [TestMethod]
    public void SlicesCoverEveryRowOnceInWholeRowBlocks()
    {
        foreach (int rows in new[] { 128, 205, 517, 1024 })
            foreach (int slices in new[] { 2, 3, 7 })
            {
                int next = 0;
                for (int s = 0; s < slices; s++)
                {
                    var (first, count) = RowSlices.Rows(rows, slices, s);
                    Assert.AreEqual(next, first, $"{rows} rows, {slices} slices: slice {s} starts where the last ended");
                    if (first + count < rows)
                        Assert.AreEqual(0, count % 8, $"{rows} rows, {slices} slices: slice {s} is whole 8-row blocks");
                    next = first + count;
                }
                Assert.AreEqual(rows, next);
            }
    }
}
