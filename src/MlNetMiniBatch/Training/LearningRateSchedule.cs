using System.Globalization;

namespace MlNetMiniBatch;

/// <summary>
/// How the learning rate changes from epoch to epoch. The rate is fixed within an epoch and reported in
/// <see cref="EpochSummary.LearningRate"/>. Create one with the static methods; the base rate is
/// <see cref="NeuralNetworkOptions.LearningRate"/> (or the optimizer's default).
/// </summary>
public abstract class LearningRateSchedule
{
    private protected LearningRateSchedule() { }

    /// <summary>The base rate every epoch (the default).</summary>
    public static LearningRateSchedule Constant() => new ConstantSchedule();

    /// <summary>Multiplies the rate by <paramref name="factor"/> every <paramref name="stepEpochs"/> epochs:
    /// rate(e) = base · factor^floor((e − 1) / stepEpochs).</summary>
    public static LearningRateSchedule StepDecay(int stepEpochs, float factor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stepEpochs, 1);
        CheckFactor(factor);
        return new StepSchedule(stepEpochs, factor);
    }

    /// <summary>rate(e) = base · decayRate^(e − 1).</summary>
    public static LearningRateSchedule ExponentialDecay(float decayRate)
    {
        CheckFactor(decayRate);
        return new ExponentialSchedule(decayRate);
    }

    /// <summary>Linear warm-up from base/warmupEpochs to base over the first <paramref name="warmupEpochs"/> epochs, then
    /// cosine decay to <paramref name="minimumRate"/> at the last epoch: rate = min + (base − min)·(1 + cos(π·t))/2.</summary>
    public static LearningRateSchedule CosineDecay(float minimumRate = 0, int warmupEpochs = 0)
    {
        if (!(minimumRate >= 0 && float.IsFinite(minimumRate)))
            throw new ArgumentOutOfRangeException(nameof(minimumRate), minimumRate, "minimumRate must be zero or positive.");
        ArgumentOutOfRangeException.ThrowIfNegative(warmupEpochs);
        return new CosineSchedule(minimumRate, warmupEpochs);
    }

    /// <summary>Multiplies the rate by <paramref name="factor"/> when the monitored metric (EarlyStoppingMetric, on the
    /// validation rows when there are some) has not improved by more than EarlyStoppingMinDelta for
    /// <paramref name="patience"/> epochs, never going below <paramref name="minimumRate"/>.</summary>
    public static LearningRateSchedule ReduceOnPlateau(float factor = 0.1f, int patience = 5, float minimumRate = 0)
    {
        CheckFactor(factor);
        ArgumentOutOfRangeException.ThrowIfLessThan(patience, 1);
        if (!(minimumRate >= 0 && float.IsFinite(minimumRate)))
            throw new ArgumentOutOfRangeException(nameof(minimumRate), minimumRate, "minimumRate must be zero or positive.");
        return new PlateauSchedule(factor, patience, minimumRate);
    }

    /// <summary>The rate for 1-based <paramref name="epoch"/> of <paramref name="epochs"/>.
    /// <paramref name="current"/> is the previous epoch's rate and <paramref name="epochsWithoutImprovement"/> the
    /// plateau counter, used by reduce-on-plateau only.</summary>
    internal abstract float Rate(int epoch, int epochs, float baseRate, float current, ref int epochsWithoutImprovement);

    /// <summary>Whether the schedule watches EarlyStoppingMetric (and its MinDelta), as reduce-on-plateau does.</summary>
    internal virtual bool UsesMonitoredMetric => false;

    private static void CheckFactor(float factor)
    {
        if (!(factor > 0 && factor <= 1))
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "The factor must be in (0, 1].");
    }

    // Descriptions use the invariant culture: they are part of a checkpoint's key and of a saved model's TrainingOptions.
    private sealed class ConstantSchedule : LearningRateSchedule
    {
        internal override float Rate(int epoch, int epochs, float baseRate, float current, ref int wait) => baseRate;
        public override string ToString() => "constant";
    }

    private sealed class StepSchedule(int stepEpochs, float factor) : LearningRateSchedule
    {
        internal override float Rate(int epoch, int epochs, float baseRate, float current, ref int wait)
            => (float)(baseRate * Math.Pow(factor, (epoch - 1) / stepEpochs));
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"step decay ×{factor} every {stepEpochs} epochs");
    }

    private sealed class ExponentialSchedule(float decayRate) : LearningRateSchedule
    {
        internal override float Rate(int epoch, int epochs, float baseRate, float current, ref int wait)
            => (float)(baseRate * Math.Pow(decayRate, epoch - 1));
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"exponential decay ×{decayRate} per epoch");
    }

    private sealed class CosineSchedule(float minimumRate, int warmupEpochs) : LearningRateSchedule
    {
        internal override float Rate(int epoch, int epochs, float baseRate, float current, ref int wait)
        {
            if (epoch <= warmupEpochs)
                return baseRate * epoch / warmupEpochs;
            int decayEpochs = epochs - warmupEpochs - 1;
            double t = decayEpochs > 0 ? (double)(epoch - warmupEpochs - 1) / decayEpochs : 0;
            return (float)(minimumRate + (baseRate - minimumRate) * 0.5 * (1 + Math.Cos(Math.PI * t)));
        }
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"cosine decay to {minimumRate} after {warmupEpochs} warm-up epochs");
    }

    private sealed class PlateauSchedule(float factor, int patience, float minimumRate) : LearningRateSchedule
    {
        internal override bool UsesMonitoredMetric => true;

        internal override float Rate(int epoch, int epochs, float baseRate, float current, ref int wait)
        {
            if (epoch == 1)
                return baseRate;
            if (wait < patience)
                return current;
            wait = 0;
            return Math.Max(current * factor, minimumRate);
        }
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"reduce ×{factor} after {patience} epochs without improvement");
    }
}
