using MlNetMiniBatch.Network;
using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Tests.Network;

/// <summary>
/// Back-propagated gradients against central finite differences of the loss, for every activation and every task's
/// loss, on odd layer sizes that leave SIMD tails, with and without L2.
/// </summary>
[TestClass]
public sealed class GradientCheckTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (var activation in Enum.GetValues<NeuralNetworkActivation>())
            foreach (var task in Enum.GetValues<NeuralNetworkTask>())
                yield return new object[] { activation, task };
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void BackwardMatchesFiniteDifferences(NeuralNetworkActivation activation, NeuralNetworkTask task)
    {
        int outputs = task is NeuralNetworkTask.MulticlassClassification or NeuralNetworkTask.MultiOutputRegression or NeuralNetworkTask.MultiLabelClassification ? 3 : 1;
        CheckGradient(new[] { 17, 33, 3, outputs }, activation, task, rows: 5, l2: 0);
    }

    [TestMethod]
    [DataRow(1, 1)]
    [DataRow(3, 17)]
    [DataRow(33, 1)]
    public void BackwardMatchesFiniteDifferencesOnOddShapesWithL2(int inputs, int rows)
    {
        CheckGradient(new[] { inputs, 5, 7, 4 }, NeuralNetworkActivation.Tanh, NeuralNetworkTask.MulticlassClassification, rows, l2: 0.3f);
    }

    [TestMethod]
    [DataRow(NeuralNetworkActivation.Tanh)]
    [DataRow(NeuralNetworkActivation.ReLU)]
    public void BackwardThroughDropoutMatchesFiniteDifferences(NeuralNetworkActivation activation)
    {
        // The mask is a pure function of its seed, so every forward pass of the check drops the same units.
        CheckGradient(new[] { 6, 9, 5, 3 }, activation, NeuralNetworkTask.MulticlassClassification, rows: 4, l2: 0, dropout: 0.4f);
    }

    [TestMethod]
    public void LinearModelWithoutHiddenLayers()
    {
        CheckGradient(new[] { 9, 1 }, NeuralNetworkActivation.ReLU, NeuralNetworkTask.BinaryClassification, rows: 4, l2: 0);
    }

    private static void CheckGradient(int[] sizes, NeuralNetworkActivation activation, NeuralNetworkTask task, int rows, float l2,
        float dropout = 0)
    {
        var layout = new NetworkLayout(sizes);
        var network = new MultilayerPerceptron(layout, activation);
        var random = new Random(7);
        var parameters = new float[layout.ParameterCount];
        WeightInitializer.Initialize(layout, activation, parameters, random);
        for (int l = 0; l < layout.LayerCount; l++) // non-zero biases exercise the bias gradient
            foreach (ref float b in layout.Bias(parameters.AsSpan(), l)) b = 0.1f * Synthetic.Gaussian(random);
        var input = Enumerable.Range(0, rows * sizes[0]).Select(_ => Synthetic.Gaussian(random)).ToArray();
        // Multi-output regression and multi-label have one target per output; the other tasks one target per row.
        int targetsPerRow = task is NeuralNetworkTask.MultiOutputRegression or NeuralNetworkTask.MultiLabelClassification ? sizes[^1] : 1;
        var targets = Enumerable.Range(0, rows * targetsPerRow).Select(_ => task switch
        {
            NeuralNetworkTask.MulticlassClassification => random.Next(sizes[^1]),
            NeuralNetworkTask.BinaryClassification or NeuralNetworkTask.MultiLabelClassification => random.Next(2),
            _ => Synthetic.Gaussian(random),
        }).Select(t => (float)t).ToArray();
        var weights = Enumerable.Range(0, rows).Select(_ => 0.5f + (float)random.NextDouble()).ToArray();
        double totalWeight = weights.Sum(w => (double)w);
        var buffers = new LayerBuffers(layout, activation, rows);

        bool[] KinkSides() // which side of 0 every hidden pre-activation is on: where it flips, f is not differentiable
        {
            var sides = new List<bool>();
            for (int l = 0; l < layout.LayerCount - 1; l++)
                foreach (float z in buffers.PreActivation(l, rows)) sides.Add(z > 0);
            return sides.ToArray();
        }

        double Loss(float[] p)
        {
            var logits = network.Forward(p, input, rows, buffers, threads: 1, dropout, dropoutSeed: 42);
            double penalty = 0;
            for (int l = 0; l < layout.LayerCount; l++)
                foreach (float w in layout.Weights(p.AsSpan(), l)) penalty += 0.5 * l2 * w * w;
            return TrainingTask.For(task).Loss(logits, targets, weights, rows, sizes[^1], totalWeight, Span<float>.Empty) / totalWeight + penalty;
        }

        var logits = network.Forward(parameters, input, rows, buffers, threads: 1, dropout, dropoutSeed: 42);
        var sides = KinkSides();
        var logitGradient = new float[rows * sizes[^1]];
        TrainingTask.For(task).Loss(logits, targets, weights, rows, sizes[^1], totalWeight, logitGradient);
        var analytic = new float[layout.ParameterCount];
        network.Backward(parameters, input, rows, buffers, logitGradient, analytic, threads: 1);
        if (l2 > 0)
            L2Term.Add(layout, parameters, analytic, l2, 0, layout.ParameterCount); // as the trainer adds it, after the backward pass

        bool hasKink = activation is NeuralNetworkActivation.ReLU or NeuralNetworkActivation.LeakyReLU;
        const float h = 1e-2f;
        double worst = 0;
        int straddled = 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            float saved = parameters[i];
            parameters[i] = saved + h;
            double plus = Loss(parameters);
            bool kinkCrossed = hasKink && !KinkSides().SequenceEqual(sides);
            parameters[i] = saved - h;
            double minus = Loss(parameters);
            kinkCrossed |= hasKink && !KinkSides().SequenceEqual(sides);
            parameters[i] = saved;
            if (kinkCrossed)
            {
                straddled++;
                continue;
            }
            double numeric = (plus - minus) / (2 * h);
            double error = Math.Abs(numeric - analytic[i]) / Math.Max(1e-2, Math.Abs(numeric) + Math.Abs(analytic[i]));
            worst = Math.Max(worst, error);
        }
        // Parameters whose ±h step moves a ReLU across its kink have no two-sided derivative and are left out; they must be rare.
        Assert.IsLessThan(parameters.Length / 10, straddled, $"{straddled} of {parameters.Length} parameters straddle a kink");
        Assert.IsLessThan(0.01, worst, $"worst relative gradient error {worst:G3} for {activation}/{task}");
    }
}
