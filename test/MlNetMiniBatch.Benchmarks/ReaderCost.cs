using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetMiniBatch.Tasks;
using MlNetMiniBatch.Training;

namespace MlNetMiniBatch.Benchmarks;

/// <summary>
/// What reading one training row costs on one thread with nothing else running, in the trainer's shuffled order unless
/// said otherwise: ML.NET's cursor step by step (MoveNext alone, with the label getter, with the feature getter too; the
/// last also in cursor order), the trainer's reader (over a filled cache it reads the stored features in place and copies
/// each row once, with the finite check), the same reader through the getters (which copy each row twice: into the
/// getter's VBuffer, then into the batch), and the floor any reader has: copying the same rows in the same order out of
/// one flat array.
/// </summary>
internal static class ReaderCost
{
    public readonly record struct PerRow(double MoveNext, double WithLabel, double CursorShuffled, double CursorSequential, double ReaderShuffled,
        double ReaderThroughGetters, double FlatCopy, long Rows, double GettersOverInPlace, double GatheredOne, double GatheredMany, int Threads)
    {
    }

    /// <summary>Median seconds per row (and, as <see cref="PerRow.GettersOverInPlace"/>, the median of each pass's ratio of
    /// the reader through the getters to the reader in place: robust to load that drifts between passes) over <paramref name="passes"/> full passes of each kind, alternating.</summary>
    public static PerRow Measure(IDataView train, NeuralNetworkOptions options, int passes, int threads)
    {
        var columns = TrainingColumns.Bind(train.Schema, NeuralNetworkTask.MulticlassClassification, options, "training");
        var source = DataSource.Training(train, columns, options, null);
        var throughGetters = DataSource.Training(new GetterOnlyView(train), columns, options, null);
        var batch = new Batch(512, columns.FeatureCount);
        var (flat, order) = Flatten(train, columns, new Random(1));
        long rows = order.Length;
        var samples = new List<double>[9];
        for (int i = 0; i < samples.Length; i++) samples[i] = new List<double>();
        for (int pass = 0; pass <= passes; pass++) // pass 0 warms up
        {
            var shuffle = () => new Random(pass + 1);
            // The two readers swap places every pass: a pass's position in the sequence (load bursts, a background
            // GC after the flat copy's allocation) must not pass for a difference between them.
            bool inPlaceFirst = pass % 2 == 0;
            double first = inPlaceFirst ? Reader(source, batch, pass + 1, inPlace: true) : Reader(throughGetters, batch, pass + 1, inPlace: false);
            double second = inPlaceFirst ? Reader(throughGetters, batch, pass + 1, inPlace: false) : Reader(source, batch, pass + 1, inPlace: true);
            double[] seconds =
            {
                Cursor(train, columns, shuffle(), label: false, features: false),
                Cursor(train, columns, shuffle(), label: true, features: false),
                Cursor(train, columns, shuffle(), label: true, features: true),
                Cursor(train, columns, null, label: true, features: true),
                inPlaceFirst ? first : second,
                inPlaceFirst ? second : first,
                FlatCopy(flat, order, batch),
                Gathered(source, batch, pass + 1, 1),
                Gathered(source, batch, pass + 1, threads),
            };
            if (pass == 0) continue;
            for (int i = 0; i < seconds.Length; i++) samples[i].Add(seconds[i] / rows);
        }
        double M(int i) => Stats.Median(samples[i]);
        var ratios = samples[5].Zip(samples[4], (getters, inPlace) => getters / inPlace).ToList();
        return new PerRow(M(0), M(1), M(2), M(3), M(4), M(5), M(6), rows, Stats.Median(ratios), M(7), M(8), threads);
    }

    private static double Cursor(IDataView data, TrainingColumns columns, Random? shuffle, bool label, bool features)
    {
        using var cursor = data.GetRowCursor(columns.All, shuffle);
        var getLabel = cursor.GetGetter<uint>(columns.Label);
        var getFeatures = cursor.GetGetter<VBuffer<float>>(columns.Features);
        uint key = 0;
        VBuffer<float> values = default;
        long start = Stopwatch.GetTimestamp();
        while (cursor.MoveNext())
        {
            if (label) getLabel(ref key);
            if (features) getFeatures(ref values);
        }
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>Every row's features in one array (dense), and the order a cursor shuffled with <paramref name="shuffle"/> reads them in.</summary>
    private static (float[] Flat, int[] Order) Flatten(IDataView data, TrainingColumns columns, Random shuffle)
    {
        int d = columns.FeatureCount;
        var flat = new float[checked((int)data.GetRowCount()!.Value * d)];
        using (var cursor = data.GetRowCursor(columns.All))
        {
            var getFeatures = cursor.GetGetter<VBuffer<float>>(columns.Features);
            VBuffer<float> values = default;
            for (int row = 0; cursor.MoveNext(); row++)
            {
                getFeatures(ref values);
                values.CopyTo(flat.AsSpan(row * d, d));
            }
        }
        var order = new List<int>();
        using (var cursor = data.GetRowCursor(columns.All, shuffle))
        {
            var id = cursor.GetIdGetter();
            DataViewRowId rowId = default;
            while (cursor.MoveNext())
            {
                id(ref rowId);
                order.Add((int)rowId.Low);
            }
        }
        return (flat, order.ToArray());
    }

    /// <summary>The rows copied in <paramref name="order"/> into a batch-sized buffer, with the trainer's finite check.</summary>
    private static double FlatCopy(float[] flat, int[] order, Batch batch)
    {
        int d = batch.FeatureCount, slot = 0;
        long start = Stopwatch.GetTimestamp();
        foreach (int row in order)
        {
            if (!BatchReader.AllFinite(flat.AsSpan(row * d, d), batch.Features.AsSpan(slot * d, d)))
                throw new InvalidOperationException("A non-finite feature in the benchmark data.");
            slot = slot + 1 == batch.Capacity ? 0 : slot + 1;
        }
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>The training pass's way: the reader notes each row's cache index, then the batch's features are gathered
    /// on <paramref name="threads"/> threads.</summary>
    private static double Gathered(DataSource source, Batch batch, int seed, int threads)
    {
        using var reader = source.Open(seed, TargetScaling.Identity, gatherLater: true);
        if (!((BatchReader)reader).GathersLater)
            throw new InvalidOperationException("The benchmark expected the reader to leave the feature copy to the gather.");
        long start = Stopwatch.GetTimestamp();
        while (source.Read(reader, batch, batch.Capacity))
            source.Gather(batch, threads);
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static double Reader(DataSource source, Batch batch, int seed, bool inPlace)
    {
        using var reader = source.Open(seed, TargetScaling.Identity);
        if (((BatchReader)reader).ReadsCacheInPlace != inPlace)
            throw new InvalidOperationException($"The benchmark expected the reader {(inPlace ? "" : "not ")}to read the cache in place.");
        long start = Stopwatch.GetTimestamp();
        while (source.Read(reader, batch, batch.Capacity)) { }
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
