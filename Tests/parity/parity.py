"""Numerical parity of netc with PyTorch, and of netc's ONNX export with netc.

For each spec: take the PyTorch model (torchvision's own for the torchvision specs, the independent
definitions in ../shared/reference/seed_models.py for the seed networks and in paper_models.py for the
networks from papers), give it random weights with non-trivial batch-norm statistics (for the RegNetYs,
measured on a random image: CALIBRATED_BATCH_NORMS), map its state_dict onto netc's tensor names by
position (README.md, "Weights"), save the state_dict as PyTorch saves it and require `netc weights import`
to make exactly those weights of it (netc runs with its file), run one random input through PyTorch in
eval mode and through `netc run`, and require
max|netc - torch| <= 1e-4 * max(1, max|torch|). Also at batch 2, and with the weights stored as f16, for
the specs of FULL_MATRIX and Tests/parity/ops (every spec with --full).
Every output is compared: the main one, then the side outputs in order (`netc run --output-index`), which
PyTorch returns as a tuple after the main output, or, for torchvision's segmentation models, as the dict
entry 'aux' after 'out'. Inception v3 returns its auxiliary classifier's output only in training mode: it
is run through InceptionAuxOutputs, which returns it in eval mode too.

The module `netc emit --target pytorch` writes must load netc's weight file with
`load_state_dict(strict=True)` and compute what the model computes.

The model `netc emit --target onnx` writes with the same weights must pass
`onnx.checker.check_model(full_check=True)`, and ONNX Runtime's output on the same inputs must equal
`netc run`'s within 1e-4 * max(1, max|netc|). An ONNX model is one protobuf message, at most 2 GiB: a model
whose f32 weights are more (regnet_y_128gf's) must come with its weights in ONNX's external data, the file
model.onnx.data beside it, which netc writes by itself, saying so on stderr; a smaller one must not. The
specs that run every leg (below) are also exported with `--external-data`, and that model's ONNX Runtime
output must equal PyTorch's within the same tolerance.

For a model PyTorch defines itself (not an emitted module), `netc params` must print byte for byte what
`torchsummary.summary(model, shape, device="cpu")` prints, and `netc params --format json` must give
torchinfo's total and trainable parameters and total mult-adds. torchvision's segmentation models return
dicts, which neither tool measures: they are run through SegmentationTensors, and as torchsummary gives no
row to the heads torchvision derives from nn.Sequential, netc's rows for those blocks are left out of the
comparison (see SEQUENTIAL_BLOCKS). torchvision's DenseNets call their layers with lists of tensors, which
torchsummary cannot measure either: each layer is given their concatenation instead (see measurable).

Each spec's time is printed after its checks.

The specs in Tests/parity/ops/ (ops_*) exercise every operation the torchvision networks do not; their
PyTorch reference is the module `netc emit --target pytorch` writes.

The emitted Swift is compiled against the NetcKernels library built beside netc (`swift build -c release
--product NetcKernels`, which run.sh does); for the specs in SELF_CONTAINED it is also emitted with
`--self-contained` and compiled as one file, and both forms must give the same bits.

usage: parity.py [--netc PATH] [--full] [SPEC ...]
"""
import argparse
import contextlib
import glob
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
import safetensors.torch
import torch
import torchinfo
import torchsummary
import torchvision.models as tvm
import torchvision.models.segmentation as tvs
from torchvision.models.convnext import CNBlock
from torchvision.models.efficientnet import FusedMBConv, MBConv
from torchvision.models.densenet import _DenseLayer
from safetensors.numpy import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(ROOT), "shared", "reference"))
import seed_models  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paper_models  # noqa: E402
from emitted_swift import build_swift, run_swift, swiftc_command, write_main  # noqa: E402

def weights_input(name):
    """The input torchvision's weights for a model are evaluated at: 3 x the crop_size of their transforms
    (each EfficientNet has its own). Read from the weights' description; nothing is downloaded."""
    size = tvm.get_model_weights(name).DEFAULT.transforms().crop_size[0]
    return (3, size, size)


EFFICIENTNETS = ["efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4",
                 "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
                 "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l"]

MODELS = {
    "lenet5": (seed_models.LeNetTable, (1, 32, 32)),
    "lenet_224": (seed_models.SeedLeNet224, (3, 224, 224)),
    "alexnet_table": (seed_models.AlexNetTable, (3, 227, 227)),
    "simple_inception": (seed_models.SimpleInceptionFixed, (3, 32, 32)),
    "alexnet": (tvm.alexnet, (3, 224, 224)),
    "vgg11": (tvm.vgg11, (3, 224, 224)),
    "vgg13": (tvm.vgg13, (3, 224, 224)),
    "vgg16": (tvm.vgg16, (3, 224, 224)),
    "vgg16_bn": (tvm.vgg16_bn, (3, 224, 224)),
    "vgg19": (tvm.vgg19, (3, 224, 224)),
    "vgg11_bn": (tvm.vgg11_bn, (3, 224, 224)),
    "vgg13_bn": (tvm.vgg13_bn, (3, 224, 224)),
    "vgg19_bn": (tvm.vgg19_bn, (3, 224, 224)),
    "googlenet": (lambda: tvm.googlenet(aux_logits=False, init_weights=True), (3, 224, 224)),
    # The auxiliary classifier, which torchvision runs only in training mode, as the second output.
    "inception_v3": (lambda: InceptionAuxOutputs(tvm.inception_v3(init_weights=True)), (3, 299, 299)),
    "resnet18": (tvm.resnet18, (3, 224, 224)),
    "resnet34": (tvm.resnet34, (3, 224, 224)),
    "resnet50": (tvm.resnet50, (3, 224, 224)),
    "resnet101": (tvm.resnet101, (3, 224, 224)),
    "resnet152": (tvm.resnet152, (3, 224, 224)),
    "resnext50_32x4d": (tvm.resnext50_32x4d, (3, 224, 224)),
    "resnext101_32x8d": (tvm.resnext101_32x8d, (3, 224, 224)),
    "resnext101_64x4d": (tvm.resnext101_64x4d, (3, 224, 224)),
    "wide_resnet50_2": (tvm.wide_resnet50_2, (3, 224, 224)),
    "wide_resnet101_2": (tvm.wide_resnet101_2, (3, 224, 224)),
    # torchsummary measures the DenseNets through measurable(): each dense layer given its list concatenated.
    "densenet121": (tvm.densenet121, (3, 224, 224)),
    "densenet161": (tvm.densenet161, (3, 224, 224)),
    "densenet169": (tvm.densenet169, (3, 224, 224)),
    "densenet201": (tvm.densenet201, (3, 224, 224)),
    "squeezenet1_0": (tvm.squeezenet1_0, (3, 224, 224)),
    "squeezenet1_1": (tvm.squeezenet1_1, (3, 224, 224)),
    "mobilenet_v2": (tvm.mobilenet_v2, (3, 224, 224)),
    "mobilenet_v3_large": (tvm.mobilenet_v3_large, (3, 224, 224)),
    "mobilenet_v3_small": (tvm.mobilenet_v3_small, (3, 224, 224)),
    "mnasnet0_5": (tvm.mnasnet0_5, (3, 224, 224)),
    "mnasnet0_75": (tvm.mnasnet0_75, (3, 224, 224)),
    "mnasnet1_0": (tvm.mnasnet1_0, (3, 224, 224)),
    "mnasnet1_3": (tvm.mnasnet1_3, (3, 224, 224)),
    "shufflenet_v2_x0_5": (tvm.shufflenet_v2_x0_5, (3, 224, 224)),
    "shufflenet_v2_x1_0": (tvm.shufflenet_v2_x1_0, (3, 224, 224)),
    "shufflenet_v2_x1_5": (tvm.shufflenet_v2_x1_5, (3, 224, 224)),
    "shufflenet_v2_x2_0": (tvm.shufflenet_v2_x2_0, (3, 224, 224)),
    # torchvision's segmentation models with the auxiliary head, on the 520x520 input of torchvision's figures.
    "fcn_resnet50": (lambda: segmentation(tvs.fcn_resnet50), (3, 520, 520)),
    "deeplabv3_resnet50": (lambda: segmentation(tvs.deeplabv3_resnet50), (3, 520, 520)),
    "fcn_resnet101": (lambda: segmentation(tvs.fcn_resnet101), (3, 520, 520)),
    "deeplabv3_resnet101": (lambda: segmentation(tvs.deeplabv3_resnet101), (3, 520, 520)),
    "deeplabv3_mobilenet_v3_large": (lambda: segmentation(tvs.deeplabv3_mobilenet_v3_large), (3, 520, 520)),
    # LR-ASPP has no auxiliary head.
    "lraspp_mobilenet_v3_large": (lambda: tvs.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                                        num_classes=21), (3, 520, 520)),
    "convnext_tiny": (tvm.convnext_tiny, (3, 224, 224)),
    "convnext_small": (tvm.convnext_small, (3, 224, 224)),
    "convnext_base": (tvm.convnext_base, (3, 224, 224)),
    "convnext_large": (tvm.convnext_large, (3, 224, 224)),
    # Networks from papers, defined in PyTorch independently of netc (paper_models.py).
    "unet": (paper_models.UNet, (1, 572, 572)),
    "dcgan_generator": (paper_models.DCGANGenerator, (100, 1, 1)),
    **{name: (getattr(tvm, name), (3, 224, 224)) for name in (
        "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf",
        "regnet_y_32gf", "regnet_y_128gf",
        "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf",
        "regnet_x_32gf")},
    # B0 224, B1 240, B2 288, B3 300, B4 380, B5 456, B6 528, B7 600, V2-S 384, V2-M and V2-L 480.
    **{name: (getattr(tvm, name), weights_input(name)) for name in EFFICIENTNETS},
    # No PyTorch definition exists for the paper's GoogLeNet: netc's emitted module stands in.
    "googlenet_paper": ("emitted", (3, 224, 224)),
}
OPS_DIR = os.path.join(ROOT, "Tests", "parity", "ops")
for _file in sorted(os.listdir(OPS_DIR)):
    if _file.endswith(".net"):
        MODELS[_file[:-4]] = ("emitted", None)


def segmentation(builder):
    """A segmentation model as its spec describes it: random weights (no download), 21 classes, the auxiliary
    head (on ResNet's layer 3, on MobileNetV3's C2), whose output is the spec's side output."""
    return builder(weights=None, weights_backbone=None, aux_loss=True, num_classes=21)


class SegmentationTensors(torch.nn.Module):
    """A segmentation model's forward, step for step, with tensors for results. torchsummary and torchinfo
    hook the modules they measure, and the model and its backbone (a ModuleDict) return dicts, which
    neither can measure; this calls the same modules in the same order, and its own children (the model,
    the backbone) are never called, so they give no rows. LR-ASPP's head takes the backbone's dict, which
    torchsummary's hook cannot measure either (it reads input[0].size()): its forward is taken step for
    step too (lraspp_head), so the head gives no row of its own, only its modules do."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        size = x.shape[-2:]
        backbone, features = self.model.backbone, {}
        for name, module in backbone.items():
            x = module(x)
            if name in backbone.return_layers:
                features[backbone.return_layers[name]] = x
        if isinstance(self.model, tvs.LRASPP):
            return upsampled(lraspp_head(self.model.classifier, features["low"], features["high"]), size)
        x = upsampled(self.model.classifier(features["out"]), size)
        return x, upsampled(self.model.aux_classifier(features["aux"]), size)


def upsampled(x, size):
    return torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)


def lraspp_head(head, low, high):
    """torchvision's LRASPPHead.forward on the two feature maps instead of their dict."""
    x = head.cbr(high) * head.scale(high)
    x = upsampled(x, low.shape[-2:])
    return head.low_classifier(low) + head.high_classifier(x)


class InceptionAuxOutputs(torch.nn.Module):
    """torchvision's Inception3 with its auxiliary classifier run in every mode. Inception3 computes
    AuxLogits only in training mode, where it returns InceptionOutputs(logits, aux_logits), and returns the
    logits alone in eval mode. This calls the same modules in the order Inception3._forward calls them
    (the order they are registered in; torch.flatten before fc), AuxLogits on Mixed_6e's output
    included, and returns both: in eval mode, training mode's pair with inference's batch norm and
    dropout, which is what netc computes. same_as_torchvision checks that it is."""

    def __init__(self, model):
        super().__init__()
        if model.transform_input or model.AuxLogits is None:
            raise ValueError("the inception_v3 spec is torchvision's with aux_logits=True and transform_input=False")
        self.model = model

    def forward(self, x):
        aux = None
        for name, module in self.model.named_children():
            if name == "AuxLogits":
                aux = module(x)
            elif name == "fc":
                x = module(torch.flatten(x, 1))
            else:
                x = module(x)
        return x, aux

    def same_as_torchvision(self, gen):
        """Its outputs are torchvision's own: in eval mode the logits, and in training mode (batch
        statistics, dropout drawn from the same seed) both outputs, on copies of the model."""
        import copy
        x = torch.randn((2, 3, 299, 299), generator=gen)
        ok = True
        with torch.no_grad():
            ok &= check("InceptionAuxOutputs, eval mode, logits against Inception3's", self(x)[0].numpy(),
                        self.model(x).numpy())
            mine, theirs = copy.deepcopy(self).train(), copy.deepcopy(self.model).train()
            torch.manual_seed(5)
            got = mine(x)
            torch.manual_seed(5)
            want = theirs(x)
        for k, what in enumerate(("logits", "aux_logits")):
            ok &= check(f"InceptionAuxOutputs, training mode, {what} against Inception3's InceptionOutputs",
                        got[k].numpy(), want[k].numpy())
        return ok


# torchvision derives these segmentation heads from nn.Sequential, which torchsummary does not hook (it
# gives no row), while a netc block prints one row after its contents, as any other module does: in the
# segmentation specs' tables those rows are left out for the comparison, and the footer's sums are taken
# again without them.
SEQUENTIAL_BLOCKS = {"FCNHead", "DeepLabHead", "ASPPConv", "ASPPPooling"}


# An ONNX model is one protobuf message, which cannot reach 2 GiB: a model whose f32 weights are more
# (regnet_y_128gf's 644,812,894 parameters take 2,580,911,864 bytes with the batch-norm statistics) must have
# them in ONNX's external data.
PROTOBUF_LIMIT = 2**31


# Specs whose batch-norm statistics are measured on an input rather than drawn (calibrate_batch_norms).
CALIBRATED_BATCH_NORMS = {name for name in MODELS if name.startswith("regnet_y_")}


def measurable(model):
    """The model as torchsummary can measure it. torchvision's _DenseBlock calls each _DenseLayer with the
    list of the features before it, and torchsummary, which reads the size of each module's first input
    (to store a figure it never prints), fails on a list ("'list' object has no attribute 'size'"). A
    forward pre-hook on each _DenseLayer concatenates the list first, which the layer's bn_function does
    first anyway: given the concatenation, the layer computes the same, and torchsummary's hooks, which
    see the input after the pre-hooks, get a tensor. Any other model is returned as it is."""
    for m in model.modules():
        if isinstance(m, _DenseLayer):
            m.register_forward_pre_hook(lambda _, args: (torch.cat(args[0], 1),) if isinstance(args[0], list) else None)
    return model


# Specs whose emitted Swift is also checked as one self-contained file (a compile of 20 s or more each).
SELF_CONTAINED = {"lenet5", "ops_conv", "ops_convnext"}


def spec_path(name):
    """Tests/parity/ops/NAME.net, or specs/FAMILY/NAME.net in whichever family folder holds it."""
    if name.startswith("ops_"):
        return os.path.join(OPS_DIR, f"{name}.net")
    found = glob.glob(os.path.join(ROOT, "specs", "*", f"{name}.net"))
    if len(found) != 1:
        raise SystemExit(f"error: {len(found)} specs named {name}.net in specs/*/")
    return found[0]


def input_shape(netc, spec):
    out = subprocess.run([netc, "check", "--format", "json", spec], check=True, capture_output=True, text=True).stdout
    return tuple(json.loads(out)[0]["input_shape"][1:])


def emitted_model(netc, spec, tmp):
    import importlib.util
    path = os.path.join(tmp, "emitted_model.py")
    subprocess.run([netc, "emit", "--target", "pytorch", spec, "-o", path], check=True)
    module_spec = importlib.util.spec_from_file_location("emitted_model", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    # The network's class comes after the helper classes it uses (LayerNorm2d, LayerScale).
    classes = [v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == module.__name__]
    return classes[-1]()


def randomize(model, gen):
    """Random weights, batch-norm statistics far from the identity, so folding is really tested, and layer
    norms and ConvNeXt's layer scales far from their initial ones and 1e-6.

    The EfficientNets stack 16 to 79 blocks, most of them residual, and with statistics that do not
    normalise, each branch roughly doubles the variance of the sum it is added to: EfficientNetV2-S's
    outputs reach 7e6, and PyTorch's own f32 result is 2e-3 (relative) from its f64 one, B4's 2e-4, beyond
    the tolerance. The last batch norm of each residual branch (MBConv's, FusedMBConv's) gets a scale of
    0.1 to 0.3 instead (torchvision's ResNets can start theirs at 0, zero_init_residual): f32 is then
    within 1.5e-6 of f64 on every EfficientNet (0.2 to 0.5 would leave V2-L's 4e-3 from it)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, CNBlock):
                m.layer_scale.uniform_(0.1, 1.0, generator=gen)
            if isinstance(m, torch.nn.LayerNorm) and m.elementwise_affine:
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.normal_(0, 0.2, generator=gen)
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                if m.affine:
                    m.weight.uniform_(0.5, 1.5, generator=gen)
                    m.bias.normal_(0, 0.2, generator=gen)
                m.running_mean.normal_(0, 0.2, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)
            elif isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.normal_(0, (2.0 / fan_in) ** 0.5, generator=gen)
                if m.bias is not None:
                    m.bias.normal_(0, 0.1, generator=gen)
        for m in model.modules():
            if isinstance(m, (MBConv, FusedMBConv)) and m.use_res_connect:
                last = [b for b in m.block.modules() if isinstance(b, torch.nn.BatchNorm2d)][-1]
                last.weight.uniform_(0.1, 0.3, generator=gen)


def calibrate_batch_norms(model, shape, gen):
    """Replaces every batch norm's drawn running statistics with the mean and variance of its input on one
    random image (as training leaves them: each batch norm's input is then about centred and of unit
    variance), keeping randomize's affine weights; the statistics stay far from the identity's.

    With drawn statistics nothing normalises a deep network's activations. In the RegNetYs they grow to
    thousands, so do the inputs of the squeeze-and-excitation gates' sigmoids, and a rounding error at a
    gate's input becomes an error of its output times activations of that size, block after block:
    regnet_y_1_6gf's PyTorch f32 logits then differ from its own f64 ones by 39 against a largest logit of
    2,450, 160 times the 1e-4 tolerance, which no f32 implementation can meet (with these statistics: 0.2 of it)."""
    norms = [m for m in model.modules() if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: after one batch, that batch's statistics
    model.train()
    with torch.no_grad():
        model(torch.randn((1,) + shape, generator=gen))
    model.eval()
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


def netc_names(netc, spec, tmp):
    path = os.path.join(tmp, "names.safetensors")
    subprocess.run([netc, "init", spec, "-o", path], check=True, capture_output=True)
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    # Tensors appear in the file in netc's order (their data offsets grow).
    return [(k, v["shape"]) for k, v in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])]


def execution_order(model):
    """The state_dict's keys in the order netc names tensors, the order the layers run in. That is the
    state_dict's own order for every network but ConvNeXt: torchvision's CNBlock registers its layer_scale
    before its block's layers, so state_dict lists it first, whereas the block computes
    `layer_scale * block(input)`. Each CNBlock's layer_scale moves after its block's tensors."""
    keys = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    for name, m in model.named_modules():
        if isinstance(m, CNBlock):
            scale = f"{name}.layer_scale"
            keys.remove(scale)
            last = max(i for i, k in enumerate(keys) if k.startswith(f"{name}.block."))
            keys.insert(last + 1, scale)
    return keys


def mapped_weights(model, names):
    """Maps PyTorch's tensors onto netc's names in execution order (execution_order), checking each
    shape and that both name the same kind of tensor (weight, bias, running_mean, layer_scale...).
    Returns netc's weights and, for each netc name, PyTorch's key."""
    state = model.state_dict()
    torch_keys = execution_order(model)
    if len(torch_keys) != len(names):
        raise SystemExit(f"tensor count differs: PyTorch {len(torch_keys)}, netc {len(names)}")
    out, keys = {}, {}
    for tk, (nk, nshape) in zip(torch_keys, names):
        tv = state[tk]
        if list(tv.shape) != list(nshape) or tk.rsplit(".", 1)[-1] != nk.rsplit(".", 1)[-1]:
            raise SystemExit(f"{tk} {list(tv.shape)} does not match netc's {nk} {nshape}")
        out[nk] = tv.detach().numpy().astype(np.float32).copy()
        keys[nk] = tk
    return out, keys


def imported_weights(netc, spec, model, weights, torch_keys, tmp):
    """`netc weights import` of the model's state_dict saved exactly as PyTorch saves it (keys sorted,
    num_batches_tracked included): the file it writes must hold netc's tensors in netc's order, each equal
    to the one the mapping by execution order (mapped_weights) gives, and its pairing report must name the
    same PyTorch key for each. Returns the written file's path, or None if any of that fails."""
    state_dict = os.path.join(tmp, "state_dict.safetensors")
    safetensors.torch.save_file(model.state_dict(), state_dict)
    path = os.path.join(tmp, "imported.safetensors")
    t0 = time.time()
    report = subprocess.run([netc, "weights", "import", state_dict, "--spec", spec, "-o", path, "--format", "json"],
                            capture_output=True, text=True)
    seconds = time.time() - t0
    if report.returncode != 0:
        print(f"  netc weights import: FAIL\n{report.stderr}", flush=True)
        return None
    pairing = json.loads(report.stdout)
    with open(path, "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    header.pop("__metadata__", None)
    order = [k for k, _ in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])]
    got = load_file(path)
    same_order = order == list(weights) and [t["name"] for t in pairing["tensors"]] == list(weights)
    same_keys = all(t["key"] == torch_keys[t["name"]] for t in pairing["tensors"])
    differing = [k for k in weights if not (got[k].dtype == np.float32 and np.array_equal(got[k], weights[k]))]
    ok = same_order and same_keys and not differing
    print(f"  netc weights import ({pairing['pairing']}, {seconds:.1f} s): {len(order)} tensors "
          f"{'equal to the mapping by execution order' if ok else 'DIFFER from the mapping by execution order'}"
          + ("" if same_order else ", in another order") + ("" if same_keys else ", from other keys")
          + (f", {differing[:3]} differ" if differing else ""), flush=True)
    return path if ok else None


def check_emitted_module(netc, spec, weights, model, x, tmp):
    """The reverse direction: netc's weight file loads with load_state_dict(strict=True) into the module
    `netc emit --target pytorch` writes, which then computes what the model computes."""
    module = emitted_model(netc, spec, tmp).eval()
    module.load_state_dict(safetensors.torch.load_file(weights), strict=True)
    with torch.no_grad():
        wants, gots = outputs(model(x)), outputs(module(x))
    ok = len(wants) == len(gots)
    for k, (got, want) in enumerate(zip(gots, wants)):
        ok &= check(f"emitted PyTorch module, netc's weights loaded strictly, {output_label('batch 1', k)}", got.numpy(), want.numpy())
    return ok


def outputs(y):
    """Every output of a PyTorch model, the main one first, as netc orders them (side outputs, such as
    auxiliary classifiers, follow it): a tensor, a tuple, or a segmentation model's dict ('out', then 'aux')."""
    if isinstance(y, dict):
        return [y[k] for k in ("out", "aux") if k in y]
    return list(y) if isinstance(y, tuple) else [y]


def first(y):
    """The main output: `netc run -o` writes the first output."""
    return outputs(y)[0]


def check(name, got, want):
    tol = 1e-4 * max(1.0, float(np.abs(want).max()))
    err = float(np.abs(got - want).max())
    ok = got.shape == want.shape and err <= tol
    print(f"  {name}: max|diff| {err:.3g} (tolerance {tol:.3g}) {'ok' if ok else 'FAIL'}", flush=True)
    return ok


def run_netc(netc, spec, weights, x, tmp, count=1):
    """The network's first `count` outputs, one run each: `-o` writes the one `--output-index` names."""
    xin = os.path.join(tmp, "x.npy")
    np.save(xin, x)
    ys = []
    for k in range(count):
        yout = os.path.join(tmp, f"y{k}.npy")
        subprocess.run([netc, "run", spec, "--weights", weights, "--input", xin, "-o", yout] +
                       (["--output-index", str(k)] if k else []), check=True)
        ys.append(np.load(yout))
    return ys


def onnx_session(netc, spec, weights, tmp, external_data=False):
    """Exports the model with these weights, checks it fully, and opens it in ONNX Runtime; with
    `external_data`, asks for its weights in the side file: model_external.onnx.data beside
    model_external.onnx (the model without it is model.onnx, its side file if any model.onnx.data: each
    session keeps its own files). The side file must be there,
    holding every initializer of at least 1,024 bytes, exactly when asked for or when the model would
    otherwise be over protobuf's 2 GiB (then netc must say so). Returns the session and whether the export
    was as it must be."""
    name = "model_external.onnx" if external_data else "model.onnx"
    path = os.path.join(tmp, name)
    side = path + ".data"
    if os.path.exists(side):
        os.remove(side)
    r = subprocess.run([netc, "emit", "--target", "onnx", spec, "--weights", weights, "-o", path] +
                       (["--external-data"] if external_data else []), capture_output=True, text=True)
    if r.returncode != 0:
        print(f"  ONNX export: exit status {r.returncode}: {r.stderr.strip()} FAIL", flush=True)
        return None, False
    header = safetensors_header(weights)
    f32_bytes = sum(4 * int(np.prod(v["shape"])) for k, v in header.items() if k != "__metadata__" and v["dtype"] != "I64")
    automatic = f32_bytes >= PROTOBUF_LIMIT
    # The checker reads a model over 2 GiB from its path only; so it checks every model.
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path, load_external_data=False)
    external = [t for t in model.graph.initializer if onnx.external_data_helper.uses_external_data(t)]
    should_move = [t.name for t in model.graph.initializer if 4 * int(np.prod(t.dims)) >= 1024 and t.data_type == 1]
    ok = True
    if external_data or automatic:
        said = "(ONNX external data)" in r.stderr
        ok = (os.path.exists(side) and [t.name for t in external] == should_move and said == automatic and
              all({e.key: e.value for e in t.external_data}["location"] == name + ".data" for t in external))
        how = "automatically, as netc said" if said else "on request"
        print(f"  ONNX export: {len(external)} of {len(model.graph.initializer)} initializers in {name}.data"
              f" ({os.path.getsize(side) if os.path.exists(side) else 0:,} bytes, {how}; the model"
              f" {os.path.getsize(path):,} bytes) {'ok' if ok else 'FAIL'}", flush=True)
    elif external or os.path.exists(side):
        print("  ONNX export: external data for a model under 2 GiB FAIL", flush=True)
        ok = False
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"]), ok


def safetensors_header(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(n))


def run_onnx(session, x):
    """Every output: 'output', then the side outputs 'output_1', ..."""
    return session.run(None, {"input": x.astype(np.float32)})


def output_label(what, k):
    return what if k == 0 else f"side output {k}, {what}"


def check_swift(exes, what, weights, x, wants, tmp):
    """Each form of the emitted Swift against the reference, every output; the forms must agree bit for bit."""
    ok, runs = True, []
    for label, exe in exes.items():
        runs.append(run_swift(exe, weights, x, tmp, len(wants)))
        for k, want in enumerate(wants):
            ok &= check(f"{label}, {output_label(what, k)}", runs[-1][k], want)
    if len(runs) > 1:
        same = all(o.shape == r0.shape and o.tobytes() == r0.tobytes() for r in runs[1:] for o, r0 in zip(r, runs[0]))
        print(f"  emitted Swift forms, {what}: {'identical' if same else 'DIFFER'}", flush=True)
        ok &= same
    return ok


def check_all(netc, spec, session, exes, what, weights, model, x, tmp, external=None):
    """Every output of the PyTorch model against netc run's and the emitted Swift's, and ONNX Runtime's
    against netc run's; the `external` session's (the model with --external-data), if given, against
    PyTorch's."""
    with torch.no_grad():
        wants = [y.numpy() for y in outputs(model(x))]
    gots = run_netc(netc, spec, weights, x.numpy(), tmp, len(wants))
    ok = True
    for k, (got, want) in enumerate(zip(gots, wants)):
        ok &= check(f"netc run, {output_label(what, k)}", got, want)
    ok &= check_swift(exes, what, weights, x.numpy(), wants, tmp)
    for label, sess, refs in [("vs netc run", session, gots), ("with external data vs PyTorch", external, wants)]:
        if sess is None:
            continue
        onnx_outputs = run_onnx(sess, x.numpy())
        if len(onnx_outputs) != len(wants):
            print(f"  ONNX Runtime {label}: {len(onnx_outputs)} outputs, PyTorch {len(wants)} FAIL", flush=True)
            return False
        for k, (y, ref) in enumerate(zip(onnx_outputs, refs)):
            ok &= check(f"ONNX Runtime {label}, {output_label(what, k)}", y, ref)
    return ok


def summary_row(name, shape, params):
    """torchsummary's row format."""
    return "{:>20}  {:>25} {:>15}".format(name, shape, params)


def without_sequential_rows(table, shape):
    """netc's torchsummary table less the rows of SEQUENTIAL_BLOCKS, renumbered, with the footer's
    forward/backward and total sizes summed again over the rows that remain, as torchsummary sums them;
    and the number of rows left out."""
    lines = table.splitlines()
    first_row = lines.index("=" * 64) + 1
    end = lines.index("=" * 64, first_row)
    rows, elements = [], 0
    for line in lines[first_row:end]:
        kind, output, params = re.fullmatch(r"\s*(\S+)-\d+\s+(\[.*\])\s+(\S+)", line).groups()
        if kind in SEQUENTIAL_BLOCKS:
            continue
        rows.append(summary_row(f"{kind}-{len(rows) + 1}", output, params))
        elements += int(np.prod([abs(int(d)) for d in output.strip("[]").split(", ")]))
    footer = lines[end:]
    params = int(next(l for l in footer if l.startswith("Total params:")).split(":")[1].replace(",", ""))
    forward_backward = 2.0 * elements * 4.0 / 1024 ** 2
    # In torchsummary's order: parameters, forward/backward, input.
    total = params * 4.0 / 1024 ** 2 + forward_backward + np.prod(shape) * 4.0 / 1024 ** 2
    for i, l in enumerate(footer):
        if l.startswith("Forward/backward pass size (MB):"):
            footer[i] = "Forward/backward pass size (MB): %0.2f" % forward_backward
        elif l.startswith("Estimated Total Size (MB):"):
            footer[i] = "Estimated Total Size (MB): %0.2f" % total
    return "\n".join(lines[:first_row] + rows + footer) + "\n", end - first_row - len(rows)


def check_tables(netc, spec, factory, shape):
    """netc's tables against PyTorch's tools on the PyTorch model itself: torchsummary's text byte for byte,
    torchinfo's totals exactly. A DenseNet's layers get their input lists concatenated first (measurable).
    A segmentation model is measured through SegmentationTensors (set to eval: torchinfo leaves the model in
    the mode it found its wrapper in), and its nn.Sequential heads' rows are left out of netc's table."""
    model = measurable(factory().eval())
    segmentation_model = isinstance(model, (tvs.FCN, tvs.DeepLabV3, tvs.LRASPP))
    if segmentation_model:
        model = SegmentationTensors(model).eval()
    printed = io.StringIO()
    with torch.no_grad(), contextlib.redirect_stdout(printed):
        torchsummary.summary(model, shape, device="cpu")
    table = subprocess.run([netc, "params", spec], check=True, capture_output=True, text=True).stdout
    left_out = ""
    if segmentation_model:
        table, dropped = without_sequential_rows(table, shape)
        if dropped:
            left_out = f" without netc's {dropped} rows of nn.Sequential heads"
    ok = table == printed.getvalue()
    if ok:
        print(f"  torchsummary table{left_out}: identical", flush=True)
    else:
        want, got = printed.getvalue().splitlines(), table.splitlines()
        line = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
        print(f"  torchsummary table: DIFFERS at line {line + 1}:\n    torchsummary: "
              f"{want[line] if line < len(want) else '(end)'}\n    netc:         {got[line] if line < len(got) else '(end)'}",
              flush=True)
    info = torchinfo.summary(model, input_size=(1,) + tuple(shape), device="cpu", verbose=0)
    # torchinfo keeps every summary's layers, and through them the model, in a cache of its own until a
    # model of the same class is measured: 2.6 GB of regnet_y_128gf's weights beside the next model's.
    torchinfo.torchinfo.clear_cached_forward_pass()
    mine = json.loads(subprocess.run([netc, "params", "--format", "json", spec], check=True, capture_output=True,
                                     text=True).stdout)
    pairs = [("total params", info.total_params, mine["total_params"]),
             ("trainable params", info.trainable_params, mine["trainable_params"]),
             ("mult-adds", info.total_mult_adds, mine["total_mult_adds"])]
    for what, theirs, ours in pairs:
        same = theirs == ours
        ok &= same
        print(f"  torchinfo {what}: {theirs:,}{'' if same else f' but netc {ours:,}'} {'ok' if same else 'FAIL'}", flush=True)
    return ok


# The batch-2 leg (how netc lays out and runs a batch) and the f16 leg (how it reads f16 weights) exercise code
# that does not depend on a network's widths and depths. They run on every spec of Tests/parity/ops and on
# these: the seed networks, and one or two networks of each family, which together hold every operation and
# layout torchvision's networks use. Every other spec is checked at batch 1 with f32 weights (its tables, the
# import of its state_dict, netc run, the emitted Swift, the emitted PyTorch module and ONNX Runtime), and
# says so; `parity.py --full` runs every leg on every spec.
FULL_MATRIX = {
    "lenet5", "lenet_224", "alexnet_table", "simple_inception", "alexnet", "vgg16_bn", "googlenet", "googlenet_paper",
    "inception_v3", "resnet50", "resnext50_32x4d", "mobilenet_v2", "mobilenet_v3_large", "mnasnet0_75",
    "shufflenet_v2_x1_0", "convnext_tiny", "densenet121", "squeezenet1_0", "efficientnet_b0", "efficientnet_v2_s",
    "regnet_y_400mf", "regnet_x_400mf", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large",
    "dcgan_generator",
}


def parity(netc, name, tmp, full=False):
    """Whether every check of the spec passed. The batch-2, f16 and external-data legs run for the specs in FULL_MATRIX and Tests/parity/ops, or every spec if `full`."""
    every_leg = full or name in FULL_MATRIX or name.startswith("ops_")
    factory, shape = MODELS[name]
    spec = spec_path(name)
    shape = shape or input_shape(netc, spec)
    print(f"{name}:", flush=True)
    ok = True
    if factory != "emitted":
        ok &= check_tables(netc, spec, factory, shape)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    model = (emitted_model(netc, spec, tmp) if factory == "emitted" else factory()).eval()
    randomize(model, gen)
    if isinstance(model, InceptionAuxOutputs):
        ok &= model.same_as_torchvision(gen)
    if name in CALIBRATED_BATCH_NORMS:
        calibrate_batch_norms(model, shape, gen)
    weights, torch_keys = mapped_weights(model, netc_names(netc, spec, tmp))
    # The weights netc runs with are the ones `netc weights import` makes of the model's state_dict, which
    # must be those of the mapping by execution order.
    wpath = imported_weights(netc, spec, model, weights, torch_keys, tmp)
    if wpath is None:
        return False
    exes = {"emitted Swift": build_swift(netc, spec, tmp)}
    if name in SELF_CONTAINED:
        exes["emitted Swift --self-contained"] = build_swift(netc, spec, tmp, self_contained=True)
    session, exported = onnx_session(netc, spec, wpath, tmp)
    ok &= exported
    external = None
    if every_leg:
        # The same model with its weights in model_external.onnx.data.
        external, exported = onnx_session(netc, spec, wpath, tmp, external_data=True)
        ok &= exported
    for batch in (1, 2) if every_leg else (1,):
        x = torch.randn((batch,) + shape, generator=gen)
        ok &= check_all(netc, spec, session, exes, f"batch {batch}, f32 weights", wpath, model, x, tmp, external)
    session = external = None
    ok &= check_emitted_module(netc, spec, wpath, model, torch.randn((1,) + shape, generator=gen), tmp)
    if factory == "emitted":
        # netc's module names its tensors as netc does: its state_dict, saved as PyTorch saves it (with
        # batch norm's int64 num_batches_tracked), runs as it is.
        spath = os.path.join(tmp, "state_dict.safetensors")
        safetensors.torch.save_file(model.state_dict(), spath)
        x = torch.randn((1,) + shape, generator=gen)
        with torch.no_grad():
            want = first(model(x)).numpy()
        ok &= check("netc run, batch 1, the module's state_dict as saved", run_netc(netc, spec, spath, x.numpy(), tmp)[0], want)
    if not every_leg:
        print("  batch 2 and f16 weights: checked on the networks of FULL_MATRIX (parity.py --full runs them here)",
              flush=True)
        return ok
    # f16 weights: PyTorch runs with the same rounded values in f32.
    half = {k: v.astype(np.float16) for k, v in weights.items()}
    del weights  # not needed any more: as large as the model (2.6 GB for regnet_y_128gf)
    hpath = os.path.join(tmp, "w16.safetensors")
    save_file(half, hpath)
    # The model's own state_dict, values replaced (it keeps its version metadata, which MNASNet's loader
    # requires), each netc tensor to the PyTorch key it was mapped from.
    state = model.state_dict()
    for k, v in half.items():
        state[torch_keys[k]] = torch.from_numpy(v.astype(np.float32))
    model.load_state_dict(state)
    x = torch.randn((1,) + shape, generator=gen)
    session, exported = onnx_session(netc, spec, hpath, tmp)
    ok &= exported
    ok &= check_all(netc, spec, session, exes, "batch 1, f16 weights", hpath, model, x, tmp)
    return ok


TWO_NETWORKS_MAIN = """
import Foundation
// Two networks of one module: each runs on its own input; the outputs are written for the test to compare.
let a = try LeNet5(weightsPath: CommandLine.arguments[1], batch: 1)
let b = try LeNet5Twin(weightsPath: CommandLine.arguments[1], batch: 1)
let c = try SimpleInception(weightsPath: CommandLine.arguments[2], batch: 1)
let x = [Float](repeating: 0.25, count: 32 * 32)
let y = [Float](repeating: 0.5, count: 3 * 32 * 32)
for v in [a(x)[0], b(x)[0], c(y)[0]] { print(v.map { String($0) }.joined(separator: " ")) }
// A batch below 1 is an error the app can handle, not a trap.
do { _ = try LeNet5(weightsPath: CommandLine.arguments[1], batch: 0); print("batch 0 accepted") } catch { print(error) }
"""


def two_networks_in_one_module(netc, tmp):
    """Any number of emitted networks build together in one module, the kernels once in NetcKernels: LeNet-5
    twice (the second renamed with --name) and the small inception network, in one executable, each
    computing what `netc run` computes."""
    print("two networks in one module:", flush=True)
    work = os.path.join(tmp, "two")
    os.makedirs(work, exist_ok=True)
    lenet, inception = spec_path("lenet5"), spec_path("simple_inception")
    sources = []
    for spec, extra, name in [(lenet, [], "LeNet5.swift"), (lenet, ["--name", "LeNet5Twin"], "LeNet5Twin.swift"),
                              (inception, [], "SimpleInception.swift")]:
        sources.append(os.path.join(work, name))
        subprocess.run([netc, "emit", "--target", "swift", spec, "-o", sources[-1]] + extra, check=True)
    weights = []
    for spec, name in [(lenet, "lenet.safetensors"), (inception, "inception.safetensors")]:
        weights.append(os.path.join(work, name))
        subprocess.run([netc, "init", spec, "--seed", "3", "-o", weights[-1]], check=True, capture_output=True)
    main = os.path.join(work, "main.swift")
    with open(main, "w") as f:
        f.write(TWO_NETWORKS_MAIN)
    exe = os.path.join(work, "two")
    subprocess.run(swiftc_command(netc, sources + [main], exe), check=True)
    printed = subprocess.run([exe] + weights, check=True, capture_output=True, text=True).stdout.splitlines()
    refusal = printed.pop() if printed else ""
    ok = refusal == "the batch must be at least 1, found 0"
    print(f"  batch 0: {refusal!r} {'ok' if ok else 'FAIL'}", flush=True)
    got = [np.array([float(v) for v in line.split()], dtype=np.float32) for line in printed]
    ok &= len(got) == 3
    for k, (spec, w, x) in enumerate([(lenet, weights[0], np.full((1, 1, 32, 32), 0.25, np.float32)),
                                      (lenet, weights[0], np.full((1, 1, 32, 32), 0.25, np.float32)),
                                      (inception, weights[1], np.full((1, 3, 32, 32), 0.5, np.float32))]):
        want = run_netc(netc, spec, w, x, work)[0].reshape(-1)
        ok &= k < len(got) and check(f"{os.path.basename(sources[k])} in one module with the others vs netc run",
                                     got[k], want)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc", default=os.path.join(ROOT, ".build", "release", "netc"))
    ap.add_argument("--full", action="store_true", help="the batch-2 and f16 legs on every spec, not only FULL_MATRIX's")
    ap.add_argument("specs", nargs="*", default=list(MODELS))
    args = ap.parse_args()
    unknown = FULL_MATRIX - set(MODELS)
    if unknown:
        raise SystemExit(f"error: FULL_MATRIX names specs parity.py does not know: {', '.join(sorted(unknown))}")
    torch.set_num_threads(2)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.specs:
            t0 = time.time()
            ok = parity(args.netc, name, tmp, full=args.full)
            print(f"{name}: {'passed' if ok else 'FAILED'} in {time.time() - t0:.0f} s", flush=True)
            if not ok:
                failed += 1
            else:
                passed += 1
        if two_networks_in_one_module(args.netc, tmp):
            passed += 1
        else:
            failed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
