"""Writes the torchinfo tables FidelityTests compares `netc params --format torchinfo --columns ...` with,
byte for byte: torchinfo 1.8.0's own output (`torchinfo.summary(model, input_size=..., col_names=[...],
depth=...)`) for PyTorch models written module for module as the specs describe them (LeNet-5 as
specs/lenet/lenet5.net, ResNet-18 as specs/resnet/resnet18.net: each block a module of its own, no
nn.Sequential around a stage, one ReLU module per call). Random weights; nothing is downloaded.

usage (from the repository's root): .venv/bin/python Tests/NetcTests/Inputs/reference/make_torchinfo_references.py
It writes torchinfo/NAME.txt here, one per case of CASES.
"""
import contextlib
import io
import os

import torch
import torch.nn as nn
import torchinfo

HERE = os.path.dirname(os.path.abspath(__file__))


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5); self.relu1 = nn.ReLU(); self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5); self.relu2 = nn.ReLU(); self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(400, 120); self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84); self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 2); self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.relu4(self.fc2(self.relu3(self.fc1(self.flatten(x)))))
        return self.softmax(self.fc3(x))


class BasicBlock(nn.Module):
    """The spec's BasicBlock, and its DownBlock (stride s, a projection shortcut) with `stride` > 1."""

    def __init__(self, cin, c, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False); self.bn1 = nn.BatchNorm2d(c); self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False); self.bn2 = nn.BatchNorm2d(c)
        self.project = stride != 1 or cin != c
        if self.project:
            self.conv3 = nn.Conv2d(cin, c, 1, stride, bias=False); self.bn3 = nn.BatchNorm2d(c)
        self.relu2 = nn.ReLU()

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        shortcut = self.bn3(self.conv3(x)) if self.project else x
        return self.relu2(y + shortcut)


class ResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 64, 7, 2, 3, bias=False); self.bn = nn.BatchNorm2d(64); self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.b1 = BasicBlock(64, 64); self.b2 = BasicBlock(64, 64)
        self.b3 = BasicBlock(64, 128, 2); self.b4 = BasicBlock(128, 128)
        self.b5 = BasicBlock(128, 256, 2); self.b6 = BasicBlock(256, 256)
        self.b7 = BasicBlock(256, 512, 2); self.b8 = BasicBlock(512, 512)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn(self.conv(x))))
        for b in (self.b1, self.b2, self.b3, self.b4, self.b5, self.b6, self.b7, self.b8):
            x = b(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


EVERY = ["input_size", "output_size", "num_params", "params_percent", "kernel_size", "mult_adds", "trainable"]

# name: (model, input size with the batch, col_names, depth); FidelityTests.torchinfoColumnReferences lists
# the same cases with netc's arguments.
CASES = {
    "lenet5.every_column": (LeNet5, (1, 1, 32, 32), EVERY, 3),
    "lenet5.b3.kernel_params": (LeNet5, (3, 1, 32, 32), ["kernel_size", "num_params", "mult_adds"], 3),
    "resnet18.default_columns": (ResNet18, (1, 3, 224, 224), ["output_size", "num_params"], 3),
    "resnet18.depth1.every_column": (ResNet18, (1, 3, 224, 224), EVERY, 1),
    "resnet18.every_column": (ResNet18, (1, 3, 224, 224), EVERY, 3),
}

if __name__ == "__main__":
    torch.manual_seed(0)
    os.makedirs(os.path.join(HERE, "torchinfo"), exist_ok=True)
    for name, (model, size, columns, depth) in CASES.items():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            torchinfo.summary(model().eval(), input_size=size, col_names=columns, depth=depth, device="cpu", verbose=1)
        with open(os.path.join(HERE, "torchinfo", f"{name}.txt"), "w") as f:
            f.write(buf.getvalue())
        print(name)
