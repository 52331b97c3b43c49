namespace MlNetMiniBatch.Training;

/// <summary>Why a row cannot be trained on.</summary>
internal enum RowProblem
{
    None,
    NonFiniteFeature,
    MissingLabel,
    InvalidWeight,
}
