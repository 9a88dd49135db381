"""Import survey: import many torchvision and timm models and print what each import did.

    PYTHONPATH=. python bench/survey_import.py              # the survey list (docs/import-survey.md)
    PYTHONPATH=. python bench/survey_import.py --all        # and every other torchvision model
    PYTHONPATH=. python bench/survey_import.py timm:rexnet_100 torchvision:resnet18 --markdown out.md
    nice -n 19 python bench/survey_import.py --timeout 300 --markdown rows.md   # a long run, in the background

Each model runs in its own process (one at a time, killed at ``--timeout`` seconds), with the
code of the repository's last commit (a snapshot taken per commit, so edits made while a long run
goes on never run half-written; each row names its commit). Rows are appended to ``--markdown`` as
they finish, under a header that says what is run, where and on what load.

Per model, built with random weights (no download): its normalisation statistics and constant
parameters are first set to seeded random values (the same as the verifier uses) and saved as a
state dict, so the import reads realistic weights through ``--weights``. ``import_model`` verifies
its design against the model; then, independently of the verifier, the written design is read
back from disk, built with its saved weights and run against the model on a batch of 3 it never
saw. Result: **exact** (verified, and the read-back design agrees); **not exact** (the verifier
refused it, or wrote it with differing nodes marked under ``--allow-unverified``); **refused** (no
design, with the sentence); **wrong** (the verifier said exact but the read-back design computes
something else: the failure this survey exists to catch). An input as small as the model allows
is tried first (64x64, 8x64x64 frames for video), then the model's own size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"classification": (3, 64, 64), "segmentation": (3, 64, 64), "detection": (3, 128, 128),
         "video": (3, 8, 64, 64), "optical_flow": (3, 128, 128)}
FULL = {"video": [(3, 16, 224, 224)]}  # torchvision's video models' own clips (their source gives an image's size)
# One small model of each timm family (78 families); the families issue 21 named come last.
TIMM_FAMILIES = [
    "lcnet_050", "mixnet_s", "mnasnet_small", "tinynet_e", "semnasnet_050", "fbnetc_100", "hardcorenas_a",
    "mobilenetv2_050", "mobilenetv1_100", "ghostnetv2_100", "repghostnet_050", "tf_efficientnetv2_b0",
    "resnest14d", "dla46_c", "dpn48b", "regnetz_b16", "repvgg_a0", "selecsls42b", "cs3darknet_s", "darknet17",
    "ese_vovnet19b_dw", "hgnetv2_b0", "gernet_s", "skresnet18", "ecaresnet26t", "seresnext26d_32x4d",
    "legacy_seresnet18", "nf_resnet26", "resnetv2_18", "inception_next_atto", "poolformer_s12", "pvt_v2_b0",
    "fastvit_t8", "deit_tiny_patch16_224", "eva02_tiny_patch14_224", "cait_xxs24_224", "xcit_nano_12_p16_224",
    "gcvit_xxtiny", "visformer_tiny", "efficientformerv2_s0", "davit_tiny", "starnet_s050", "tiny_vit_5m_224",
    "mobilevitv2_050", "mixer_s16_224", "resmlp_12_224", "coat_lite_tiny", "pit_ti_224", "mambaout_femto",
    "fasternet_t0", "repvit_m0_9", "rdnet_tiny", "botnet26t_256", "lambda_resnet26t", "xception41",
    "densenet121", "hrnet_w18_small",
    "efficientnet_b0", "mobilenetv3_large_100", "mobilenetv4_conv_small", "mobileone_s0", "rexnet_100",
    "coatnet_0_rw_224", "regnetx_002", "regnety_002", "efficientvit_b0", "efficientvit_m0", "mobilevit_xxs",
    "dm_nfnet_f0", "convit_tiny", "edgenext_xx_small", "convnext_atto", "vit_tiny_patch16_224", "resnet18d",
    "ghostnet_100", "swin_tiny_patch4_window7_224", "maxvit_tiny_rw_224", "levit_128s",
]


def torchvision_sources(kinds: tuple[str, ...]) -> list[str]:
    import torchvision

    names = []
    for kind in kinds:
        module = torchvision.models if kind == "classification" else getattr(torchvision.models, kind)
        names += sorted(torchvision.models.list_models(module=module))
    return [f"torchvision:{n}" for n in names]


def survey_list(everything: bool) -> list[str]:
    """The timm families, then torchvision's video, segmentation and classification models
    (``everything``: and its detection and optical-flow models)."""
    kinds = ("video", "segmentation", "classification") + (("detection", "optical_flow") if everything else ())
    return [f"timm:{n}" for n in TIMM_FAMILIES] + torchvision_sources(kinds)


@dataclass
class Row:
    source: str
    outcome: str  # exact, unverified, refused, wrong
    seconds: float
    nodes: int = 0
    opaque: int = 0
    tied: int = 0
    params_equal: bool | None = None
    sentence: str = ""
    commit: str = ""
    load: float = 0.0  # the machine's 1-minute load average when the model started


def kind_of(name: str) -> str:
    import torchvision

    for kind in ("segmentation", "detection", "video", "optical_flow"):
        if name in torchvision.models.list_models(module=getattr(torchvision.models, kind)):
            return kind
    return "classification"


def _leaves(value) -> list:  # noqa: ANN001
    import torch
    from torch.utils._pytree import tree_leaves

    return [v for v in tree_leaves(value) if isinstance(v, torch.Tensor)]


def survey_one(source: str, folder: Path) -> Row:
    """Import ``source`` with realistic random weights; check the written design independently."""
    import torch

    from cnnstudio.core.compiler import build_model
    from cnnstudio.core.designfile import load_design
    from cnnstudio.core.weights import load_weights_file
    from cnnstudio.importers import import_model, save_import
    from cnnstudio.importers.graph import ImportFailed
    from cnnstudio.importers.sources import load_source
    from cnnstudio.importers.verify import _differs, _relative, perturbed

    library, _, name = source.partition(":")
    start = time.perf_counter()
    torch.manual_seed(0)
    model = load_source(source).module.eval()
    realistic = perturbed(model)  # entered and never left (kept in a name: collected, it would put them back)
    realistic.__enter__()  # these are the weights the import reads
    torch.save(model.state_dict(), folder / "weights.pt")
    small = SMALL[kind_of(name)] if library == "torchvision" else (3, 64, 64)
    try:
        try:
            shapes = [small]
            imported = import_model(source, shapes, weights=str(folder / "weights.pt"))
        except ImportFailed as error:
            if "input" not in str(error).lower() and "shape" not in str(error).lower():
                raise
            shapes = FULL.get(kind_of(name)) if library == "torchvision" else None  # else the model's own size
            imported = import_model(source, shapes, weights=str(folder / "weights.pt"))
    except Exception as error:  # noqa: BLE001 - a survey records every failure as a row
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        outcome = "unverified" if "was not imported: not exact" in message else "refused"
        return Row(source, outcome, time.perf_counter() - start, sentence=f"{type(error).__name__}: {message}")
    verification = imported.verification
    params = sum(p.numel() for p in model.parameters())  # a tied tensor counted once
    row = Row(source, "exact" if verification.exact else "unverified", 0.0, len(imported.design),
              len(imported.opaque), len(imported.design.tied), verification.parameters == params,
              verification.sentence())
    if verification.parameters != params:
        row.sentence += f" (the design has {verification.parameters:,} parameters, the model {params:,})"
    if verification.exact:  # read the written design back and run it against the model
        save_import(imported, folder / "design.json")
        design = load_design(folder / "design.json")
        rebuilt = build_model(design).eval()
        load_weights_file(rebuilt, design.weights)
        size = shapes[0] if shapes else load_source(source).shapes[0]
        inputs = [torch.randn((3, *size), generator=torch.Generator().manual_seed(7))]
        with torch.no_grad():
            want, got = _leaves(model(*inputs)), _leaves(rebuilt(*inputs))
        error, scale = _relative(got[:len(want)], want)
        if _differs(error, scale):
            row.outcome = "wrong"
            row.sentence = f"the verifier said exact, but the design read back differs by {error:.3g} on values up to {scale:.3g}"
    row.seconds = time.perf_counter() - start
    return row


# -- the long run: one process per model, on the last commit's code ---------------------------------
def snapshot(folder: Path) -> tuple[str, Path]:
    """The last commit's ``cnnstudio`` package, extracted once per commit."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    target = folder / commit
    if not target.exists():
        partial = folder / f"{commit}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD", "cnnstudio"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
        partial.rename(target)
    return commit, target


def run_isolated(source: str, timeout: int, snapshots: Path) -> Row:
    commit, code = snapshot(snapshots)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    command = [sys.executable, str(Path(__file__).resolve()), "--one", source]
    env = {**os.environ, "PYTHONPATH": str(code), "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.communicate()
        return Row(source, "refused", time.perf_counter() - start, sentence=f"stopped after {timeout} s",
                   commit=commit, load=load)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if process.returncode or not lines:
        last = (err.strip().splitlines() or [f"exit status {process.returncode}"])[-1]
        return Row(source, "refused", time.perf_counter() - start, sentence=f"the process died: {last}",
                   commit=commit, load=load)
    row = Row(**json.loads(lines[-1]))
    row.commit, row.load = commit, load
    return row


HEADER = ["| model | result | s | nodes | opaque | tied | params equal | load | commit | what the import said |",
          "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | --- | --- |"]


def table_row(r: Row) -> str:
    equal = "" if r.params_equal is None else ("yes" if r.params_equal else "**no**")
    said = r.sentence.replace("|", "\\|")[:220]
    return (f"| {r.source} | {'not exact' if r.outcome == 'unverified' else r.outcome} | {r.seconds:.0f} | "
            f"{r.nodes or ''} | {r.opaque or ''} | {r.tied or ''} | {equal} | {r.load:.1f} | {r.commit} | {said} |")


def summary(rows: list[Row]) -> str:
    counts = {o: sum(r.outcome == o for r in rows) for o in ("exact", "unverified", "refused", "wrong")}
    return (f"{len(rows)} models: {counts['exact']} exact, {counts['unverified']} not exact, "
            f"{counts['refused']} refused, {counts['wrong']} wrong")


def run_header(sources: list[str], timeout: int) -> str:
    load = os.getloadavg()
    return "\n".join([
        f"Run started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()} "
        f"({os.cpu_count()} CPU cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}), "
        f"priority nice {os.nice(0)}, one model at a time, {timeout} s per model; "
        f"{len(sources)} models listed: {', '.join(sources)}.", "", *HEADER])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", help="torchvision:NAME / timm:NAME (default: the survey list)")
    parser.add_argument("--all", action="store_true", help="also torchvision's detection and optical-flow models")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per model")
    parser.add_argument("--markdown", help="append the table to this file, a row as each model finishes")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the worker: survey one model, print its row as JSON
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(asdict(survey_one(args.one, Path(folder)))), flush=True)
        return 0
    sources = args.sources or survey_list(args.all)
    target = Path(args.markdown) if args.markdown else None
    if target:
        with target.open("a", encoding="utf-8") as handle:
            handle.write(run_header(sources, args.timeout) + "\n")
    rows = []
    with tempfile.TemporaryDirectory() as snapshots:
        for source in sources:
            row = run_isolated(source, args.timeout, Path(snapshots))
            rows.append(row)
            print(f"{row.source:50} {row.outcome:10} {row.seconds:6.1f} s  nodes {row.nodes:5}  opaque {row.opaque:4}  "
                  f"tied {row.tied:3}  params {row.params_equal}  {row.sentence[:160]}", flush=True)
            if target:
                with target.open("a", encoding="utf-8") as handle:
                    handle.write(table_row(row) + "\n")
    if target:
        with target.open("a", encoding="utf-8") as handle:
            handle.write(f"\n{summary(rows)}\n")
    print(summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
