#!/usr/bin/python3
"""Prints the benchmark table of `make bench` from the files in runs/bench/.

Every figure is paired with the baseline named by the issue, measured in the same run.
"""
import json
import os
import re
import sys

import h5py
import numpy as np


def gbench(path):
    """name -> benchmark entry of a Google Benchmark JSON file."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return {b["name"]: b for b in json.load(f)["benchmarks"]}


def run_figures(out, cfg):
    h5 = os.path.join(out, cfg + ".h5")
    if not os.path.exists(h5):
        return None
    with h5py.File(h5, "r") as f:
        wall = f["timing/wall_s"][:]
        acc = f["rounds/test_accuracy"][:]
        ex = f["rounds/examples"][:]
        params = int(f["meta"].attrs.get("num_params", 0))
        # Every round but the last (which evaluates) is training + aggregation only.
        train = wall[:-1] if len(wall) > 1 else wall
    rss = None
    tfile = os.path.join(out, cfg + ".time")
    if os.path.exists(tfile):
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(tfile).read())
        rss = int(m.group(1)) / 1024 if m else None
    return dict(median_s=float(np.median(train)), acc=float(acc[~np.isnan(acc)][-1]),
                examples=float(np.median(ex)), rss_mib=rss, params=params)


def main(out):
    rows = []
    eng = gbench(os.path.join(out, "engine.json"))
    e = eng.get("BM_EngineHold/10000000/iterations:3")
    q = eng.get("BM_PriorityQueueHold/10000000/iterations:3")
    if e and q:
        rows.append(("engine hold model", f"{e['items_per_second'] / 1e6:.1f} M events/s",
                     f"{e['items_per_second'] / q['items_per_second']:.2f}x bare priority_queue "
                     f"({q['items_per_second'] / 1e6:.1f} M/s)", ">= 10 M events/s"))
    for name, b in gbench(os.path.join(out, "models.json")).items():
        counters = {k: v for k, v in b.items()
                    if k not in ("name", "run_name", "run_type", "repetitions", "repetition_index",
                                 "threads", "iterations", "real_time", "cpu_time", "time_unit",
                                 "family_index", "per_family_instance_index", "aggregate_name")}
        txt = ", ".join(f"{k} {v:.3g}" for k, v in counters.items() if isinstance(v, (int, float)))
        rows.append((name, f"{b['real_time']:.3g} {b['time_unit']}", txt, ""))
    for cfg in ("bitcoin_10k", "bft_100"):
        path = os.path.join(out, f"chain_{cfg}.txt")
        if not os.path.exists(path):
            continue
        lines = dict(l.split(None, 1) for l in open(path) if len(l.split(None, 1)) == 2)
        speed = re.search(r"in ([0-9.]+) s wall.*: ([0-9.]+) M events/s", open(path).read())
        if speed:
            rows.append((f"chain {cfg}", f"{speed.group(2)} M events/s, {speed.group(1)} s wall",
                         lines.get("blocks", "").strip(), ">= 2 M events/s"))
    targets = {"config_a": (0.040, 0.119), "config_b": (0.30, 0.83)}
    for cfg in ("config_a", "config_b", "million_clients"):
        r = run_figures(out, cfg)
        if not r:
            continue
        base = ""
        tj = os.path.join(out, f"torch_{cfg}.json")
        if os.path.exists(tj) and os.path.getsize(tj) > 0:
            t = json.load(open(tj))
            base = (f"PyTorch {t['median_round_train_s']:.3f} s/round (acc {t['final_acc']:.3f}): "
                    f"{t['median_round_train_s'] / r['median_s']:.1f}x faster")
        target = f"<= {targets[cfg][0]} s/round" if cfg in targets else "RSS <= 4096 MiB"
        rss = f", peak RSS {r['rss_mib']:.0f} MiB" if r["rss_mib"] else ""
        rows.append((f"ledgerfl {cfg}", f"{r['median_s']:.4f} s/round{rss}",
                     f"acc {r['acc']:.3f}; {base}", target))
    w = [max(len(str(x[i])) for x in rows) for i in range(4)] if rows else [0] * 4
    print()
    print(f"{'benchmark':<{w[0]}}  {'figure':<{w[1]}}  {'target':<{w[3]}}  against the baseline")
    for r in rows:
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[3]:<{w[3]}}  {r[2]}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/bench")
