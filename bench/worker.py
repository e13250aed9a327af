"""One benchmark contender in its own process (bench/bench.py starts it).

  worker.py pytorch|ort NAME WEIGHTS.safetensors MODEL.onnx INPUT.npy OUTPUT.npy

Loads the model, writes its output for INPUT to OUTPUT, prints 'ready', then runs one inference for each
line on stdin and prints its time in milliseconds.
"""
import os
import sys
import time

import numpy as np

kind, name, wpath, onnx_path, xpath, ypath = sys.argv[1:7]
x = np.load(xpath)

if kind == "pytorch":
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "parity"))
    import parity

    torch.set_num_threads(2)
    torch.set_num_interop_threads(1)
    model = parity.MODELS[name][0]().eval()
    # The same weights the safetensors file holds under netc's names, saved by bench.py as a state_dict.
    model.load_state_dict(torch.load(wpath[:-len(".safetensors")] + ".pt"))
    xt = torch.from_numpy(x)

    def infer():
        with torch.inference_mode():
            y = model(xt)
        return parity.first(y).numpy()
else:
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])

    def infer():
        return session.run(None, {"x": x})[0]

np.save(ypath, infer())
print("ready", flush=True)
for _ in sys.stdin:
    t0 = time.perf_counter_ns()
    infer()
    print((time.perf_counter_ns() - t0) / 1e6, flush=True)
