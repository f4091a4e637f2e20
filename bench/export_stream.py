"""A street's whole household list as CSV at a million households: time to the first
byte, total time, peak RSS (issue 11: first byte <= 1 s, RSS <= 200 MB for 100,000 rows).

    .venv/bin/python bench/export_stream.py [--database yijia_scale_1m]
"""

import argparse
import resource
import sys
import time

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from bench.scale import make_app
from bench.scale_data import PASSWORD

parser = argparse.ArgumentParser()
parser.add_argument("--database", default="yijia_scale_1m")
args = parser.parse_args()
app = make_app(f"postgresql+psycopg://postgres@127.0.0.1/{args.database}")
c = app.test_client()
c.post("/login", data={"username": "clerk", "password": PASSWORD})
t = time.perf_counter()
r = c.get("/admin/household/export/csv/", buffered=False)
first = next(iter(r.response))
t1 = time.perf_counter() - t
n = len(first)
rows = first.count(b"\n")
for chunk in r.response:
    n += len(chunk)
    rows += chunk.count(b"\n")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(
    f"status {r.status_code}, first byte {t1 * 1000:.0f} ms, total {time.perf_counter() - t:.1f} s,"
    f" {rows} lines, {n / 1e6:.1f} MB, peak RSS {peak:.0f} MB"
)
