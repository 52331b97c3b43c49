// Every use of a non-public ML.NET member lives in this file. Why they are reachable at all:
//  * at run time, [IgnoresAccessChecksTo] below tells CoreCLR to skip access checks from this assembly into the two
//    named ML.NET assemblies (member access, implementing their internal interfaces, reading [LoadableClass]);
//  * at compile time, build/Publicize.targets hands the compiler copies of those two assemblies with every member
//    public (the C# compiler does not honour IgnoresAccessChecksTo).
// These members are old and stable, but internal: an ML.NET release may rename one, so the package pins Microsoft.ML
// to [5.0.1, 5.1), MlNetInternalsTests checks each of them against the ML.NET actually loaded, and the cross-process
// tests save and load through them. On an ML.NET upgrade: widen the range, run the tests, fix this file only.
//
// The members used (MlNetInternalsTests pins this exact list, read from the compiled assembly; keep the README's
// "ML.NET internals" section in step):
//  Microsoft.ML.Core: SchemaShape.Column's constructor; LoadableClassAttribute, SignatureLoadModel; VersionInfo (ctor,
//    ModelSignature); ModelSaveContext.{CheckAtModel, SetVersionInfo, Writer}; ModelLoadContext.{CheckAtModel,
//    CheckVersionInfo, Header, Reader}; ModelHeader.{ModelSignature, ModelVerReadable, CbModel}; TrainerInfo's constructor.
//  Microsoft.ML.Data: IInternalCatalog.Environment; ISingleFeaturePredictionTransformer; IDataTransform.Source;
//    ITransformCanSaveOnnx, ISaveAsOnnx.SaveAsOnnx, ICanSaveOnnx.CanSaveOnnx; OnnxContext.{CheckOpSetVersion,
//    ContainsColumn, GetVariableName, AddIntermediateVariable, AddInitializer, CreateNode, GetNodeName};
//    OnnxNode.AddAttribute; CacheDataView._caches, CacheDataView.ColumnCache.Waiter (an
//    OrderedWaiter) and ColumnCache.ImplVec<float>.{_rowCount, _uniformLength, _valueBoundaries, _indexBoundaries,
//    _values, _indices}.
//  Microsoft.ML.Core, for the cache: BigArray<T>._entries.

using System.Numerics;
using System.Runtime.CompilerServices;
using Microsoft.ML.Data;
using Microsoft.ML.Internal.Utilities;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Runtime;
using MlNetMiniBatch;
using MlNetMiniBatch.Onnx;
using MlNetMiniBatch.Persistence;

[assembly: IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Data")]

// Registers the loader: Model.Load reads the loader signature and the loader assembly name from the file, loads that
// assembly, scans its [LoadableClass] attributes and calls the private static Create below. No registration call.
[assembly: LoadableClass(typeof(NeuralNetworkPredictionTransformer), null, typeof(SignatureLoadModel),
    "MlNetMiniBatch neural network", NeuralNetworkPredictionTransformer.LoaderSignature)]

namespace System.Runtime.CompilerServices
{
    /// <summary>Honoured by CoreCLR (not by the compiler): code in this assembly may access non-public members of the
    /// named assembly. Declared here because the BCL does not ship it.</summary>
    [AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
    internal sealed class IgnoresAccessChecksToAttribute : Attribute
    {
        public IgnoresAccessChecksToAttribute(string assemblyName) => AssemblyName = assemblyName;

        public string AssemblyName { get; }
    }
}

namespace MlNetMiniBatch
{
    internal static class MlNetInternals
    {
        /// <summary>SchemaShape.Column has only an internal constructor, yet IEstimator.GetOutputSchema must describe the
        /// columns the trainer adds.</summary>
        public static SchemaShape.Column CreateShapeColumn(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType,
            bool isKey, SchemaShape? annotations = null)
            => new(name, kind, itemType, isKey, annotations);

        /// <summary>TrainerInfo has only an internal constructor, yet ITrainerEstimator.Info must describe the trainer.</summary>
        public static TrainerInfo CreateTrainerInfo(bool normalization, bool calibration, bool caching, bool supportValid, bool supportIncrementalTrain)
            => new(normalization, calibration, caching, supportValid, supportIncrementalTrain);

        /// <summary>The MLContext behind a catalog (mlContext.X.Trainers), so trainers log to the user's <c>mlContext.Log</c>
        /// and draw from its seed. The catalogs hold it only behind the internal IInternalCatalog.Environment.</summary>
        public static IHostEnvironment GetEnvironment(object catalog)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            if (catalog is IInternalCatalog { Environment: { } environment })
                return environment;
            throw new ArgumentException($"{catalog.GetType().Name} is not an ML.NET catalog.", nameof(catalog));
        }
    }

    /// <summary>
    /// The values a completely filled CacheDataView stores for one float vector column, read in place. Its getter copies
    /// each row out of the cache into a VBuffer that the trainer then copies again into the batch; reading the stored
    /// arrays lets the trainer copy a row once, straight into the batch. The cache keeps every row's values end to end in
    /// one BigArray (blocks of a power-of-two size), a sparse row's indices likewise in a second one, and per row the
    /// start of both; a row with no stored indices is dense. A cache that is still filling is not opened: its arrays
    /// are still growing on the filler's thread.
    /// </summary>
    internal sealed class CachedVectorColumn
    {
        private readonly BlockedArray<float> _values;
        private readonly BlockedArray<int> _indices;
        private readonly long[] _valueStarts, _indexStarts;

        private CachedVectorColumn(BlockedArray<float> values, BlockedArray<int> indices, long[] valueStarts, long[] indexStarts, int rows, int length)
        {
            _values = values;
            _indices = indices;
            _valueStarts = valueStarts;
            _indexStarts = indexStarts;
            Rows = rows;
            Length = length;
        }

        public int Rows { get; }

        /// <summary>Values per row (the column's vector size).</summary>
        public int Length { get; }

        /// <summary>The stored column when <paramref name="data"/> is a CacheDataView that has finished caching
        /// <paramref name="column"/> (a known-size vector of Single); null otherwise, and then the caller reads through getters.</summary>
        public static CachedVectorColumn? TryOpen(IDataView data, DataViewSchema.Column column)
        {
            if (data is not CacheDataView cache || column.Index >= cache._caches.Length || data.Schema[column.Index].Name != column.Name)
                return null;
            // Waiter turns null only after the filler's last row, once the arrays have their final size.
            if (cache._caches[column.Index] is not CacheDataView.ColumnCache.ImplVec<float> { Waiter: null } stored || stored._uniformLength <= 0)
                return null;
            int rows = stored._rowCount;
            if (stored._valueBoundaries is not { } valueStarts || stored._indexBoundaries is not { } indexStarts
                || valueStarts.Length <= rows || indexStarts.Length <= rows)
                return null;
            if (BlockedArray<float>.TryOpen(stored._values._entries, valueStarts[rows]) is not { } values
                || BlockedArray<int>.TryOpen(stored._indices._entries, indexStarts[rows]) is not { } indices
                || stored._uniformLength > values.BlockSize || stored._uniformLength > indices.BlockSize)
                return null;
            return new CachedVectorColumn(values, indices, valueStarts, indexStarts, rows, stored._uniformLength);
        }

        /// <summary>Row <paramref name="row"/>'s stored values in at most two pieces (a row may straddle two blocks);
        /// true when the row is dense (all <see cref="Length"/> values stored), false when it is sparse and
        /// <see cref="Indices"/> says where the values go.</summary>
        public bool Values(int row, out ReadOnlySpan<float> head, out ReadOnlySpan<float> tail)
        {
            long start = _valueStarts[row];
            int count = checked((int)(_valueStarts[row + 1] - start));
            _values.Slice(start, count, out head, out tail);
            return count == Length;
        }

        /// <summary>A sparse row's indices, matching its <see cref="Values"/> one to one, in at most two pieces.</summary>
        public void Indices(int row, out ReadOnlySpan<int> head, out ReadOnlySpan<int> tail)
        {
            long start = _indexStarts[row];
            _indices.Slice(start, checked((int)(_indexStarts[row + 1] - start)), out head, out tail);
        }

        /// <summary>A BigArray's blocks: every block but the last holds 2^shift items.</summary>
        private sealed class BlockedArray<T>(T[][] blocks, int shift)
        {
            public static BlockedArray<T>? TryOpen(T[][]? blocks, long length)
            {
                if (blocks is null)
                    return length == 0 ? new BlockedArray<T>([], 0) : null;
                if (blocks.Length <= 1)
                    return blocks.Length == 0 && length == 0 || blocks.Length == 1 && blocks[0].Length >= length ? new BlockedArray<T>(blocks, 31) : null;
                int size = blocks[0].Length;
                if (!BitOperations.IsPow2(size))
                    return null;
                for (int b = 1; b < blocks.Length - 1; b++)
                    if (blocks[b]?.Length != size)
                        return null;
                int shift = BitOperations.Log2((uint)size);
                if (blocks[^1] is null || ((long)(blocks.Length - 1) << shift) + blocks[^1].Length < length)
                    return null;
                return new BlockedArray<T>(blocks, shift);
            }

            /// <summary>Items per block: a row no longer than this straddles at most two blocks.</summary>
            public long BlockSize => 1L << shift;

            public void Slice(long start, int count, out ReadOnlySpan<T> head, out ReadOnlySpan<T> tail)
            {
                if (count == 0)
                {
                    head = tail = default;
                    return;
                }
                int block = (int)(start >> shift);
                int offset = (int)(start & ((1L << shift) - 1));
                var first = blocks[block];
                int inFirst = Math.Min(count, first.Length - offset);
                head = first.AsSpan(offset, inFirst);
                tail = inFirst == count ? default : blocks[block + 1].AsSpan(0, count - inFirst);
            }
        }
    }

    /// <summary>ML.NET persistence (Model.Save / Model.Load) and the non-generic PermutationFeatureImportance.</summary>
    public sealed partial class NeuralNetworkPredictionTransformer : ISingleFeaturePredictionTransformer
    {
        // Identity of our entry in a model file. NEVER change these two: files already saved name them.
        // The loader signature (at most 24 ASCII characters) must be unique among every loadable ML.NET component.
        internal const string LoaderSignature = "MlNetMiniBatchNeuralNet";
        private const string ModelSignature = "MLNMBNNT"; // exactly 8 characters

        // Version of the entry's layout (TransformerFormat), in ML.NET's 0xMMMMmmmm style. The network inside has its
        // own ModelFormat.Version, which is what normally changes. Bump these only if the entry's layout itself changes:
        // VerWritten to the new number, VerReadable to the oldest version that can read the new layout.
        private const uint FirstEntryVersion = 0x00010001;
        private const uint EntryVersionWritten = 0x00010001;
        private const uint EntryVersionReadable = 0x00010001;

        /// <summary>
        /// The loader assembly name is the simple name "MlNetMiniBatch", without version, culture or key. ML.NET stores
        /// whatever we give it and calls Assembly.Load on it when loading; built-in components store their full name,
        /// which fails when the file names a newer version than the one installed. The simple name loads whichever
        /// MlNetMiniBatch the application has, old or new, and then our own version checks decide with a clear message:
        /// older files always load (every ModelFormat version is kept readable), newer incompatible ones explain which
        /// version is needed.
        /// </summary>
        private static VersionInfo GetVersionInfo() => new(ModelSignature, EntryVersionWritten, EntryVersionReadable, FirstEntryVersion,
            typeof(NeuralNetworkPredictionTransformer).Assembly.GetName().Name, LoaderSignature);

        void ICanSaveModel.Save(ModelSaveContext ctx)
        {
            ArgumentNullException.ThrowIfNull(ctx);
            ctx.CheckAtModel();
            ctx.SetVersionInfo(GetVersionInfo());
            TransformerFormat.Write(ctx.Writer, this);
        }

        /// <summary>Called by ML.NET's component catalog (found by name and signature) when a file names our loader.</summary>
        private static NeuralNetworkPredictionTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        {
            ArgumentNullException.ThrowIfNull(env);
            ArgumentNullException.ThrowIfNull(ctx);
            ctx.CheckAtModel();
            // Our own message before ML.NET's check, whose text would blame the ML.NET version.
            var version = GetVersionInfo();
            if (ctx.Header.ModelSignature == version.ModelSignature && ctx.Header.ModelVerReadable > EntryVersionWritten)
                throw new InvalidDataException(
                    $"This model was saved by a newer MlNetMiniBatch (entry version 0x{ctx.Header.ModelVerReadable:X8}; this " +
                    $"MlNetMiniBatch {typeof(NeuralNetworkPredictionTransformer).Assembly.GetName().Version} reads up to 0x{EntryVersionWritten:X8}). " +
                    "Update the MlNetMiniBatch package to load it.");
            ctx.CheckVersionInfo(version);
            return TransformerFormat.Read(env, ctx.Reader, ctx.Header.CbModel);
        }
    }
}

namespace MlNetMiniBatch.Scoring
{
    /// <summary>ONNX export of a pipeline: <c>mlContext.Model.ConvertToOnnx</c> walks back from the transformed data
    /// view through IDataTransform.Source and asks every step that is an ITransformCanSaveOnnx for its nodes.</summary>
    internal sealed partial class ScoredDataView : ITransformCanSaveOnnx
    {
        IDataView IDataTransform.Source => _input;

        bool ICanSaveOnnx.CanSaveOnnx(OnnxContext ctx) => true;

        void ISaveAsOnnx.SaveAsOnnx(OnnxContext ctx)
        {
            ArgumentNullException.ThrowIfNull(ctx);
            ctx.CheckOpSetVersion(NetworkOnnxGraph.MinimumOpset, nameof(NeuralNetworkPredictionTransformer));
            NetworkOnnxGraph.Emit(new MlNetOnnxGraph(ctx), _transformer.Model, _transformer.FeatureColumnName);
        }

        void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(
            "Save the NeuralNetworkPredictionTransformer (mlContext.Model.Save), not the data view it produced.");
    }
}

namespace MlNetMiniBatch.Onnx
{
    /// <summary>Writes the network's nodes into ML.NET's ONNX context, so they join the rest of the pipeline's graph.</summary>
    internal sealed class MlNetOnnxGraph : OnnxGraph
    {
        private readonly OnnxContext _ctx;

        public MlNetOnnxGraph(OnnxContext ctx) => _ctx = ctx;

        public override string Input(string column, DataViewType type)
        {
            // ConvertToOnnx stops walking back at the first step that cannot export itself and makes the columns it
            // finds there the graph's inputs; if our features come out of such a step we must not guess.
            if (!_ctx.ContainsColumn(column))
                throw new NotSupportedException(
                    $"ONNX export: the feature column '{column}' is produced by a pipeline step that cannot be exported to ONNX, " +
                    "so the network has no input in the ONNX graph. Export a pipeline whose every step supports ONNX, " +
                    "or export the network alone with NeuralNetworkModelParameters.ExportToOnnx.");
            return _ctx.GetVariableName(column);
        }

        public override string Output(string column, DataViewType type) => _ctx.AddIntermediateVariable(type, column);

        public override string Intermediate(string name, DataViewType type) => _ctx.AddIntermediateVariable(type, name);

        public override string Initializer(string name, ReadOnlySpan<float> values, long[] dims)
            => _ctx.AddInitializer(values.ToArray(), dims, name);

        public override string Initializer(string name, long[] values, long[] dims) => _ctx.AddInitializer(values, dims, name);

        public override void Node(string opType, string[] inputs, string[] outputs, params OnnxAttribute[] attributes)
        {
            var node = _ctx.CreateNode(opType, inputs, outputs, _ctx.GetNodeName(opType), "");
            foreach (var attribute in attributes)
            {
                if (attribute.Float is { } f)
                    node.AddAttribute(attribute.Name, (double)f);
                else
                    node.AddAttribute(attribute.Name, attribute.Int ?? 0);
            }
        }
    }
}
