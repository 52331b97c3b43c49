using System.Text.RegularExpressions;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MlNetMiniBatch.Tests.Integration;

namespace MlNetMiniBatch.Tests.Correctness;

/// <summary>Validation and held-out rows follow the training rows' rule for invalid rows: by default training stops
/// with a count for that data; with SkipInvalidRows they are skipped and the count is logged.</summary>
[TestClass]
public sealed class InvalidValidationRowsTests
{
    [TestMethod]
    public void SkippedValidationRowsAreCountedInTheLog()
    {
        var ml = new MLContext(1);
        var log = new LogCapture(ml);
        var options = Options(skip: true);

        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(View(ml, 90, bad: 0), View(ml, 100, bad: 7));

        Assert.AreEqual(7, Skipped(log, "validation"));
        Assert.AreEqual(0, Skipped(log, "training"));
        Assert.IsTrue(double.IsFinite(model.Model.History[0].ValidationLoss!.Value));
    }

    [TestMethod]
    public void InvalidValidationRowsStopTrainingWithTheirCountByDefault()
    {
        var ml = new MLContext(1);
        var error = Assert.ThrowsExactly<InvalidOperationException>(
            () => ml.MulticlassClassification.Trainers.NeuralNetwork(Options(skip: false)).Fit(View(ml, 90, bad: 0), View(ml, 100, bad: 7)));
        Assert.Contains("The validation data has 7 of 100 rows", error.Message);
    }

    [TestMethod]
    public void AValidationSetWithOnlyInvalidRowsIsAnError()
    {
        var ml = new MLContext(1);
        var error = Assert.ThrowsExactly<InvalidOperationException>(
            () => ml.MulticlassClassification.Trainers.NeuralNetwork(Options(skip: true)).Fit(View(ml, 90, bad: 0), View(ml, 12, bad: 12)));
        Assert.Contains("All 12 validation rows were skipped", error.Message);
    }

    [TestMethod]
    public void HeldOutRowsAreCountedOnTheirOwnSideOfTheSplit()
    {
        const int rows = 300, bad = 20;
        var ml = new MLContext(1);
        var log = new LogCapture(ml);
        var skip = Options(skip: true);
        skip.ValidationFraction = 0.5f;
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(skip).Fit(View(ml, rows, bad)).Model;
        long trainingSide = Skipped(log, "training"), heldOutSide = Skipped(log, "held-out validation");
        Assert.AreEqual(bad, trainingSide + heldOutSide, "every bad row is counted once, on its side");
        Assert.IsGreaterThan(0, trainingSide);
        Assert.IsGreaterThan(0, heldOutSide);

        var strict = Options(skip: false);
        strict.ValidationFraction = 0.5f;
        var error = Assert.ThrowsExactly<InvalidOperationException>(
            () => ml.MulticlassClassification.Trainers.NeuralNetwork(strict).Fit(View(ml, rows, bad)));
        long trainingRows = model.History[0].Rows + trainingSide;
        Assert.Contains($"The training data has {trainingSide} of {trainingRows} rows", error.Message);
    }

    private static NeuralNetworkOptions Options(bool skip)
    {
        var options = TestData.Options(epochs: 1, 4);
        options.SkipInvalidRows = skip;
        return options;
    }

    /// <summary>Blobs with NaN features in every rows/bad-th row (the first <paramref name="bad"/> such rows).</summary>
    private static IDataView View(MLContext ml, int rows, int bad)
    {
        var data = Synthetic.Blobs(rows, seed: rows);
        for (int i = 0, marked = 0; marked < bad; i += rows / bad, marked++)
            data[i].Features[1] = float.NaN;
        var raw = ml.Data.LoadFromEnumerable(data);
        return ml.Data.Cache(ml.Transforms.Conversion.MapValueToKey("Label").Fit(raw).Transform(raw));
    }

    private static long Skipped(LogCapture log, string dataName)
    {
        var counts = log.FromTrainer(ChannelMessageKind.Warning)
            .Select(m => Regex.Match(m.Message, $"Skipped (\\d+) {Regex.Escape(dataName)} rows"))
            .Where(m => m.Success).Select(m => long.Parse(m.Groups[1].Value)).ToArray();
        Assert.IsLessThanOrEqualTo(1, counts.Length, $"at most one report for the {dataName} data");
        return counts.Sum();
    }
}
