"""Numerical parity of netc with PyTorch, and of netc's ONNX export with netc.

For each spec: take the PyTorch model (torchvision's own for the torchvision specs, the independent
definitions in ../shared/reference/seed_models.py for the seed networks), give it random weights with
non-trivial batch-norm statistics, map its state_dict onto netc's tensor names by position (README.md,
"Weights"), run one random input through PyTorch in eval mode and through `netc run`, and require
max|netc - torch| <= 1e-4 * max(1, max|torch|). Also at batch 2, and with the weights stored as f16.

The model `netc emit --target onnx` writes with the same weights must pass
`onnx.checker.check_model(full_check=True)`, and ONNX Runtime's output on the same inputs must equal
`netc run`'s within 1e-4 * max(1, max|netc|).

The specs in Tests/parity/ops/ (ops_*) exercise every operation the torchvision networks do not; their
PyTorch reference is the module `netc emit --target pytorch` writes.

The emitted Swift is compiled against the NetcKernels library built beside netc (`swift build -c release
--product NetcKernels`, which run.sh does); for the specs in SELF_CONTAINED it is also emitted with
`--self-contained` and compiled as one file, and both forms must give the same bits.

usage: parity.py [--netc PATH] [SPEC ...]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision.models as tvm
from torchvision.models.convnext import CNBlock
from safetensors.numpy import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(ROOT), "shared", "reference"))
import seed_models  # noqa: E402

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
    "googlenet": (lambda: tvm.googlenet(aux_logits=False, init_weights=True), (3, 224, 224)),
    "resnet18": (tvm.resnet18, (3, 224, 224)),
    "resnet34": (tvm.resnet34, (3, 224, 224)),
    "resnet50": (tvm.resnet50, (3, 224, 224)),
    "resnet101": (tvm.resnet101, (3, 224, 224)),
    "resnet152": (tvm.resnet152, (3, 224, 224)),
    "convnext_tiny": (tvm.convnext_tiny, (3, 224, 224)),
    "convnext_small": (tvm.convnext_small, (3, 224, 224)),
    "convnext_base": (tvm.convnext_base, (3, 224, 224)),
    "convnext_large": (tvm.convnext_large, (3, 224, 224)),
    # No PyTorch definition exists for the paper's GoogLeNet: netc's emitted module stands in.
    "googlenet_paper": ("emitted", (3, 224, 224)),
}
OPS_DIR = os.path.join(ROOT, "Tests", "parity", "ops")
for _file in sorted(os.listdir(OPS_DIR)):
    if _file.endswith(".net"):
        MODELS[_file[:-4]] = ("emitted", None)


# Specs whose emitted Swift is also checked as one self-contained file (a compile of 20 s or more each).
SELF_CONTAINED = {"lenet5", "ops_conv", "ops_convnext"}


def spec_path(name):
    return os.path.join(OPS_DIR if name.startswith("ops_") else os.path.join(ROOT, "specs"), f"{name}.net")


def input_shape(netc, spec):
    out = subprocess.run([netc, "check", "--format", "json", spec], check=True, capture_output=True, text=True).stdout
    import json
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
    norms and ConvNeXt's layer scales far from their initial ones and 1e-6."""
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


def netc_names(netc, spec, tmp):
    path = os.path.join(tmp, "names.safetensors")
    subprocess.run([netc, "init", spec, "-o", path], check=True, capture_output=True)
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        import json
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


def first(y):
    """The main output: netc writes the first output (side outputs, such as auxiliary classifiers, follow it)."""
    return y[0] if isinstance(y, tuple) else y


def check(name, got, want):
    tol = 1e-4 * max(1.0, float(np.abs(want).max()))
    err = float(np.abs(got - want).max())
    ok = got.shape == want.shape and err <= tol
    print(f"  {name}: max|diff| {err:.3g} (tolerance {tol:.3g}) {'ok' if ok else 'FAIL'}", flush=True)
    return ok


def run_netc(netc, spec, weights, x, tmp):
    xin, yout = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    np.save(xin, x)
    subprocess.run([netc, "run", spec, "--weights", weights, "--input", xin, "-o", yout], check=True)
    return np.load(yout)


def onnx_session(netc, spec, weights, tmp):
    """Exports the model with these weights, checks it fully, and opens it in ONNX Runtime."""
    path = os.path.join(tmp, "model.onnx")
    subprocess.run([netc, "emit", "--target", "onnx", spec, "--weights", weights, "-o", path], check=True)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def run_onnx(session, x):
    return session.run(None, {"input": x.astype(np.float32)})[0]


def build_swift(netc, spec, tmp, self_contained=False):
    """Emits the network as Swift and compiles it as the README tells users to: against the NetcKernels
    library that SwiftPM built beside netc (its module in Modules/, its archive libNetcKernels.a), or, with
    self_contained, as one file."""
    form = "self-contained" if self_contained else "library"
    work = os.path.join(tmp, form)
    os.makedirs(work, exist_ok=True)
    source = os.path.join(work, "Net.swift")
    subprocess.run([netc, "emit", "--target", "swift", spec, "-o", source] + (["--self-contained"] if self_contained else []),
                   check=True)
    exe = os.path.join(work, "net")
    main = os.path.join(work, "main.swift")  # top-level code must live in main.swift
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "SwiftMain.swift")) as f, open(main, "w") as g:
        g.write(f.read())
    command = ["swiftc", "-Ounchecked", "-target-cpu", "native", source, main, "-o", exe]
    if not self_contained:
        build = os.path.dirname(os.path.abspath(netc))
        modules, archive = os.path.join(build, "Modules"), os.path.join(build, "libNetcKernels.a")
        if not os.path.exists(os.path.join(modules, "NetcKernels.swiftmodule")) or not os.path.exists(archive):
            raise SystemExit(f"no NetcKernels library beside {netc}: run 'swift build -c release --product NetcKernels'")
        command[4:4] = ["-I", modules]
        command.insert(-2, archive)
    t0 = time.time()
    subprocess.run(command, check=True)
    print(f"  emitted Swift ({form}) compiled in {time.time() - t0:.1f} s", flush=True)
    return exe


def run_swift(exe, weights, x, tmp):
    xin, yout = os.path.join(tmp, "x.npy"), os.path.join(tmp, "ys.npy")
    np.save(xin, x.astype(np.float32))
    subprocess.run([exe, weights, xin, yout], check=True)
    return np.load(yout)


def check_swift(exes, what, weights, x, want, tmp):
    """Each form of the emitted Swift against the reference; the forms must agree bit for bit."""
    ok, outputs = True, []
    for label, exe in exes.items():
        outputs.append(run_swift(exe, weights, x, tmp))
        ok &= check(f"{label}, {what}", outputs[-1], want)
    if len(outputs) > 1:
        same = all(o.shape == outputs[0].shape and o.tobytes() == outputs[0].tobytes() for o in outputs[1:])
        print(f"  emitted Swift forms, {what}: {'identical' if same else 'DIFFER'}", flush=True)
        ok &= same
    return ok


def parity(netc, name, tmp):
    factory, shape = MODELS[name]
    spec = spec_path(name)
    shape = shape or input_shape(netc, spec)
    print(f"{name}:", flush=True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    model = (emitted_model(netc, spec, tmp) if factory == "emitted" else factory()).eval()
    randomize(model, gen)
    weights, torch_keys = mapped_weights(model, netc_names(netc, spec, tmp))
    wpath = os.path.join(tmp, "w.safetensors")
    save_file(weights, wpath)
    ok = True
    exes = {"emitted Swift": build_swift(netc, spec, tmp)}
    if name in SELF_CONTAINED:
        exes["emitted Swift --self-contained"] = build_swift(netc, spec, tmp, self_contained=True)
    session = onnx_session(netc, spec, wpath, tmp)
    for batch in (1, 2):
        x = torch.randn((batch,) + shape, generator=gen)
        with torch.no_grad():
            want = first(model(x)).numpy()
        got = run_netc(netc, spec, wpath, x.numpy(), tmp)
        ok &= check(f"netc run, batch {batch}, f32 weights", got, want)
        ok &= check_swift(exes, f"batch {batch}, f32 weights", wpath, x.numpy(), want, tmp)
        ok &= check(f"ONNX Runtime vs netc run, batch {batch}, f32 weights", run_onnx(session, x.numpy()), got)
    # f16 weights: PyTorch runs with the same rounded values in f32.
    half = {k: v.astype(np.float16) for k, v in weights.items()}
    hpath = os.path.join(tmp, "w16.safetensors")
    save_file(half, hpath)
    model.load_state_dict({torch_keys[k]: torch.from_numpy(v.astype(np.float32)) for k, v in half.items()}, strict=False)
    x = torch.randn((1,) + shape, generator=gen)
    with torch.no_grad():
        want = first(model(x)).numpy()
    got = run_netc(netc, spec, hpath, x.numpy(), tmp)
    ok &= check("netc run, batch 1, f16 weights", got, want)
    ok &= check_swift(exes, "batch 1, f16 weights", hpath, x.numpy(), want, tmp)
    ok &= check("ONNX Runtime vs netc run, batch 1, f16 weights", run_onnx(onnx_session(netc, spec, hpath, tmp), x.numpy()), got)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc", default=os.path.join(ROOT, ".build", "release", "netc"))
    ap.add_argument("specs", nargs="*", default=list(MODELS))
    args = ap.parse_args()
    torch.set_num_threads(2)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.specs:
            if parity(args.netc, name, tmp):
                passed += 1
            else:
                failed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
