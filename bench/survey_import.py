"""Import survey: import many torchvision and timm models and print what each import did.

    PYTHONPATH=. python bench/survey_import.py              # the representative subset (docs/import-survey.md)
    PYTHONPATH=. python bench/survey_import.py --all        # every torchvision model and the timm families below
    PYTHONPATH=. python bench/survey_import.py timm:rexnet_100 torchvision:resnet18 --markdown out.md

Each model is built with random weights (no download) and imported with ``import_model``, which
verifies the design against the model with perturbed normalisation statistics and constant
parameters (see cnnstudio/importers/verify.py). Per model: exact / unverified / refused (with the
sentence), seconds, nodes, opaque nodes, tied tensors, and whether the design's parameter count
equals the model's. An input as small as the model allows is tried first (64x64, 32x8x64x64 for
video), then the model's own size. ``wrong`` counts designs that would have been written while
computing something else without saying so: a design that is not exact is refused (or, with
``--allow-unverified``, written with its differing nodes marked), so it is 0 whenever the
verifier is right, which tests/test_import_verify.py checks against deliberately wrong rebuilds.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from dataclasses import dataclass

SMALL = {"classification": (3, 64, 64), "segmentation": (3, 64, 64), "detection": (3, 128, 128),
         "video": (3, 8, 64, 64), "optical_flow": (3, 128, 128)}
TIMM_FAMILIES = [  # one model of each family, the smallest
    "efficientnet_b0", "mobilenetv3_large_100", "mobilenetv4_conv_small", "mobileone_s0", "rexnet_100",
    "coatnet_0_rw_224", "regnetx_002", "regnety_002", "efficientvit_b0", "efficientvit_m0", "mobilevit_xxs",
    "dm_nfnet_f0", "convit_tiny", "edgenext_xx_small", "convnext_atto", "vit_tiny_patch16_224", "resnet18",
    "resnet18d", "resnest14d", "res2net50_14w_8s", "densenet121", "dla34", "dpn48b", "ghostnet_100",
    "hrnet_w18_small", "inception_v3", "lcnet_050", "mixnet_s", "mnasnet_small", "nasnetalarge",
    "pnasnet5large", "regnetz_b16", "repvgg_a0", "selecsls42b", "senet154", "tinynet_e", "tresnet_m",
    "vgg11", "xception41", "cspresnet50", "darknet17", "deit_tiny_patch16_224", "swin_tiny_patch4_window7_224",
    "maxvit_tiny_rw_224", "levit_128s", "poolformer_s12", "pvt_v2_b0", "fastvit_t8", "hgnetv2_b0",
    "ese_vovnet19b_dw", "eva02_tiny_patch14_224", "beit_base_patch16_224", "cait_xxs24_224", "crossvit_tiny_240",
    "twins_svt_small", "xcit_nano_12_p16_224", "gcvit_xxtiny", "nest_tiny", "tnt_s_patch16_224", "visformer_tiny",
    "inception_next_atto", "repghostnet_050", "efficientformer_l1", "davit_tiny", "focalnet_tiny_srf",
    "mvitv2_tiny", "sequencer2d_s", "starnet_s050", "test_vit", "test_efficientnet",
]
SUBSET = [  # run for docs/import-survey.md: each torchvision kind at least once, the timm families of issue 21, more
    "torchvision:resnet18", "torchvision:mobilenet_v3_small", "torchvision:googlenet", "torchvision:swin_t",
    "torchvision:vit_b_16", "torchvision:regnet_y_400mf", "torchvision:squeezenet1_1", "torchvision:convnext_tiny",
    "torchvision:shufflenet_v2_x0_5", "torchvision:quantized_googlenet",
    "torchvision:lraspp_mobilenet_v3_large", "torchvision:fcn_resnet50",
    "torchvision:fasterrcnn_mobilenet_v3_large_320_fpn", "torchvision:ssdlite320_mobilenet_v3_large",
    "torchvision:r3d_18", "torchvision:s3d", "torchvision:raft_small",
    *[f"timm:{name}" for name in TIMM_FAMILIES[:50]],
]


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


class Timeout(Exception):
    pass


def _alarm(signum, frame):  # noqa: ANN001
    raise Timeout


def kind_of(name: str) -> str:
    import torchvision

    for kind in ("segmentation", "detection", "video", "optical_flow"):
        if name in torchvision.models.list_models(module=getattr(torchvision.models, kind)):
            return kind
    return "classification"


def survey(source: str, timeout: int) -> Row:
    import torch

    from cnnstudio.importers import import_model
    from cnnstudio.importers.graph import ImportFailed
    from cnnstudio.importers.sources import load_source

    library, _, name = source.partition(":")
    small = SMALL[kind_of(name)] if library == "torchvision" else (3, 64, 64)
    start = time.perf_counter()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        torch.manual_seed(0)
        try:
            imported = import_model(source, [small])
        except ImportFailed as error:
            if "does not run on inputs" not in str(error) and "input" not in str(error).lower():
                raise
            imported = import_model(source)  # the model's own input size
        design = imported.design
        verification = imported.verification
        outcome = "exact" if verification.exact else "unverified"
        params = sum(p.numel() for p in load_source(source).module.parameters())  # a tied tensor counted once
        row = Row(source, outcome, 0.0, len(design), len(imported.opaque), len(design.tied),
                  verification.parameters == params, verification.sentence())
    except Timeout:
        return Row(source, "refused", time.perf_counter() - start, sentence=f"stopped after {timeout} s")
    except Exception as error:  # noqa: BLE001 - a survey records every failure as a row
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Row(source, "refused", time.perf_counter() - start, sentence=f"{type(error).__name__}: {message}"[:300])
    finally:
        signal.alarm(0)
    row.seconds = time.perf_counter() - start
    return row


def markdown(rows: list[Row]) -> str:
    lines = ["| model | result | s | nodes | opaque | tied | params equal | what the import said |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        equal = "" if r.params_equal is None else ("yes" if r.params_equal else "**no**")
        said = r.sentence.replace("|", "\\|")
        lines.append(f"| {r.source} | {r.outcome} | {r.seconds:.1f} | {r.nodes or ''} | {r.opaque or ''} | "
                     f"{r.tied or ''} | {equal} | {said} |")
    counts = {o: sum(r.outcome == o for r in rows) for o in ("exact", "unverified", "refused")}
    lines.append("")
    lines.append(f"{len(rows)} models: {counts['exact']} exact, {counts['unverified']} not exact (refused unless "
                 f"--allow-unverified), {counts['refused']} refused")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", help="torchvision:NAME / timm:NAME (default: the subset)")
    parser.add_argument("--all", action="store_true", help="every torchvision model and every timm family listed")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per model")
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args()
    if args.all:
        import torchvision

        sources = [f"torchvision:{n}" for n in torchvision.models.list_models()] + [f"timm:{n}" for n in TIMM_FAMILIES]
    else:
        sources = args.sources or SUBSET
    rows = []
    for source in sources:
        row = survey(source, args.timeout)
        rows.append(row)
        print(f"{row.source:50} {row.outcome:10} {row.seconds:6.1f} s  nodes {row.nodes:5}  opaque {row.opaque:4}  "
              f"tied {row.tied:3}  params {row.params_equal}  {row.sentence[:160]}", flush=True)
    table = markdown(rows)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as handle:
            handle.write(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
