"""Build data/connectivity/mouse_v1_celltype.csv, fitrnn's tidy within-area probability table.

Rows: every (pre, post) pair of the 12 populations {L2/3, L4, L5} x {Slc17a7, Pvalb, Sst, Vip}
within one area (pre_area = post_area = "*": the same numbers in every area), 144 rows of
pre_area,pre_layer,pre_type,post_area,post_layer,post_type,probability,source.

Provenance:
- Pairs among Slc17a7 / Sst / Vip (source `balwani2025`): Balwani et al. 2025, Sci. Adv.,
  connection-probs-full.csv from GitHub HChoiLab/biologicalRNNs at commit 53794d8 (MIT licence).
  Long form, one row per (pre-layer, post-layer, pre-cell-type, post-cell-type) with the column
  `connection-probability`; types Pyr/SST/ViP, layers L2/3, L4, L5, L6 (L6 is not used here).
  It has no Pvalb populations.
- Pairs involving Pvalb (source `v1dd_pmax`): the V1DD peak connection probability matrix
  pmax_matrix_v1dd.csv from AllenInstitute/biorealistic-v1-model at commit 3302766, base_props/
  (BSD-3 licence). A space-separated square matrix with row = presynaptic and column = postsynaptic
  population; the first column (`pre`) names the row. Populations are named like L2/3_Exc, L4_PV,
  L5_SST, L6_VIP; layer 5 splits its excitatory cells into L5_IT, L5_ET and L5_NP, and L5 Slc17a7 is
  read as L5_IT. These are peak values of a distance-dependent Gaussian, so they overestimate the
  average probability between neurons of one imaging plane.

Probabilities are written with 6 significant digits (Balwani's values have 1-2 decimals and are
copied exactly). Run from the repository root (Python standard library only):
    python3 data/scripts/make_celltype_table.py
"""
import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONN = ROOT / "data" / "connectivity"
LAYERS = ["L2/3", "L4", "L5"]
TYPES = ["Slc17a7", "Pvalb", "Sst", "Vip"]
# Balwani et al.'s cell-type names -> fitrnn's (Cre-line) names.
BALWANI_TYPE = {"Pyr": "Slc17a7", "SST": "Sst", "ViP": "Vip"}
# fitrnn's names -> the suffix of the V1DD population names.
V1DD_TYPE = {"Slc17a7": "Exc", "Pvalb": "PV", "Sst": "SST", "Vip": "VIP"}


def v1dd_name(layer, cell_type):
    """The V1DD population for a fitrnn (layer, cell type); L5 excitatory is the IT class."""
    if layer == "L5" and cell_type == "Slc17a7":
        return "L5_IT"
    return f"{layer}_{V1DD_TYPE[cell_type]}"


def read_balwani(path):
    """{(pre_layer, pre_type, post_layer, post_type): probability} from the long-form CSV."""
    table = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            pre_t, post_t = BALWANI_TYPE[row["pre-cell-type"]], BALWANI_TYPE[row["post-cell-type"]]
            key = (row["pre-layer"], pre_t, row["post-layer"], post_t)
            assert key not in table, f"duplicate row {key} in {path}"
            table[key] = float(row["connection-probability"])
    return table


def read_v1dd(path):
    """{(pre_population, post_population): peak probability} from the row = pre matrix."""
    lines = path.read_text().split("\n")
    header = lines[0].split()
    assert header[0] == "pre", header[0]
    posts = header[1:]
    table = {}
    for line in lines[1:]:
        if not line.strip():
            continue
        parts = line.split()
        assert len(parts) == len(posts) + 1, f"ragged row {parts[0]} in {path}"
        for post, value in zip(posts, parts[1:]):
            table[(parts[0], post)] = float(value)
    return table


def main():
    balwani = read_balwani(CONN / "balwani2025" / "connection-probs-full.csv")
    v1dd = read_v1dd(CONN / "biorealistic_v1_model" / "pmax_matrix_v1dd.csv")

    rows = []
    for pre_l in LAYERS:
        for pre_t in TYPES:
            for post_l in LAYERS:
                for post_t in TYPES:
                    if "Pvalb" in (pre_t, post_t):
                        # Matrix lookup: row = presynaptic, column = postsynaptic.
                        p = v1dd[(v1dd_name(pre_l, pre_t), v1dd_name(post_l, post_t))]
                        source = "v1dd_pmax"
                    else:
                        p = balwani[(pre_l, pre_t, post_l, post_t)]
                        source = "balwani2025"
                    rows.append(["*", pre_l, pre_t, "*", post_l, post_t, f"{p:.6g}", source])

    # 3 layers x 4 types = 12 populations, every ordered pair once.
    assert len(rows) == 144, len(rows)
    assert len({tuple(r[:6]) for r in rows}) == 144, "duplicate population pair"
    assert all(0.0 <= float(r[6]) <= 1.0 for r in rows), "probability outside [0, 1]"

    out = CONN / "mouse_v1_celltype.csv"
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["pre_area", "pre_layer", "pre_type", "post_area", "post_layer", "post_type",
                    "probability", "source"])
        w.writerows(rows)
    n_balwani = sum(r[7] == "balwani2025" for r in rows)
    print(f"wrote {out.relative_to(ROOT)}: {len(rows)} rows "
          f"({n_balwani} balwani2025, {len(rows) - n_balwani} v1dd_pmax)")


if __name__ == "__main__":
    main()
