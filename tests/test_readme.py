"""The README's Python blocks run as written, from a folder holding a saved network in
runs/model.npz, as a reader who followed its quick start has."""

import os
import re
import shutil
import subprocess
import sys

from conftest import ROOT


def test_the_python_blocks_of_the_readme_run(trained, tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks, "README.md shows how to use the network from Python"
    (tmp_path / "runs").mkdir()
    shutil.copy(trained[1], tmp_path / "runs" / "model.npz")
    for block in blocks:
        result = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, text=True,
                                capture_output=True, timeout=120,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip(), "the block prints what it found"
