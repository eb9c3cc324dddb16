#!/usr/bin/env bash
# Executes the analysis notebooks in notebooks/ from top to bottom, as CI does, and fails if any
# cell raises. Run it after `bash scripts/test.sh` (which builds target/release/fitrnn and writes
# the demo run target/tmp/mouse_v1), or after `bash scripts/demo.sh` (runs/mouse_v1):
#
#   bash scripts/notebooks.sh
#
# Creates (or reuses) a virtual environment in .venv-notebooks with pinned versions of polars,
# matplotlib, h5py, numpy, nbclient, nbformat and ipykernel, and registers its Python as the
# notebooks' `python3` kernel. The executed copies, with their plots, are written to
# target/notebooks/ (the committed notebooks stay without outputs). FITRNN_RUN, FITRNN_BIN,
# FITRNN_WORK and FITRNN_SEEDS are passed on to the notebooks (see their first cells);
# 02_compare_conditions writes its fits to target/notebooks/compare_work unless FITRNN_WORK is set.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt.sh
ROOT="$PWD"
VENV="$ROOT/.venv-notebooks"
OUT="$ROOT/target/notebooks"
NOTEBOOKS=(notebooks/01_explore_run.ipynb notebooks/02_compare_conditions.ipynb)
PINS=(
  polars==2.1.0
  matplotlib==3.11.2
  h5py==3.16.0
  numpy==2.4.6
  nbclient==0.11.0
  nbformat==5.11.1
  ipykernel==7.4.0
)

# The demo run: the one the tests wrote, else the one scripts/demo.sh wrote.
if [[ -z "${FITRNN_RUN:-}" ]]; then
  for run in target/tmp/mouse_v1 runs/mouse_v1; do
    if [[ -f "$run/manifest.json" ]]; then
      export FITRNN_RUN="$ROOT/$run"
      break
    fi
  done
fi
missing=()
[[ -n "${FITRNN_BIN:-}" || -x target/release/fitrnn ]] || missing+=(target/release/fitrnn)
[[ -n "${FITRNN_RUN:-}" ]] || missing+=("a demo run (target/tmp/mouse_v1 or runs/mouse_v1)")
if ((${#missing[@]})); then
  echo "The notebooks need the release binary and the demo run; missing: ${missing[*]}." >&2
  echo "Run 'bash scripts/test.sh' first (it builds fitrnn and writes target/tmp/mouse_v1)." >&2
  exit 1
fi

start=$SECONDS

# The virtual environment: python3 -m venv needs the venv module (Debian: python3-venv).
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      apt_install "Python's venv module" python3-venv
    else
      echo "Python's venv module is missing: install it with your system's package manager." >&2
      exit 1
    fi
  fi
  echo "Creating $VENV ($(python3 --version))..."
  rm -rf "$VENV"
  python3 -m venv "$VENV"
fi

# Pinned packages, installed again only when the pins change.
STAMP="$VENV/.fitrnn-pins"
if [[ "$(cat "$STAMP" 2>/dev/null)" != "${PINS[*]}" ]]; then
  echo "Installing ${PINS[*]}..."
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
  # The kernel the notebooks name (python3) is this environment's Python.
  "$VENV/bin/python" -m ipykernel install --prefix "$VENV" --name python3 \
    --display-name "Python 3 (fitrnn notebooks)" >/dev/null
  echo "${PINS[*]}" >"$STAMP"
fi
echo "environment ready in $((SECONDS - start)) s"

# Kernel specs in this environment come before any in the user's or the system's Jupyter folders.
export JUPYTER_PATH="$VENV/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export JUPYTER_PLATFORM_DIRS=1
if [[ -z "${FITRNN_WORK:-}" ]]; then
  export FITRNN_WORK="$OUT/compare_work"
  rm -rf "$FITRNN_WORK"
fi
mkdir -p "$OUT"

"$VENV/bin/python" - "$OUT" "${NOTEBOOKS[@]}" <<'PY'
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

out = Path(sys.argv[1])
spec = KernelSpecManager().get_kernel_spec("python3")
if Path(spec.argv[0]).parent.resolve() != Path(sys.executable).parent.resolve():
    sys.exit(f"the python3 kernel runs {spec.argv[0]}, not this environment's {sys.executable}")

failed = []
with tempfile.TemporaryDirectory(prefix="fitrnn-kernel-") as sockets:
    for path in map(Path, sys.argv[2:]):
        nb = nbformat.read(path, as_version=4)
        # Local IPC sockets rather than TCP ports for the kernel's messages.
        km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, path.stem))
        client = NotebookClient(nb, km=km, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        t0 = time.perf_counter()
        try:
            client.execute()
            status = "ok"
        except CellExecutionError as e:
            failed.append(path)
            status = "FAILED"
            print(str(e), file=sys.stderr)
        except Exception as e:  # the kernel died or could not start
            failed.append(path)
            status = "FAILED"
            print(f"{type(e).__name__}: {e}", file=sys.stderr)
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=True)
        nbformat.write(nb, out / path.name)
        print(f"{path}: {status} in {time.perf_counter() - t0:.1f} s -> {out / path.name}", flush=True)

if failed:
    sys.exit(f"{len(failed)} notebook(s) failed: {', '.join(map(str, failed))}")
PY
echo "notebooks done in $((SECONDS - start)) s"
