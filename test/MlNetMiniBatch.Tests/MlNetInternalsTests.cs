using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MlNetMiniBatch.Tests;

/// <summary>Fails loudly when an ML.NET upgrade removes one of the non-public members MlNetMiniBatch relies on.</summary>
[TestClass]
public sealed class MlNetInternalsTests
{
    [TestMethod]
    public void SchemaShapeColumnConstructorIsStillThere()
    {
        var column = MlNetInternals.CreateShapeColumn("Score", SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, isKey: false);
        Assert.AreEqual("Score", column.Name);
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, column.Kind);
    }

    [TestMethod]
    public void CatalogsStillExposeTheUsersEnvironment()
    {
        var ml = new MLContext(1);
        var heard = new List<string>();
        ml.Log += (_, e) => heard.Add(e.RawMessage);
        object[] catalogs = [ml.MulticlassClassification.Trainers, ml.BinaryClassification.Trainers, ml.Regression.Trainers];
        foreach (var catalog in catalogs)
        {
            using var channel = MlNetInternals.GetEnvironment(catalog).Register("Probe").Start("Probe");
            channel.Info(MessageSensitivity.None, catalog.GetType().Name);
        }
        foreach (var catalog in catalogs)
            CollectionAssert.Contains(heard, catalog.GetType().Name, "a message sent through the catalog's environment reaches mlContext.Log");
    }

    [TestMethod]
    public void MlNetPackageIsTheReleaseTheseChecksWereWrittenFor()
    {
        var informational = typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        StringAssert.StartsWith(informational, "5.0.", $"Microsoft.ML {informational}: review MlNetInternals.cs for this release");
    }
}
