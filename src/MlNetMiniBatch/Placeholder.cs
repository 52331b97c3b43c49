namespace MlNetMiniBatch;
internal static class Placeholder { }
