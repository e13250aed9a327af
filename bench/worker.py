"""One benchmark contender in its own process (bench/bench.py starts it).

  worker.py pytorch|ort|openvino NAME WEIGHTS.pt MODEL.onnx INPUT.npy OUTPUT.npy

Loads the model, writes its (main) output for INPUT to OUTPUT, prints 'ready', then runs one inference for
each line on stdin and prints its time in milliseconds. With 'openvino', the first line of stdout is the
compiled model's settings as OpenVINO reports them, so that bench.py can check it runs f32 on 2 threads.
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
    # The same weights bench.py gave netc, as the model's own state_dict.
    model.load_state_dict(torch.load(wpath))
    xt = torch.from_numpy(x)

    def infer():
        with torch.inference_mode():
            y = model(xt)
        return parity.first(y).numpy()
elif kind == "ort":
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])

    def infer():
        return session.run(None, {"x": x})[0]
elif kind == "openvino":
    import openvino as ov
    import openvino.properties as props
    import openvino.properties.hint as hints
    core = ov.Core()
    # f32 explicitly: on a CPU with AVX512-BF16 (or AMX) OpenVINO's default precision for f32 models is bf16.
    config = {hints.inference_precision: ov.Type.f32, hints.performance_mode: hints.PerformanceMode.LATENCY,
              props.inference_num_threads: 2}
    model = core.read_model(onnx_path)
    # The ONNX model's batch axis is dynamic (one file for every batch). It is fixed to this input's shape,
    # as OpenVINO's own benchmark_app does, so that OpenVINO compiles for static shapes, its usual path (on
    # ResNet-18 the two took about the same time: 27 and 29 ms, medians of 9 runs).
    model.reshape({0: list(x.shape)})
    compiled = core.compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    print(f"settings precision={compiled.get_property(hints.inference_precision).get_type_name()} "
          f"threads={compiled.get_property(props.inference_num_threads)} "
          f"hint={compiled.get_property(hints.performance_mode)}", flush=True)

    def infer():
        return request.infer({0: x})[0]
else:
    raise SystemExit(f"worker.py: unknown contender {kind!r}")

np.save(ypath, np.ascontiguousarray(infer()))
print("ready", flush=True)
for _ in sys.stdin:
    t0 = time.perf_counter_ns()
    infer()
    print((time.perf_counter_ns() - t0) / 1e6, flush=True)
