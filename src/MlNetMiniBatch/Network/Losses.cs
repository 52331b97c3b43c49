using System.Runtime.CompilerServices;

namespace MlNetMiniBatch.Network;

/// <summary>
/// The output layer's loss for each task, computed from logits in a numerically stable form, together with its
/// gradient with respect to the logits. Each row's gradient is scaled by weight / totalWeight, so the batch gradient
/// is the weighted mean over its rows.
/// </summary>
internal static class Losses
{
    /// <summary>Returns Σ weight·loss over the rows; writes dLoss/dLogits into <paramref name="gradient"/> unless it is empty.</summary>
    /// <param name="logits">rows × outputs.</param>
    /// <param name="targets">Class index (multiclass), 0/1 (binary) or standardized target (regression), one per row.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Compute(NeuralNetworkTask task, ReadOnlySpan<float> logits, ReadOnlySpan<float> targets,
        ReadOnlySpan<float> weights, int rows, int outputs, double totalWeight, Span<float> gradient) => task switch
    {
        NeuralNetworkTask.MulticlassClassification => SoftmaxCrossEntropy(logits, targets, weights, rows, outputs, totalWeight, gradient),
        NeuralNetworkTask.BinaryClassification => SigmoidLogLoss(logits, targets, weights, rows, totalWeight, gradient),
        NeuralNetworkTask.Regression => SquaredError(logits, targets, weights, rows, totalWeight, gradient),
        _ => throw new ArgumentOutOfRangeException(nameof(task)),
    };

    /// <summary>loss = logsumexp(z) − z[y]; dz = softmax(z) − onehot(y).</summary>
    private static double SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, int classes, double totalWeight, Span<float> gradient)
    {
        bool wantGradient = !gradient.IsEmpty;
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            var z = logits.Slice(r * classes, classes);
            int label = (int)targets[r];
            float max = float.NegativeInfinity;
            foreach (float v in z) max = MathF.Max(max, v);
            double expSum = 0;
            for (int k = 0; k < classes; k++) expSum += Math.Exp(z[k] - max);
            double logSumExp = max + Math.Log(expSum);
            sum += weights[r] * (logSumExp - z[label]);
            if (wantGradient)
            {
                float scale = (float)(weights[r] / totalWeight);
                var g = gradient.Slice(r * classes, classes);
                for (int k = 0; k < classes; k++)
                    g[k] = scale * ((float)Math.Exp(z[k] - logSumExp) - (k == label ? 1f : 0f));
            }
        }
        return sum;
    }

    /// <summary>loss = softplus(z) − y·z = max(z,0) − y·z + log(1 + e^−|z|); dz = σ(z) − y.</summary>
    private static double SigmoidLogLoss(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, double totalWeight, Span<float> gradient)
    {
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            double z = logits[r], y = targets[r];
            sum += weights[r] * (Math.Max(z, 0) - y * z + Math.Log(1 + Math.Exp(-Math.Abs(z))));
            if (!gradient.IsEmpty)
                gradient[r] = (float)(weights[r] / totalWeight * (Sigmoid(z) - y));
        }
        return sum;
    }

    /// <summary>loss = (z − y)²; dz = 2(z − y).</summary>
    private static double SquaredError(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, ReadOnlySpan<float> weights,
        int rows, double totalWeight, Span<float> gradient)
    {
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            double error = logits[r] - (double)targets[r];
            sum += weights[r] * error * error;
            if (!gradient.IsEmpty)
                gradient[r] = (float)(weights[r] / totalWeight * 2 * error);
        }
        return sum;
    }

    /// <summary>Logistic function without overflow for large |z|.</summary>
    internal static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));
}
