"""Every public function and class of the cholera package has a numpydoc docstring."""
import importlib
import inspect
import pkgutil

import pytest

import cholera

MODULES = sorted(m.name for m in pkgutil.iter_modules(cholera.__path__))


@pytest.mark.parametrize("module", MODULES)
def test_public_names_have_numpydoc_docstrings(module):
    mod = importlib.import_module(f"cholera.{module}")
    assert inspect.getdoc(mod), f"cholera.{module} has no module docstring"
    missing = []
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        if not doc:
            missing.append(f"{name}: no docstring")
            continue
        if "Args:" in doc or "Returns:\n" in doc or "Attributes:\n" in doc:
            missing.append(f"{name}: Google-style sections (use numpydoc)")
        if inspect.isfunction(obj):
            params = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
            if params and "Parameters\n----------" not in doc:
                missing.append(f"{name}: no Parameters section")
        else:
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and inspect.isfunction(member) and not inspect.getdoc(member):
                    missing.append(f"{name}.{attr}: no docstring")
    assert not missing, missing
