"""Render or lint the Helm chart with Helm's own Go SDK (helm-python-sdk), in a subprocess.

Run by test_deploy_files.py as ``python helm_render.py render|lint`` with the values as JSON on
stdin; prints JSON. A separate process keeps the Go runtime (and its signal handlers) out of
the pytest process that runs the rest of the suite.
"""

from __future__ import annotations

import json
import sys

import helm_python as helm


def main() -> int:
    command, chart_dir = sys.argv[1], sys.argv[2]
    values = json.load(sys.stdin)
    if command == "lint":
        json.dump(helm.lint(chart_dir, values, strict=True, kube_version="v1.30.0"), sys.stdout)
        return 0
    chart = helm.Chart.load(chart_dir)
    try:
        manifests = chart.render(values, name="mem", namespace="memory", is_install=True)
    except helm.HelmError as exc:
        json.dump({"error": str(exc)}, sys.stdout)
        return 0
    json.dump({"manifests": manifests}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
