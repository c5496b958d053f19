"""Catalogue knowledge: parsing, storage and matching. Pure code: never imports telegram."""

import os

# One BLAS thread: ranking 5,000 FAQ vectors is one matrix-vector product, and OpenBLAS threads
# that spin after it starve the sentence encoder's own threads — a question then takes 30 ms to
# 1.7 s to embed instead of 12 ms (bench.matcher, 2 cores). Must be set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
