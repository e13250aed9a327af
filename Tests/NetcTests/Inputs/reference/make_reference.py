"""The reference tables of the torchvision networks that ../shared/reference does not hold (MobileNetV2,
MobileNetV3-Large and -Small, MNASNet 1.0, ShuffleNet V2 0.5x to 2.0x): what torchsummary 1.5.1 prints for each model, in
torchsummary/torchvision.NAME.txt, and its parameter count and torchinfo 1.8.0's mult-adds, in
figures.json. Made with torch 2.15 and torchvision 0.29 on the CPU, batch 1, random weights.

usage (from this folder): python make_reference.py, with torch, torchvision, torchsummary==1.5.1 and
torchinfo==1.8.0 importable.
"""
import contextlib
import io
import json

import torch
import torchinfo
import torchvision.models as tvm
from torchsummary import summary

NAMES = ["mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "mnasnet1_0",
         "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]

torch.set_num_threads(2)
figures = {}
for name in NAMES:
    model = getattr(tvm, name)().eval()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        summary(model, (3, 224, 224), device="cpu")
    with open(f"torchsummary/torchvision.{name}.txt", "w") as f:
        f.write(out.getvalue())
    info = torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)
    figures[f"torchvision.{name}"] = {"input": [3, 224, 224], "params": sum(p.numel() for p in model.parameters()),
                                      "mult_adds": info.total_mult_adds}
with open("figures.json", "w") as f:
    json.dump(figures, f, indent=1)
    f.write("\n")
