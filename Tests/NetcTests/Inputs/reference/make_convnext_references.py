"""Writes the references FidelityTests compares netc's ConvNeXt specs with: torchsummary's table of each
torchvision ConvNeXt (torchvision.convnext_<size>.txt) and the totals of torch, torchinfo and torchsummary
(convnext_figures.json). Random weights; nothing is downloaded.

usage (from the repository's root, with torch, torchvision, torchsummary and torchinfo installed):
  .venv/bin/pip install torchsummary torchinfo
  .venv/bin/python Tests/NetcTests/Inputs/reference/make_convnext_references.py
"""
import contextlib
import io
import json
import os

import torch
import torchinfo
import torchvision.models as tvm
from torchsummary import summary

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(2)
figures = {}
for size in ("tiny", "small", "base", "large"):
    name = f"convnext_{size}"
    model = getattr(tvm, name)().eval()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        summary(model, (3, 224, 224), device="cpu")
    table = buf.getvalue()
    with open(os.path.join(HERE, f"torchvision.{name}.txt"), "w") as f:
        f.write(table)
    info = torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)
    figures[f"torchvision.{name}"] = {
        "input": [3, 224, 224],
        # sum(p.numel() for p in model.parameters()), which torchinfo's total equals
        "params": sum(p.numel() for p in model.parameters()),
        "torchinfo_params": info.total_params,
        "mult_adds": info.total_mult_adds,
        # torchsummary's own total, which counts only each module's weight and bias: no layer_scale
        "torchsummary_footer": [line for line in table.splitlines() if ":" in line],
    }
    print(name, figures[f"torchvision.{name}"]["params"], info.total_mult_adds)
with open(os.path.join(HERE, "convnext_figures.json"), "w") as f:
    json.dump(figures, f, indent=1)
    f.write("\n")
