using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetMiniBatch.Tests.Integration;

/// <summary>
/// The network's output columns look exactly like those of ML.NET's built-in trainer of the same task (SdcaMaximumEntropy,
/// SdcaLogisticRegression, Sdca): same names, order, types, key-ness, annotation kinds and annotation values, both in the
/// runtime schema of the fitted model and in the SchemaShape the estimator chain propagates before fitting.
/// </summary>
[TestClass]
public sealed class SchemaCompatibilityTests
{
    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void FittedOutputSchemaMatchesTheBuiltInTrainer(NeuralNetworkTask task)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.Cache(TestData.Load(ml, task, 300, seed: 20));
        // EstimatorChain.Fit propagates the SchemaShape through every estimator (our GetOutputSchema included) first.
        var ours = TestData.Featurize(ml, task).Append(TestData.Trainer(ml, task, TestData.Options(epochs: 1))).Fit(data);
        var builtIn = TestData.Featurize(ml, task).Append(BuiltIn(ml, task)).Fit(data);

        var expected = Describe(builtIn.GetOutputSchema(data.Schema));
        var actual = Describe(ours.GetOutputSchema(data.Schema));
        CollectionAssert.AreEqual(expected, actual, Diff(expected, actual));

        // Transform's schema is the same as GetOutputSchema's.
        CollectionAssert.AreEqual(actual, Describe(ours.Transform(data).Schema));
    }

    [TestMethod]
    [DataRow(NeuralNetworkTask.MulticlassClassification)]
    [DataRow(NeuralNetworkTask.BinaryClassification)]
    [DataRow(NeuralNetworkTask.Regression)]
    public void EstimatorOutputShapeMatchesTheBuiltInTrainer(NeuralNetworkTask task)
    {
        var ml = new MLContext(seed: 1);
        var data = TestData.Load(ml, task, 50, seed: 21);
        var shape = TestData.ShapeOf(data.Schema);

        var expected = Describe(TestData.Featurize(ml, task).Append(BuiltIn(ml, task)).GetOutputSchema(shape));
        var actual = Describe(TestData.Featurize(ml, task).Append(TestData.Trainer(ml, task, TestData.Options())).GetOutputSchema(shape));

        CollectionAssert.AreEqual(expected, actual, Diff(expected, actual));
    }

    [TestMethod]
    public void SecondScorerGetsTheNextScoreColumnSetIdLikeTheBuiltIns()
    {
        // Scoring twice in one pipeline: the built-ins number their score column sets 1, 2, ...; so must the network.
        var ml = new MLContext(seed: 1);
        const NeuralNetworkTask task = NeuralNetworkTask.Regression;
        var data = ml.Data.Cache(TestData.Load(ml, task, 300, seed: 22));
        var rename = ml.Transforms.CopyColumns("FirstScore", "Score");
        var ours = TestData.Featurize(ml, task).Append(TestData.Trainer(ml, task, TestData.Options(epochs: 1))).Append(rename)
            .Append(TestData.Trainer(ml, task, TestData.Options(epochs: 1))).Fit(data);
        var builtIn = TestData.Featurize(ml, task).Append(BuiltIn(ml, task)).Append(rename).Append(BuiltIn(ml, task)).Fit(data);
        var schema = ours.GetOutputSchema(data.Schema);

        // Same columns, types and annotation values as the built-in. (Compared as sets: when an output shadows an input
        // column of the same name, the built-ins insert it right after the hidden column, the network appends it.)
        CollectionAssert.AreEquivalent(WithoutIndex(Describe(builtIn.GetOutputSchema(data.Schema))), WithoutIndex(Describe(schema)));
        Assert.AreEqual(2u, SetId(schema["Score"]), "the second scorer's set");
        Assert.AreEqual(1u, SetId(schema["FirstScore"]), "the first scorer's set, copied with the column");
        Assert.AreEqual(1u, SetId(schema.Single(c => c.Name == "Score" && c.IsHidden)), "the first scorer's Score, now hidden");
    }

    private static IEstimator<ITransformer> BuiltIn(MLContext ml, NeuralNetworkTask task) => task switch
    {
        NeuralNetworkTask.MulticlassClassification => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(maximumNumberOfIterations: 2),
        NeuralNetworkTask.BinaryClassification => ml.BinaryClassification.Trainers.SdcaLogisticRegression(maximumNumberOfIterations: 2),
        _ => ml.Regression.Trainers.Sdca(maximumNumberOfIterations: 2),
    };

    /// <summary>One line per column: name, type, hidden flag, then each annotation (sorted by kind) with its type and value.</summary>
    private static string[] Describe(DataViewSchema schema) => schema.Select(c =>
        $"{c.Index}:{c.Name}|{c.Type}|hidden={c.IsHidden}|" +
        string.Join(";", c.Annotations.Schema.OrderBy(a => a.Name, StringComparer.Ordinal)
            .Select(a => $"{a.Name}:{a.Type}={AnnotationValue(c.Annotations, a)}"))).ToArray();

    private static string[] Describe(SchemaShape shape) => shape.Select(c =>
        $"{c.Name}|{c.Kind}|{c.ItemType}|key={c.IsKey}|" +
        string.Join(";", c.Annotations.OrderBy(a => a.Name, StringComparer.Ordinal)
            .Select(a => $"{a.Name}:{a.Kind}:{a.ItemType}:key={a.IsKey}"))).ToArray();

    private static string AnnotationValue(DataViewSchema.Annotations annotations, DataViewSchema.Column kind)
    {
        switch (kind.Type)
        {
            case TextDataViewType:
                ReadOnlyMemory<char> text = default;
                annotations.GetValue(kind.Name, ref text);
                return text.ToString();
            case BooleanDataViewType:
                bool flag = false;
                annotations.GetValue(kind.Name, ref flag);
                return flag.ToString();
            case KeyDataViewType { RawType: var raw } when raw == typeof(uint):
                uint key = 0;
                annotations.GetValue(kind.Name, ref key);
                return key.ToString(System.Globalization.CultureInfo.InvariantCulture);
            case VectorDataViewType { ItemType: TextDataViewType }:
                VBuffer<ReadOnlyMemory<char>> texts = default;
                annotations.GetValue(kind.Name, ref texts);
                return "[" + string.Join(",", texts.DenseValues()) + "]";
            default:
                return "?";
        }
    }

    private static uint SetId(DataViewSchema.Column column)
    {
        uint id = 0;
        column.Annotations.GetValue("ScoreColumnSetId", ref id);
        return id;
    }

    private static string[] WithoutIndex(string[] lines) => lines.Select(l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..]).ToArray();

    private static string Diff(string[] expected, string[] actual) =>
        "\nbuilt-in:\n  " + string.Join("\n  ", expected) + "\nnetwork:\n  " + string.Join("\n  ", actual);
}
