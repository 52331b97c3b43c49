"""scikit-learn reference for the multi-label task: Fashion-MNIST images with attributes derived from their class.

Trains sklearn's MLPClassifier on a multilabel-indicator target (one logistic output and log-loss per attribute,
as the MlNetMiniBatch multi-label task) with the settings of FashionAttributesTests: one hidden layer of 128 ReLU
units, Adam at 0.001, batches of 32, 10 epochs, no early stopping, the first 10,000 training rows and the first
2,000 test rows of examples/FashionMnist/data. Prints the same metrics EvaluateMultiLabel reports.

Usage: /usr/bin/python3 tools/fashion_attributes_sklearn.py [DATA_DIR]   (sklearn 1.2 is in /usr/bin/python3)
The attribute table must match test/MlNetMiniBatch.Tests/MultiLabel/FashionAttributes.cs.
"""
import gzip
import os
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, f1_score, hamming_loss, precision_score, recall_score, roc_auc_score
from sklearn.neural_network import MLPClassifier

# Class order: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot.
ATTRIBUTES = {
    "footwear": {5, 7, 9},
    "upper body": {0, 2, 3, 4, 6},
    "long sleeves": {2, 4, 6},
    "covers legs": {1, 3},
    "covers ankle": {9},
}


def read_idx(path, header):
    with gzip.open(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, offset=header)


def load(directory, prefix, rows):
    images = read_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"), 16).reshape(-1, 784)[:rows]
    classes = read_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz"), 8)[:rows]
    y = np.array([[c in members for members in ATTRIBUTES.values()] for c in classes], dtype=int)
    return images.astype(np.float32) / 255, y


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "examples", "FashionMnist", "data")
    x_train, y_train = load(directory, "train", 10_000)
    x_test, y_test = load(directory, "t10k", 2_000)
    model = MLPClassifier(hidden_layer_sizes=(128,), activation="relu", solver="adam", learning_rate_init=0.001,
                          batch_size=32, max_iter=10, alpha=0.0, shuffle=True, random_state=1, tol=0, n_iter_no_change=10**9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    probability = model.predict_proba(x_test)
    print(f"sklearn MLPClassifier, {len(x_train)} training rows, {len(x_test)} test rows, final training loss {model.loss_:.4f}")
    print(f"HammingLoss {hamming_loss(y_test, predicted):.4f}  SubsetAccuracy {accuracy_score(y_test, predicted):.4f}  "
          f"MicroF1 {f1_score(y_test, predicted, average='micro'):.4f}  MacroF1 {f1_score(y_test, predicted, average='macro', zero_division=0):.4f}")
    for j, name in enumerate(ATTRIBUTES):
        print(f"  {name:13s} accuracy {accuracy_score(y_test[:, j], predicted[:, j]):.4f}  "
              f"precision {precision_score(y_test[:, j], predicted[:, j], zero_division=0):.4f}  "
              f"recall {recall_score(y_test[:, j], predicted[:, j], zero_division=0):.4f}  "
              f"F1 {f1_score(y_test[:, j], predicted[:, j], zero_division=0):.4f}  AUC {roc_auc_score(y_test[:, j], probability[:, j]):.4f}")


if __name__ == "__main__":
    main()
