using Microsoft.Data.Analysis;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Data;

/// <summary>Microsoft.Data.Analysis DataFrame as training and test input: a DataFrame is an IDataView.</summary>
[TestClass]
public sealed class DataFrameTests
{
    private static readonly string[] FeatureNames = Enumerable.Range(0, PostgresTable.FeatureCount).Select(i => $"x{i}").ToArray();

    /// <summary>One Int32 label column and one Single column per feature, as a DataFrame read from a CSV would hold them.</summary>
    private static DataFrame Frame(IEnumerable<QuadrantRow> rows)
    {
        var list = rows.ToList();
        var columns = new List<DataFrameColumn> { new Int32DataFrameColumn("Label", list.Select(r => r.Label)) };
        for (int j = 0; j < FeatureNames.Length; j++)
            columns.Add(new SingleDataFrameColumn(FeatureNames[j], list.Select(r => r.Features[j])));
        return new DataFrame(columns);
    }

    private static EstimatorChain<NeuralNetworkPredictionTransformer> Pipeline(MLContext ml, NeuralNetworkOptions options) =>
        ml.Transforms.Concatenate("Features", FeatureNames)
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.MulticlassClassification.Trainers.NeuralNetwork(options));

    [TestMethod]
    public void TrainsFromADataFrameAndEvaluatesOnOne()
    {
        var ml = new MLContext(seed: 1);
        var train = Frame(QuadrantRow.Generate(20_000, seed: 1));
        var test = Frame(QuadrantRow.Generate(5_000, seed: 99));

        var model = Pipeline(ml, PostgresTrainingTests.Options(epochs: 3)).Fit(train);

        var history = model.LastTransformer.Model.History;
        Assert.IsTrue(history.All(e => e.Rows == 20_000), string.Join(", ", history.Select(e => e.Rows)));
        double accuracy = ml.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy;
        Assert.IsGreaterThan(0.9, accuracy, $"test accuracy {accuracy}");
    }

    /// <summary>A null in a DataFrame's Single column reaches the trainer as NaN, so the SkipInvalidRows rules apply.</summary>
    [TestMethod]
    public void ANullCellCountsLikeNaN()
    {
        var ml = new MLContext(seed: 1);
        var frame = Frame(QuadrantRow.Generate(1_000, seed: 2));
        frame["x5"][17] = null;
        var options = PostgresTrainingTests.Options(epochs: 1);

        var error = Assert.Throws<InvalidOperationException>(() => Pipeline(ml, options).Fit(frame));
        StringAssert.Contains(error.Message, "has 1 of 1000 rows that cannot be trained on");
        StringAssert.Contains(error.Message, "the first is row 17");

        options.SkipInvalidRows = true;
        Assert.AreEqual(999, Pipeline(ml, options).Fit(frame).LastTransformer.Model.History[0].Rows);
    }
}
