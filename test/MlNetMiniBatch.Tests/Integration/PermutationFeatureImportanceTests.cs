using Microsoft.ML;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>
/// The generic PermutationFeatureImportance overload accepts the trainer's transformer (an
/// ISingleFeaturePredictionTransformer) and ranks the informative features above the pure-noise one.
/// Features are [X, Y, Noise]; the label never depends on Noise.
/// </summary>
[TestClass]
public sealed class PermutationFeatureImportanceTests
{
    private const int X = 0, Y = 1, Noise = 2;

    [TestMethod]
    public void MulticlassImportanceRanksInformativeFeaturesAboveNoise()
    {
        var (ml, model, data) = Fit(NeuralNetworkTask.MulticlassClassification);

        var importance = ml.MulticlassClassification.PermutationFeatureImportance(model, data, permutationCount: 1);

        Assert.HasCount(3, importance);
        // Permuting a feature lowers accuracy by as much as the model relied on it: Mean is the (negative) change.
        var drop = importance.Select(s => -s.MicroAccuracy.Mean).ToArray();
        Assert.IsGreaterThan(drop[Noise] + 0.2, drop[X], $"drops: {string.Join(", ", drop)}");
        Assert.IsGreaterThan(drop[Noise] + 0.2, drop[Y], $"drops: {string.Join(", ", drop)}");
        Assert.IsLessThan(0.05, Math.Abs(drop[Noise]), "permuting noise barely changes accuracy");
    }

    [TestMethod]
    public void BinaryImportanceRanksInformativeFeaturesAboveNoise()
    {
        var (ml, model, data) = Fit(NeuralNetworkTask.BinaryClassification);

        var importance = ml.BinaryClassification.PermutationFeatureImportance(model, data, permutationCount: 1);

        Assert.HasCount(3, importance);
        var drop = importance.Select(s => -s.AreaUnderRocCurve.Mean).ToArray();
        Assert.IsGreaterThan(drop[Noise] + 0.1, drop[X], $"AUC drops: {string.Join(", ", drop)}");
        Assert.IsGreaterThan(drop[Noise], drop[Y], $"AUC drops: {string.Join(", ", drop)}");
        Assert.IsGreaterThan(drop[Y], drop[X], "X weighs twice as much as Y in the label");
        Assert.IsLessThan(0.05, Math.Abs(drop[Noise]));
    }

    [TestMethod]
    public void RegressionImportanceRanksInformativeFeaturesAboveNoise()
    {
        var (ml, model, data) = Fit(NeuralNetworkTask.Regression);

        var importance = ml.Regression.PermutationFeatureImportance(model, data, permutationCount: 1);

        Assert.HasCount(3, importance);
        var drop = importance.Select(s => -s.RSquared.Mean).ToArray();
        Assert.IsGreaterThan(drop[Noise] + 0.2, drop[X], $"R² drops: {string.Join(", ", drop)}");
        Assert.IsGreaterThan(drop[Noise] + 0.2, drop[Y], $"R² drops: {string.Join(", ", drop)}");
        Assert.IsLessThan(0.05, Math.Abs(drop[Noise]));
    }

    [TestMethod]
    public void ImportanceWithSeveralPermutationsReportsSpread()
    {
        var (ml, model, data) = Fit(NeuralNetworkTask.Regression);

        var importance = ml.Regression.PermutationFeatureImportance(model, data, permutationCount: 3);

        Assert.HasCount(3, importance);
        Assert.IsTrue(importance.All(s => s.RSquared.Count == 3), "three permutations per feature");
        Assert.IsTrue(importance.All(s => double.IsFinite(s.RSquared.StandardDeviation)), "a finite spread per feature");
    }

    /// <summary>Fits the featurizer and the network separately so PFI gets the network's own transformer and
    /// data that already has the Features column.</summary>
    private static (MLContext Ml, NeuralNetworkPredictionTransformer Model, IDataView Data) Fit(NeuralNetworkTask task)
    {
        var ml = new MLContext(seed: 1);
        var raw = ml.Data.Cache(TestData.Load(ml, task, 1000, seed: 5));
        var featurized = TestData.Featurize(ml, task).Fit(raw).Transform(raw);
        var model = TestData.Trainer(ml, task, TestData.GoodOptions(task)).Fit(featurized);
        return (ml, model, featurized);
    }
}
