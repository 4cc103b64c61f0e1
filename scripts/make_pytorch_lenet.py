"""Train a LeNet-style MNIST CNN in PyTorch and export it with `torch.onnx.export`: the ONNX model shipped
with cnnviz (`resources/pytorch_lenet.onnx`), made the way a learner makes their own.

PyTorch is not a dependency of cnnviz: run this with a Python that has torch (CPU build) and onnx, e.g.

    python3 -m venv ~/torchenv && ~/torchenv/bin/pip install torch==2.13.0 onnx onnxscript
    nice -n 10 ~/torchenv/bin/python scripts/make_pytorch_lenet.py

MNIST comes from cnnviz's cache (`~/.cache/cnnviz/mnist.npz`, made by `cnnviz data --fetch`), pixels
0…1 as cnnviz gives them (no normalisation, so the model takes what cnnviz feeds it). The network:
conv 5×5 (6, padded) → ReLU → max pool 2 → conv 5×5 (16) → ReLU → max pool 2 → flatten → 120 → ReLU →
84 → ReLU → 10 logits. Adam, batch 64, 3 epochs, fixed seed, one thread. Prints the test accuracy PyTorch
measures; `cnnviz evaluate --model OUT` measures it again through cnnviz's conversion.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "resources" / "pytorch_lenet.onnx"


def lenet():
    """The network, as people write it in PyTorch."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def load_mnist(path: Path):
    with np.load(path, allow_pickle=False) as data:
        return ((data["x_train"].astype(np.float32) / 255)[:, None], data["y_train"].astype(np.int64),
                (data["x_test"].astype(np.float32) / 255)[:, None], data["y_test"].astype(np.int64))


def accuracy(model, images: np.ndarray, labels: np.ndarray) -> float:
    import torch

    with torch.no_grad():
        predicted = np.concatenate([model(torch.from_numpy(images[i:i + 1000])).argmax(1).numpy()
                                    for i in range(0, len(images), 1000)])
    return float((predicted == labels).mean())


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "cnnviz" / "mnist.npz")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    x_train, y_train, x_test, y_test = load_mnist(args.mnist)
    model = lenet()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_function = torch.nn.CrossEntropyLoss()
    order = np.random.default_rng(args.seed)
    for epoch in range(args.epochs):
        started = time.monotonic()
        model.train()
        for batch in np.array_split(order.permutation(len(x_train)), len(x_train) // 64):
            optimizer.zero_grad()
            loss = loss_function(model(torch.from_numpy(x_train[batch])), torch.from_numpy(y_train[batch]))
            loss.backward()
            optimizer.step()
        model.eval()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {accuracy(model, x_test, y_test):.4f} "
              f"({time.monotonic() - started:.0f} s)", flush=True)

    # The README's "Your PyTorch model" export, with the weights inside the one file (by default
    # torch writes them beside it, to OUT.data, which cnnviz reads too) so that one file ships.
    model.eval()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), args.out, input_names=["image"], output_names=["logits"],
                      external_data=False)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes), torch {torch.__version__}")


if __name__ == "__main__":
    main()
