"""State_dict layouts of torchvision models that specs/ does not hold yet, for the tests of `netc weights
import`'s pairing (WeightsImportTests): for each model, its float tensors' keys and shapes, sorted as a
safetensors file stores them, and the order a netc spec of the model runs its modules in. The test pairs
the two without the order and requires the order back.

The order is the order the model calls its modules in (forward hooks; the first call counts), with a
module that holds tensors of its own and has children with tensors (ConvNeXt's CNBlock, whose layer_scale
multiplies its block's output) counted when it returns. RegNet's ResBottleneckBlock computes its projection
`proj` before its body `f` (`self.proj(x) + self.f(x)`), as specs/regnet writes it (`add< proj | f >`). Models with auxiliary classifiers are traced in training mode, where
they run them (after inception4a and inception4d in GoogLeNet, after Mixed_6e in Inception-v3): a spec
writes them as side outputs at those places. Built on the meta device (shapes only, no weights).

usage (from this folder): python make_orders.py, with torch and torchvision importable (.venv).
"""
import json

import torch
import torchvision.models as tvm

MODELS = {
    "densenet121": (lambda: tvm.densenet121(), (3, 224, 224), False),
    "efficientnet_b0": (lambda: tvm.efficientnet_b0(), (3, 224, 224), False),
    "efficientnet_v2_s": (lambda: tvm.efficientnet_v2_s(), (3, 224, 224), False),
    "regnet_x_400mf": (lambda: tvm.regnet_x_400mf(), (3, 224, 224), False),
    "regnet_y_400mf": (lambda: tvm.regnet_y_400mf(), (3, 224, 224), False),
    "inception_v3": (lambda: tvm.inception_v3(aux_logits=True, init_weights=False), (3, 299, 299), True),
    "googlenet_aux": (lambda: tvm.googlenet(aux_logits=True, init_weights=False), (3, 224, 224), True),
    "squeezenet1_1": (lambda: tvm.squeezenet1_1(), (3, 224, 224), False),
    "resnext50_32x4d": (lambda: tvm.resnext50_32x4d(), (3, 224, 224), False),
}


def own_tensors(m):
    return [t for t in list(m.parameters(recurse=False)) + list(m.buffers(recurse=False)) if t.is_floating_point()]


def call_order(model, shape, training):
    order = []
    hooks = []
    for name, m in model.named_modules():
        if not own_tensors(m):
            continue
        nested = any(own_tensors(c) for c in m.modules() if c is not m)

        def record(module, *args, name=name):
            if name not in order:
                order.append(name)
        hooks.append(m.register_forward_hook(record) if nested else m.register_forward_pre_hook(record))
    model.train(training)
    with torch.no_grad():
        model(torch.zeros((2,) + shape, device="meta"))
    for h in hooks:
        h.remove()
    return order


def main():
    for name, (factory, shape, training) in MODELS.items():
        try:
            with torch.device("meta"):
                model = factory()
        except (NotImplementedError, RuntimeError):  # RegNet computes its widths with tensors
            model = factory().to("meta")
        order = call_order(model, shape, training)
        tensors = sorted((k, list(v.shape)) for k, v in model.state_dict().items() if v.is_floating_point())
        modules = {k.rpartition(".")[0] for k, _ in tensors}
        assert sorted(order) == sorted(modules), name
        with open(f"{name}.json", "w") as f:
            json.dump({"model": name, "order": order, "tensors": tensors}, f, separators=(",", ":"))
            f.write("\n")
        print(name, len(order), "modules,", len(tensors), "tensors")


if __name__ == "__main__":
    main()
