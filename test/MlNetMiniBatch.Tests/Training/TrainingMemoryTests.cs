using MlNetMiniBatch.Kernels;
using MlNetMiniBatch.Network;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Training;

/// <summary>
/// The working-memory estimate counts each taking-part thread's GEMM scratch, and that share bounds what a thread's
/// buffers really hold after a training step's products: on a fresh thread (the buffers live as long as their thread),
/// for wide and narrow output layers and batches on both sides of the GEMM's k block.
/// </summary>
[TestClass]
public sealed class TrainingMemoryTests
{
    [TestMethod]
    [DataRow(new[] { 784, 256, 128, 10 }, 512)]
    [DataRow(new[] { 784, 256, 128, 10 }, 33)]
    [DataRow(new[] { 50, 3 }, 600)]
    [DataRow(new[] { 300, 700, 1 }, 1)]
    [DataRow(new[] { 20, 1100, 40 }, 130)]
    public void OneThreadsShareBoundsTheScratchItsProductsHold(int[] sizes, int rows)
    {
        var layout = new NetworkLayout(sizes);
        long held = 0;
        var thread = new Thread(() =>
        {
            var network = new MultilayerPerceptron(layout, NeuralNetworkActivation.ReLU);
            var random = new Random(1);
            var parameters = new float[layout.ParameterCount];
            WeightInitializer.Initialize(layout, NeuralNetworkActivation.ReLU, parameters, random);
            var input = Enumerable.Range(0, rows * layout.InputSize).Select(_ => (float)random.NextDouble()).ToArray();
            var buffers = new LayerBuffers(layout, network.Activation, rows);
            network.Forward(parameters, input, rows, buffers, threads: 1);
            var logitGradient = Enumerable.Range(0, rows * layout.OutputSize).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            network.Backward(parameters, input, rows, buffers, logitGradient, new float[layout.ParameterCount], threads: 1);
            held = PackingBuffers.HeldFloats * sizeof(float);
        });
        thread.Start();
        thread.Join();

        long share = TrainingMemory.GemmScratchBytesPerThread(layout);
        Assert.IsGreaterThan(0L, held, "the products packed something");
        Assert.IsLessThanOrEqualTo(share, held, $"{string.Join('-', sizes)} at {rows} rows: {held} bytes held, {share} estimated");
    }

    [TestMethod]
    public void EveryTakingPartThreadAddsItsShare()
    {
        var layout = new NetworkLayout([784, 256, 128, 10]);
        var one = new NeuralNetworkOptions { HiddenLayers = [256, 128], NumberOfThreads = 1 };
        var many = new NeuralNetworkOptions { HiddenLayers = [256, 128], NumberOfThreads = 64 };
        long share = TrainingMemory.GemmScratchBytesPerThread(layout);
        // With more than one thread asked for, a second batch is read ahead: 784 features, a target and a weight a row.
        long readAhead = 10L * (784 + 2) * sizeof(float);
        long threads = Math.Min(64, Environment.ProcessorCount);
        Assert.AreEqual(((threads - 1) * share) + readAhead,
            TrainingMemory.Bytes(layout, 10, many) - TrainingMemory.Bytes(layout, 10, one),
            "no more threads than cores take part");
    }
}
