namespace MlNetMiniBatch.Training;

/// <summary>Column look-up on <see cref="SchemaShape"/>, whose own TryFindColumn is internal to ML.NET.</summary>
internal static class SchemaShapeExtensions
{
    public static bool TryFind(this SchemaShape shape, string name, out SchemaShape.Column column)
    {
        foreach (var candidate in shape)
        {
            if (candidate.Name == name)
            {
                column = candidate;
                return true;
            }
        }
        column = default;
        return false;
    }
}
