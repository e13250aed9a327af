"""Trains digits.net on scikit-learn's digits (8x8 grey images, ten classes, 1797 samples, bundled with
scikit-learn: nothing is downloaded) and saves the weights for netc.

The model is the module `netc emit --target pytorch digits.net` writes, imported as it is. Its attribute
names are netc's tensor names, so the state_dict, saved as PyTorch saves it (integer buffers such as
num_batches_tracked included: netc ignores them), runs in `netc run` and in the emitted Swift unchanged.

With --processes N > 1 the same module trains with DistributedDataParallel over the gloo backend, N
processes on loopback (MASTER_ADDR 127.0.0.1, a free port), each on its DistributedSampler shard of the
training split; gradients are averaged across processes, so N processes of --batch/N images take the
steps one process of --batch images takes. Launched by torchrun instead (which sets RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR and MASTER_PORT), each process it starts is one rank: the way past one machine,
torchrun --nnodes M --nproc-per-node N --node-rank R --master-addr HOST --master-port PORT train.py ...
on each of M machines (--batch then counts the images of all M*N processes).

Everything is seeded and runs on the CPU with deterministic algorithms and one thread per process: the
split is sklearn's train_test_split(test_size=0.25, random_state=0), pixels are scaled from 0..16 to 0..1.

Writes to OUT: digits_model.py (the emitted module), digits.safetensors (the state_dict), x_test.npy
(the test images, [450, 1, 8, 8] float32), y_test.npy (their labels) and logits_test.npy (the trained
model's logits in eval mode), and prints the test accuracy.

usage: train.py --netc NETC --out OUT [--processes N] [--epochs E] [--batch B] [--lr LR]
       torchrun --nproc-per-node N ... train.py --netc NETC --out OUT [--epochs E] [--batch B] [--lr LR]
"""
import argparse
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

import numpy as np
import safetensors.torch
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.net")
SEED = 0


def load_network_class(path):
    """The network class of a module netc emitted: the file's last class (the helper classes a network uses
    come before it)."""
    module_spec = importlib.util.spec_from_file_location("digits_model", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    classes = [v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == module.__name__]
    return classes[-1]


def digits_split():
    """The fixed split: 1347 training and 450 test images as [N, 1, 8, 8] float32 in 0..1, and their labels."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    return train_test_split(images, digits.target.astype(np.int64), test_size=0.25, random_state=0)


def deterministic():
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def train(rank, world, local_rank, port, args):
    """One process's training; with world > 1, one rank of DistributedDataParallel (port: the rendezvous on
    loopback, or None when torchrun has set it). Rank 0 writes the results."""
    deterministic()
    if world > 1:
        if port is not None:
            os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
        dist.init_process_group("gloo", rank=rank, world_size=world, timeout=timedelta(minutes=2))  # fail, never hang
    module_path = os.path.join(args.out, "digits_model.py")
    if local_rank == 0:  # once per machine; the others wait for it
        subprocess.run([args.netc, "emit", "--target", "pytorch", SPEC, "-o", module_path], check=True)
    if world > 1:
        dist.barrier()
    x_train, x_test, y_train, y_test = digits_split()
    training = TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train))
    if world > 1:
        sampler = DistributedSampler(training, num_replicas=world, rank=rank, shuffle=True, seed=SEED)
        loader = DataLoader(training, batch_size=args.batch // world, sampler=sampler)
    else:
        sampler = None
        loader = DataLoader(training, batch_size=args.batch, shuffle=True, generator=torch.Generator().manual_seed(SEED))

    model = load_network_class(module_path)()
    trained = DistributedDataParallel(model) if world > 1 else model
    optimizer = torch.optim.Adam(trained.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    t0 = time.time()
    for epoch in range(args.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        trained.train()
        for images, labels in loader:
            optimizer.zero_grad()
            loss_fn(trained(images), labels).backward()
            optimizer.step()
    if rank == 0:
        save_results(model, x_test, y_test, {"processes": world, "epochs": args.epochs, "train_seconds": time.time() - t0}, args.out)
    if world > 1:
        dist.destroy_process_group()


def save_results(model, x_test, y_test, summary, out):
    """The state_dict as PyTorch saves it, the test split, the eval-mode logits on it, and the figures."""
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x_test)).numpy()
    summary["test_accuracy"] = accuracy = float((logits.argmax(1) == y_test).mean())
    safetensors.torch.save_file(model.state_dict(), os.path.join(out, "digits.safetensors"))
    np.save(os.path.join(out, "x_test.npy"), x_test)
    np.save(os.path.join(out, "y_test.npy"), y_test)
    np.save(os.path.join(out, "logits_test.npy"), logits)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f)
    world = summary["processes"]
    print(f"{world} process{'es' if world > 1 else ''}, {summary['epochs']} epochs in {summary['train_seconds']:.1f} s: "
          f"test accuracy {accuracy:.4f} ({int((logits.argmax(1) == y_test).sum())}/{len(y_test)})", flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--netc", required=True, help="the netc executable")
    parser.add_argument("--out", required=True, help="the folder for the module, the weights and the test split")
    parser.add_argument("--processes", type=int, default=1, help="DistributedDataParallel processes (gloo, loopback)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=64, help="images per step, over all processes")
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    world = int(os.environ.get("WORLD_SIZE", args.processes))  # torchrun's, or --processes
    if world < 1 or args.batch % world:
        parser.error(f"the {world} processes must divide --batch ({args.batch})")
    os.makedirs(args.out, exist_ok=True)
    if "LOCAL_RANK" in os.environ:  # one of torchrun's processes
        train(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"]), None, args)
    elif args.processes == 1:
        train(0, 1, 0, None, args)
    else:
        if sys.platform == "linux":
            os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # loopback, whatever the host name resolves to
        mp.spawn(spawned_rank, args=(args.processes, free_port(), args), nprocs=args.processes)


def spawned_rank(rank, world, port, args):
    train(rank, world, rank, port, args)


if __name__ == "__main__":
    main()
