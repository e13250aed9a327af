"""The reference tables of the torchvision networks that ../shared/reference does not hold (MobileNetV2,
MobileNetV3-Large and -Small, MNASNet 1.0, ShuffleNet V2 0.5x to 2.0x, EfficientNet-B0 to -B7 and
EfficientNetV2-S, -M and -L, and the segmentation models FCN and DeepLabV3 on ResNet-50 and -101): what
torchsummary 1.5.1 prints for each model, in torchsummary/torchvision.NAME.txt, and its parameter count and
torchinfo 1.8.0's mult-adds, in figures.json. Made with torch 2.15 and torchvision 0.29 on the CPU, batch 1,
random weights.

Each EfficientNet is measured on the input parity.py gives it: the crop size of its torchvision weights'
transforms.

The segmentation models (aux_loss=True, 21 classes, on 520x520) return dicts, which neither tool measures:
they are measured through parity.py's SegmentationTensors, which calls the same modules in the same order
as their forward.

usage (from this folder): python make_reference.py, with the parity test's packages (Tests/parity/run.sh
installs them in .venv, torchsummary 1.5.1 and torchinfo 1.8.0 among them) importable.
"""
import contextlib
import io
import json
import os
import sys

import torch
import torchinfo
import torchvision.models as tvm
import torchvision.models.segmentation as tvs
from torchsummary import summary

# The EfficientNets' inputs and the segmentation models are the parity test's own.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "parity"))
from parity import EFFICIENTNETS, MODELS, SegmentationTensors, segmentation  # noqa: E402

NAMES = ["mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "mnasnet1_0",
         "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]

SEGMENTATION = ["fcn_resnet50", "deeplabv3_resnet50", "fcn_resnet101", "deeplabv3_resnet101"]


def models():
    for name in NAMES:
        yield name, getattr(tvm, name)(), (3, 224, 224)
    for name in EFFICIENTNETS:
        yield name, getattr(tvm, name)(), MODELS[name][1]
    for name in SEGMENTATION:
        yield name, SegmentationTensors(segmentation(getattr(tvs, name)).eval()), (3, 520, 520)


torch.set_num_threads(2)
figures = {}
for name, model, shape in models():
    model = model.eval()
    out = io.StringIO()
    with torch.no_grad(), contextlib.redirect_stdout(out):
        summary(model, shape, device="cpu")
    with open(f"torchsummary/torchvision.{name}.txt", "w") as f:
        f.write(out.getvalue())
    info = torchinfo.summary(model, input_size=(1,) + shape, verbose=0)
    figures[f"torchvision.{name}"] = {"input": list(shape), "params": sum(p.numel() for p in model.parameters()),
                                      "mult_adds": info.total_mult_adds}
with open("figures.json", "w") as f:
    json.dump(dict(sorted(figures.items())), f, indent=1)
    f.write("\n")
