"""PyTorch peer of the training benchmark: the same 784-256-128-10 ReLU network, optimizer, batch sizes and epochs.

Usage: torch_mlp.py --data DIR --batch-sizes 32,128,512 --epochs 3 --threads 2 --lr 0.05 --momentum 0.9 [--seed 1]

Data: the same idx files the C# harness reads (train-*/t10k-*, plain or .gz), read with numpy, pixels / 255.
Training: nn.Linear layers initialised like the C# trainer (He-uniform U(±sqrt(6/fan_in)) before each ReLU,
Glorot-uniform U(±sqrt(6/(fan_in+fan_out))) for the output layer, zero biases) rather than PyTorch's default
Kaiming-uniform a = sqrt(5), so accuracy differences are down to the random draws, not the scheme;
SGD with momentum, mean cross-entropy, a new torch.randperm order every epoch, manual batching (no DataLoader),
the last partial batch included. Timed: the training epochs only (batch gathering included, data loading excluded).
Prints one 'PEER {json}' line per batch size: rows/s over all epochs, per-epoch seconds, test accuracy.
"""
import argparse
import gzip
import os
import time

from peer_common import blas_info, describe_blas, emit, fail

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as e:
    fail(f"{e.name} is not installed (apt-get install python3-torch python3-numpy)")


def read_idx(directory, name):
    for path in (os.path.join(directory, name), os.path.join(directory, name + ".gz")):
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as f:
                data = f.read()
            rank = data[3]
            dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)
    fail(f"neither {name} nor {name}.gz in {directory}")


def load(directory, split):
    images = read_idx(directory, f"{split}-images-idx3-ubyte")
    labels = read_idx(directory, f"{split}-labels-idx1-ubyte")
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def network():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for i, layer in enumerate(linears):
            fan_out, fan_in = layer.weight.shape
            limit = (6.0 / fan_in) ** 0.5 if i < len(linears) - 1 else (6.0 / (fan_in + fan_out)) ** 0.5
            layer.weight.uniform_(-limit, limit)
            layer.bias.zero_()
    return model


def train(x, y, batch_size, epochs, lr, momentum):
    model = network()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loss_fn = nn.CrossEntropyLoss()
    rows = x.shape[0]
    epoch_seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(rows)
        model.train()
        for begin in range(0, rows, batch_size):
            index = order[begin:begin + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
        epoch_seconds.append(time.perf_counter() - start)
    return model, epoch_seconds, loss.item()


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--batch-sizes", default="32,128,512")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    x_train, y_train = load(args.data, "train")
    x_test, y_test = load(args.data, "t10k")
    torch.mm(torch.ones(8, 8), torch.ones(8, 8))  # loads the BLAS before it is described
    info = blas_info()
    info.update({"kind": "torch-info", "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                 "train_rows": int(x_train.shape[0]), "test_rows": int(x_test.shape[0])})
    emit(info)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {describe_blas(info)}", flush=True)

    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        torch.manual_seed(args.seed)
        model, seconds, last_loss = train(x_train, y_train, batch_size, args.epochs, args.lr, args.momentum)
        rows = x_train.shape[0] * args.epochs
        acc = accuracy(model, x_test, y_test)
        emit({"kind": "train", "batch": batch_size, "epochs": args.epochs, "rows": rows, "seconds": sum(seconds),
              "rows_per_s": rows / sum(seconds), "epoch_seconds": seconds, "test_accuracy": acc,
              "last_batch_loss": last_loss})
        print(f"batch {batch_size}: {rows / sum(seconds):,.0f} rows/s, test accuracy {acc:.4f}", flush=True)


if __name__ == "__main__":
    main()
