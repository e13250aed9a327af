"""The reference tables of the torchvision networks that ../shared/reference does not hold (MobileNetV2,
MobileNetV3-Large and -Small, MNASNet 0.5 to 1.3, ShuffleNet V2 0.5x to 2.0x, VGG-11, -13 and -19 with batch
norm, ResNeXt-50 and -101, Wide ResNet-50 and -101, DenseNet-121 to -201, SqueezeNet 1.0 and 1.1, EfficientNet-B0 to -B7 and EfficientNetV2-S, -M and -L (each
on the input parity.py gives it, the crop size of its torchvision weights' transforms), the RegNets Y-400MF
to Y-128GF and X-400MF to X-32GF, Inception
v3, and the segmentation models FCN and DeepLabV3 on ResNet-50 and -101, DeepLabV3 and LR-ASPP on
MobileNetV3-Large), and of the
networks from papers that Tests/parity/paper_models.py defines (U-Net, the DCGAN generator): what
torchsummary 1.5.1 prints for each model, in torchsummary/torchvision.NAME.txt (paper.NAME.txt), and its
parameter count and torchinfo 1.8.0's mult-adds, in figures.json. Made with torch 2.15 and torchvision 0.29
on the CPU, batch 1, random weights.

The segmentation models (aux_loss=True but for LR-ASPP, which has no auxiliary head; 21 classes, on
520x520) return dicts, which neither tool measures: they are measured through parity.py's
SegmentationTensors, which calls the same modules in the same order as their forward. Inception v3
(aux_logits=True) is measured through parity.py's InceptionAuxOutputs, which runs its auxiliary classifier
in eval mode too, as the spec does. The DenseNets call their layers with lists of tensors, on which
torchsummary fails: they are measured as parity.py measures them, each layer given the concatenation of its
list (parity.py's measurable).

usage (from this folder): python make_reference.py [NAME ...], with the parity test's packages
(Tests/parity/run.sh installs them in .venv, torchsummary 1.5.1 and torchinfo 1.8.0 among them) importable.
Given names (torchvision.densenet121, paper.unet...), it measures only those models and keeps the other
figures in figures.json as they are.
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
from parity import EFFICIENTNETS, MODELS, SegmentationTensors, measurable  # noqa: E402

NAMES = ["mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
         "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3",
         "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
         "vgg11_bn", "vgg13_bn", "vgg19_bn",
         "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
         "densenet121", "densenet161", "densenet169", "densenet201", "squeezenet1_0", "squeezenet1_1",
         "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf",
         "regnet_y_32gf", "regnet_y_128gf",
         "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf",
         "regnet_x_32gf"]

SEGMENTATION = ["fcn_resnet50", "deeplabv3_resnet50", "fcn_resnet101", "deeplabv3_resnet101",
                "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"]

PAPERS = ["unet", "dcgan_generator"]


def models():
    """Each model's reference name, a function that builds it, and its input's shape."""
    for name in NAMES:
        yield f"torchvision.{name}", lambda name=name: measurable(getattr(tvm, name)()), (3, 224, 224)
    for name in EFFICIENTNETS:
        yield f"torchvision.{name}", lambda name=name: getattr(tvm, name)(), MODELS[name][1]
    # Through parity.py's InceptionAuxOutputs: the auxiliary classifier runs in eval mode too.
    yield "torchvision.inception_v3", MODELS["inception_v3"][0], (3, 299, 299)
    for name in SEGMENTATION:
        # The model parity.py builds (segmentation() with the auxiliary head, or LR-ASPP without one).
        yield f"torchvision.{name}", lambda name=name: SegmentationTensors(MODELS[name][0]().eval()), (3, 520, 520)
    for name in PAPERS:
        factory, shape = MODELS[name]
        yield f"paper.{name}", factory, shape


chosen = set(sys.argv[1:])
torch.set_num_threads(2)
figures = {}
if chosen:
    with open("figures.json") as f:
        figures = json.load(f)
for name, build, shape in models():
    if chosen and name not in chosen:
        continue
    chosen.discard(name)
    model = build().eval()
    out = io.StringIO()
    with torch.no_grad(), contextlib.redirect_stdout(out):
        summary(model, shape, device="cpu")
    with open(f"torchsummary/{name}.txt", "w") as f:
        f.write(out.getvalue())
    info = torchinfo.summary(model, input_size=(1,) + shape, verbose=0)
    figures[name] = {"input": list(shape), "params": sum(p.numel() for p in model.parameters()),
                     "mult_adds": info.total_mult_adds}
if chosen:
    sys.exit(f"no such model: {', '.join(sorted(chosen))}")
with open("figures.json", "w") as f:
    json.dump(dict(sorted(figures.items())), f, indent=1)
    f.write("\n")
