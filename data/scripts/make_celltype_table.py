"""Build data/connectivity/mouse_v1_celltype.csv, fitrnn's tidy within-area probability table.

Rows: every (pre, post) pair of the 12 populations {L2/3, L4, L5} x {Slc17a7, Pvalb, Sst, Vip}
within one area (pre_area = post_area = "*": the same numbers in every area).
- Pairs among Slc17a7 / Sst / Vip: Balwani et al. 2025 (Sci. Adv.), connection-probs-full.csv
  (HChoiLab/biologicalRNNs @ 53794d8, MIT), long form, types Pyr/SST/ViP.
- Pairs involving Pvalb: V1DD peak connection probability (AllenInstitute/biorealistic-v1-model
  @ 3302766, base_props/pmax_matrix_v1dd.csv, BSD-3), a space-separated matrix with
  row = presynaptic, column = postsynaptic; L5 excitatory is read as L5_IT. These are peak values of
  a distance-dependent Gaussian, so they overestimate the average probability within an imaging plane.

Run from the repository root (standard library only):  python3 data/scripts/make_celltype_table.py
"""
import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONN = ROOT / "data" / "connectivity"
LAYERS = ["L2/3", "L4", "L5"]
TYPES = ["Slc17a7", "Pvalb", "Sst", "Vip"]
BALWANI_TYPE = {"Pyr": "Slc17a7", "SST": "Sst", "ViP": "Vip"}
V1DD_TYPE = {"Slc17a7": "Exc", "Pvalb": "PV", "Sst": "SST", "Vip": "VIP"}


def v1dd_name(layer, cell_type):
    if layer == "L5" and cell_type == "Slc17a7":
        return "L5_IT"
    return f"{layer}_{V1DD_TYPE[cell_type]}"


def main():
    balwani = {}
    with open(CONN / "balwani2025" / "connection-probs-full.csv", newline="") as f:
        for row in csv.DictReader(f):
            pre_t, post_t = BALWANI_TYPE[row["pre-cell-type"]], BALWANI_TYPE[row["post-cell-type"]]
            key = (row["pre-layer"], pre_t, row["post-layer"], post_t)
            balwani[key] = float(row["connection-probability"])

    lines = (CONN / "biorealistic_v1_model" / "pmax_matrix_v1dd.csv").read_text().split("\n")
    header = lines[0].split()[1:]
    v1dd = {}
    for line in lines[1:]:
        if not line.strip():
            continue
        parts = line.split()
        for post, value in zip(header, parts[1:]):
            v1dd[(parts[0], post)] = float(value)

    rows = []
    for pre_l in LAYERS:
        for pre_t in TYPES:
            for post_l in LAYERS:
                for post_t in TYPES:
                    if "Pvalb" in (pre_t, post_t):
                        p = v1dd[(v1dd_name(pre_l, pre_t), v1dd_name(post_l, post_t))]
                        source = "v1dd_pmax"
                    else:
                        p = balwani[(pre_l, pre_t, post_l, post_t)]
                        source = "balwani2025"
                    rows.append(["*", pre_l, pre_t, "*", post_l, post_t, f"{p:.6g}", source])
    assert len(rows) == 144, len(rows)
    assert all(0.0 <= float(r[6]) <= 1.0 for r in rows)
    out = CONN / "mouse_v1_celltype.csv"
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["pre_area", "pre_layer", "pre_type", "post_area", "post_layer", "post_type", "probability", "source"])
        w.writerows(rows)
    print(f"wrote {out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
