using System.Buffers.Binary;
using System.Text;

namespace MlNetMiniBatch.Benchmarks.TorchSharpPeer;

/// <summary>
/// Lets TorchSharp 0.107's native glue load on a libstdc++ older than GCC 13 (Debian 12 has GCC 12's, which defines
/// versions up to GLIBCXX_3.4.30).
/// </summary>
/// <remarks>
/// libLibTorchSharp.so was linked against GCC 13's libstdc++ and so asks for version GLIBCXX_3.4.32, and the dynamic
/// loader refuses it ("version `GLIBCXX_3.4.32' not found"). The only symbol it takes at that version is
/// <c>std::ios_base_library_init()</c>: GCC 13's &lt;iostream&gt; emits an undefined reference to it so the link pulls in
/// the library's stream initialisation, but no relocation refers to it and nothing calls it. (The streams are still
/// initialised: libtorch_cpu, loaded first, was built with an older GCC, whose &lt;iostream&gt; constructs
/// <c>std::ios_base::Init</c> objects.) Every other version it asks for GCC 12 has. So when the loaded libstdc++ lacks
/// GLIBCXX_3.4.32, this marks that one version requirement weak (VER_FLG_WEAK in its Vernaux entry), which the loader
/// accepts without the version; the file is rewritten in place in this program's output directory only (the NuGet
/// cache is left alone), and the build copies a fresh one over it, so the check runs at every start. The machine code,
/// and libtorch itself (whose kernels are what the benchmark measures), are untouched.
/// </remarks>
internal static class LibStdCxxCompat
{
    private const string Library = "libstdc++.so.6";
    private const string Version = "GLIBCXX_3.4.32";
    private const ushort VerFlagWeak = 0x2;
    private const uint SectionGnuVersionR = 0x6ffffffe;
    private static readonly byte[] ElfMagic = { 0x7f, (byte)'E', (byte)'L', (byte)'F' };

    /// <summary>What was done, for the peer's info line: null when nothing was needed.</summary>
    public static string? Apply()
    {
        if (!OperatingSystem.IsLinux()) return null;
        string glue = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(glue)) return null;
        string? libstdcxx = LoadedLibStdCxx();
        if (libstdcxx is null || Defines(libstdcxx, Version)) return null;
        byte[] image = File.ReadAllBytes(glue);
        switch (MarkWeak(image))
        {
            case Outcome.AlreadyWeak:
                return $"{Version} requirement of libLibTorchSharp.so already weak ({libstdcxx} lacks it)";
            case Outcome.NotRequired:
                return null;
            case Outcome.Marked:
                string temporary = glue + ".tmp";
                File.WriteAllBytes(temporary, image);
                File.Move(temporary, glue, overwrite: true);
                return $"{Version} requirement of libLibTorchSharp.so marked weak ({libstdcxx} lacks it)";
            default:
                throw new InvalidDataException($"{glue}: not a 64-bit little-endian ELF file with a version-needed section.");
        }
    }

    /// <summary>The libstdc++ this process has loaded (the .NET runtime links it), from /proc/self/maps.</summary>
    private static string? LoadedLibStdCxx()
    {
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/');
            if (slash >= 0 && Path.GetFileName(line.AsSpan(slash)).StartsWith("libstdc++.so", StringComparison.Ordinal))
                return line[slash..];
        }
        return null;
    }

    /// <summary>Whether the library's bytes hold the version name, NUL-terminated (its version definitions do).</summary>
    private static bool Defines(string path, string version)
    {
        byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
        return File.ReadAllBytes(path).AsSpan().IndexOf(needle) >= 0;
    }

    private enum Outcome { Malformed, NotRequired, AlreadyWeak, Marked }

    /// <summary>Sets VER_FLG_WEAK on the Vernaux entry of <see cref="Version"/> under <see cref="Library"/>.</summary>
    private static Outcome MarkWeak(byte[] image)
    {
        ReadOnlySpan<byte> elf = image;
        if (elf.Length < 64 || !elf[..4].SequenceEqual(ElfMagic) || elf[4] != 2 /* ELFCLASS64 */ || elf[5] != 1 /* little-endian */)
            return Outcome.Malformed;
        long sectionTable = (long)U64(elf, 0x28);
        int entrySize = U16(elf, 0x3a), count = U16(elf, 0x3c);
        for (int i = 0; i < count; i++)
        {
            int header = checked((int)(sectionTable + (long)i * entrySize));
            if (U32(elf, header + 4) != SectionGnuVersionR) continue;
            int strings = checked((int)(sectionTable + (long)U32(elf, header + 40) * entrySize)); // sh_link: the string table
            int stringsOffset = checked((int)U64(elf, strings + 24));
            int need = checked((int)U64(elf, header + 24));
            while (true)
            {
                int auxCount = U16(elf, need + 2);
                string file = Name(elf, stringsOffset, U32(elf, need + 4));
                int aux = need + (int)U32(elf, need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    if (file == Library && Name(elf, stringsOffset, U32(elf, aux + 8)) == Version)
                    {
                        ushort flags = U16(elf, aux + 4);
                        if ((flags & VerFlagWeak) != 0) return Outcome.AlreadyWeak;
                        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(aux + 4), (ushort)(flags | VerFlagWeak));
                        return Outcome.Marked;
                    }
                    aux += (int)U32(elf, aux + 12);
                }
                uint next = U32(elf, need + 12);
                if (next == 0) return Outcome.NotRequired;
                need += (int)next;
            }
        }
        return Outcome.Malformed;
    }

    private static string Name(ReadOnlySpan<byte> elf, int table, uint offset)
    {
        ReadOnlySpan<byte> rest = elf[(table + (int)offset)..];
        return Encoding.ASCII.GetString(rest[..rest.IndexOf((byte)0)]);
    }

    private static ushort U16(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b[at..]);

    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);

    private static ulong U64(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b[at..]);
}
