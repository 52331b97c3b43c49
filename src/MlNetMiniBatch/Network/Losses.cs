using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Network;

/// <summary>
/// The output layer's loss by task, for callers that hold a task tag rather than a task object (tests, benchmarks).
/// Each task computes its own loss and gradient: see <see cref="TrainingTask.Loss"/>.
/// </summary>
internal static class Losses
{
    /// <inheritdoc cref="TrainingTask.Loss"/>
    public static double Compute(TrainingTask task, ReadOnlySpan<float> logits, ReadOnlySpan<float> targets,
        ReadOnlySpan<float> weights, int rows, int outputs, double totalWeight, Span<float> gradient)
        => task.Loss(logits, targets, weights, rows, outputs, totalWeight, gradient);

    /// <inheritdoc cref="BinaryTask.Sigmoid"/>
    internal static double Sigmoid(double z) => BinaryTask.Sigmoid(z);
}
