"""The reference tables of the torchvision networks that ../shared/reference does not hold (MobileNetV2,
MobileNetV3-Large and -Small, MNASNet 1.0, ShuffleNet V2 0.5x to 2.0x, and the segmentation models FCN and
DeepLabV3 on ResNet-50 and -101): what torchsummary 1.5.1 prints for each model, in
torchsummary/torchvision.NAME.txt, and its parameter count and torchinfo 1.8.0's mult-adds, in
figures.json. Made with torch 2.15 and torchvision 0.29 on the CPU, batch 1, random weights.

The segmentation models (aux_loss=True, 21 classes, on 520x520) return dicts, which neither tool measures:
they are measured through Tensors, which calls the same modules in the same order as their forward.

usage (from this folder): python make_reference.py, with torch, torchvision, torchsummary==1.5.1 and
torchinfo==1.8.0 importable.
"""
import contextlib
import io
import json

import torch
import torchinfo
import torchvision.models as tvm
import torchvision.models.segmentation as tvs
from torchsummary import summary

NAMES = ["mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "mnasnet1_0",
         "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]

SEGMENTATION = ["fcn_resnet50", "deeplabv3_resnet50", "fcn_resnet101", "deeplabv3_resnet101"]


class Tensors(torch.nn.Module):
    """A segmentation model's forward with tensors for results ('out', 'aux'). Its own children (the model,
    its backbone, a ModuleDict) are never called, so they give no rows."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        size = x.shape[-2:]
        for name, module in self.model.backbone.items():
            x = module(x)
            if name == "layer3":
                aux = x
        x = torch.nn.functional.interpolate(self.model.classifier(x), size=size, mode="bilinear", align_corners=False)
        aux = self.model.aux_classifier(aux)
        return x, torch.nn.functional.interpolate(aux, size=size, mode="bilinear", align_corners=False)


def models():
    for name in NAMES:
        yield name, getattr(tvm, name)(), (3, 224, 224)
    for name in SEGMENTATION:
        model = getattr(tvs, name)(weights=None, weights_backbone=None, aux_loss=True, num_classes=21).eval()
        yield name, Tensors(model), (3, 520, 520)


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
