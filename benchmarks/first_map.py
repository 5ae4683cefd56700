"""The first map after a model is loaded, each start in a fresh process.

The map is the app's first: the methods on by default that cost one pass each
(`engine.explainer.first_methods`). Two ways, as the CLI and the app meet them:
* cold: load, then explain at once (the CLI's `explain`);
* warmed: load, `engine.warm_up` (what the app runs while the user picks an image), then
  explain: the wait the user sees is the explain alone, if picking took longer than the warm-up.
On JAX the seconds JAX itself reports are summed by kind (tracing to a jaxpr, lowering, the
XLA compile, reading its persistent compilation cache), so a slow first map says where it goes.
Every start after the first finds JAX's persistent compilation cache filled.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CODE = """
import json, sys, time
from collections import defaultdict
t0 = time.perf_counter()
from saliency_desktop.engine import explain, warm_up, load_image
from saliency_desktop.engine.explainer import first_methods
sys.path.insert(0, {here!r})
from bench_engine import load
spent = defaultdict(float)
try:
    import keras
    if keras.backend.backend() == "jax":
        import jax.monitoring
        def listen(event, seconds, **kwargs):
            spent[event.rsplit("/", 1)[-1]] += seconds
        jax.monitoring.register_event_duration_secs_listener(listen)
except ImportError:
    pass
model, image = load({model!r})
pixels = load_image(image)[0]
t1 = time.perf_counter()
if {warm!r}:
    warm_up(model)
t2 = time.perf_counter()
explain(model, pixels, methods=first_methods(model))
t3 = time.perf_counter()
print(json.dumps(dict(load=t1 - t0, warm_up=t2 - t1, first_map=t3 - t2,
                      jax={{k: round(v, 2) for k, v in spent.items() if v >= 0.05}})))
"""


def first_map(model: str, warm: bool = False) -> dict:
    """{load, warm_up, first_map seconds, jax: {event: seconds}} of one fresh process."""
    code = CODE.format(here=str(HERE), model=model, warm=warm)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(model: str) -> list[dict]:
    """Two cold starts, then two warmed ones; prints a line each."""
    runs = []
    for label, warm in (("cold", False), ("cold, 2nd start", False), ("warmed", True),
                        ("warmed, 2nd start", True)):  # fmt: skip
        r = first_map(model, warm)
        runs.append({"start": label, **r})
        jax_part = f"; JAX {r['jax']}" if r["jax"] else ""
        warm_part = f", warm-up {r['warm_up']:.2f} s" if warm else ""
        print(f"first map, {label}: {r['first_map']:.2f} s (load {r['load']:.1f} s"
              f"{warm_part}){jax_part}", flush=True)  # fmt: skip
    return runs
