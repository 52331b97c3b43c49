using MlNetMiniBatch.Network;

namespace MlNetMiniBatch.Training;

/// <summary>
/// Holds out an exact, seeded, class-stratified fraction of the training rows without storing which rows they are.
/// Every row gets a 64-bit hash of (seed, row id); a row is held out when its hash is below its class's threshold.
/// Thresholds are the exact quantiles found in two label-only passes: a 1,024-bin histogram of the hashes per class,
/// then the hashes of the one bin per class where the quantile falls. Row ids are stable under shuffling, so every
/// epoch agrees on the split. Regression uses one group (not stratified).
/// </summary>
internal sealed class ValidationSplit
{
    private const int BinBits = 10, Bins = 1 << BinBits;

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

    public static ValidationSplit Create(IDataView data, TrainingColumns columns, NeuralNetworkTask task, float fraction, int seed)
    {
        ulong stream = CounterRandom.Hash((ulong)(uint)seed, 0x5EED5EED);
        int groups = task == NeuralNetworkTask.Regression ? 1 : columns.ClassCount;
        var histograms = new long[groups, Bins];
        var totals = new long[groups];
        Scan(data, columns, groups, (group, hash) =>
        {
            histograms[group, (int)(hash >> (64 - BinBits))]++;
            totals[group]++;
        });

        var targets = totals.Select(n => (long)Math.Round(fraction * n, MidpointRounding.AwayFromZero)).ToArray();
        var boundaryBin = new int[groups];
        var needFromBoundary = new long[groups];
        for (int g = 0; g < groups; g++)
        {
            long below = 0;
            int bin = 0;
            while (bin < Bins - 1 && below + histograms[g, bin] <= targets[g])
                below += histograms[g, bin++];
            boundaryBin[g] = bin;
            needFromBoundary[g] = targets[g] - below;
        }

        var boundaryHashes = Enumerable.Range(0, groups).Select(_ => new List<ulong>()).ToArray();
        if (needFromBoundary.Any(n => n > 0))
            Scan(data, columns, groups, (group, hash) =>
            {
                if ((int)(hash >> (64 - BinBits)) == boundaryBin[group])
                    boundaryHashes[group].Add(hash);
            });
        var thresholds = new ulong[groups];
        for (int g = 0; g < groups; g++)
        {
            ulong binStart = (ulong)boundaryBin[g] << (64 - BinBits);
            if (needFromBoundary[g] == 0)
            {
                thresholds[g] = binStart;
                continue;
            }
            boundaryHashes[g].Sort();
            thresholds[g] = boundaryHashes[g][(int)needFromBoundary[g] - 1] + 1;
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

    private static ulong Hash(ulong stream, DataViewRowId id) => CounterRandom.Hash(stream ^ CounterRandom.Hash(id.High, 1), id.Low);
}
