"""Expand platform scenario YAMLs into the run chain of each utility, as one runfleet study.

One runfleet run per scenario entry (``ratedesign.study_runs:scenario_run``) plus one small run per
derivation step (``ratedesign.study_runs:derive_run``) -- promoted ``*_calibrated.json`` tariffs,
the subclass revenue requirement YAML, the HP seasonal tariff, the non-HP base tariff, the flex
copy of a calibrated TOU tariff, and tariff maps that do not exist. Derived files live in the
derivation run's directory in the store; the scenario runs that read them get their URLs through
``ctx.upstream`` at run time (params name the upstream run and the file), never through a shared
directory.

Who produces an input (``docs/ratedesign-study.md`` has the full rules and the choices made):

- ``X_calibrated.json`` <- promoted from the precalc run that calibrates ``X``;
- ``..._flex...json`` (e.g. ``rie_hp_seasonalTOU_flex.json``) <- the calibrated tariff of the precalc
  run that has the same stem without ``_flex`` (runs 9/10 -> 13/14);
- the RR YAML of a subclass precalc run <- runs 1/2 (the first precalc runs without subclasses,
  delivery and delivery+supply);
- a subclass tariff whose stem says ``seasonal`` (not ``seasonalTOU``) <- seasonal derivation from
  run 1 (delivery runs) or run 2 (supply runs), using the file (or ``<utility>_hp_seasonal.json``
  beside it) as the template of periods when present;
- any other tariff or tariff map: the file when it exists; a missing non-HP tariff is the reference
  run's tariff under the new name; a missing map is derived from the utility assignment (and the
  metadata's subclass column);
- everything else must exist, or expansion fails with one line naming the file and field.

With a pipeline file (``pipeline_<utility>.yaml`` beside the scenarios, or ``--pipeline``), the
references come from it instead: calibrated runs promote from their quartet's precalc run
(``promote:`` names the subgroup), precalc runs of a scenario with ``depends_on`` take that
scenario's precalc runs as reference, and ``subgroups.<name>.structure`` (seasonal | base) decides
how each subgroup's tariff is derived.

Content keys: every run's params carry a content hash of each static input file it reads, one
top-level param ``input:<path>`` per file (``input_params``), so that changing a tariff file re-runs
exactly the runs that read it and their dependents, and a dry run can name the file. Load parquet
files are not hashed (thousands of files): a new dataset should use a new path.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from dataclasses import dataclass, field


from ratedesign.errors import InputError
from ratedesign.fsio import exists, get_fs, read_yaml
from ratedesign.scenario import ScenarioConfig, _base_dir, load_scenario, load_scenario_doc
from ratedesign.tariff import tariff_key_from_path

SCENARIO_FN = "ratedesign.study_runs:scenario_run"
DERIVE_FN = "ratedesign.study_runs:derive_run"
STATIC_FIELDS = ("path_tariff_maps_gas", "path_dist_and_sub_tx_mc", "path_bulk_tx_mc", "path_supply_energy_mc",
                 "path_supply_capacity_mc", "path_supply_ancillary_mc", "path_electric_utility_stats",
                 "path_resstock_metadata", "path_utility_assignment")


@dataclass
class Step:
    """One run of the study: a scenario entry or a derivation step.

    Parameters
    ----------
    name : str
        The runfleet run name (``<utility>.runNN`` for a scenario entry).
    fn : str
        ``module:function`` of the run (:data:`SCENARIO_FN` or :data:`DERIVE_FN`).
    params : dict
        The run's JSON-able params (the scenario fields, derived inputs, ``input:<path>`` hashes).
    after : list of str
        Names of the runs whose outputs it reads.
    kind : str
        ``scenario``, ``promote``, ``copy``, ``subclass-rr``, ``seasonal`` or ``map``.
    utility : str
        The utility of its scenario file.
    index : int, optional
        1-based position of a scenario entry in its file.
    label : str, default ""
        The scenario entry's key, or the file a derivation writes.
    """

    name: str
    fn: str
    params: dict
    after: list
    kind: str                  # scenario | promote | copy | subclass-rr | seasonal | map
    utility: str
    index: int | None = None   # 1-based position of a scenario entry in its file
    label: str = ""            # scenario entry key, or the file a derivation writes


@dataclass
class Skipped:
    """A scenario entry that will not run, and why (reported before the study starts).

    :func:`build_study` adds it to the study as a run declared skipped
    (``runfleet.Run(..., skip_reason=reason)``): the ledger records it, ``runfleet status`` and the
    report show the reason.

    Parameters
    ----------
    name : str
        The run name it would have had (``<utility>.runNN``).
    index : int
        1-based position of the entry in its file.
    key : str
        The entry's key in ``runs:``.
    reason : str
        One line naming the file, entry, field and path (or the run it needed).
    """

    name: str
    index: int
    key: str
    reason: str


@dataclass
class Chain:
    """The runs of one scenario file (one utility), in expansion order, and its skipped entries.

    Parameters
    ----------
    utility : str
        The utility of the file (``rie``, ``coned``).
    source : str
        The scenario file's path or URL.
    steps : list of Step
        Scenario runs and derivation steps, in expansion order.
    skipped : list of Skipped
        Entries skipped at plan time, with their reasons.
    """

    utility: str
    source: str
    steps: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    @property
    def scenario_steps(self) -> list:
        """The steps that are scenario entries (not derivations), in file order."""
        return [s for s in self.steps if s.kind == "scenario"]


class Unresolved(InputError):
    """An input file that does not exist and that no run of the chain produces: the entry is skipped."""


def sanitize(text: str) -> str:
    """A runfleet-safe name part.

    Parameters
    ----------
    text : str
        Any text (a utility, a file stem).

    Returns
    -------
    str
        Runs of other characters replaced by ``-`` (letters, digits and ``.=+,@-`` kept), never empty.
    """
    out = re.sub(r"[^A-Za-z0-9.=+,@-]+", "-", str(text)).strip("-.")
    return out or "x"


def _positions(part: str, spec: str, n: int, names: dict, source: str) -> set:
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
    if m:
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        if a < 1 or b < a:
            raise InputError(f"--runs {spec!r}: bad range {part!r}")
        return set(range(a, b + 1))
    if part == "all":
        return set(range(1, n + 1))
    if part in names:
        return {names[part]}
    raise InputError(f"--runs {spec!r}: {source} has no entry {part!r} (entries are selected by position, "
                     f"e.g. 1-16, or by their key or run_name)")


def select_runs(spec: str | None, files: list) -> dict:
    """Per-file entry selection of ``--runs``.

    Parameters
    ----------
    spec : str or None
        Comma-separated items. ``N``, ``N-M``, ``all`` or an entry name (its key in ``runs:`` or its
        ``run_name``). An item ``FILE:SEL`` starts the selection of one file (``FILE`` = the
        utility, e.g. ``rie``, its chain prefix, or the file stem, e.g. ``scenarios_rie``); the
        items after it belong to that file until the next ``FILE:``. Items before any ``FILE:``
        apply to every file; positions past a file's last entry are ignored for that file.
        Example: ``rie:1-8,coned:1-16,25`` (coned gets 1-16 and 25). None or ``all``: everything.
    files : list of (ids, n, names, source)
        ``ids`` the names a file answers to, ``n`` its number of entries, ``names`` {entry name:
        1-based position}, ``source`` its path (for messages).

    Returns
    -------
    list of (set of int or None)
        1-based positions per file, in the order of ``files`` (None = every entry).

    Raises
    ------
    InputError
        Unknown file or entry name, bad range, or a position past the end of every file.
    """
    if spec in (None, "", "all"):
        return [None] * len(files)
    common, per, current = set(), {}, None
    common_max = 0
    for raw in str(spec).split(","):
        part = raw.strip()
        if not part:
            continue
        if ":" in part:
            head, part = part.split(":", 1)
            head = head.strip()
            current = next((j for j, f in enumerate(files) if head in f[0]), None)
            if current is None:
                known = ", ".join(sorted({f[0][0] for f in files}))
                raise InputError(f"--runs {spec!r}: no scenario file {head!r} (files: {known})")
            per.setdefault(current, set())
            part = part.strip()
        if current is None:
            m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
            if m:
                common |= _positions(part, spec, 0, {}, "")
                common_max = max(common_max, int(m.group(2) or m.group(1)))
            else:  # a name: every file that has an entry of that name
                hits = [j for j, f in enumerate(files) if part in f[2] or part == "all"]
                if not hits:
                    raise InputError(f"--runs {spec!r}: no scenario file has an entry {part!r}")
                for j in hits:
                    per.setdefault(j, set()).update(_positions(part, spec, files[j][1], files[j][2], files[j][3]))
        else:
            ids, n, names, source = files[current]
            pos = _positions(part, spec, n, names, source)
            bad = sorted(x for x in pos if x > n)
            if bad:
                raise InputError(f"--runs {spec!r}: {source} has only {n} entries (no entry {bad[0]})")
            per[current] |= pos
    if common and common_max > max(f[1] for f in files):
        raise InputError(f"--runs {spec!r}: no scenario file has {common_max} entries "
                         f"(the longest has {max(f[1] for f in files)})")
    out = []
    for j, (ids, n, names, source) in enumerate(files):
        sel = {x for x in common if x <= n} | per.get(j, set())
        out.append(sel)
    return out


def parse_runs(spec: str | None, n: int, source: str) -> list[int] | None:
    """The entries of one file that ``--runs`` selects.

    Parameters
    ----------
    spec : str or None
        ``"1-16"``, ``"1,3,5-8"`` or entry names (see :func:`select_runs`).
    n : int
        Number of entries in the file.
    source : str
        The file, for messages.

    Returns
    -------
    list of int or None
        Sorted 1-based positions; None for every entry.

    Raises
    ------
    InputError
        A bad range, an unknown name, or a position past the file's last entry.
    """
    sel = select_runs(spec, [((source,), n, {}, source)])[0]
    if sel is not None:
        bad = sorted(x for x in sel if x > n)
        if bad:
            raise InputError(f"--runs {spec!r}: {source} has only {n} runs (no run {bad[0]})")
    return None if sel is None else sorted(sel)


class _Hasher:
    """Content hashes of input files (cached per path)."""

    def __init__(self, so):
        self.so, self.cache = so, {}

    def __call__(self, path: str) -> str:
        if path not in self.cache:
            fs, p = get_fs(path, self.so)
            h = hashlib.sha256()
            if fs.isdir(p):
                for f in sorted(fs.find(p)):
                    if f.endswith((".json", ".csv", ".yaml")):
                        h.update(f.rsplit("/", 1)[-1].encode())
                        with fs.open(f, "rb") as fh:
                            h.update(fh.read())
            else:
                with fs.open(p, "rb") as fh:
                    h.update(fh.read())
            self.cache[path] = h.hexdigest()[:16]
        return self.cache[path]


INPUT_PREFIX = "input:"


def input_params(paths, hasher, base: str) -> dict:
    """One top-level param per static input file a run reads, holding the file's content hash.

    A changed file changes the run's key (the run and its dependents run again) and a dry run can
    name the file.

    Parameters
    ----------
    paths : iterable of str
        The files (or directories of JSON/CSV/YAML files) the run reads; duplicates are ignored.
    hasher : callable
        ``path -> str`` content hash (sha256 prefix, cached per path).
    base : str
        The scenario file's base directory (the platform's ``config/``).

    Returns
    -------
    dict
        ``{"input:<path>": hash}``; ``<path>`` is relative to ``base`` when the file is under it
        (``input:tariffs/electric/rie_hp_seasonal.json``), else the path or URL.
    """
    out = {}
    for p in dict.fromkeys(paths):
        rel = posixpath.relpath(p, base) if "://" not in p and "://" not in base and \
            os.path.abspath(p).startswith(base.rstrip("/") + "/") else p
        out[INPUT_PREFIX + rel] = hasher(p)
    return out


def _stem(path: str) -> str:
    return tariff_key_from_path(path)


def _sub_is_hp(sub: str) -> bool:
    s = sub.lower()
    return "hp" in s and not s.startswith(("non", "not"))


def _load_doc(path: str, so) -> dict:
    return load_scenario_doc(path, so)


def periods_file(tariff_path: str, utility: str, so=None) -> str | None:
    """The utility's periods file (seasons of demand flex) next to a tariff's config directory.

    Parameters
    ----------
    tariff_path : str
        A tariff under ``<config>/tariffs/electric/``.
    utility : str
        The utility key.
    so : dict, optional
        fsspec storage options.

    Returns
    -------
    str or None
        ``<config>/periods/<utility>.yaml`` when it exists, else None.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``rate_design/hp_rates/<state>/config/periods/``.
    """
    config = posixpath.dirname(posixpath.dirname(posixpath.dirname(str(tariff_path))))
    cand = posixpath.join(config, "periods", f"{utility}.yaml")
    return cand if exists(cand, so) else None


def find_pipeline(scenario_path: str, utility: str, so=None) -> str | None:
    """The platform's pipeline file beside a scenario file.

    Parameters
    ----------
    scenario_path : str
        The scenario file (path or URL).
    utility : str
        The utility key.
    so : dict, optional
        fsspec storage options.

    Returns
    -------
    str or None
        ``pipeline_<utility>.yaml`` in the same directory when it exists, else None.
    """
    if "://" in str(scenario_path):
        cand = posixpath.join(posixpath.dirname(str(scenario_path)), f"pipeline_{utility}.yaml")
    else:
        cand = os.path.join(os.path.dirname(os.path.abspath(scenario_path)), f"pipeline_{utility}.yaml")
    return cand if exists(cand, so) else None


def _pipeline_refs(pipeline_path: str, cfgs: list, keys: list, so) -> dict:
    """Per scenario index: {'promote': (j, src_stem) | None, 'ref_d': j, 'ref_s': j, 'structure': {sub: s}}."""
    doc = read_yaml(pipeline_path, "pipeline", so) or {}
    scen = doc.get("scenarios")
    if not isinstance(scen, dict) or not scen:
        raise InputError(f"pipeline {pipeline_path}: field 'scenarios' is missing or empty")
    state, utility = str(doc.get("state", "")).lower(), str(doc.get("utility", ""))
    where = {}
    pat = re.compile(rf"^{re.escape(state)}_{re.escape(utility)}_(.+)_(precalc|calibrated)_(delivery|supply)$")
    for i, c in enumerate(cfgs):
        m = pat.match(c.run_name)
        if not m or m.group(1) not in scen:
            raise InputError(f"pipeline {pipeline_path}: scenario run {keys[i]!r} (run_name {c.run_name!r}) is not "
                             f"'{state}_{utility}_<scenario>_<precalc|calibrated>_<delivery|supply>' for a "
                             f"scenario of the pipeline ({', '.join(scen)})")
        where[(m.group(1), m.group(2), m.group(3))] = i
    refs = {}
    for (name, stage, variant), i in where.items():
        sc = scen[name] or {}
        r = {"promote": None, "ref_d": None, "ref_s": None, "structure": {}}
        if stage == "calibrated":
            j = where.get((name, "precalc", variant))
            if j is None:
                raise InputError(f"pipeline {pipeline_path}: scenario {name!r} has no {name}_precalc_{variant} run "
                                 f"to promote the calibrated tariff of {keys[i]!r} from")
            sub = sc.get("promote") or "all"
            src = cfgs[j].path_tariffs_electric.get(sub) or next(iter(cfgs[j].path_tariffs_electric.values()))
            r["promote"] = (j, _stem(src))
        dep = sc.get("depends_on")
        if dep:
            if dep not in scen:
                raise InputError(f"pipeline {pipeline_path}: scenarios.{name}.depends_on: no scenario {dep!r}")
            r["ref_d"] = where.get((dep, "precalc", "delivery"))
            r["ref_s"] = where.get((dep, "precalc", "supply"))
        for sub, spec in ((sc.get("subclass_config") or {}).get("subgroups") or {}).items():
            r["structure"][str(sub)] = (spec or {}).get("structure")
        refs[i] = r
    return refs


def expand_file(path: str, *, runs: str | None = None, sample: int | None = None, sets=(), map_prefix=(),
                pipeline: str | None | bool = None, prefix: str | None = None,
                storage_options: dict | None = None) -> Chain:
    """The chain of one scenario file: its runs, derivation steps and plan-time skips.

    See the module docstring for who produces which input.

    Parameters
    ----------
    path : str
        The scenario file (path or URL).
    runs : str or collection of int, optional
        ``--runs`` text for this file, or 1-based positions; None for every entry. Runs that a
        selected run's inputs derive from are added.
    sample : int, optional
        ``sample_size`` of every entry (buildings per utility).
    sets : iterable of str
        ``field=value`` overrides of every entry.
    map_prefix : iterable of str
        ``OLD=NEW`` path prefix rewrites.
    pipeline : str, bool or None
        A pipeline file; None looks for ``pipeline_<utility>.yaml`` beside the file; False uses none.
    prefix : str, optional
        Run name prefix (default: the utility).
    storage_options : dict, optional
        fsspec options for the inputs.

    Returns
    -------
    Chain

    Raises
    ------
    InputError
        A bad entry that is selected (one line: file, entry, field), before anything runs. An input
        nobody produces and a subclass with no building in the sample are not errors: the entry is
        in ``Chain.skipped`` with the reason.
    """
    so = storage_options
    doc = _load_doc(path, so)
    keys = [str(k) for k in doc["runs"]]
    sets = list(sets or []) + ([f"sample_size={int(sample)}"] if sample else [])
    cfgs: list[ScenarioConfig] = [load_scenario(path, k, sets=sets, map_prefix=map_prefix, storage_options=so)
                                  for k in keys]
    utility = cfgs[0].utility
    prefix = sanitize(prefix or utility)
    hasher = _Hasher(so)
    input_base = _base_dir(str(path))
    n = len(cfgs)
    if pipeline is None:
        pipeline = find_pipeline(path, utility, so)
    refs = _pipeline_refs(pipeline, cfgs, keys, so) if pipeline else {}
    stems = [{_stem(p): sub for sub, p in c.path_tariffs_electric.items()} for c in cfgs]

    def first_ref(supply: bool, not_i: int):
        for j, c in enumerate(cfgs):
            if j != not_i and c.run_type == "precalc" and not c.run_includes_subclasses and c.run_includes_supply == supply:
                return j
        return None

    def precalc_with_stem(stem: str, not_i: int):
        for j, c in enumerate(cfgs):
            if j != not_i and c.run_type == "precalc" and stem in stems[j]:
                return j
        return None

    def run_name(i):
        return f"{prefix}.run{i + 1:02d}"

    steps: dict[str, Step] = {}
    scen_inputs: dict[int, dict] = {}
    scen_after: dict[int, set] = {}
    needs_runs: dict[int, set] = {}   # scenario index -> scenario indexes it needs (for --runs closure)

    def where(i, fld):
        return f"scenario {path} entry {keys[i]}: field {fld!r}"

    def add_step(kind, target, params, after_idx, static, label=None):
        name = f"{prefix}.{label or kind}.{sanitize(posixpath.splitext(posixpath.basename(target))[0])}"
        params = dict(params)
        params.update(input_params(static, hasher, input_base))
        if name not in steps:
            steps[name] = Step(name=name, fn=DERIVE_FN, params={"kind": kind, **params},
                               after=[run_name(j) for j in after_idx], kind=kind, utility=utility,
                               label=posixpath.basename(target))
        return name

    def _expand_one(i, c, need):
        r = refs.get(i, {})
        inputs, after = {}, set()
        static = []
        supply = c.run_includes_supply
        ref_d = r.get("ref_d") if r.get("ref_d") is not None else first_ref(False, i)
        ref_s = r.get("ref_s") if r.get("ref_s") is not None else first_ref(True, i)
        ref = ref_s if supply else ref_d
        sc = c.subclass_config or {}
        group_col, selectors = sc.get("group_col"), sc.get("selectors") or {}
        # ---------------------------------------------------------------- electric tariffs
        for sub, p in c.path_tariffs_electric.items():
            stem, fld = _stem(p), f"path_tariffs_electric.{sub}"
            base = os.path.basename(p)
            step = None
            if r.get("promote") and sub == "all":
                j, src = r["promote"]
                step = add_step("promote", p, {"source_run": run_name(j), "tariff_key": src, "new_key": stem,
                                               "file": base}, [j], [])
                need.add(j)
            elif stem.endswith("_calibrated") and precalc_with_stem(stem[: -len("_calibrated")], i) is not None:
                j = precalc_with_stem(stem[: -len("_calibrated")], i)
                step = add_step("promote", p, {"source_run": run_name(j), "tariff_key": stem[: -len("_calibrated")],
                                               "new_key": stem, "file": base}, [j], [])
                need.add(j)
            elif "_flex" in stem and not stem.endswith("_calibrated") and \
                    precalc_with_stem(stem.replace("_flex", ""), i) is not None:
                j = precalc_with_stem(stem.replace("_flex", ""), i)
                step = add_step("promote", p, {"source_run": run_name(j), "tariff_key": stem.replace("_flex", ""),
                                               "new_key": stem, "file": base}, [j], [], label="flex")
                need.add(j)
            elif c.run_includes_subclasses and c.run_type == "precalc" and ref is not None and (
                    r.get("structure", {}).get(sub) == "seasonal" or (
                        not r.get("structure") and _sub_is_hp(sub) and "seasonal" in stem.lower()
                        and "seasonaltou" not in stem.lower())):
                periods = periods_file(p, c.utility, so)
                from ratedesign.derive import winter_months_from_periods
                winter = winter_months_from_periods(periods, so)
                ref_key = next(iter(stems[ref]))
                step = add_step("seasonal", p, {"source_run": run_name(ref), "tariff_key": ref_key, "new_key": stem,
                                                "file": base, "group_col": group_col, "selectors": selectors,
                                                "subclass": sub, "winter_months": winter,
                                                "method": c.residual_allocation_delivery}, [ref],
                                [periods] if periods else [])
                need.add(ref)
            elif exists(p, so):
                static.append(p)
            elif c.run_includes_subclasses and ref is not None and (
                    r.get("structure", {}).get(sub) == "base" or not _sub_is_hp(sub)):
                src = next(iter(cfgs[ref].path_tariffs_electric.values()))
                if not exists(src, so):
                    raise Unresolved(f"{where(i, fld)}: file not found and the reference tariff {src} is missing too")
                step = add_step("copy", p, {"source": src, "new_key": stem, "file": base}, [], [src])
            else:
                raise Unresolved(f"{where(i, fld)}: file not found and no run of the chain produces it: {p}")
            if step:
                inputs[fld] = [step, base]
                after.add(step)
        # ---------------------------------------------------------------- revenue requirement
        rr = c.utility_revenue_requirement
        if c.run_includes_subclasses and c.run_type == "precalc" and ref_d is not None:
            if not group_col or not selectors:
                raise InputError(f"{where(i, 'subclass_config')}: a subclass run needs group_col and selectors")
            base_rr = cfgs[ref_d].utility_revenue_requirement
            idx = [ref_d] + ([ref_s] if ref_s is not None else [])
            step = add_step("subclass-rr", rr, {"delivery_run": run_name(ref_d),
                                                "supply_run": run_name(ref_s) if ref_s is not None else None,
                                                "group_col": group_col, "selectors": selectors, "base_rr": base_rr,
                                                "file": os.path.basename(rr)}, idx, [base_rr])
            inputs["utility_revenue_requirement"] = [step, os.path.basename(rr)]
            after.add(step)
            need.update(idx)
        elif exists(rr, so):
            static.append(rr)
        else:
            raise Unresolved(f"{where(i, 'utility_revenue_requirement')}: file not found and no run of the chain "
                             f"produces it: {rr}")
        # ---------------------------------------------------------------- electric tariff map
        mp = c.path_tariff_maps_electric
        if exists(mp, so):
            static.append(mp)
        else:
            keys_by_sub = {sub: _stem(p) for sub, p in c.path_tariffs_electric.items()}
            if "all" not in keys_by_sub and (not group_col or not selectors):
                raise Unresolved(f"{where(i, 'path_tariff_maps_electric')}: file not found: {mp} (a map can be derived "
                                 f"only for 'all' tariffs or with subclass_config)")
            for pth, what in ((c.path_utility_assignment, "path_utility_assignment"),
                              (c.path_resstock_metadata, "path_resstock_metadata")):
                if not exists(pth, so):
                    raise Unresolved(f"{where(i, what)}: file not found: {pth}")
            step = add_step("map", mp, {"assignment": c.path_utility_assignment, "utility": c.utility,
                                        "keys": keys_by_sub, "metadata": c.path_resstock_metadata,
                                        "group_col": group_col, "selectors": selectors,
                                        "file": os.path.basename(mp)}, [],
                            [c.path_utility_assignment, c.path_resstock_metadata])
            inputs["path_tariff_maps_electric"] = [step, os.path.basename(mp)]
            after.add(step)
        # ---------------------------------------------------------------- other static inputs
        for fld in STATIC_FIELDS:
            v = getattr(c, fld)
            if v in (None, ""):
                continue
            if not exists(v, so):
                raise Unresolved(f"{where(i, fld)}: file not found: {v}")
            static.append(v)
        if c.path_tariffs_gas:
            if not exists(c.path_tariffs_gas, so):
                raise Unresolved(f"{where(i, 'path_tariffs_gas')}: directory not found: {c.path_tariffs_gas}")
            static.append(c.path_tariffs_gas)
        if not exists(c.path_resstock_loads, so):
            raise Unresolved(f"{where(i, 'path_resstock_loads')}: directory not found: {c.path_resstock_loads}")
        scen = c.to_params()
        if c.elasticity not in (None, 0, 0.0) and scen.get("winter_months") is None:
            periods = next((periods_file(pp, c.utility, so) for pp in c.path_tariffs_electric.values()
                            if periods_file(pp, c.utility, so)), None)
            if periods:
                from ratedesign.derive import winter_months_from_periods
                scen["winter_months"] = winter_months_from_periods(periods, so)
                static.append(periods)
        params = {"scenario": scen, "inputs": inputs,
                  **input_params(static, hasher, input_base),
                  "index": i + 1, "key": keys[i], "utility": c.utility}
        scen_inputs[i] = params
        scen_after[i] = after

    selected = runs if isinstance(runs, (set, frozenset, list, tuple)) else parse_runs(runs, n, str(path))
    errors: dict[int, InputError] = {}
    unresolved: dict[int, Unresolved] = {}
    for i, c in enumerate(cfgs):
        needs_runs[i] = set()
        try:
            _expand_one(i, c, needs_runs[i])
        except Unresolved as e:  # nobody produces an input: the entry (and its dependents) is skipped
            unresolved[i] = e
        except InputError as e:  # reported only when run i is selected (or needed by a selected run)
            errors[i] = e

    keep = set(range(n)) if selected is None else {k - 1 for k in selected}
    todo = list(keep)
    while todo:  # a selected run pulls in the runs its inputs derive from
        j = todo.pop()
        for k in needs_runs[j]:
            if k not in keep:
                keep.add(k)
                todo.append(k)
    bad = sorted(i for i in errors if i in keep)
    if bad:
        raise errors[bad[0]]
    skip: dict[int, str] = {i: str(unresolved[i]) for i in keep if i in unresolved}
    cache = _PlanCache(so)
    for i in sorted(keep):
        if i not in skip and cfgs[i].run_includes_subclasses:
            why = empty_subclass(cfgs[i], cache, f"scenario {path} entry {keys[i]}")
            if why:
                skip[i] = why
    changed = True
    while changed:  # dependents of a skipped entry are skipped too
        changed = False
        for i in sorted(keep):
            if i in skip:
                continue
            dead = sorted(k for k in needs_runs[i] if k in skip)
            if dead:
                skip[i] = (f"scenario {path} entry {keys[i]}: needs {run_name(dead[0])} (entry {keys[dead[0]]}), "
                           f"which is skipped")
                changed = True
    chain = Chain(utility=utility, source=str(path))
    for i in sorted(keep):
        if i in skip:
            chain.skipped.append(Skipped(name=run_name(i), index=i + 1, key=keys[i], reason=skip[i]))
            continue
        chain.steps.append(Step(name=run_name(i), fn=SCENARIO_FN, params=scen_inputs[i], after=sorted(scen_after[i]),
                                kind="scenario", utility=utility, index=i + 1, label=keys[i]))
    kept_names = {run_name(i) for i in keep if i not in skip}
    used = {a for s in chain.steps for a in s.after}
    for name, st in steps.items():
        if name in used and all(a in kept_names for a in st.after):
            chain.steps.append(st)
    return chain


class _PlanCache:
    """Small inputs read once per path while planning (utility assignment, metadata, maps)."""

    def __init__(self, so):
        self.so, self.frames = so, {}

    def parquet(self, path: str, what: str, columns=None):
        from ratedesign.fsio import read_parquet_df

        key = (path, tuple(columns) if columns else None)
        if key not in self.frames:
            self.frames[key] = read_parquet_df(path, what, columns, self.so)
        return self.frames[key]

    def tariff_map(self, path: str, what: str):
        from ratedesign.buildings import read_tariff_map

        key = ("map", path)
        if key not in self.frames:
            self.frames[key] = read_tariff_map(path, what, self.so)
        return self.frames[key]

    def sample(self, cfg: ScenarioConfig) -> list:
        from ratedesign.buildings import sample_bldg_ids, utility_bldg_ids

        key = ("sample", cfg.path_utility_assignment, cfg.utility, cfg.sample_size)
        if key not in self.frames:
            ua = self.parquet(cfg.path_utility_assignment, "path_utility_assignment")
            self.frames[key] = sample_bldg_ids(utility_bldg_ids(ua, cfg.utility, cfg.path_utility_assignment),
                                               cfg.sample_size)
        return self.frames[key]


def empty_subclass(cfg: ScenarioConfig, cache: _PlanCache, where: str) -> str | None:
    """Why a subclass run cannot run on its building sample (None when every subclass has buildings).

    A subclass whose selector (``subclass_config.selectors`` on ``postprocess_group.<group_col>``
    of the metadata) or whose tariff (in an existing tariff map) matches no building of the sample
    cannot be calibrated (its revenue requirement has no customers to recover it from). The entry
    is skipped at plan time with this reason instead of failing at run time.
    """
    import numpy as np

    so = cache.so
    if not (exists(cfg.path_utility_assignment, so) and exists(cfg.path_resstock_metadata, so)):
        return None
    ids = np.asarray(cache.sample(cfg), dtype=np.int64)
    sc = cfg.subclass_config or {}
    group_col, selectors = sc.get("group_col"), sc.get("selectors") or {}
    n = len(ids)
    if group_col and selectors:
        meta = cache.parquet(cfg.path_resstock_metadata, "path_resstock_metadata")
        col = group_col if group_col in meta.columns else f"postprocess_group.{group_col}"
        if col in meta.columns and "bldg_id" in meta.columns:
            vals = meta.set_index(meta["bldg_id"].astype(np.int64))[col].reindex(ids)
            vals = vals.astype(str).str.strip().str.lower()
            from ratedesign.derive import selector_values
            for sub, sel in selectors.items():
                if not vals.isin(selector_values(sel)).any():
                    return (f"{where}: subclass {sub!r} ({col} = {sel!r}) has no building in the sample of {n} "
                            f"buildings of {cfg.utility}")
    mp = cfg.path_tariff_maps_electric
    if exists(mp, so):
        try:
            tmap = cache.tariff_map(mp, "path_tariff_maps_electric")
        except InputError:
            return None  # the plan phase reports the malformed map
        on = set(tmap.reindex(ids).dropna())
        for sub, p in cfg.path_tariffs_electric.items():
            if _stem(p) not in on:
                return (f"{where}: field 'path_tariff_maps_electric': no building of the sample of {n} buildings of "
                        f"{cfg.utility} is on tariff {_stem(p)!r} (subclass {sub!r}) in {mp}")
    return None


def _file_ids(path: str, so) -> tuple:
    doc = _load_doc(path, so)
    keys = [str(k) for k in doc["runs"]]
    names = {}
    for j, k in enumerate(keys):
        names.setdefault(k, j + 1)
        entry = doc["runs"][list(doc["runs"])[j]]
        if isinstance(entry, dict) and entry.get("run_name"):
            names.setdefault(str(entry["run_name"]), j + 1)
    first = doc["runs"][list(doc["runs"])[0]] if keys else {}
    utility = str((first or {}).get("utility") or "")
    stem = os.path.splitext(os.path.basename(str(path)))[0]
    return utility, len(keys), names, stem


def expand_files(paths, runs: str | None = None, **kwargs) -> list[Chain]:
    """Chains of several scenario files, one per file; name prefixes are made unique (``rie``, ``rie-2``).

    Parameters
    ----------
    paths : iterable of str
        Scenario files.
    runs : str, optional
        The ``--runs`` text (see :func:`select_runs`: per file by position or entry name).
    **kwargs
        Passed to :func:`expand_file` (``sample``, ``sets``, ``map_prefix``, ``pipeline``,
        ``storage_options``; ``prefix`` as the base of every file's prefix).

    Returns
    -------
    list of Chain
        Files that ``runs`` selects nothing of are left out.

    Raises
    ------
    InputError
        As :func:`expand_file`, or when ``runs`` selects no entry of any file.
    """
    so = kwargs.get("storage_options")
    info, prefixes, seen = [], [], {}
    for p in paths:
        utility, n, names, stem = _file_ids(p, so)
        base = sanitize(kwargs.get("prefix") or utility or stem)
        seen[base] = seen.get(base, 0) + 1
        prefix = base if seen[base] == 1 else f"{base}-{seen[base]}"
        prefixes.append(prefix)
        ids = tuple(dict.fromkeys(x for x in (prefix, utility, stem) if x))
        info.append((ids, n, names, str(p)))
    selection = select_runs(runs, info)
    kwargs.pop("prefix", None)
    chains = []
    for p, prefix, sel in zip(paths, prefixes, selection):
        if sel is not None and not sel:
            continue  # --runs selects nothing of this file
        chains.append(expand_file(p, runs=sel, prefix=prefix, **kwargs))
    if not chains:
        raise InputError(f"--runs {runs!r}: selects no entry of any scenario file")
    return chains


def study_name(chains: list[Chain]) -> str:
    """The default study name of some chains.

    Parameters
    ----------
    chains : list of Chain
        The chains of the study.

    Returns
    -------
    str
        ``rd-<utility>[-<utility>...]``; ``rd-<first>-and-<n-1>-more`` beyond four utilities.
    """
    us = [sanitize(c.steps[0].name.split(".")[0]) if c.steps else sanitize(c.utility) for c in chains]
    if len(us) > 4:
        return f"rd-{us[0]}-and-{len(us) - 1}-more"
    return "rd-" + "-".join(us)


def build_study(chains: list[Chain], name: str, store: str, seed: int = 0, storage_options: dict | None = None,
                retries: int = 1):
    """A runfleet Study with every step of every chain, and its plan-time skips as declared skips.

    Parameters
    ----------
    chains : list of Chain
        The expanded chains.
    name : str
        The study name.
    store : str
        runfleet store (directory or URL).
    seed : int, default 0
        The study seed.
    storage_options : dict, optional
        fsspec options of the store and inputs (never recorded).
    retries : int, default 1
        Retries of a run after a transient failure (input errors are never retried).

    Returns
    -------
    runfleet.Study
        Scenario runs unpacked (one task each); each ``Chain.skipped`` entry a run with
        ``skip_reason`` (never executed, recorded as skipped with the reason).
    """
    from runfleet import Run, Study

    study = Study(name=name, store=store, seed=seed, defaults={"retries": retries, "backoff_s": 0.5},
                  storage_options=storage_options, source=", ".join(c.source for c in chains))
    for ch in chains:
        for s in ch.steps:
            study.add(Run(s.name, s.fn, params=s.params, after=list(s.after),
                          pack=False if s.kind == "scenario" else None))
        for sk in ch.skipped:  # recorded by runfleet as skipped, with the plan's reason; never executed
            # params bind to scenario_run's signature (checked by Study.validate) and name the entry
            study.add(Run(sk.name, SCENARIO_FN, params={"scenario": {"file": ch.source, "entry": sk.key},
                                                        "utility": ch.utility, "key": sk.key, "index": sk.index},
                          skip_reason=sk.reason))
    return study


__all__ = ["DERIVE_FN", "INPUT_PREFIX", "SCENARIO_FN", "STATIC_FIELDS", "Chain", "Skipped", "Step", "Unresolved",
           "build_study", "expand_file", "expand_files", "find_pipeline", "input_params", "parse_runs",
           "periods_file", "sanitize", "select_runs", "study_name"]
