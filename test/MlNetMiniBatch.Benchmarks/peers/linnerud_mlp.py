"""scikit-learn reference for the multi-output regression test on Linnerud.

The same split and set-up as MultiOutputRegressionTests.LinnerudTrainsThreeOutputsWhoseScoreCarriesTheTargetsNames:
rows 3, 7, 11, 15, 19 held out, features standardised on the training rows, one hidden layer of 32 tanh units, Adam at
0.01, batches of 5, 300 epochs. MLPRegressor does not standardise targets, so it runs twice: on the raw targets, and
inside TransformedTargetRegressor(StandardScaler), which standardises each target separately as MlNetMiniBatch does.
Metrics are the mean over the three targets, as mlContext.Regression.EvaluateMultiOutput reports them.

Run with the system interpreter, which has scikit-learn 1.2.1: /usr/bin/python3 linnerud_mlp.py
"""
import os
import warnings

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "MlNetMiniBatch.Tests", "Tasks", "Data")


def load(name):
    return np.loadtxt(os.path.join(DATA, name), skiprows=1)


def report(name, model, x_train, y_train, x_test, y_test):
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    mae = mean_absolute_error(y_test, predicted, multioutput="raw_values")
    rmse = np.sqrt(mean_squared_error(y_test, predicted, multioutput="raw_values"))
    r2 = r2_score(y_test, predicted, multioutput="raw_values")
    train_r2 = r2_score(y_train, model.predict(x_train), multioutput="raw_values").mean()
    per_output = "; ".join(f"{t}: MAE {a:.4g}, RMSE {b:.4g}, R² {c:.4g}" for t, a, b, c in zip(["Weight", "Waist", "Pulse"], mae, rmse, r2))
    print(f"{name}: test MAE {mae.mean():.3f} RMSE {rmse.mean():.3f} R² {r2.mean():.3f}; train R² {train_r2:.3f}; {per_output}")


def main():
    x, y = load("linnerud_exercise.csv"), load("linnerud_physiological.csv")
    test = np.arange(len(x)) % 4 == 3
    scaler = StandardScaler().fit(x[~test])
    x_train, x_test = scaler.transform(x[~test]), scaler.transform(x[test])
    warnings.simplefilter("ignore", ConvergenceWarning)
    for seed in (0, 1, 2):
        def mlp():
            return MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", solver="adam", learning_rate_init=0.01,
                                batch_size=5, max_iter=300, alpha=0.0, random_state=seed)
        report(f"MLPRegressor raw targets, seed {seed}", mlp(), x_train, y[~test], x_test, y[test])
        report(f"MLPRegressor standardised targets, seed {seed}",
               TransformedTargetRegressor(regressor=mlp(), transformer=StandardScaler()), x_train, y[~test], x_test, y[test])


if __name__ == "__main__":
    main()
