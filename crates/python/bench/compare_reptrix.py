"""specreg.alpha(method="stringer", ranks=(11, 100)) against reptrix's get_alpha on the same activations.

    pip install reptrix scikit-learn matplotlib torchvision ./crates/python
    python crates/python/bench/compare_reptrix.py

reptrix (Agrawal et al. 2022, α-ReQ) fits its PCA explained-variance ratios over ranks 11–100 with
weights 1/n; the normalisation does not change the slope, so the two must agree to float32 precision.
"""

import numpy as np
import torch
from reptrix import alpha as reptrix_alpha

import specreg

rng = np.random.default_rng(0)
largest = 0.0
for n, d, a in [(3000, 200, 1.0), (5000, 512, 1.5), (2000, 300, 0.7), (4000, 1024, 1.0)]:
    x = (rng.standard_normal((n, d)) * np.arange(1, d + 1) ** (-a / 2)).astype(np.float32)
    theirs = reptrix_alpha.get_alpha(torch.from_numpy(x))[0]
    ours = specreg.alpha(x, method="stringer", ranks=(11, 100), ci=None).alpha
    largest = max(largest, abs(theirs - ours))
    print(f"{n} x {d}, α = {a}: reptrix {theirs:.6f}, specreg {ours:.6f}, difference {abs(theirs - ours):.1e}")
print(f"largest difference {largest:.1e}")
