"""Prints the benchmark table of scripts/bench from Google Benchmark's JSON and the PyTorch
peer's JSON: milliseconds per step, ratios against the hand-written limit and PyTorch, the
per-node overhead, the fused-chain and adam plugin bandwidth against a plain copy measured in the
same run, L-BFGS's time outside its objective's calls, and the epoch's time outside its steps.
Each figure is the median of the repetitions."""
import json
import sys


def cpu(context):
    """The CPU's model and the instruction sets symgrad's side ran (symgrad_bench records them in
    its JSON context: oneDNN's effective ISA and the chain compiler's, as the CPU and
    ONEDNN_MAX_CPU_ISA allow), and whether bf16 is native (without it, precision bf16 runs in f32)."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
                break
    onednn = context.get("onednn_isa", "?")
    chains = context.get("chain_isa", "?")
    bf16 = onednn.startswith("avx512_core_bf16") or onednn.startswith("avx512_core_amx")
    return model, onednn, chains, bf16


def epoch_clocks(metrics_path):
    """The epoch's seconds and, of them, the seconds in its steps' plans, from the run's
    metrics-epochs.csv (the first epoch's row)."""
    import csv
    with open(metrics_path) as f:
        row = next(csv.DictReader(f))
    return float(row["seconds"]), float(row["step_seconds"])


def main(bench_path, torch_path, epoch_symgrad_path, epoch_torch_path, torch_unset_path, epoch_torch_unset_path,
         epoch_metrics_path):
    with open(bench_path) as f:
        bench_json = json.load(f)
    runs = bench_json["benchmarks"]
    # medians of the repetitions when there are any, else the single runs
    bench = {b["run_name"]: b for b in runs if b.get("run_type") != "aggregate"}
    bench.update({b["run_name"]: b for b in runs if b.get("aggregate_name") == "median"})
    with open(torch_path) as f:
        peer = json.load(f)
    with open(epoch_symgrad_path) as f:
        epoch = json.load(f)
    with open(epoch_torch_path) as f:
        epoch_torch = json.load(f)
    with open(torch_unset_path) as f:
        peer_unset = json.load(f)
    with open(epoch_torch_unset_path) as f:
        epoch_torch_unset = json.load(f)
    epoch_seconds, step_seconds = epoch_clocks(epoch_metrics_path)

    def kernel(p):
        env = ", ".join(f"{k}={v}" for k, v in p["environment"].items() if v is not None) or "both unset"
        return f"OpenBLAS kernel {p['blas']['corename']} ({env})"

    def ms(name):
        b = bench[name + "/real_time"] if name + "/real_time" in bench else bench[name]
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
        return b["real_time"] * scale

    model, onednn_isa, chain_isa, native_bf16 = cpu(bench_json.get("context", {}))

    def bf16_note(f32, bf16):
        if not native_bf16:  # the run asked for bf16 and computed in f32: a ratio would only be noise
            return "no native bf16 on this CPU: f32 ran (no ratio)"
        return f"f32 / bf16 = {f32 / bf16:.2f}x (target >= 1.8x)"

    mlp, hand, cnn = ms("MlpStep/symgrad"), ms("MlpStep/handwritten"), ms("CnnStep/symgrad")
    cnn_hand = ms("CnnStep/handwritten")
    mlp_bf16, cnn_bf16 = ms("MlpStep/symgrad_bf16"), ms("CnnStep/symgrad_bf16")
    node_us = bench["TinyNodes/fused:1/real_time"]["ns_per_node"] * 1e6
    node_unfused_us = bench["TinyNodes/fused:0/real_time"]["ns_per_node"] * 1e6
    copy = bench["Copy/real_time"]["bytes_per_second"]
    copy_threaded = bench["CopyThreaded/real_time"]["bytes_per_second"]
    chain = bench["AdamLikeChain/real_time"]["bytes_per_second"]
    red_prim, red_own = ms("BiasGradReduction/onednn_primitive"), ms("BiasGradReduction/symgrad")
    adam = bench["AdamPluginStep/real_time"]["bytes_per_second"]
    lbfgs = bench["LbfgsMlp/examples:128/real_time"]
    vg = ms("MlpValueAndGrad/examples:128")
    vg_full = ms("MlpValueAndGrad/examples:60000/iterations:3/repeats:1")
    plan = ms("MlpGradPlan")
    rows = [
        ("MLP 784-1024-1024-10 step, batch 128", f"{mlp:.2f} ms", ""),
        ("  hand-written oneDNN (limit)", f"{hand:.2f} ms", f"symgrad / limit = {mlp / hand:.2f}x (target <= 1.0x)"),
        (f"  PyTorch {peer['torch_version']}", f"{peer['mlp_ms']:.2f} ms", f"PyTorch / symgrad = {peer['mlp_ms'] / mlp:.2f}x (target >= 2.5x); {kernel(peer)}"),
        ("  PyTorch, OpenBLAS settings unset", f"{peer_unset['mlp_ms']:.2f} ms", f"PyTorch / symgrad = {peer_unset['mlp_ms'] / mlp:.2f}x; {kernel(peer_unset)}"),
        ("  symgrad, precision bf16", f"{mlp_bf16:.2f} ms", bf16_note(mlp, mlp_bf16)),
        ("CNN step, batch 128", f"{cnn:.2f} ms", ""),
        ("  hand-written oneDNN (limit)", f"{cnn_hand:.2f} ms", f"symgrad / limit = {cnn / cnn_hand:.2f}x (target <= 1.0x; 0.9x with graph rewrites)"),
        ("  symgrad, precision bf16", f"{cnn_bf16:.2f} ms", bf16_note(cnn, cnn_bf16)),
        (f"  PyTorch {peer['torch_version']}", f"{peer['cnn_ms']:.2f} ms", f"PyTorch / symgrad = {peer['cnn_ms'] / cnn:.2f}x (target >= 3x)"),
        ("  PyTorch, OpenBLAS settings unset", f"{peer_unset['cnn_ms']:.2f} ms", f"PyTorch / symgrad = {peer_unset['cnn_ms'] / cnn:.2f}x"),
        ("per-node time, 200 tiny nodes, fused", f"{node_us:.2f} us", "target <= 2 us"),
        ("  the same with fusion off (one kernel a node)", f"{node_unfused_us:.2f} us", ""),
        ("conv bias gradient, oneDNN reduction primitive", f"{red_prim:.2f} ms", ""),
        ("  the onednn backend's own reduction", f"{red_own:.2f} ms", f"{red_prim / red_own:.1f}x faster"),
        ("Adam-like chain over 10M floats", f"{chain / 1e9:.1f} GB/s",
         f"{100 * chain / copy:.0f}% of memcpy ({copy / 1e9:.1f} GB/s; target >= 50%), "
         f"{100 * chain / copy_threaded:.0f}% of a copy on every thread ({copy_threaded / 1e9:.1f} GB/s; target >= 90%)"),
        ("adam plugin step over 10M parameters", f"{adam / 1e9:.1f} GB/s",
         f"{100 * adam / copy:.0f}% of memcpy, {100 * adam / copy_threaded:.0f}% of the threaded copy (target >= 90%)"),
        ("tanh, sigmoid and exp chain over 10M floats", f"{ms('TranscendentalChain/compiled:1'):.2f} ms",
         f"interpreted {ms('TranscendentalChain/compiled:0'):.2f} ms: "
         f"{ms('TranscendentalChain/compiled:0') / ms('TranscendentalChain/compiled:1'):.1f}x faster compiled"),
        ("L-BFGS (history 10) iteration on the MLP, 128 examples", f"{ms('LbfgsMlp/examples:128'):.2f} ms",
         f"{lbfgs['calls_per_iteration']:.2f} objective calls of {lbfgs['objective_ms_per_call']:.2f} ms"),
        ("  time outside the objective's calls", f"{lbfgs['host_ms_per_iteration']:.1f} ms",
         f"{100 * lbfgs['host_overhead']:.0f}% of their time (over 128 examples)"),
        ("  the MLP's value_and_grad over 60000 examples", f"{vg_full:.0f} ms",
         f"the time outside is {100 * lbfgs['host_ms_per_iteration'] / vg_full:.1f}% of one full-batch call (target <= 5%)"),
        ("  the MLP's value_and_grad alone, 128 examples", f"{vg:.2f} ms", f"its compiled plan alone {plan:.2f} ms: copies add {100 * (vg - plan) / plan:.0f}%"),
        ("Fashion-MNIST epoch, MLP, Adam (whole process)", f"{epoch['seconds']:.2f} s",
         f"peak memory {epoch['max_rss_kb'] / 1024:.0f} MB"),
        ("  the epoch (metrics-epochs.csv: seconds)", f"{epoch_seconds:.2f} s",
         f"its steps' plans {step_seconds:.2f} s; the time outside them (batches, metrics, callbacks) "
         f"{100 * (epoch_seconds - step_seconds) / epoch_seconds:.1f}% of the epoch (target <= 15%)"),
        ("  PyTorch", f"{epoch_torch['seconds']:.2f} s",
         f"PyTorch / symgrad = {epoch_torch['seconds'] / epoch['seconds']:.2f}x (target >= 3x); "
         f"peak memory {epoch_torch['max_rss_kb'] / 1024:.0f} MB, symgrad / PyTorch = "
         f"{epoch['max_rss_kb'] / epoch_torch['max_rss_kb']:.2f} (target <= 1)"),
        ("  PyTorch, OpenBLAS settings unset", f"{epoch_torch_unset['seconds']:.2f} s",
         f"PyTorch / symgrad = {epoch_torch_unset['seconds'] / epoch['seconds']:.2f}x"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"CPU: {model}; symgrad: oneDNN {onednn_isa}, fused chains {chain_isa}, "
          f"bf16 {'native' if native_bf16 else 'not native (bf16 runs in f32)'}; "
          f"PyTorch: {peer.get('cpu_capability', '?')}")
    print(f"threads: {peer['threads']}")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")


if __name__ == "__main__":
    main(*sys.argv[1:8])
