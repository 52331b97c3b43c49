using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MlNetMiniBatch;

/// <summary>
/// Every use of a non-public ML.NET 5.0.x member lives here, so an ML.NET upgrade that renames one breaks one file,
/// and MlNetInternalsTests fails loudly instead of a pipeline failing later.
/// </summary>
internal static class MlNetInternals
{
    // SchemaShape.Column has only an internal constructor, yet IEstimator.GetOutputSchema must return new columns.
    private static readonly ConstructorInfo? ShapeColumnConstructor = typeof(SchemaShape.Column).GetConstructor(
        BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, binder: null,
        new[] { typeof(string), typeof(SchemaShape.Column.VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape) },
        modifiers: null);

    // The trainer catalogs (mlContext.X.Trainers) hold the user's MLContext only behind the internal
    // IInternalCatalog.Environment property; the built-in trainers reach it through internal CatalogUtils.
    private static readonly PropertyInfo? CatalogEnvironment = typeof(MLContext).Assembly
        .GetType("Microsoft.ML.Data.IInternalCatalog")?.GetProperty("Environment");

    internal static bool CanCreateShapeColumns => ShapeColumnConstructor is not null;

    internal static bool CanReadCatalogEnvironment => CatalogEnvironment is not null;

    public static SchemaShape.Column CreateShapeColumn(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType,
        bool isKey, SchemaShape? annotations = null)
    {
        if (ShapeColumnConstructor is null)
            throw new InvalidOperationException(
                "This version of ML.NET no longer has the SchemaShape.Column constructor MlNetMiniBatch relies on; " +
                "use the ML.NET version range MlNetMiniBatch was built for (5.0.x).");
        return (SchemaShape.Column)ShapeColumnConstructor.Invoke(new object?[] { name, kind, itemType, isKey, annotations });
    }

    /// <summary>The MLContext behind a catalog, so trainers log to the user's <c>mlContext.Log</c> and draw from its seed.
    /// Falls back to a new MLContext (training still works, logs are not seen) if ML.NET ever drops the property.</summary>
    public static IHostEnvironment GetEnvironment(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (CatalogEnvironment?.GetValue(catalog) is IHostEnvironment environment)
            return environment;
        System.Diagnostics.Trace.TraceWarning(
            "MlNetMiniBatch could not read the MLContext behind an ML.NET catalog; using a new MLContext, so training logs will not reach mlContext.Log.");
        return new MLContext();
    }
}
