using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Holds out an exact, seeded, class-stratified fraction of the training rows without storing which rows they are.
/// Every row gets a 64-bit hash of (seed, row id); a row is held out when its hash is below its class's threshold.
/// Thresholds are the exact quantiles found in two label-only passes: a histogram of the hashes per class (1,024 bins,
/// fewer when there are so many classes that all histograms together would pass <see cref="MaxHistogramCells"/>),
/// then the hashes of the one bin per class where the quantile falls. Row ids are stable under shuffling, so every
/// epoch agrees on the split. Regression uses one group (not stratified).
/// </summary>
internal sealed class ValidationSplit
{
    private const int MaxBinBits = 10;

    /// <summary>Bound on the histogram cells of all classes together (16 MB of counts), so that a label with a
    /// million classes costs a few bins per class rather than gigabytes.</summary>
    internal const int MaxHistogramCells = 1 << 21;

    private readonly ulong _stream;
    private readonly ulong[] _thresholds;

    private ValidationSplit(ulong stream, ulong[] thresholds)
    {
        _stream = stream;
        _thresholds = thresholds;
    }

    public long ValidationRows { get; private init; }

    public long TrainingRows { get; private init; }

    public bool IsHeldOut(DataViewRowId id, int group) => Hash(_stream, id) < _thresholds[group];

    /// <summary>Whether the cursor's current row lies on the held-out side (<paramref name="heldOutSide"/> true) or the
    /// training side. A classification row without a label lies on the training side, where it is reported as invalid.</summary>
    public bool OnSide(bool heldOutSide, LabelGetter label, ValueGetter<DataViewRowId> getId)
    {
        int group = 0;
        if (_thresholds.Length > 1)
        {
            if (!label.TryGet(out float value))
                return !heldOutSide;
            group = (int)value;
        }
        DataViewRowId id = default;
        getId(ref id);
        return IsHeldOut(id, group) == heldOutSide;
    }

    /// <summary>Bits of the hash that pick a row's histogram bin: 10, or fewer for very many groups.</summary>
    internal static int BinBitsFor(int groups)
    {
        int bits = MaxBinBits;
        while (bits > 0 && ((long)groups << bits) > MaxHistogramCells)
            bits--;
        return bits;
    }

    public static ValidationSplit Create(IDataView data, TrainingColumns columns, Tasks.TrainingTask task, float fraction, int seed,
        CancellationToken cancellation = default)
    {
        ulong stream = CounterRandom.Hash((ulong)(uint)seed, 0x5EED5EED);
        int groups = task.StratificationGroups(columns.ClassCount);
        int binBits = BinBitsFor(groups), bins = 1 << binBits;
        var histograms = new long[(long)groups * bins];
        var totals = new long[groups];
        Scan(data, columns, groups, (group, hash) =>
        {
            histograms[(long)group * bins + Bin(hash, binBits)]++;
            totals[group]++;
        });

        var targets = totals.Select(n => (long)Math.Round(fraction * n, MidpointRounding.AwayFromZero)).ToArray();
        var boundaryBin = new int[groups];
        var needFromBoundary = new long[groups];
        for (int g = 0; g < groups; g++)
        {
            long below = 0;
            int bin = 0;
            long row = (long)g * bins;
            while (bin < bins - 1 && below + histograms[row + bin] <= targets[g])
                below += histograms[row + bin++];
            boundaryBin[g] = bin;
            needFromBoundary[g] = targets[g] - below;
        }

        // Only the groups whose quantile falls inside a bin keep that bin's hashes; lists are made when first needed.
        var boundaryHashes = new List<ulong>?[groups];
        if (needFromBoundary.Any(n => n > 0))
            Scan(data, columns, groups, (group, hash) =>
            {
                if (needFromBoundary[group] > 0 && Bin(hash, binBits) == boundaryBin[group])
                    (boundaryHashes[group] ??= []).Add(hash);
            });
        var thresholds = new ulong[groups];
        for (int g = 0; g < groups; g++)
        {
            ulong binStart = binBits == 0 ? 0 : (ulong)boundaryBin[g] << (64 - binBits);
            if (needFromBoundary[g] == 0)
            {
                thresholds[g] = binStart;
                continue;
            }
            var hashes = boundaryHashes[g]!;
            hashes.Sort();
            thresholds[g] = hashes[(int)needFromBoundary[g] - 1] + 1;
        }
        long held = targets.Sum();
        return new ValidationSplit(stream, thresholds) { ValidationRows = held, TrainingRows = totals.Sum() - held };

        void Scan(IDataView view, TrainingColumns cols, int groupCount, Action<int, ulong> visit)
        {
            using var cursor = view.GetRowCursor(new[] { cols.Label });
            var label = LabelGetter.Create(cursor, cols.Label, cols.ClassCount);
            var getId = cursor.GetIdGetter();
            DataViewRowId id = default;
            while (cursor.MoveNext())
            {
                cancellation.ThrowIfCancellationRequested();
                int group = 0;
                if (groupCount > 1)
                {
                    if (!label.TryGet(out float value))
                        continue; // rows without a label are neither trained nor validated on
                    group = (int)value;
                }
                getId(ref id);
                visit(group, Hash(stream, id));
            }
        }
    }

    private static int Bin(ulong hash, int binBits) => binBits == 0 ? 0 : (int)(hash >> (64 - binBits));

    private static ulong Hash(ulong stream, DataViewRowId id) => CounterRandom.Hash(stream ^ CounterRandom.Hash(id.High, 1), id.Low);
}
