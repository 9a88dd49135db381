"""Importing torchvision's ResNet-50 as a design, side by side with torchvision building it.

Run: ``PYTHONPATH=. python bench/bench_import.py [--rounds N]``. Measured in one run, interleaved:

1. in the process: torchvision building the model (random weights), the import (which builds it
   too, then traces, converts, lays it out and verifies it against the model), and writing the
   design with its 98 MiB of weights;
2. as commands, each a fresh process: ``cnnstudio import torchvision:resnet50`` against
   ``python -c`` building the model in torchvision (both pay for importing torch);
3. in the studio (offscreen): File › Import Model… opened with its names list filled (from the
   cache, then with no cache: the first time), and import-to-open: from pressing Import until
   ResNet-50 is on the canvas.

4. with ``--before REV``: the import's verification at commit REV against this checkout, each a
   fresh process, interleaved (``--before 3c5806f``: the verifier before it ran the batch of 2 at
   the model's smallest size and the model itself in place of the interpreted trace).

Ratios to torchvision's own construction say what the import adds, whatever the machine's load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torchvision  # noqa: E402

from cnnstudio.importers import import_model, save_import  # noqa: E402

MODEL = "resnet50"


def timed(work) -> tuple[float, object]:  # noqa: ANN001
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def in_process(rounds: int, folder: Path) -> None:
    import_model("torchvision:resnet18")  # warm-up: imports and caches
    construct, imports, verifying, writes = [], [], [], []
    for _ in range(rounds):
        construct.append(timed(lambda: torchvision.models.get_model(MODEL, weights=None))[0])
        seconds, imported = timed(lambda: import_model(f"torchvision:{MODEL}"))
        imports.append(seconds)
        verifying.append(imported.verification.seconds)
        writes.append(timed(lambda imported=imported: save_import(imported, folder / f"{MODEL}.json"))[0])
    c, i, v, w = (statistics.median(x) for x in (construct, imports, verifying, writes))
    print(f"{MODEL}, in one process, median of {rounds} interleaved rounds ({len(imported.design)} nodes):")
    print(f"  torchvision builds the model          {c:6.2f} s")
    print(f"  import (build, trace, verify)         {i:6.2f} s   ratio to building: {i / c:.2f}")
    print(f"    of which verifying                  {v:6.2f} s")
    print(f"  writing design + safetensors          {w:6.2f} s")


def commands(rounds: int, folder: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    build = [sys.executable, "-c", f"import torchvision; torchvision.models.get_model('{MODEL}', weights=None)"]
    cli = [sys.executable, "-m", "cnnstudio", "import", f"torchvision:{MODEL}", "-o", str(folder / "cli.json")]
    builds, imports = [], []
    for _ in range(rounds):
        builds.append(timed(lambda: subprocess.run(build, env=env, check=True, capture_output=True))[0])
        imports.append(timed(lambda: subprocess.run(cli, env=env, check=True, capture_output=True))[0])
    b, i = statistics.median(builds), statistics.median(imports)
    print(f"as commands (fresh processes), median of {rounds}:")
    print(f"  python -c: torchvision builds it      {b:6.2f} s")
    print(f"  cnnstudio import torchvision:{MODEL} {i:6.2f} s   ratio: {i / b:.2f}")


def studio(folder: Path) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from cnnstudio.gui import import_dialog
    from cnnstudio.gui.import_dialog import ImportDialog
    from cnnstudio.gui.main_window import MainWindow
    from cnnstudio.gui.settings import Settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(Settings(QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat)),
                        recovery_dir=folder / "recovery", probe_device=False)
    window.show()
    cache = folder / "names.json"
    import_dialog.names_cache = lambda: cache

    def open_dialog() -> tuple[float, ImportDialog]:
        start = time.perf_counter()
        dialog = ImportDialog(folder, window)
        while dialog.list.count() == 0:
            app.processEvents()
            time.sleep(0.005)
        return time.perf_counter() - start, dialog

    first, dialog = open_dialog()  # no cache: the names come from torchvision and timm
    dialog.close()
    cached, dialog = open_dialog()
    dialog.source.setText(f"torchvision:{MODEL}")
    dialog.target.setText(str(folder / "studio.json"))
    start = time.perf_counter()
    dialog._import()
    while dialog.imported is None:
        app.processEvents()
        time.sleep(0.005)
    window.open_path(dialog.imported, ask=False)
    app.processEvents()
    opened = time.perf_counter() - start
    print(f"in the studio ({dialog.list.count()} names):")
    print(f"  Import Model… list filled, first time {first:6.2f} s")
    print(f"  Import Model… list filled, cached     {cached:6.2f} s")
    print(f"  Import pressed to {MODEL} on the canvas {opened:6.2f} s   ({window.statusBar().currentMessage()[:90]})")


MEASURE = (f"import time; from cnnstudio.importers import import_model; i = import_model('torchvision:{MODEL}'); "
           "print(i.seconds, i.verification.seconds)")


def before_after(rounds: int, before: str, folder: Path) -> None:
    """The import of ``MODEL`` with the code of commit ``before`` and with this checkout's."""
    snapshot = folder / "before"
    snapshot.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", before, "cnnstudio"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(snapshot)], input=archive, check=True)
    times: dict[str, list[tuple[float, float]]] = {"before": [], "now": []}
    for _ in range(rounds):
        for label, code in (("before", snapshot), ("now", ROOT)):
            out = subprocess.run([sys.executable, "-c", MEASURE], env={**os.environ, "PYTHONPATH": str(code)},
                                 check=True, capture_output=True, text=True).stdout.split()
            times[label].append((float(out[-2]), float(out[-1])))
    (ib, vb), (i_now, v_now) = ((statistics.median(t[0] for t in times[k]), statistics.median(t[1] for t in times[k]))
                                for k in ("before", "now"))
    print(f"{MODEL} import at commit {before} and now (fresh processes, median of {rounds} interleaved):")
    print(f"  verifying, at {before}                {vb:6.2f} s")
    print(f"  verifying, now                        {v_now:6.2f} s   ratio now/before: {v_now / vb:.2f}")
    print(f"  whole import, at {before}             {ib:6.2f} s")
    print(f"  whole import, now                     {i_now:6.2f} s   ratio now/before: {i_now / ib:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", help="also time the import at this git commit, against this checkout")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.before:
            before_after(args.rounds, args.before, folder)
        in_process(args.rounds, folder)
        commands(args.rounds, folder)
        studio(folder)


if __name__ == "__main__":
    main()
