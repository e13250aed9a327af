"""The reference tables of the torchvision networks that ../shared/reference does not hold (MobileNetV2,
MobileNetV3-Large and -Small, MNASNet 1.0, ShuffleNet V2 0.5x to 2.0x, EfficientNet-B0 to -B7 and
EfficientNetV2-S, -M and -L (each on the input parity.py gives it, the crop size of its torchvision
weights' transforms), Inception v3, the RegNets Y-400MF to
Y-128GF and X-400MF to X-32GF, and the segmentation
models FCN and DeepLabV3 on ResNet-50 and -101, DeepLabV3 and LR-ASPP on MobileNetV3-Large), and of the
networks from papers that Tests/parity/paper_models.py defines (U-Net, the DCGAN generator): what
torchsummary 1.5.1 prints for each model, in torchsummary/torchvision.NAME.txt (paper.NAME.txt), and its
parameter count and torchinfo 1.8.0's mult-adds, in figures.json. Made with torch 2.15 and torchvision 0.29
on the CPU, batch 1, random weights.

The segmentation models (aux_loss=True but for LR-ASPP, which has no auxiliary head; 21 classes, on
520x520) return dicts, which neither tool measures: they are measured through parity.py's
SegmentationTensors, which calls the same modules in the same order as their forward. Inception v3
(aux_logits=True) is measured through parity.py's InceptionAuxOutputs, which runs its auxiliary classifier
in eval mode too, as the spec does.

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
from torchsummary import summary

# The segmentation models, Inception v3 and the papers' networks are built and measured as the parity test
# builds and measures them.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "parity"))
from parity import EFFICIENTNETS, MODELS, SegmentationTensors  # noqa: E402

NAMES = ["mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "mnasnet1_0",
         "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
         "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf",
         "regnet_y_32gf", "regnet_y_128gf",
         "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf",
         "regnet_x_32gf"]

SEGMENTATION = ["fcn_resnet50", "deeplabv3_resnet50", "fcn_resnet101", "deeplabv3_resnet101",
                "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"]

PAPERS = ["unet", "dcgan_generator"]


def models():
    for name in NAMES:
        yield f"torchvision.{name}", getattr(tvm, name)(), (3, 224, 224)
    for name in EFFICIENTNETS:
        yield f"torchvision.{name}", getattr(tvm, name)(), MODELS[name][1]
    # Through parity.py's InceptionAuxOutputs: the auxiliary classifier runs in eval mode too.
    yield "torchvision.inception_v3", MODELS["inception_v3"][0](), (3, 299, 299)
    for name in SEGMENTATION:
        # The model parity.py builds (segmentation() with the auxiliary head, or LR-ASPP without one).
        yield f"torchvision.{name}", SegmentationTensors(MODELS[name][0]().eval()), (3, 520, 520)
    for name in PAPERS:
        factory, shape = MODELS[name]
        yield f"paper.{name}", factory(), shape


torch.set_num_threads(2)
figures = {}
for name, model, shape in models():
    model = model.eval()
    out = io.StringIO()
    with torch.no_grad(), contextlib.redirect_stdout(out):
        summary(model, shape, device="cpu")
    with open(f"torchsummary/{name}.txt", "w") as f:
        f.write(out.getvalue())
    info = torchinfo.summary(model, input_size=(1,) + shape, verbose=0)
    figures[name] = {"input": list(shape), "params": sum(p.numel() for p in model.parameters()),
                     "mult_adds": info.total_mult_adds}
with open("figures.json", "w") as f:
    json.dump(dict(sorted(figures.items())), f, indent=1)
    f.write("\n")
