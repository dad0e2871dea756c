"""The import arrows of DESIGN.md, checked on the source: a module imports only its own layer or a lower one,
plugin folders never import each other, and each third-party library lives in one place.

A capability's package may hold modules of several layers (its declarative spec low, its plugins in the middle,
its orchestration high): `LAYERS` then names the submodules (`"verify.spec": 2`), and the longest name that is
a prefix of a module decides its layer."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nhiguard"

LAYERS: dict[str, int] = {
    "nhiguard": 0, "_paths": 0, "escape": 0, "safeio": 0, "errors": 0, "constants": 0, "_yaml": 0, "gcpace": 0,
    "globs": 0,
    "model": 1, "config": 1, "registry": 1,
    "ruleset": 2, "selftest": 2, "engine": 2, "fingerprint": 2, "redact": 2, "baseline": 2,
    "catalogue": 2,
    "filekinds": 2,
    "sources": 3, "http": 3, "cache": 3, "reporters": 3, "inventory": 3,
    "scan": 4, "workers": 4, "demo": 4, "history": 4,
    "sweep": 4, "triage": 4, "progress": 4,
    "inventory.record": 4,
    "cli": 5, "__main__": 5, "hook": 5, "ci": 5,
    "verify": 2,  # the package itself: its __init__ imports nothing
    "verify.spec": 2,
    "verify.plugins": 3,
    "verify.phase": 4,
    "remediate": 3,  # the package itself: its __init__ imports nothing (no module of it is below L3)
    "remediate.plugins": 3,
    "remediate.phase": 4,
}
PLUGIN_FOLDERS = {"sources", "verify.plugins", "remediate.plugins", "reporters", "inventory"}
THIRD_PARTY_HOMES = {
    "yaml": {"_yaml"},
    "click": {"cli"},
    "requests": {"http"},
    "urllib3": {"http"},
    "certifi": {"http"},
    "botocore": {"verify.plugins.aws", "remediate.plugins.aws"},
    "cryptography": {"verify.plugins.gcp", "inventory.x509", "filekinds.crypto"},
    "distributed": {"sweep"},
    "dask": {"sweep"},
    "git": {"sources"},
    "regex": {"engine.matcher"},
    "ahocorasick": {"engine.prefilter"},
    "hyperscan": {"engine.prefilter"},
    "dulwich": {"sources.packs"},
}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out.append((".".join(parts) or "nhiguard", path))
    return out


def _top(module: str) -> str:
    """The entry of LAYERS (or PLUGIN_FOLDERS) a module belongs to: the longest one that is a prefix of it."""
    if not module:
        return "nhiguard"
    parts = module.split(".")
    for k in range(len(parts), 0, -1):
        name = ".".join(parts[:k])
        if name in LAYERS or name in PLUGIN_FOLDERS:
            return name
    return parts[0]


def _folder(module: str) -> str | None:
    """The plugin folder a module is part of, if any. DESIGN.md's rule is that the plugin folders of L3 never
    import each other: a module that LAYERS places above its folder (a capability's orchestration kept beside its
    plugins, such as `inventory.record`) is not one of the plugins, and imports as its layer allows."""
    folder = next((f for f in PLUGIN_FOLDERS if module == f or module.startswith(f + ".")), None)
    if folder is not None and LAYERS.get(_top(module), 0) > LAYERS.get(_top(folder), 0):
        return None
    return folder


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module == "nhiguard" or node.module.startswith("nhiguard."):
                # (`from nhiguard.verify import spec` imports the submodule verify.spec, which may have its own layer)
                names.extend(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_every_module_has_a_layer() -> None:
    missing = sorted({_top(m) for m, _ in _modules()} - set(LAYERS))
    assert not missing, f"add these to LAYERS: {missing}"


def test_imports_point_down() -> None:
    wrong = []
    for module, path in _modules():
        mine = _top(module)
        for name in _imports(path):
            if not name.startswith("nhiguard.") or name == "nhiguard":
                continue
            target = _top(name.removeprefix("nhiguard."))
            if target not in LAYERS:
                continue
            if LAYERS[target] > LAYERS[mine]:
                wrong.append(f"{module} (L{LAYERS[mine]}) imports {name} (L{LAYERS[target]})")
            theirs, own = _folder(name.removeprefix("nhiguard.")), _folder(module)
            if theirs is not None and own is not None and theirs != own:
                wrong.append(f"{module} imports another plugin folder: {name}")
    assert not wrong, "\n".join(wrong)


def test_third_party_libraries_live_in_one_place() -> None:
    wrong = []
    for module, path in _modules():
        for name in _imports(path):
            root = name.split(".", 1)[0]
            homes = THIRD_PARTY_HOMES.get(root)
            if homes is not None and not any(module == h or module.startswith(h + ".") for h in homes):
                wrong.append(f"{module} imports {root} (allowed only in {sorted(homes)})")
    assert not wrong, "\n".join(wrong)


def test_no_shell_true_and_no_unsafe_yaml() -> None:
    for _, path in _modules():
        text = path.read_text(encoding="utf-8")
        assert "shell=True" not in text, path
        if path.name != "_yaml.py":
            assert "import yaml" not in text and " yaml.load(" not in text, path
