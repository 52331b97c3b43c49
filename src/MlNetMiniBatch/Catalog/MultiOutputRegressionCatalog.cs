using MlNetMiniBatch.Evaluation;

namespace MlNetMiniBatch;

/// <summary><c>mlContext.Regression.EvaluateMultiOutput</c>: the metrics of a model whose label and Score are vectors.</summary>
public static class MultiOutputRegressionCatalog
{
    /// <summary>Evaluates scored data of a multi-output regression: per output MAE, MSE, RMSE and R², and their means over
    /// the outputs. Every row counts once (unweighted); a NaN or infinite label value is an error naming the row.</summary>
    /// <param name="catalog">The regression catalog.</param>
    /// <param name="data">Scored data: the label column and the model's Score column.</param>
    /// <param name="labelColumnName">The label: a known-size vector of Single.</param>
    /// <param name="scoreColumnName">The predictions: a vector of Single of the label's size.</param>
    public static MultiOutputRegressionMetrics EvaluateMultiOutput(this RegressionCatalog catalog, IDataView data,
        string labelColumnName = NeuralNetworkOptions.Defaults.LabelColumnName, string scoreColumnName = "Score")
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return MultiOutputEvaluation.Evaluate(data, labelColumnName, scoreColumnName);
    }
}
