using Microsoft.ML;
using static MlNetMiniBatch.Tests.Persistence.PersistenceFixture;

namespace MlNetMiniBatch.Tests.Persistence;

/// <summary>The non-generic mlContext.X.PermutationFeatureImportance(ITransformer, ...) finds our transformer in a
/// chain (it looks for ML.NET's internal ISingleFeaturePredictionTransformer) and names results by the features' SlotNames.
/// Binary classification's non-generic overload is PermutationFeatureImportanceNonCalibrated (it evaluates Score and
/// PredictedLabel only); its generic overload does the same.</summary>
[TestClass]
public sealed class PermutationFeatureImportanceTests
{
    [TestMethod]
    public void MulticlassResultsAreKeyedByFeatureNameAndMatchTheGenericOverload()
    {
        var trained = Get(NeuralNetworkTask.MulticlassClassification);
        var byName = new MLContext(9).MulticlassClassification.PermutationFeatureImportance(trained.Model, trained.Featurized, permutationCount: 2);
        var byIndex = new MLContext(9).MulticlassClassification.PermutationFeatureImportance(trained.Network, trained.Featurized, permutationCount: 2);
        CollectionAssert.AreEquivalent(FeatureNames, byName.Keys.ToArray());
        for (int i = 0; i < FeatureNames.Length; i++)
            Assert.AreEqual(byIndex[i].MicroAccuracy.Mean, byName[FeatureNames[i]].MicroAccuracy.Mean, 1e-12, FeatureNames[i]);
        Assert.IsTrue(byName["X0"].MicroAccuracy.Mean < byName["X3"].MicroAccuracy.Mean,
            "shuffling an informative feature costs more accuracy than shuffling noise");
    }

    [TestMethod]
    public void BinaryResultsAreKeyedByFeatureNameAndMatchTheGenericOverload()
    {
        var trained = Get(NeuralNetworkTask.BinaryClassification);
        var byName = new MLContext(9).BinaryClassification.PermutationFeatureImportanceNonCalibrated(trained.Model, trained.Featurized, permutationCount: 2);
        var byIndex = new MLContext(9).BinaryClassification.PermutationFeatureImportance(trained.Network, trained.Featurized, permutationCount: 2);
        CollectionAssert.AreEquivalent(FeatureNames, byName.Keys.ToArray());
        for (int i = 0; i < FeatureNames.Length; i++)
            Assert.AreEqual(byIndex[i].AreaUnderRocCurve.Mean, byName[FeatureNames[i]].AreaUnderRocCurve.Mean, 1e-12, FeatureNames[i]);
    }

    [TestMethod]
    public void RegressionResultsAreKeyedByFeatureNameAndMatchTheGenericOverload()
    {
        var trained = Get(NeuralNetworkTask.Regression);
        var byName = new MLContext(9).Regression.PermutationFeatureImportance(trained.Model, trained.Featurized, permutationCount: 2);
        var byIndex = new MLContext(9).Regression.PermutationFeatureImportance(trained.Network, trained.Featurized, permutationCount: 2);
        CollectionAssert.AreEquivalent(FeatureNames, byName.Keys.ToArray());
        for (int i = 0; i < FeatureNames.Length; i++)
            Assert.AreEqual(byIndex[i].RSquared.Mean, byName[FeatureNames[i]].RSquared.Mean, 1e-12, FeatureNames[i]);
        Assert.IsTrue(byName["X0"].RSquared.Mean < byName["X3"].RSquared.Mean, "x0 drives the target, x3 is noise");
    }

    [TestMethod]
    public void ALoadedModelWorksWithTheNonGenericOverload()
    {
        var trained = Get(NeuralNetworkTask.Regression);
        using var stream = new MemoryStream();
        trained.Context.Model.Save(trained.Model, trained.Data.Schema, stream);
        stream.Position = 0;
        var ml = new MLContext(9);
        var loaded = ml.Model.Load(stream, out _);
        var result = ml.Regression.PermutationFeatureImportance(loaded, trained.Featurized, permutationCount: 1);
        CollectionAssert.AreEquivalent(FeatureNames, result.Keys.ToArray());
    }
}
