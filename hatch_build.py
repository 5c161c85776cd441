"""Build hook: compile ``guard/engine/_featurize.c``, the semantic model's optional C scorer.

The package works without it (the model then sums its features in Python, to the same result),
so a machine without a C compiler still installs: the hook says why it skipped the module and
the build goes on. A wheel that carries the module is tagged for this interpreter and platform;
an editable install compiles it next to its source, where the import finds it.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MODULE = "guard.engine._featurize"
SOURCE = Path("guard/engine/_featurize.c")


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]
    """Compile the C scorer into the wheel, or in place for an editable install."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Compile; on any failure, warn and leave the pure-Python path in charge."""
        if os.environ.get("GUARD_NO_EXTENSION"):
            return
        root = Path(self.root)
        editable = version == "editable"
        self._lib = None if editable else tempfile.mkdtemp(prefix="guard-lib-")
        try:
            built = _compile(root, self._lib)
        except Exception as exc:  # any failure means "ship without it"
            print(f"guard: C scorer not built ({exc}); using the pure-Python path",
                  file=sys.stderr)
            return
        if not editable:
            target = SOURCE.with_name(built.name).as_posix()
            build_data["force_include"][str(built)] = target
            build_data["pure_python"] = False
            build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the compiled module's temporary folder once the wheel holds it."""
        lib = getattr(self, "_lib", None)
        if lib is not None:
            shutil.rmtree(lib, ignore_errors=True)


def _compile(root: Path, lib: str | None) -> Path:
    """Build the module into ``lib``, or next to its source when ``lib`` is None (editable)."""
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    extension = Extension(MODULE, [str(SOURCE)])
    command = build_ext(Distribution({"ext_modules": [extension], "script_name": "hatch_build"}))
    command.inplace = lib is None
    command.build_temp = tempfile.mkdtemp(prefix="guard-build-")
    if lib is not None:
        command.build_lib = lib
    cwd = os.getcwd()
    os.chdir(root)
    try:
        command.ensure_finalized()
        command.run()
    finally:
        os.chdir(cwd)
        shutil.rmtree(command.build_temp, ignore_errors=True)
    name = SOURCE.stem + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")
    built = (root if lib is None else Path(lib)) / SOURCE.parent / name
    if not built.is_file():
        raise FileNotFoundError(built)
    return built
