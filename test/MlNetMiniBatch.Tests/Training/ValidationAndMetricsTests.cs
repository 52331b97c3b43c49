using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Tests.Training;

[TestClass]
public sealed class ValidationAndMetricsTests
{
    [TestMethod]
    public void ValidationFractionHoldsOutAnExactStratifiedShareDrawnWithTheSeed()
    {
        var ml = new MLContext(1);
        // Unbalanced classes: 700 / 200 / 100 rows.
        var labels = Enumerable.Range(0, 1000).Select(i => i < 700 ? "a" : i < 900 ? "b" : "c").ToArray();
        var rows = labels.Select((l, i) => new Synthetic.ClassRow { Label = l, Features = [i, 0, 0, 0] }).ToArray();
        var data = ml.Data.Cache(ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(rows))
            .Transform(ml.Data.LoadFromEnumerable(rows)));
        var columns = TrainingColumns.Bind(data.Schema, NeuralNetworkTask.MulticlassClassification, new NeuralNetworkOptions(), "training");

        HashSet<float> HeldOut(int seed, Random? shuffle)
        {
            var split = ValidationSplit.Create(data, columns, NeuralNetworkTask.MulticlassClassification, 0.15f, seed);
            Assert.AreEqual(150, split.ValidationRows);
            var perClass = new int[3];
            var held = new HashSet<float>();
            using var cursor = data.GetRowCursor(data.Schema, shuffle);
            var label = cursor.GetGetter<uint>(data.Schema["Label"]);
            var features = cursor.GetGetter<VBuffer<float>>(data.Schema["Features"]);
            var id = cursor.GetIdGetter();
            uint key = 0; VBuffer<float> x = default; DataViewRowId rowId = default;
            while (cursor.MoveNext())
            {
                label(ref key); features(ref x); id(ref rowId);
                if (split.IsHeldOut(rowId, (int)key - 1))
                {
                    perClass[key - 1]++;
                    held.Add(x.GetValues()[0]);
                }
            }
            CollectionAssert.AreEqual(new[] { 105, 30, 15 }, perClass, "each class keeps exactly its share");
            return held;
        }

        var first = HeldOut(1, null);
        Assert.IsTrue(first.SetEquals(HeldOut(1, new Random(99))), "a shuffled pass agrees on which rows are held out");
        Assert.IsFalse(first.SetEquals(HeldOut(2, null)), "another seed draws another split");
        Assert.IsFalse(first.SetEquals(Enumerable.Range(850, 150).Select(i => (float)i)), "not the last rows, as Keras would take");

        var options = new NeuralNetworkOptions { HiddenLayers = [4], Epochs = 1, Seed = 1, ValidationFraction = 0.15f };
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data).Model;
        Assert.AreEqual(850, model.History[0].Rows, "held-out rows are never trained on");
        Assert.IsNotNull(model.History[0].Validation);
    }

    [TestMethod]
    public void ValidationMetricsAgreeWithTheMlNetEvaluators()
    {
        var ml = new MLContext(1);
        var options = new NeuralNetworkOptions { HiddenLayers = [16], Epochs = 3, Seed = 1 };

        var blobs = Synthetic.BlobsView(ml, 300);
        var validation = Synthetic.BlobsView(ml, 150);
        var multi = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(blobs, validation);
        var m = ml.MulticlassClassification.Evaluate(multi.Transform(validation));
        var mv = multi.Model.History[^1].Validation!;
        Assert.AreEqual(m.LogLoss, mv.Loss, 1e-5);
        Assert.AreEqual(m.MicroAccuracy, mv.Accuracy!.Value, 1e-9);
        Assert.AreEqual(m.MacroAccuracy, mv.MacroAccuracy!.Value, 1e-9);

        var binaryTrain = ml.Data.Cache(ml.Data.LoadFromEnumerable(Synthetic.Binary(400)));
        var binaryValidation = ml.Data.LoadFromEnumerable(Synthetic.Binary(300, seed: 2));
        var binary = ml.BinaryClassification.Trainers.NeuralNetwork(options).Fit(binaryTrain, binaryValidation);
        var b = ml.BinaryClassification.Evaluate(binary.Transform(binaryValidation));
        var bv = binary.Model.History[^1].Validation!;
        Assert.AreEqual(b.LogLoss, bv.Loss / Math.Log(2), 1e-4, "ML.NET reports log-loss in bits");
        Assert.AreEqual(b.Accuracy, bv.Accuracy!.Value, 1e-9);
        Assert.AreEqual(b.AreaUnderRocCurve, bv.AreaUnderRocCurve!.Value, 1e-3);

        var regressionTrain = ml.Data.Cache(ml.Data.LoadFromEnumerable(Synthetic.Regression(400)));
        var regressionValidation = ml.Data.LoadFromEnumerable(Synthetic.Regression(200, seed: 2));
        var regression = ml.Regression.Trainers.NeuralNetwork(options).Fit(regressionTrain, regressionValidation);
        var r = ml.Regression.Evaluate(regression.Transform(regressionValidation));
        var rv = regression.Model.History[^1].Validation!;
        Assert.AreEqual(r.MeanSquaredError, rv.Loss, 1e-4 * r.MeanSquaredError);
        Assert.AreEqual(r.RootMeanSquaredError, rv.RootMeanSquaredError!.Value, 1e-4 * r.RootMeanSquaredError);
        Assert.AreEqual(r.RSquared, rv.RSquared!.Value, 1e-4);
    }

    [TestMethod]
    public void TrainMetricsAreRowWeighted_AShortLastBatchCountsByItsRows()
    {
        // 101 rows at batch 100: the last batch has one row. A batch-mean average would give it 50% of the say.
        var ml = new MLContext(1);
        var options = new NeuralNetworkOptions { HiddenLayers = [4], Epochs = 1, BatchSize = 100, Seed = 1, Shuffle = false,
            Optimizer = NeuralNetworkOptimizer.Sgd, LearningRate = 1e-12f };
        var data = Synthetic.BlobsView(ml, 101);
        var model = ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(data);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data));
        Assert.AreEqual(metrics.MicroAccuracy, model.Model.History[0].Train.Accuracy!.Value, 1e-9);
        Assert.AreEqual(metrics.LogLoss, model.Model.History[0].TrainLoss, 1e-5);
    }

    [TestMethod]
    public void ClassWeightsEqualTheSameExampleWeights()
    {
        var ml = new MLContext(1);
        var rows = Synthetic.Binary(200);
        var weighted = rows.Select(r => new WeightedBinaryRow { Label = r.Label, Features = r.Features, Weight = r.Label ? 3 : 0.5f });
        var options = new NeuralNetworkOptions { HiddenLayers = [8], Epochs = 2, Seed = 1, Shuffle = false };
        var byClass = ml.BinaryClassification.Trainers.NeuralNetwork(WithClassWeights(options)).Fit(ml.Data.LoadFromEnumerable(rows)).Model;
        options.ExampleWeightColumnName = "Weight";
        var byRow = ml.BinaryClassification.Trainers.NeuralNetwork(options).Fit(ml.Data.LoadFromEnumerable(weighted)).Model;
        CollectionAssert.AreEqual(byRow.GetWeights(0).ToArray(), byClass.GetWeights(0).ToArray());

        static NeuralNetworkOptions WithClassWeights(NeuralNetworkOptions o) => new()
        {
            HiddenLayers = o.HiddenLayers, Epochs = o.Epochs, Seed = o.Seed, Shuffle = o.Shuffle, ClassWeights = [0.5f, 3f],
        };
    }

    public sealed class WeightedBinaryRow
    {
        public bool Label { get; set; }
        [VectorType(4)] public float[] Features { get; set; } = [];
        public float Weight { get; set; }
    }

    [TestMethod]
    public void ClassWeightsOfTheWrongLengthAreRejected()
    {
        var ml = new MLContext(1);
        var options = new NeuralNetworkOptions { ClassWeights = [1, 2] };
        var error = Assert.ThrowsExactly<ArgumentException>(
            () => ml.MulticlassClassification.Trainers.NeuralNetwork(options).Fit(Synthetic.BlobsView(ml, 30)));
        StringAssert.Contains(error.Message, "3 classes");
    }
}
