using System.Runtime.InteropServices;
using System.Text;

namespace MlNetMiniBatch.Distributed;

/// <summary>The few calls of Open MPI's C library (libmpi.so.40) that data-parallel training needs. The library is
/// loaded on first use, so that a process that never trains across ranks needs no native library.</summary>
/// <remarks>Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_ERRORS_RETURN, ...) are the addresses of
/// exported globals, so they are resolved with <see cref="NativeLibrary.GetExport"/>, like the functions. Every non-zero
/// return code becomes an <see cref="MpiException"/>; that needs MPI_ERRORS_RETURN on the communicator, which
/// <see cref="SetErrorsReturn"/> sets (Open MPI's default handler aborts the whole job instead).</remarks>
internal sealed unsafe class OpenMpi
{
    public const string LibraryName = "libmpi.so.40";
    public const int ThreadSerialized = 2; // MPI_THREAD_SERIALIZED in mpi.h's enum

    private const int MaxErrorString = 256; // MPI_MAX_ERROR_STRING
    private static readonly IntPtr InPlace = 1; // MPI_IN_PLACE is ((void *) 1)

    private static readonly Lazy<OpenMpi> s_library = new(() => Load(LibraryName));

    private readonly delegate* unmanaged<int*, IntPtr, int, int*, int> _initThread;
    private readonly delegate* unmanaged<int*, int> _initialized;
    private readonly delegate* unmanaged<int*, int> _finalized;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly delegate* unmanaged<IntPtr, int*, int> _commRank;
    private readonly delegate* unmanaged<IntPtr, int*, int> _commSize;
    private readonly delegate* unmanaged<IntPtr, void*, int, IntPtr, IntPtr, IntPtr, int> _allreduce;
    private readonly delegate* unmanaged<IntPtr, void*, int, IntPtr, IntPtr, IntPtr, IntPtr*, int> _iallreduce;
    private readonly delegate* unmanaged<IntPtr*, IntPtr, int> _wait;
    private readonly delegate* unmanaged<IntPtr*, int*, IntPtr, int> _test;
    private readonly delegate* unmanaged<void*, int, IntPtr, int, IntPtr, int> _bcast;
    private readonly delegate* unmanaged<IntPtr, int> _barrier;
    private readonly delegate* unmanaged<IntPtr, IntPtr, int> _commSetErrhandler;
    private readonly delegate* unmanaged<int, byte*, int*, int> _errorString;
    private readonly delegate* unmanaged<IntPtr, int, int> _abort;

    private OpenMpi(IntPtr library)
    {
        _initThread = (delegate* unmanaged<int*, IntPtr, int, int*, int>)Export(library, "MPI_Init_thread");
        _initialized = (delegate* unmanaged<int*, int>)Export(library, "MPI_Initialized");
        _finalized = (delegate* unmanaged<int*, int>)Export(library, "MPI_Finalized");
        _finalize = (delegate* unmanaged<int>)Export(library, "MPI_Finalize");
        _commRank = (delegate* unmanaged<IntPtr, int*, int>)Export(library, "MPI_Comm_rank");
        _commSize = (delegate* unmanaged<IntPtr, int*, int>)Export(library, "MPI_Comm_size");
        _allreduce = (delegate* unmanaged<IntPtr, void*, int, IntPtr, IntPtr, IntPtr, int>)Export(library, "MPI_Allreduce");
        _iallreduce = (delegate* unmanaged<IntPtr, void*, int, IntPtr, IntPtr, IntPtr, IntPtr*, int>)Export(library, "MPI_Iallreduce");
        _wait = (delegate* unmanaged<IntPtr*, IntPtr, int>)Export(library, "MPI_Wait");
        _test = (delegate* unmanaged<IntPtr*, int*, IntPtr, int>)Export(library, "MPI_Test");
        _bcast = (delegate* unmanaged<void*, int, IntPtr, int, IntPtr, int>)Export(library, "MPI_Bcast");
        _barrier = (delegate* unmanaged<IntPtr, int>)Export(library, "MPI_Barrier");
        _commSetErrhandler = (delegate* unmanaged<IntPtr, IntPtr, int>)Export(library, "MPI_Comm_set_errhandler");
        _errorString = (delegate* unmanaged<int, byte*, int*, int>)Export(library, "MPI_Error_string");
        _abort = (delegate* unmanaged<IntPtr, int, int>)Export(library, "MPI_Abort");
        CommWorld = Export(library, "ompi_mpi_comm_world");
        Float = Export(library, "ompi_mpi_float");
        Double = Export(library, "ompi_mpi_double");
        Sum = Export(library, "ompi_mpi_op_sum");
        ErrorsReturn = Export(library, "ompi_mpi_errors_return");
    }

    /// <summary>Open MPI's library, loaded on the first call.</summary>
    /// <exception cref="DllNotFoundException">libmpi.so.40 is not installed; the message says how to install it.</exception>
    public static OpenMpi Library => s_library.Value;

    /// <summary>Whether <see cref="Library"/> has been loaded in this process.</summary>
    public static bool IsLoaded => s_library.IsValueCreated;

    public IntPtr CommWorld { get; }
    public IntPtr Float { get; }
    public IntPtr Double { get; }
    public IntPtr Sum { get; }
    public IntPtr ErrorsReturn { get; }

    /// <summary>Loads <paramref name="libraryName"/> and resolves every function and handle this class uses.</summary>
    internal static OpenMpi Load(string libraryName)
    {
        if (!NativeLibrary.TryLoad(libraryName, out var library))
            throw new DllNotFoundException(
                $"Distributed training needs Open MPI's C library {libraryName}, which could not be loaded. Install Open MPI " +
                "(Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev), or add its lib folder to LD_LIBRARY_PATH.");
        return new OpenMpi(library);
    }

    public bool Initialized()
    {
        int flag;
        Check(_initialized(&flag), "MPI_Initialized");
        return flag != 0;
    }

    public bool Finalized()
    {
        int flag;
        Check(_finalized(&flag), "MPI_Finalized");
        return flag != 0;
    }

    /// <summary>MPI_Init_thread with no command line; returns the thread level the library provides.</summary>
    public int InitThread(int required)
    {
        int provided;
        Check(_initThread(null, IntPtr.Zero, required, &provided), "MPI_Init_thread");
        return provided;
    }

    public void FinalizeMpi() => Check(_finalize(), "MPI_Finalize");

    public int CommRank(IntPtr communicator)
    {
        int rank;
        Check(_commRank(communicator, &rank), "MPI_Comm_rank");
        return rank;
    }

    public int CommSize(IntPtr communicator)
    {
        int size;
        Check(_commSize(communicator, &size), "MPI_Comm_size");
        return size;
    }

    /// <summary>Makes MPI calls on <paramref name="communicator"/> return error codes instead of aborting the job.</summary>
    public void SetErrorsReturn(IntPtr communicator) =>
        Check(_commSetErrhandler(communicator, ErrorsReturn), "MPI_Comm_set_errhandler");

    /// <summary>MPI_Allreduce with MPI_IN_PLACE: <paramref name="buffer"/> holds this rank's values, then the reduction.</summary>
    public void AllreduceInPlace(void* buffer, int count, IntPtr datatype, IntPtr operation, IntPtr communicator) =>
        Check(_allreduce(InPlace, buffer, count, datatype, operation, communicator), "MPI_Allreduce");

    /// <summary>MPI_Iallreduce with MPI_IN_PLACE; the buffer must stay pinned until <see cref="Wait"/> returns.</summary>
    public IntPtr StartAllreduceInPlace(void* buffer, int count, IntPtr datatype, IntPtr operation, IntPtr communicator)
    {
        IntPtr request;
        Check(_iallreduce(InPlace, buffer, count, datatype, operation, communicator, &request), "MPI_Iallreduce");
        return request;
    }

    /// <summary>MPI_Wait with MPI_STATUS_IGNORE; sets <paramref name="request"/> to MPI_REQUEST_NULL.</summary>
    public void Wait(ref IntPtr request)
    {
        fixed (IntPtr* pointer = &request)
            Check(_wait(pointer, IntPtr.Zero), "MPI_Wait");
    }

    /// <summary>MPI_Test with MPI_STATUS_IGNORE: whether the request is done (then it is set to MPI_REQUEST_NULL).
    /// Open MPI advances non-blocking collectives mostly inside such calls.</summary>
    public bool Test(ref IntPtr request)
    {
        int flag;
        fixed (IntPtr* pointer = &request)
            Check(_test(pointer, &flag, IntPtr.Zero), "MPI_Test");
        return flag != 0;
    }

    public void Bcast(void* buffer, int count, IntPtr datatype, int root, IntPtr communicator) =>
        Check(_bcast(buffer, count, datatype, root, communicator), "MPI_Bcast");

    public void Barrier(IntPtr communicator) => Check(_barrier(communicator), "MPI_Barrier");

    /// <summary>MPI_Abort: mpirun ends every process of the job, this one included, and exits with <paramref name="errorCode"/>.</summary>
    public void Abort(IntPtr communicator, int errorCode) => Check(_abort(communicator, errorCode), "MPI_Abort");

    /// <summary>MPI's text for <paramref name="errorCode"/>.</summary>
    public string ErrorString(int errorCode)
    {
        byte* text = stackalloc byte[MaxErrorString];
        int length;
        return _errorString(errorCode, text, &length) == 0 ? Encoding.ASCII.GetString(text, length) : "no text for this code";
    }

    private void Check(int returnCode, string call)
    {
        if (returnCode != 0)
            throw new MpiException(call, returnCode, ErrorString(returnCode), RankForMessages());
    }

    // The rank as mpirun announced it: asking MPI_Comm_rank while reporting an MPI failure could fail again, or come
    // before MPI_Init.
    private static string RankForMessages() =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK") is { Length: > 0 } rank ? rank : "?";

    private static IntPtr Export(IntPtr library, string name) =>
        NativeLibrary.TryGetExport(library, name, out var address)
            ? address
            : throw new EntryPointNotFoundException($"{LibraryName} has no export {name}: distributed training needs Open MPI 4 or later.");
}
