using Microsoft.ML;
using MlNetMiniBatch.Tests.Integration;

namespace MlNetMiniBatch.Tests.Correctness;

/// <summary>The CancellationToken also stops the passes made before or outside the batches: the validation split, the
/// regression label statistics, and the scan that counts invalid rows. Each test cancels the token inside that pass
/// and checks that the pass stopped there (it used to finish the whole pass first).</summary>
[TestClass]
public sealed class PreTrainingCancellationTests
{
    private const int Rows = 600, CancelAfter = 50;

    [TestMethod]
    public void TheValidationSplitStopsWhenCancelled()
    {
        var ml = new MLContext(1);
        using var cancellation = new CancellationTokenSource();
        var data = Hooked(Synthetic.BlobsView(ml, Rows), cancellation, CancelAfter);
        var options = Options(cancellation);
        options.ValidationFraction = 0.2f;

        Assert.ThrowsExactly<OperationCanceledException>(() => ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data));

        Assert.IsLessThanOrEqualTo(CancelAfter + 1, data.Moves, "the split's scan stops at the next row, not after two passes");
    }

    [TestMethod]
    public void TheLabelStatisticsStopWhenCancelled()
    {
        var ml = new MLContext(1);
        using var cancellation = new CancellationTokenSource();
        var data = Hooked(ml.Data.Cache(ml.Data.LoadFromEnumerable(Synthetic.Regression(Rows))), cancellation, CancelAfter);

        Assert.ThrowsExactly<OperationCanceledException>(
            () => ml.Regression.Trainers.NeuralNetwork(Options(cancellation)).Fit(data));

        Assert.IsLessThanOrEqualTo(CancelAfter + 1, data.Moves, "the label scan stops at the next row");
    }

    [TestMethod]
    public void TheInvalidRowScanStopsWhenCancelled()
    {
        var ml = new MLContext(1);
        var rows = Synthetic.Blobs(Rows);
        rows[300].Features[0] = float.NaN; // training reads 301 rows, then the scan that counts bad rows starts
        var raw = ml.Data.LoadFromEnumerable(rows);
        using var cancellation = new CancellationTokenSource();
        var data = Hooked(ml.Data.Cache(ml.Transforms.Conversion.MapValueToKey("Label").Fit(raw).Transform(raw)), cancellation, 350);
        var options = Options(cancellation);
        options.Shuffle = false;

        Assert.ThrowsExactly<OperationCanceledException>(() => ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data));

        Assert.AreEqual(350, data.Moves, "the scan stopped at the row that cancelled, not at the end of the data");
    }

    /// <summary>The data, cancelling the token when its cursors have moved <paramref name="rows"/> rows.</summary>
    private static RowHookDataView Hooked(IDataView data, CancellationTokenSource cancellation, int rows)
    {
        var hooked = new RowHookDataView(data);
        hooked.Arm(rows, cancellation.Cancel);
        return hooked;
    }

    private static NeuralNetworkOptions Options(CancellationTokenSource cancellation)
    {
        var options = TestData.Options(epochs: 1, 4);
        options.NumberOfThreads = 1; // no read-ahead: rows are moved only when a batch asks for them
        options.CancellationToken = cancellation.Token;
        return options;
    }
}
