"""The package's optional C module, :mod:`guard.engine._featurize`, or None.

The build hook (``hatch_build.py``) compiles it wherever a C compiler exists. It holds the
semantic model's feature sums, the normaliser's trigger reader and the detector's prose counts;
every caller keeps a pure-Python (or pattern database) path that gives the same answers, used
where the module was not built.
"""

from __future__ import annotations

from typing import Any

featurize: Any
try:
    from guard.engine import _featurize as featurize  # type: ignore[attr-defined,no-redef,unused-ignore]
except ImportError:  # pragma: no cover - built where the package was installed with a compiler
    featurize = None
