using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Tests.MultiLabel;

/// <summary>The multi-label loss: the mean over labels of the binary log-loss, its gradient, and ClassWeights as
/// per-label positive weights (PyTorch's pos_weight) on training batches only.</summary>
[TestClass]
public sealed class MultiLabelLossTests
{
    private const int Rows = 3, Labels = 3;
    private static readonly float[] Logits = [0.3f, -1.2f, 2.5f, -0.4f, 0.9f, -3f, 1.7f, 0.05f, -0.8f];
    private static readonly float[] Targets = [1, 0, 1, 0, 1, 1, 1, 0, 0];
    private static readonly float[] Weights = [1, 2, 0.5f];
    private const double TotalWeight = 3.5;

    [TestMethod]
    public void WithoutPositiveWeightsTheLossIsTheMeanOfTheBinaryLogLossesAndTheGradientItsShare()
    {
        var gradient = new float[Rows * Labels];
        double loss = MultiLabelTask.Instance.Loss(Logits, Targets, Weights, Rows, Labels, TotalWeight, gradient);

        double binarySum = 0;
        for (int j = 0; j < Labels; j++)
        {
            float[] logits = Column(Logits, j), targets = Column(Targets, j), binaryGradient = new float[Rows];
            binarySum += BinaryTask.Instance.Loss(logits, targets, Weights, Rows, 1, TotalWeight, binaryGradient);
            for (int r = 0; r < Rows; r++)
                Assert.AreEqual(binaryGradient[r] / Labels, gradient[r * Labels + j], 1e-7, $"row {r}, label {j}");
        }
        Assert.AreEqual(binarySum / Labels, loss, 1e-12);
    }

    [TestMethod]
    public void WithPositiveWeightsTheGradientIsTheDerivativeOfTheWeightedLoss()
    {
        var task = MultiLabelTask.WithPositiveWeights([2f, 0.5f, 3f]);
        var gradient = new float[Rows * Labels];
        task.Loss(Logits, Targets, Weights, Rows, Labels, TotalWeight, gradient);

        const double h = 1e-3;
        for (int i = 0; i < Logits.Length; i++)
        {
            double Shifted(double by)
            {
                float[] logits = [.. Logits];
                logits[i] += (float)by;
                // A gradient buffer, so that the positive weights apply; only the returned loss is used.
                return task.Loss(logits, Targets, Weights, Rows, Labels, TotalWeight, new float[Rows * Labels]);
            }
            double numeric = (Shifted(h) - Shifted(-h)) / (2 * h) / TotalWeight;
            Assert.AreEqual(numeric, gradient[i], 2e-4, $"element {i}");
        }
    }

    [TestMethod]
    public void APositiveWeightMultipliesOnlyThePositiveTermAndOnlyWhileTraining()
    {
        float[] logit = [0.7f], positive = [1], negative = [0], weight = [1];
        var task = MultiLabelTask.WithPositiveWeights([4f]);
        double Training(MultiLabelTask t, float[] target) => t.Loss(logit, target, weight, 1, 1, 1, new float[1]);

        Assert.AreEqual(4 * Training(MultiLabelTask.Instance, positive), Training(task, positive), 1e-12);
        Assert.AreEqual(Training(MultiLabelTask.Instance, negative), Training(task, negative), 1e-12);
        // Evaluation (no gradient) scores validation rows unweighted, as the other tasks' ClassWeights leave them.
        Assert.AreEqual(Training(MultiLabelTask.Instance, positive), task.Loss(logit, positive, weight, 1, 1, 1, Span<float>.Empty), 1e-12);
    }

    private static float[] Column(float[] values, int j) => Enumerable.Range(0, Rows).Select(r => values[r * Labels + j]).ToArray();
}
