using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
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

    /// <summary>Every non-public ML.NET type and member MlNetMiniBatch.dll references (read from its metadata), as
    /// "assembly: type.member". Keep in step with MlNetInternals.cs and the README; a change here is a review point.</summary>
    private static readonly string[] DocumentedInternals =
    [
        "Microsoft.ML.Core: Microsoft.ML.Internal.Utilities.BigArray`1",
        "Microsoft.ML.Core: Microsoft.ML.Internal.Utilities.BigArray`1._entries",
        "Microsoft.ML.Core: Microsoft.ML.Internal.Utilities.OrderedWaiter",
        "Microsoft.ML.Core: Microsoft.ML.LoadableClassAttribute",
        "Microsoft.ML.Core: Microsoft.ML.LoadableClassAttribute..ctor",
        "Microsoft.ML.Core: Microsoft.ML.ModelHeader",
        "Microsoft.ML.Core: Microsoft.ML.ModelHeader.CbModel",
        "Microsoft.ML.Core: Microsoft.ML.ModelHeader.ModelSignature",
        "Microsoft.ML.Core: Microsoft.ML.ModelHeader.ModelVerReadable",
        "Microsoft.ML.Core: Microsoft.ML.ModelLoadContext",
        "Microsoft.ML.Core: Microsoft.ML.ModelLoadContext.CheckAtModel",
        "Microsoft.ML.Core: Microsoft.ML.ModelLoadContext.CheckVersionInfo",
        "Microsoft.ML.Core: Microsoft.ML.ModelLoadContext.Header",
        "Microsoft.ML.Core: Microsoft.ML.ModelLoadContext.Reader",
        "Microsoft.ML.Core: Microsoft.ML.ModelSaveContext.CheckAtModel",
        "Microsoft.ML.Core: Microsoft.ML.ModelSaveContext.SetVersionInfo",
        "Microsoft.ML.Core: Microsoft.ML.ModelSaveContext.Writer",
        "Microsoft.ML.Core: Microsoft.ML.SchemaShape+Column..ctor",
        "Microsoft.ML.Core: Microsoft.ML.SignatureLoadModel",
        "Microsoft.ML.Core: Microsoft.ML.TrainerInfo..ctor",
        "Microsoft.ML.Core: Microsoft.ML.VersionInfo",
        "Microsoft.ML.Core: Microsoft.ML.VersionInfo..ctor",
        "Microsoft.ML.Core: Microsoft.ML.VersionInfo.ModelSignature",
        "Microsoft.ML.Data: Microsoft.ML.Data.CacheDataView",
        "Microsoft.ML.Data: Microsoft.ML.Data.CacheDataView+ColumnCache",
        "Microsoft.ML.Data: Microsoft.ML.Data.CacheDataView+ColumnCache+ImplVec`1",
        "Microsoft.ML.Data: Microsoft.ML.Data.CacheDataView+ColumnCache+ImplVec`1._indexBoundaries",
        "Microsoft.ML.Data: Microsoft.ML.Data.CacheDataView+ColumnCache+ImplVec`1._indices",
        "Microsoft.ML.Data: Microsoft.ML.Data.CacheDataView+ColumnCache+ImplVec`1._rowCount",
        "Microsoft.ML.Data: Microsoft.ML.Data.CacheDataView+ColumnCache+ImplVec`1._uniformLength",
        "Microsoft.ML.Data: Microsoft.ML.Data.CacheDataView+ColumnCache+ImplVec`1._valueBoundaries",
        "Microsoft.ML.Data: Microsoft.ML.Data.CacheDataView+ColumnCache+ImplVec`1._values",
        "Microsoft.ML.Data: Microsoft.ML.Data.CacheDataView+ColumnCache.get_Waiter",
        "Microsoft.ML.Data: Microsoft.ML.Data.CacheDataView._caches",
        "Microsoft.ML.Data: Microsoft.ML.Data.IDataTransform",
        "Microsoft.ML.Data: Microsoft.ML.Data.IDataTransform.get_Source",
        "Microsoft.ML.Data: Microsoft.ML.Data.IInternalCatalog",
        "Microsoft.ML.Data: Microsoft.ML.Data.IInternalCatalog.get_Environment",
        "Microsoft.ML.Data: Microsoft.ML.ISingleFeaturePredictionTransformer",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.ICanSaveOnnx",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.ICanSaveOnnx.CanSaveOnnx",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.ISaveAsOnnx",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.ISaveAsOnnx.SaveAsOnnx",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.ITransformCanSaveOnnx",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.OnnxContext",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.OnnxContext.AddInitializer",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.OnnxContext.AddIntermediateVariable",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.OnnxContext.CheckOpSetVersion",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.OnnxContext.ContainsColumn",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.OnnxContext.CreateNode",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.OnnxContext.GetNodeName",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.OnnxContext.GetVariableName",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.OnnxNode",
        "Microsoft.ML.Data: Microsoft.ML.Model.OnnxConverter.OnnxNode.AddAttribute",
    ];

    [TestMethod]
    public void TheLibraryUsesExactlyTheDocumentedMlNetInternalsAndEachStillExists()
    {
        using var pe = new PEReader(File.OpenRead(typeof(NeuralNetworkTrainer).Assembly.Location));
        var md = pe.GetMetadataReader();
        var used = new SortedSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var handle in md.TypeReferences)
        {
            if (MlNetType(md, handle) is not var (assembly, name, type))
                continue;
            if (type is null)
                missing.Add($"{assembly}: {name}");
            else if (!type.IsVisible)
                used.Add($"{assembly}: {name}");
        }
        foreach (var handle in md.MemberReferences)
        {
            var member = md.GetMemberReference(handle);
            if (DeclaringTypeReference(md, member.Parent) is not { } parent || MlNetType(md, parent) is not var (assembly, typeName, type))
                continue;
            string name = md.GetString(member.Name);
            string full = $"{assembly}: {typeName}.{name}";
            if (type is null)
                continue; // reported with the type
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;
            MemberInfo[] candidates;
            if (member.GetKind() == MemberReferenceKind.Method)
            {
                var signature = md.GetBlobReader(member.Signature);
                var header = signature.ReadSignatureHeader();
                if (header.IsGeneric) signature.ReadCompressedInteger();
                int parameters = signature.ReadCompressedInteger();
                candidates = (name == ".ctor" ? type.GetConstructors(all).Cast<MethodBase>() : type.GetMethods(all).Where(m => m.Name == name))
                    .Where(m => m.GetParameters().Length == parameters).ToArray();
            }
            else
            {
                candidates = type.GetField(name, all) is { } field ? [field] : [];
            }
            if (candidates.Length == 0)
                missing.Add(full);
            else if (!type.IsVisible || candidates.All(c => c is MethodBase { IsPublic: false } or FieldInfo { IsPublic: false }))
                used.Add(full);
        }
        Assert.AreEqual(0, missing.Count, "Gone from the ML.NET loaded now (see MlNetInternals.cs): " + string.Join("; ", missing));
        CollectionAssert.AreEqual(DocumentedInternals, used.ToArray(),
            "The non-public ML.NET members MlNetMiniBatch uses changed. Update MlNetInternals.cs, the README and this list:\n" + string.Join("\n", used));
    }

    [TestMethod]
    public void TheLibraryDeclaresIgnoresAccessChecksToForBothMlNetAssemblies()
    {
        var names = typeof(NeuralNetworkTrainer).Assembly.GetCustomAttributesData()
            .Where(a => a.AttributeType.FullName == "System.Runtime.CompilerServices.IgnoresAccessChecksToAttribute")
            .Select(a => (string)a.ConstructorArguments[0].Value!).Order().ToArray();
        CollectionAssert.AreEqual(new[] { "Microsoft.ML.Core", "Microsoft.ML.Data" }, names);
    }

    /// <summary>The type reference a member reference's parent names: itself, or the generic type of an instantiation
    /// (a member of BigArray&lt;float&gt; is a member of BigArray`1); null for other parents.</summary>
    private static TypeReferenceHandle? DeclaringTypeReference(MetadataReader md, EntityHandle parent)
    {
        if (parent.Kind == HandleKind.TypeReference)
            return (TypeReferenceHandle)parent;
        if (parent.Kind != HandleKind.TypeSpecification)
            return null;
        var signature = md.GetBlobReader(md.GetTypeSpecification((TypeSpecificationHandle)parent).Signature);
        if (signature.ReadByte() != (byte)SignatureTypeCode.GenericTypeInstance)
            return null;
        signature.ReadByte(); // class or value type
        var generic = signature.ReadTypeHandle();
        return generic.Kind == HandleKind.TypeReference ? (TypeReferenceHandle)generic : null;
    }

    /// <summary>The assembly name, CLR type name and loaded type of a reference into Microsoft.ML.Core or .Data; null otherwise.</summary>
    private static (string Assembly, string Name, Type? Type)? MlNetType(MetadataReader md, TypeReferenceHandle handle)
    {
        var reference = md.GetTypeReference(handle);
        string name = md.GetString(reference.Name);
        string ns = md.GetString(reference.Namespace);
        var scope = reference.ResolutionScope;
        while (scope.Kind == HandleKind.TypeReference)
        {
            var outer = md.GetTypeReference((TypeReferenceHandle)scope);
            name = md.GetString(outer.Name) + "+" + name;
            ns = md.GetString(outer.Namespace);
            scope = outer.ResolutionScope;
        }
        if (scope.Kind != HandleKind.AssemblyReference)
            return null;
        string assembly = md.GetString(md.GetAssemblyReference((AssemblyReferenceHandle)scope).Name);
        if (assembly is not ("Microsoft.ML.Core" or "Microsoft.ML.Data"))
            return null;
        string fullName = ns.Length == 0 ? name : ns + "." + name;
        return (assembly, fullName, Assembly.Load(assembly).GetType(fullName));
    }
}
