using Mono.Cecil;

// Writes a copy of each given assembly in which every type and member is public, keeping the assembly's identity
// (name, version, culture, public key), so that the C# compiler lets MlNetMiniBatch call ML.NET internals that the
// runtime then allows through [IgnoresAccessChecksTo]. The copy is for the compiler only: it is never loaded at run
// time, so its strong-name signature (left invalid here) does not matter.
//
// Usage: Publicizer <output directory> <assembly>... [--search <directory>]...
// Each output is written to a temporary file and moved into place, so a concurrent build never reads half a file.

var outputDirectory = "";
var inputs = new List<string>();
var searchDirectories = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--search" && i + 1 < args.Length)
        searchDirectories.Add(args[++i]);
    else if (outputDirectory.Length == 0)
        outputDirectory = args[i];
    else
        inputs.Add(args[i]);
}
if (outputDirectory.Length == 0 || inputs.Count == 0)
{
    Console.Error.WriteLine("Usage: Publicizer <output directory> <assembly>... [--search <directory>]...");
    return 2;
}

Directory.CreateDirectory(outputDirectory);
foreach (var input in inputs)
{
    using var resolver = new DefaultAssemblyResolver();
    resolver.AddSearchDirectory(Path.GetDirectoryName(Path.GetFullPath(input))!);
    foreach (var directory in searchDirectories)
        resolver.AddSearchDirectory(directory);
    using var module = ModuleDefinition.ReadModule(input, new ReaderParameters { AssemblyResolver = resolver, InMemory = true });
    int changed = 0;
    foreach (var type in module.GetTypes())
        changed += Publicize(type);

    string output = Path.Combine(outputDirectory, Path.GetFileName(input));
    string temporary = output + "." + Environment.ProcessId + ".tmp";
    module.Write(temporary);
    File.Move(temporary, output, overwrite: true);
    Console.WriteLine($"Publicizer: {module.Assembly.Name.FullName}: {changed} types and members made public -> {output}");
}
return 0;

static int Publicize(TypeDefinition type)
{
    int changed = 0;
    var visibility = type.IsNested ? TypeAttributes.NestedPublic : TypeAttributes.Public;
    if ((type.Attributes & TypeAttributes.VisibilityMask) != visibility)
    {
        type.Attributes = (type.Attributes & ~TypeAttributes.VisibilityMask) | visibility;
        changed++;
    }
    foreach (var method in type.Methods)
    {
        // A protected virtual member stays protected: an override in another assembly must repeat the accessibility
        // it sees, and "protected" is what the real assembly has.
        if (method.IsPublic || (method.IsVirtual && (method.IsFamily || method.IsFamilyOrAssembly)))
            continue;
        method.Attributes = (method.Attributes & ~MethodAttributes.MemberAccessMask) | MethodAttributes.Public;
        changed++;
    }
    foreach (var field in type.Fields)
    {
        if (field.IsPublic)
            continue;
        field.Attributes = (field.Attributes & ~FieldAttributes.FieldAccessMask) | FieldAttributes.Public;
        changed++;
    }
    return changed;
}
