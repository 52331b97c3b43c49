namespace MlNetMiniBatch;

/// <summary>What the network predicts; decides the output layer, the loss and the output columns.</summary>
public enum NeuralNetworkTask
{
    /// <summary>K classes from a key-typed label: softmax output, cross-entropy loss.</summary>
    MulticlassClassification,
    /// <summary>A Boolean label: one logit, sigmoid output, log-loss.</summary>
    BinaryClassification,
    /// <summary>A Single label: one linear output, mean squared error.</summary>
    Regression,
    /// <summary>A known-size vector of k Single labels: k linear outputs, each standardised separately, the mean over
    /// outputs of their squared errors. The regression catalog's trainer picks it for a vector label.</summary>
    MultiOutputRegression,
    /// <summary>A known-size vector of Boolean (k labels), trained by the binary catalog's NeuralNetwork: k sigmoid outputs,
    /// the mean of their log-losses.</summary>
    MultiLabelClassification,
}

/// <summary>The update rule applied after each mini-batch.</summary>
public enum NeuralNetworkOptimizer
{
    /// <summary>Stochastic gradient descent, with optional (Nesterov) momentum. Default learning rate 0.01.</summary>
    Sgd,
    /// <summary>Adam (Kingma and Ba, 2015), β1 = 0.9, β2 = 0.999, ε = 1e-7. Default learning rate 0.001.</summary>
    Adam,
    /// <summary>Adam with decoupled weight decay (Loshchilov and Hutter, 2019). Default learning rate 0.001.</summary>
    AdamW,
    /// <summary>RMSProp, ρ = 0.9, ε = 1e-7, optional momentum. Default learning rate 0.001.</summary>
    RmsProp,
}

/// <summary>The non-linearity applied after every hidden layer.</summary>
public enum NeuralNetworkActivation
{
    /// <summary>max(0, x).</summary>
    ReLU,
    /// <summary>x for x &gt; 0, 0.01·x otherwise (PyTorch's default slope).</summary>
    LeakyReLU,
    /// <summary>Hyperbolic tangent.</summary>
    Tanh,
    /// <summary>Logistic function 1 / (1 + e^-x).</summary>
    Sigmoid,
    /// <summary>Gaussian error linear unit x·Φ(x), exact (erf) form as in PyTorch and Keras.</summary>
    GELU,
}

/// <summary>How <see cref="NeuralNetworkOptions.AdaptiveBatchSize"/> changes the learning rate when it changes the
/// batch size: the epoch's rate is the schedule's rate times a factor of the batch size B against the starting
/// BatchSize B0.</summary>
public enum NeuralNetworkLearningRateScaling
{
    /// <summary>Factor 1: the rate does not follow the batch size.</summary>
    None,
    /// <summary>Factor B / B0 (Goyal et al., 2017; the usual rule for SGD).</summary>
    Linear,
    /// <summary>Factor √(B / B0) (the usual rule for Adam-type optimizers, whose step is normalised by the gradient's scale).</summary>
    SquareRoot,
    /// <summary>AdaScale-style gain (Johnson et al., 2020) from the previous epoch's gradient noise scale B_noise:
    /// (1 + B_noise / B0) / (1 + B_noise / B), between 1 (noise-free gradient: a larger batch adds nothing) and B / B0
    /// (pure noise: linear scaling).</summary>
    AdaScale,
}
