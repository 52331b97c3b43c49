namespace MlNetMiniBatch.Optimizers;

/// <summary>
/// Reads the gradient inside the optimizer's step, block by block, once the L2 term has joined it and before any
/// clipping scale (<see cref="Optimizer.Step"/>): a measurement that needs the gradient then costs no pass of its own.
/// Blocks start on 16-float boundaries and may arrive on several threads at once, so an observer writes each block's
/// results to slots of its own.
/// </summary>
internal interface IGradientObserver
{
    /// <summary>Reads gradient values [start, start + block.Length).</summary>
    void Observe(ReadOnlySpan<float> block, int start);
}
