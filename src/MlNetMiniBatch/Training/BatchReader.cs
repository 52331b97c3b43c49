using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Tasks;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Reads rows from one cursor pass into <see cref="Batch"/> buffers: getters are made once per pass, the feature
/// VBuffer is reused, sparse rows are scattered into the dense batch row. Nothing per row is allocated and nothing
/// beyond one batch is held, so memory does not depend on the number of rows. Over a filled CacheDataView the
/// features are read in place instead (<see cref="CachedFeatures"/>); the rows, values and problems are the same.
/// </summary>
internal sealed class BatchReader : IBatchReader
{
    private readonly DataViewRowCursor _cursor;
    private readonly ValueGetter<VBuffer<float>> _getFeatures;
    private readonly LabelGetter _getLabel;
    private readonly ValueGetter<float>? _getWeight;
    private readonly bool _skipInvalidRows;
    private readonly float[] _targetShift, _targetScale;
    private readonly float[]? _classWeights;
    private readonly ValidationSplit? _split;
    private readonly bool _heldOutSide;
    private readonly ValueGetter<DataViewRowId>? _getId;
    private readonly CachedFeatures? _cachedFeatures;
    private readonly bool _gatherLater;
    private VBuffer<float> _featureBuffer;

    /// <param name="split">When set, only the rows on one side of the split are read: the held-out ones when
    /// <paramref name="heldOutSide"/> is true, the others otherwise.</param>
    /// <param name="scaling">How targets are standardised: one (mean, standard deviation) pair per target, or one for all.</param>
    /// <param name="gatherLater">Over a filled CacheDataView, leave the feature copy to <see cref="Batch.GatherFeatures"/>
    /// (only without SkipInvalidRows: there a row's features must be checked before it may take a place in the batch).</param>
    public BatchReader(IDataView data, TrainingColumns columns, Random? shuffle, bool skipInvalidRows,
        TargetScaling? scaling = null, float[]? classWeights = null, ValidationSplit? split = null, bool heldOutSide = false,
        bool gatherLater = false)
    {
        _cursor = data.GetRowCursor(columns.All, shuffle);
        _getFeatures = _cursor.GetGetter<VBuffer<float>>(columns.Features);
        _getLabel = LabelGetter.Create(_cursor, columns.Label, columns.ClassCount);
        _getWeight = columns.Weight is { } w ? NumericGetter.Create(_cursor, w) : null;
        _skipInvalidRows = skipInvalidRows;
        scaling ??= TargetScaling.Identity;
        int targets = columns.TargetCount;
        if (scaling.Count != 1 && scaling.Count != targets)
            throw new InvalidOperationException($"The label scaling has {scaling.Count} pairs for {targets} targets per row.");
        _targetShift = new float[targets];
        _targetScale = new float[targets];
        for (int j = 0; j < targets; j++)
        {
            _targetShift[j] = scaling.Mean[scaling.Count == 1 ? 0 : j];
            _targetScale[j] = scaling.StandardDeviation[scaling.Count == 1 ? 0 : j];
        }
        _classWeights = classWeights;
        _split = split;
        _heldOutSide = heldOutSide;
        _getId = split is null ? null : _cursor.GetIdGetter();
        _cachedFeatures = CachedFeatures.TryCreate(data, columns.Features, columns.FeatureCount, _cursor);
        _gatherLater = gatherLater && !skipInvalidRows && _cachedFeatures is not null;
    }

    /// <summary>Whether this pass reads the features in place from a CacheDataView rather than through the getter.</summary>
    internal bool ReadsCacheInPlace => _cachedFeatures is not null;

    /// <summary>Whether this pass's batches come with their feature copy pending (<see cref="Batch.PendingFeatures"/>).</summary>
    internal bool GathersLater => _gatherLater;

    /// <summary>Rows skipped as invalid so far (only with SkipInvalidRows; otherwise the first one throws).</summary>
    public long SkippedRows { get; private set; }

    /// <summary>Fills the batch with up to <paramref name="batchSize"/> valid rows; returns false when the pass is over
    /// and nothing was read. Fewer rows than batchSize come only at the end of the pass.</summary>
    public bool Read(Batch batch, int batchSize)
    {
        int d = batch.FeatureCount;
        int count = 0;
        while (count < batchSize && _cursor.MoveNext())
        {
            if (count == batch.Capacity)
                batch.Grow((int)Math.Min(batchSize, 2L * batch.Capacity));
            if (_split is not null && !_split.OnSide(_heldOutSide, _getLabel, _getId!))
                continue;
            var problem = _gatherLater
                ? ReadAllButFeatures(batch, count)
                : ReadRow(batch.Features.AsSpan(count * d, d), batch.TargetRow(count), out batch.Weights[count]);
            if (problem == RowProblem.None)
            {
                count++;
            }
            else if (_skipInvalidRows)
            {
                SkippedRows++;
            }
            else
            {
                throw new InvalidRowException(problem);
            }
        }
        batch.Count = count;
        batch.PendingFeatures = _gatherLater && count > 0 ? _cachedFeatures : null;
        return count > 0;
    }

    /// <summary>Without SkipInvalidRows every row on this reader's side of the split counts, valid or not (an invalid
    /// one stops training when it is read).</summary>
    public bool CanPassOver => !_skipInvalidRows;

    /// <summary>Moves the cursor past rows on this reader's side of the split; of a row, only what the split needs to
    /// place it is read (its id, and for a stratified split its label).</summary>
    public int PassOver(int rows)
    {
        int passed = 0;
        while (passed < rows && _cursor.MoveNext())
        {
            if (_split is null || _split.OnSide(_heldOutSide, _getLabel, _getId!))
                passed++;
        }
        return passed;
    }

    /// <summary>Reads the current row's features into <paramref name="buffer"/>, its label (<paramref name="labelValues"/>,
    /// one per target) and its weight, and says
    /// what, if anything, makes it unusable. The one place the validity rules live: training reads and the bad-row
    /// report both go through it. A dense row is also copied to <paramref name="denseRow"/> when that is not empty
    /// (in the same pass as the finite check: reading rows is what the prefetch thread spends its time on).</summary>
    public static RowProblem Check(ValueGetter<VBuffer<float>> features, LabelGetter label, ValueGetter<float>? weight,
        ref VBuffer<float> buffer, Span<float> labelValues, out float weightValue, Span<float> denseRow = default)
    {
        weightValue = 1;
        features(ref buffer);
        bool copy = !denseRow.IsEmpty && buffer.IsDense;
        if (!AllFinite(buffer.GetValues(), copy ? denseRow : default))
            return RowProblem.NonFiniteFeature;
        return CheckLabelAndWeight(label, weight, labelValues, out weightValue);
    }

    /// <summary>The checks after the features', in <see cref="Check"/>'s order.</summary>
    private static RowProblem CheckLabelAndWeight(LabelGetter label, ValueGetter<float>? weight, Span<float> labelValues, out float weightValue)
    {
        weightValue = 1;
        if (!label.TryGet(labelValues))
            return RowProblem.MissingLabel;
        if (weight is not null)
        {
            weight(ref weightValue);
            if (!(weightValue >= 0 && float.IsFinite(weightValue)))
                return RowProblem.InvalidWeight;
        }
        return RowProblem.None;
    }

    private RowProblem ReadRow(Span<float> featureRow, Span<float> targets, out float weight)
    {
        if (_cachedFeatures is not null)
        {
            weight = 1;
            if (!_cachedFeatures.TryRead(featureRow))
                return RowProblem.NonFiniteFeature;
            var rest = CheckLabelAndWeight(_getLabel, _getWeight, targets, out weight);
            if (rest != RowProblem.None)
                return rest;
        }
        else
        {
            var problem = Check(_getFeatures, _getLabel, _getWeight, ref _featureBuffer, targets, out weight, featureRow);
            if (problem != RowProblem.None)
                return problem;
            if (!_featureBuffer.IsDense)
                Scatter(_featureBuffer, featureRow);
        }
        Transform(targets, ref weight);
        return RowProblem.None;
    }

    /// <summary>Reads the current row's label and weight into batch row <paramref name="row"/>, and notes the cache row its
    /// features are to be gathered from.</summary>
    private RowProblem ReadAllButFeatures(Batch batch, int row)
    {
        batch.CacheRows[row] = _cachedFeatures!.CurrentRow();
        var targets = batch.TargetRow(row);
        var problem = CheckLabelAndWeight(_getLabel, _getWeight, targets, out batch.Weights[row]);
        if (problem == RowProblem.None)
            Transform(targets, ref batch.Weights[row]);
        return problem;
    }

    /// <summary>Standardises the targets and applies the class weight.</summary>
    private void Transform(Span<float> targets, ref float weight)
    {
        float label = targets[0];
        for (int j = 0; j < targets.Length; j++)
            targets[j] = (targets[j] - _targetShift[j]) / _targetScale[j];
        // Class weights exist for a one-class-per-row label only (the options refuse them for the others).
        if (_classWeights is not null)
            weight *= _classWeights[(int)label];
    }

    private static void Scatter(in VBuffer<float> sparse, Span<float> featureRow)
    {
        featureRow.Clear();
        var values = sparse.GetValues();
        var indices = sparse.GetIndices();
        for (int i = 0; i < indices.Length; i++)
            featureRow[indices[i]] = values[i];
    }

    /// <summary>Whether every value is finite; also copies them to <paramref name="copyTo"/> unless it is empty (one pass
    /// for the training read). x − x is 0 for every finite x and NaN for NaN and ±∞, so one compare per vector finds both.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool AllFinite(ReadOnlySpan<float> values, Span<float> copyTo = default)
    {
        bool copy = !copyTo.IsEmpty;
        if (copy)
            copyTo = copyTo.Slice(0, values.Length);
        ref float source = ref MemoryMarshal.GetReference(values);
        ref float target = ref MemoryMarshal.GetReference(copyTo);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var bad = Vector512<float>.Zero;
            for (; i <= values.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var v = Vector512.LoadUnsafe(ref source, (nuint)i);
                if (copy)
                    v.StoreUnsafe(ref target, (nuint)i);
                bad |= ~Vector512.Equals(v - v, Vector512<float>.Zero);
            }
            if (bad != Vector512<float>.Zero)
                return false;
        }
        else if (Vector.IsHardwareAccelerated)
        {
            var bad = Vector<int>.Zero;
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = Vector.LoadUnsafe(ref source, (nuint)i);
                if (copy)
                    v.StoreUnsafe(ref target, (nuint)i);
                bad |= ~Vector.Equals(v - v, Vector<float>.Zero);
            }
            if (bad != Vector<int>.Zero)
                return false;
        }
        for (; i < values.Length; i++)
        {
            float v = values[i];
            if (copy)
                copyTo[i] = v;
            if (!float.IsFinite(v))
                return false;
        }
        return true;
    }

    public void Dispose() => _cursor.Dispose();
}

/// <summary>Thrown by <see cref="BatchReader"/> at the first invalid row; the trainer turns it into a counted report.</summary>
internal sealed class InvalidRowException(RowProblem problem) : Exception(problem.ToString())
{
    public RowProblem Problem { get; } = problem;
}
