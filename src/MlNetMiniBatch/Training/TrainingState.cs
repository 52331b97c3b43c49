using MlNetMiniBatch.Network;
using MlNetMiniBatch.Optimizers;
using MlNetMiniBatch.Scoring;
using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Everything one training run carries from epoch to epoch, in one place: what the loop updates and what a checkpoint
/// saves are the same object, so nothing can be updated and forgotten by the checkpoint. Shuffling and dropout are pure
/// functions of (seed, epoch, batch), so no generator state is needed to continue exactly where a run stopped.
/// </summary>
internal sealed class TrainingState
{
    /// <summary>The settings that shape the updates; a checkpoint resumes only under the same ones.</summary>
    public required TrainingStateKey Key { get; init; }

    public required int Seed { get; init; }

    public required NeuralNetworkTask Task { get; init; }

    public required NetworkLayout Layout { get; init; }

    public required NeuralNetworkActivation Activation { get; init; }

    /// <summary>The weights, updated in place by every batch.</summary>
    public required float[] Parameters { get; init; }

    public required LabelKeyValues? ClassValues { get; init; }

    /// <summary>How the reader standardises the targets: one pair, or one per output. Set once more by a distributed
    /// run, to rank 0's.</summary>
    public required TargetScaling TargetScaling { get; set; }

    public required TrainingOptionsSummary TrainingOptions { get; init; }

    /// <summary>One summary per finished epoch.</summary>
    public required List<EpochSummary> History { get; init; }

    public TrainingStopReason StopReason { get; set; } = TrainingStopReason.Completed;

    /// <summary>Holds the step count and the moments, updated in place by every step.</summary>
    public required Optimizer Optimizer { get; init; }

    /// <summary>The rate of the last epoch run (the schedule derives the next one from it).</summary>
    public required float LearningRate { get; set; }

    /// <summary>Epochs without improvement as reduce-on-plateau counts them; a field, as the schedule updates it by reference.</summary>
    public int PlateauWait;

    public double? BestValue { get; set; }

    public int? BestEpoch { get; set; }

    public int EpochsWithoutImprovement { get; set; }

    /// <summary>The best epoch's weights, kept when RestoreBestWeights will need them.</summary>
    public float[]? BestParameters { get; set; }

    public int EpochsDone => History.Count == 0 ? 0 : History[^1].Epoch;

    /// <summary>The model of this run with the given weights (the current ones, or the best epoch's).</summary>
    public NeuralNetworkModelParameters ToModel(float[] parameters) => new(Task, Layout, Activation, parameters, ClassValues,
        TargetScaling, History.ToArray(), StopReason, BestEpoch, TrainingOptions);
}
