using Microsoft.ML;
using Microsoft.ML.Data;
using static MlNetMiniBatch.Tests.Tasks.MultiOutputData;

namespace MlNetMiniBatch.Tests.Tasks;

/// <summary>
/// A vector label on the regression trainer: k outputs of one network, each standardised on its own, on Linnerud, on a
/// synthetic set of very different scales and on the bottom half of Fashion-MNIST images predicted from their top half.
/// </summary>
[TestClass]
public sealed class MultiOutputRegressionTests
{
    [TestMethod]
    public void LinnerudTrainsThreeOutputsWhoseScoreCarriesTheTargetsNames()
    {
        var ml = new MLContext(1);
        var rows = Linnerud();
        var train = ml.Data.LoadFromEnumerable(rows.Where((_, i) => !IsLinnerudTestRow(i)));
        var test = ml.Data.LoadFromEnumerable(rows.Where((_, i) => IsLinnerudTestRow(i)));
        var options = Options(epochs: 300);
        options.BatchSize = 5;
        var model = LinnerudPipeline(ml).Append(ml.Regression.Trainers.NeuralNetwork(options)).Fit(train);

        var scored = model.Transform(test);
        var score = scored.Schema["Score"];
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 3), score.Type);
        VBuffer<ReadOnlyMemory<char>> names = default;
        score.GetSlotNames(ref names);
        CollectionAssert.AreEqual(LinnerudTargets, names.DenseValues().Select(n => n.ToString()).ToArray());
        var network = model.LastTransformer.Model;
        Assert.AreEqual(NeuralNetworkTask.MultiOutputRegression, network.Task);
        CollectionAssert.AreEqual(new[] { 3, 32, 3 }, network.LayerSizes.ToArray());
        // Each output is standardised with its own training mean (Weight ~178, Waist ~35, Pulse ~56).
        var trainRows = rows.Where((_, i) => !IsLinnerudTestRow(i)).ToArray();
        Assert.AreEqual(trainRows.Average(r => r.Weight), network.LabelMeans[0], 1e-3);
        Assert.AreEqual(trainRows.Average(r => r.Waist), network.LabelMeans[1], 1e-3);
        Assert.AreEqual(trainRows.Average(r => r.Pulse), network.LabelMeans[2], 1e-3);

        var testMetrics = ml.Regression.EvaluateMultiOutput(scored);
        var trainMetrics = ml.Regression.EvaluateMultiOutput(model.Transform(train));
        Console.WriteLine($"Linnerud test: MAE {testMetrics.MeanAbsoluteError:F3} RMSE {testMetrics.RootMeanSquaredError:F3} R² {testMetrics.RSquared:F3}; " +
            string.Join("; ", testMetrics.PerOutput));
        Console.WriteLine($"Linnerud train: R² {trainMetrics.RSquared:F3}");
        CollectionAssert.AreEqual(LinnerudTargets, testMetrics.PerOutput.Select(o => o.Name).ToArray());
        // 15 rows and 3 inputs: the network fits them (a constant prediction has R² 0 on its training rows).
        Assert.IsGreaterThan(0.5, trainMetrics.RSquared);
        // The trainer's loss is the metrics' mean squared error, in label units.
        Assert.AreEqual(trainMetrics.MeanSquaredError, network.History[^1].TrainLoss, 0.25 * trainMetrics.MeanSquaredError,
            "the last epoch's training loss (measured during the epoch) is close to the final model's training MSE");
    }

    [TestMethod]
    public void OutputsOfVeryDifferentScalesAreEachLearned()
    {
        // 1000 ± 400, ~1 and ~0.001: one shared standardisation would leave the small ones to rounding.
        var ml = new MLContext(1);
        var model = ml.Regression.Trainers.NeuralNetwork(Options(epochs: 40)).Fit(SyntheticView(ml, 2000, 1));

        var metrics = ml.Regression.EvaluateMultiOutput(model.Transform(SyntheticView(ml, 500, 2)));

        Console.WriteLine(string.Join("; ", metrics.PerOutput));
        foreach (var output in metrics.PerOutput)
            Assert.IsGreaterThan(0.9, output.RSquared, $"output {output.Name}");
        Assert.AreEqual(metrics.PerOutput.Average(o => o.RSquared), metrics.RSquared, 1e-12);
        CollectionAssert.AreEqual(new[] { "0", "1", "2" }, metrics.PerOutput.Select(o => o.Name).ToArray(), "no SlotNames: the index");
    }

    [TestMethod]
    public void AOneElementVectorLabelTrainsTheSameWeightsAsTheScalarLabel()
    {
        var ml = new MLContext(1);
        var rows = Synthetic(300, 4, targets: 1);
        var vector = SyntheticView(ml, 300, 4, targets: 1);
        var scalar = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows.Select(r => new ScalarRow { Features = r.Features, Label = r.Label[0] })));

        var fromVector = ml.Regression.Trainers.NeuralNetwork(Options(epochs: 3)).Fit(vector).Model;
        var fromScalar = ml.Regression.Trainers.NeuralNetwork(Options(epochs: 3)).Fit(scalar).Model;

        Assert.AreEqual(NeuralNetworkTask.MultiOutputRegression, fromVector.Task);
        Assert.AreEqual(NeuralNetworkTask.Regression, fromScalar.Task);
        for (int layer = 0; layer < fromScalar.LayerCount; layer++)
        {
            CollectionAssert.AreEqual(fromScalar.GetWeights(layer).ToArray(), fromVector.GetWeights(layer).ToArray(), $"weights of layer {layer}");
            CollectionAssert.AreEqual(fromScalar.GetBiases(layer).ToArray(), fromVector.GetBiases(layer).ToArray(), $"biases of layer {layer}");
        }
        Assert.AreEqual(fromScalar.LabelMean, fromVector.LabelMeans[0]);
        Assert.AreEqual(fromScalar.History[^1].Train.RootMeanSquaredError!.Value, fromVector.History[^1].Train.RootMeanSquaredError!.Value, 1e-9);
    }

    public sealed class ScalarRow
    {
        [VectorType(4)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    [TestMethod]
    public void TheBottomHalfOfAFashionImageIsPredictedFromItsTopHalf()
    {
        // 392 inputs → 392 outputs, on the shipped subset: 3,000 training and 1,000 test images.
        var ml = new MLContext(1);
        string data = Integration.TestData.ShippedFashionMnist();
        var train = Halves(ml, MlNetMiniBatch.Examples.FashionMnistData.Load(ml, data, train: true, maxRows: 3000));
        var test = Halves(ml, MlNetMiniBatch.Examples.FashionMnistData.Load(ml, data, train: false, maxRows: 1000));
        var options = Options(epochs: 8);
        options.HiddenLayers = [128];
        options.Activation = NeuralNetworkActivation.ReLU;
        options.LearningRate = 0.002f;
        options.NumberOfThreads = 2;

        var model = ml.Regression.Trainers.NeuralNetwork(options).Fit(train);
        var metrics = ml.Regression.EvaluateMultiOutput(model.Transform(test));

        // The baseline predicts every pixel's training mean: its MSE is what the network must beat.
        var (trainLabels, _) = Read(model.Transform(train));
        var means = Enumerable.Range(0, 392).Select(j => trainLabels.Average(r => (double)r[j])).ToArray();
        var (testLabels, _) = Read(model.Transform(test));
        double baseline = testLabels.Average(r => r.Select((y, j) => (y - means[j]) * (y - means[j])).Average());
        Console.WriteLine($"Fashion bottom half: MSE {metrics.MeanSquaredError:G4} (mean-image baseline {baseline:G4}), MAE {metrics.MeanAbsoluteError:G4}");
        Assert.HasCount(392, metrics.PerOutput);
        Assert.IsLessThan(0.5 * baseline, metrics.MeanSquaredError);
    }

    public sealed class HalfImage
    {
        [VectorType(392)]
        public float[] Features { get; set; } = [];

        [VectorType(392)]
        public float[] Label { get; set; } = [];
    }

    /// <summary>Rows 0–13 of each image as the features, rows 14–27 as the label.</summary>
    private static IDataView Halves(MLContext ml, IDataView images)
    {
        var halves = new List<HalfImage>();
        using (var cursor = images.GetRowCursor([images.Schema["Features"]]))
        {
            var get = cursor.GetGetter<VBuffer<float>>(images.Schema["Features"]);
            VBuffer<float> pixels = default;
            while (cursor.MoveNext())
            {
                get(ref pixels);
                var all = pixels.DenseValues().ToArray();
                halves.Add(new HalfImage { Features = all[..392], Label = all[392..] });
            }
        }
        return ml.Data.Cache(ml.Data.LoadFromEnumerable(halves));
    }
}
