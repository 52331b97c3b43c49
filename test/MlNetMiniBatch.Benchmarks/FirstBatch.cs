namespace MlNetMiniBatch.Benchmarks;

/// <summary>Calls an action at the first batch report of a training run: the moment the streaming shuffle's copy
/// has ended and the first epoch has begun.</summary>
internal sealed class FirstBatch(Action action) : IProgress<TrainingProgress>
{
    private bool _seen;

    public void Report(TrainingProgress value)
    {
        if (_seen) return;
        _seen = true;
        action();
    }
}
