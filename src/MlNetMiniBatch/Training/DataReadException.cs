using System.Data.Common;

namespace MlNetMiniBatch.Training;

/// <summary>
/// The data view's own source failed while training read it: a database connection dropped, a file vanished, a
/// value the loader could not convert. Thrown by <see cref="DataSource"/>, which knows the data's name but not the
/// epoch; <see cref="InEpoch{T}"/> adds the epoch and is what the caller of Fit sees, with the source's exception as
/// the inner exception.
/// </summary>
internal sealed class DataReadException(string message, Exception source) : InvalidOperationException(message, source)
{
    /// <summary>Runs one pass of an epoch, turning a read failure into the error the user sees.</summary>
    public static T InEpoch<T>(int epoch, Func<T> pass)
    {
        try
        {
            return pass();
        }
        catch (DataReadException e)
        {
            throw Stopped($"in epoch {epoch}", e, "ResumeFromCheckpoint = true continues after the last completed epoch");
        }
    }

    /// <summary>Runs the streaming shuffle's first pass, which copies the rows before epoch 1.</summary>
    public static void WhileDealing(Action pass)
    {
        try
        {
            pass();
        }
        catch (DataReadException e)
        {
            throw Stopped("before epoch 1, while the streaming shuffle copied the rows to its temporary files", e,
                "ResumeFromCheckpoint = true resumes an interrupted run (the copy is made again first)");
        }
    }

    private static InvalidOperationException Stopped(string when, DataReadException e, string resume) => new(
        $"Training stopped {when}: {e.Message} No model is returned. With CheckpointDirectory set, {resume} once the source is back or fixed.",
        e.InnerException);

    /// <summary>The error for an exception raised by the data view's cursor or getters.</summary>
    public static DataReadException Failed(string dataName, long rowsRead, Exception thrown)
    {
        var cause = Cause(thrown);
        return new($"reading the {dataName} data failed after {rowsRead} rows of the pass ({cause.GetType().Name}: {cause.Message}).", cause);
    }

    /// <summary>Whether opening a cursor failed because of the source (not because of a bad argument, which the
    /// trainer has checked before): databases and files, whether or not a parallel cursor wrapped it.</summary>
    public static bool IsSourceFailure(Exception e) => Chain(e).Any(IsSourceType);

    private static bool IsSourceType(Exception e) => e is DbException or IOException or TimeoutException;

    /// <summary>Whether a value is not of the type the loader declared (Npgsql: "Reading as 'System.Single' is not
    /// supported for fields having DataTypeName 'text'"), or does not fit in it; also when a transform's parallel
    /// cursor has wrapped such an error in its own.</summary>
    public static bool IsConversionFailure(Exception e) => Chain(e).Any(x => x is InvalidCastException or OverflowException or FormatException);

    /// <summary>The exception that says what went wrong: ML.NET's parallel cursors (the "splitter/consolidator" of
    /// transforms such as MapValueToKey) wrap the source's exception in an InvalidOperationException of their own.</summary>
    private static Exception Cause(Exception e) =>
        Chain(e).FirstOrDefault(x => IsSourceType(x) || x is InvalidCastException or OverflowException or FormatException) ?? e;

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            yield return x;
    }

    /// <summary>The error for a value that cannot be converted. Which of the trainer's columns fails is found by
    /// reading each one alone from a new cursor, no further than where the pass failed (plus a margin for
    /// read-ahead): the exception cannot tell, since parallel cursors raise it from MoveNext, not from a getter.</summary>
    public static DataReadException WrongType(IDataView data, TrainingColumns columns, string dataName, long rowsRead, Exception thrown)
    {
        var cause = Cause(thrown);
        var column = FindUnreadableColumn(data, columns, rowsRead + 10_000);
        string which = column is { } c ? $"column '{c.Name}' ({c.Type})" : "columns " + string.Join(", ", columns.All.Select(x => $"'{x.Name}'"));
        string itemType = column is { } t ? (t.Type is VectorDataViewType vector ? vector.ItemType : t.Type).RawType.Name : "Single";
        return new DataReadException(
            $"the {dataName} data's {which} cannot be read: {cause.Message}. The source holds values of another type than " +
            $"the loader declares ({itemType}). For a database, cast the column in the query (SELECT CAST(x AS {SqlTypeFor(itemType)}) AS x ...) " +
            "or declare the loader column with the DbType of the table's column and convert it afterwards " +
            "(mlContext.Transforms.Conversion.ConvertType).", cause);
    }

    private static DataViewSchema.Column? FindUnreadableColumn(IDataView data, TrainingColumns columns, long maxRows)
    {
        foreach (var column in columns.All)
        {
            try
            {
                using var cursor = data.GetRowCursor([column]);
                var read = ReadAction(cursor, column);
                for (long row = 0; row < maxRows && cursor.MoveNext(); row++)
                    read();
            }
            catch (Exception e) when (IsConversionFailure(e))
            {
                return column;
            }
            catch (Exception e) when (IsSourceFailure(e))
            {
                return null; // the source itself is gone: nothing more to learn
            }
        }
        return null;
    }

    /// <summary>Reads the column's value in its own type, the way the trainer's getters do.</summary>
    private static Action ReadAction(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var method = typeof(DataReadException).GetMethod(nameof(ReadGeneric), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        return (Action)method.MakeGenericMethod(column.Type.RawType).Invoke(null, [cursor, column])!;
    }

    private static Action ReadGeneric<TValue>(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var getter = cursor.GetGetter<TValue>(column);
        TValue value = default!;
        return () => getter(ref value);
    }

    private static string SqlTypeFor(string itemType) => itemType switch
    {
        "Double" => "double precision",
        "Int32" or "UInt32" => "integer",
        "Int64" or "UInt64" => "bigint",
        "Int16" or "UInt16" => "smallint",
        "Boolean" => "boolean",
        "Byte" or "SByte" => "smallint",
        _ => "real",
    };
}
