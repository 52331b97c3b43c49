"""PyTorch half of the training benchmark's same-start check: does PyTorch make the same updates as ours?

Usage: torch_same_start.py --data DIR --dir DIR --sizes 784,256,128,10 --batch-sizes 32,128,512 --starts 5
                           --rows-per-batch 5.5 --epochs 2 --lr 0.05 --momentum 0.9

For each batch size B and start S (1..starts), the harness wrote start-bB-sS.bin: a model ours starts from, layer by
layer, the weights as float32 [inputs x outputs] row-major, then the biases. This script trains the same network from
those weights on the first int(rows-per-batch * B) training rows in file order (no shuffle, the last partial batch
included), with torch.optim.SGD and mean cross-entropy, and writes torch-bB-sS.bin in the same layout for the harness
to compare.
"""
import argparse
import os

from peer_common import emit, fail
from torch_mlp import load

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as e:
    fail(f"{e.name} is not installed (apt-get install python3-torch python3-numpy)")


def read_layers(path, sizes):
    values = np.fromfile(path, dtype=np.float32)
    layers, offset = [], 0
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        weights = values[offset:offset + fan_in * fan_out].reshape(fan_in, fan_out)
        offset += fan_in * fan_out
        layers.append((weights, values[offset:offset + fan_out]))
        offset += fan_out
    if offset != len(values):
        fail(f"{path} holds {len(values)} floats, but layers {sizes} need {offset}")
    return layers


def network(layers):
    """The ReLU network with the given (weights [inputs x outputs], biases) per layer."""
    linears = [nn.Linear(*weights.shape) for weights, _ in layers]
    with torch.no_grad():
        for linear, (weights, biases) in zip(linears, layers):
            linear.weight.copy_(torch.from_numpy(weights.T.copy()))
            linear.bias.copy_(torch.from_numpy(biases.copy()))
    modules = []
    for linear in linears:
        modules += [linear, nn.ReLU()]
    return nn.Sequential(*modules[:-1]), linears


def train_in_order(model, x, y, batch_size, epochs, lr, momentum):
    """SGD over the rows in order, every epoch, the last partial batch included; returns the number of updates."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loss_fn = nn.CrossEntropyLoss()
    updates = 0
    for _ in range(epochs):
        for begin in range(0, x.shape[0], batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x[begin:begin + batch_size]), y[begin:begin + batch_size]).backward()
            optimizer.step()
            updates += 1
    return updates


def main():
    parser = argparse.ArgumentParser()
    for name in ("--data", "--dir", "--sizes", "--batch-sizes"):
        parser.add_argument(name, required=True)
    parser.add_argument("--starts", type=int, required=True)
    parser.add_argument("--rows-per-batch", type=float, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--momentum", type=float, required=True)
    args = parser.parse_args()

    torch.set_num_threads(1)
    sizes = [int(s) for s in args.sizes.split(",")]
    x_all, y_all = load(args.data, "train")
    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        rows = int(args.rows_per_batch * batch_size)
        for start in range(1, args.starts + 1):
            model, linears = network(read_layers(os.path.join(args.dir, f"start-b{batch_size}-s{start}.bin"), sizes))
            updates = train_in_order(model, x_all[:rows], y_all[:rows], batch_size, args.epochs, args.lr, args.momentum)
            with open(os.path.join(args.dir, f"torch-b{batch_size}-s{start}.bin"), "wb") as f:
                for linear in linears:
                    f.write(linear.weight.detach().numpy().T.astype(np.float32).tobytes())
                    f.write(linear.bias.detach().numpy().astype(np.float32).tobytes())
            emit({"kind": "same-start", "batch": batch_size, "start": start, "rows": rows, "updates": updates})


if __name__ == "__main__":
    main()
