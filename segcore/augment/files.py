"""Pipeline files: parsing text (never a path), reading a file (only when asked to), saving, and the catalogue
checks that the Lab's import and `train --augment` share.

Limits, checked before anything is built: text of at most MAX_PIPELINE_BYTES, no YAML aliases (a few hundred
bytes of nested aliases expand to 100,000 transforms), at most MAX_STEPS transforms in all, nesting at most
MAX_NESTING composes deep. Every failure is a one-line PipelineError.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import albumentations as A
import yaml

from segcore.augment.build import build_pipeline, managed_arguments
from segcore.augment.catalogue import CATALOGUE, COMPOSES, PipelineError
from segcore.augment.steps import did_you_mean, validate_steps
from segcore.files import NotARegularFile, atomic_write_bytes, read_regular_bytes
from segcore.limits import MAX_PIPELINE_BYTES
from segcore.limits import MAX_PIPELINE_NESTING as MAX_NESTING
from segcore.limits import MAX_PIPELINE_STEPS as MAX_STEPS

SUFFIX_FORMATS = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _format(fmt: str | None, path: Path | None = None) -> str:
    if fmt is None and path is not None:
        fmt = SUFFIX_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise PipelineError(f"{path}: use a .json, .yaml or .yml file name")
    if fmt not in ("json", "yaml"):
        raise PipelineError(f"format must be 'json' or 'yaml', got {fmt!r}")
    return fmt


class _NoAliasLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses aliases (`*name`, `<<: *name`) before they are expanded."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise PipelineError(f"YAML aliases are not allowed in a pipeline (*{event.anchor} on line "
                                f"{event.start_mark.line + 1}); write each step out in full")
        return super().compose_node(parent, index)


# ------------------------------------------------------------------------------------------------- reading

def portable(document: dict) -> dict:
    """An A.to_dict document without the one key albumentations 2.0.8 writes but cannot read back: PadIfNeeded
    saves its parent Pad's `padding` (always 0), which A.from_dict then warns is not an argument. Other values
    of it are left in, so they are refused as the unknown argument they are."""
    def clean(node):
        if not isinstance(node, dict):
            return node
        node = {key: [clean(child) for child in value] if key == "transforms" and isinstance(value, list) else value
                for key, value in node.items()}
        if str(node.get("__class_fullname__", "")).rsplit(".", 1)[-1] == "PadIfNeeded" and node.get("padding") == 0:
            del node["padding"]
        return node
    return {**document, "transform": clean(document["transform"])} if isinstance(document, dict) \
        and "transform" in document else document


def parse_pipeline_text(text: str | bytes, *, fmt: str | None = None, source: str = "pipeline text"):
    """The document in JSON or YAML `text` (YAML also reads JSON when fmt is None). Never opens a file:
    text that looks like a path is just text that is not a pipeline."""
    if isinstance(text, (bytes, bytearray)):
        size = len(text)
    elif isinstance(text, str):
        size = len(text.encode("utf-8", "replace"))
    else:
        raise PipelineError(f"{source}: expected pipeline text, got {type(text).__name__}")
    if size > MAX_PIPELINE_BYTES:
        raise PipelineError(f"{source} is {size:,} bytes; a pipeline file may be at most {MAX_PIPELINE_BYTES:,}")
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")     # a byte-order mark, as Windows editors save, is no error
        except UnicodeDecodeError:
            raise PipelineError(f"{source} is not UTF-8 text; save the pipeline as JSON or YAML") from None
    text = text.removeprefix("\ufeff")
    fmt = None if fmt is None else _format(fmt)
    try:
        if fmt == "json":
            return json.loads(text)
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise PipelineError(f"{source} is nested too deeply to be a pipeline") from None
    except (json.JSONDecodeError, yaml.YAMLError, ValueError) as e:
        kind = fmt.upper() if fmt else "JSON or YAML"
        raise PipelineError(_one_line(f"{source} is not valid {kind}: {e}")[:300]) from None


def read_pipeline_file(path) -> object:
    """The document in a pipeline file on disk: for the CLI and training, never for uploads.

    The file must be a regular file of at most MAX_PIPELINE_BYTES; its format comes from the suffix (.json is
    JSON; anything else is read as YAML, which also reads JSON).
    """
    path = Path(path)
    try:   # the project's one safe reader: checks the open descriptor, so a FIFO can't block it
        data = read_regular_bytes(path, max_bytes=MAX_PIPELINE_BYTES, what="pipeline file")
    except NotARegularFile:
        raise PipelineError(f"cannot read pipeline file {path}: not a regular file") from None
    except FileNotFoundError:
        raise PipelineError(f"cannot read pipeline file {path}: no such file") from None
    except OSError as e:
        raise PipelineError(f"cannot read pipeline file {path}: {e.strerror or e}") from None
    except ValueError:
        raise PipelineError(f"{path} is over {MAX_PIPELINE_BYTES:,} bytes; a pipeline file may be at most "
                            f"{MAX_PIPELINE_BYTES:,}") from None
    return parse_pipeline_text(data, fmt=SUFFIX_FORMATS.get(path.suffix.lower()), source=str(path))


def _check_document(data) -> dict:
    """The root transform of an A.save document, after checking its shape, size and transform names.

    Walks the tree without recursion and without building anything, so huge or deep documents fail fast.
    """
    if not isinstance(data, dict) or "transform" not in data:
        raise PipelineError("not an albumentations pipeline: expected a mapping with a 'transform' key "
                            "(as written by A.save)")
    pending, count = [(data["transform"], "transform", 0)], 0
    while pending:
        node, where, depth = pending.pop()
        if not isinstance(node, dict) or not isinstance(node.get("__class_fullname__"), str):
            raise PipelineError(f"not an albumentations pipeline: {where} has no '__class_fullname__'")
        name = node["__class_fullname__"].rsplit(".", 1)[-1]
        cls = getattr(A, name, None)
        if not (isinstance(cls, type) and issubclass(cls, (A.BasicTransform, A.BaseCompose))):
            raise PipelineError(f"unknown albumentations transform {node['__class_fullname__']!r} in {where}"
                                f"{did_you_mean(name)}")
        children = node.get("transforms") or []
        if not isinstance(children, list):
            raise PipelineError(f"not an albumentations pipeline: {where}.transforms is not a list")
        count += len(children)
        if count > MAX_STEPS:
            raise PipelineError(f"the pipeline has more than {MAX_STEPS} transforms; at most {MAX_STEPS} are "
                                "allowed")
        if children and depth >= MAX_NESTING:
            raise PipelineError(f"the pipeline nests composes more than {MAX_NESTING} deep")
        pending += [(child, f"{where}.transforms[{i}]", depth + 1) for i, child in enumerate(children)]
    return data["transform"]


def _explain(transform: dict, error: Exception) -> str:
    """One line naming the step that fails to build and why (pydantic's own text spans several lines)."""
    for index, child in enumerate(transform.get("transforms", []) if isinstance(transform, dict) else []):
        try:
            A.from_dict({"transform": child})
        except (KeyError, TypeError, ValueError, NotImplementedError) as step_error:
            error, where = step_error, f"step {index + 1} ({child.get('__class_fullname__', '?')})"
            break
    else:
        where = "the pipeline"
    while not hasattr(error, "errors") and (error.__cause__ or error.__context__):
        error = error.__cause__ or error.__context__   # albumentations wraps pydantic's ValidationError
    if hasattr(error, "errors"):  # pydantic: field path and message per problem
        details = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in error.errors())
    else:
        details = f"{type(error).__name__}: {error}"
    return _one_line(f"{where}: {details}")


def _document(source, fmt: str | None):
    """The parsed document of text/bytes (parsed, never opened) or a pathlib.Path (read); anything else is the
    document itself (a dict, or what an empty or odd file parsed to, which `_check_document` refuses in words)."""
    if isinstance(source, Path):
        return read_pipeline_file(source)
    if isinstance(source, (str, bytes, bytearray)):
        return parse_pipeline_text(source, fmt=fmt)
    return source


def load_pipeline(source, *, fmt: str | None = None):
    """An A.Compose from an A.to_dict dict, JSON/YAML text or bytes, or a pathlib.Path to read.

    A str is always text, never a file name (use `load_pipeline_file` for paths). Any albumentations transform
    is accepted (not only the catalogue's). Raises PipelineError for text that is not JSON/YAML, documents that
    are not albumentations pipelines, unknown transforms, invalid arguments and the limits above.
    """
    data = portable(_document(source, fmt))
    _check_document(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pipeline = A.from_dict(data)
            A.to_dict(pipeline)   # some transforms (HistogramMatching) cannot be saved, so not be trained with
        except (KeyError, TypeError, ValueError, NotImplementedError) as e:  # pydantic's errors are ValueErrors
            raise PipelineError(f"invalid albumentations pipeline: {_explain(data['transform'], e)}") from None
        except RecursionError:
            raise PipelineError("invalid albumentations pipeline: an argument is nested too deeply") from None
    for w in caught:
        # albumentations only warns about arguments it does not know; a typo in a saved file must not be
        # silently dropped, so that warning becomes an error. Others pass on to the caller.
        if "are not valid for transform" in str(w.message):
            raise PipelineError(_one_line(f"invalid albumentations pipeline: {w.message}"))
        if "is greater than number of transforms" in str(w.message):   # albumentations would lower n quietly
            raise PipelineError("a SomeOf group's n is larger than the number of its transforms; lower n or set "
                                "replace: true")
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    # Callers expect a Compose; a lone transform or OneOf is wrapped, keeping its own semantics.
    return pipeline if isinstance(pipeline, A.Compose) else A.Compose([pipeline])


def load_pipeline_file(path):
    """load_pipeline for a file on disk (CLI, training); never call it with a web user's input."""
    return load_pipeline(read_pipeline_file(path))


# ----------------------------------------------------------------------------------------- catalogue steps

def _comparable(value):
    return json.loads(json.dumps(value, default=str))


def _step_from_child(name: str, child: dict, where: str) -> dict:
    """A catalogue step from one transform's A.to_dict entry (albumentations' defaults already filled in)."""
    params = {}
    for spec in CATALOGUE[name].params:
        value = child.get(spec.name)
        if isinstance(value, dict) and set(value) == {"x", "y"}:  # Affine stores per-axis ranges
            if list(value["x"]) != list(value["y"]):
                raise PipelineError(f"{where} ({name}): different x and y {spec.name} ranges cannot be shown in "
                                    "the lab")
            value = value["x"]
        if value is None:
            raise PipelineError(f"{where} ({name}): {spec.name} is not set; the lab needs a value")
        if spec.kind == "rgb" and isinstance(value, (int, float)):  # a single fill value means grey
            value = (value,) * 3
        if spec.kind.endswith("_range") and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = (value, value)     # kept as given (CropAndPad's percent): that exact value, every draw
        params[spec.name] = tuple(value) if isinstance(value, list) else value
    return {"name": name, "params": params, "p": child.get("p", CATALOGUE[name].default_p)}


def _name(node: dict) -> str:
    return node["__class_fullname__"].rsplit(".", 1)[-1]


def _steps_from_children(children: list[dict], prefix: str, *, in_group: bool) -> list[dict]:
    steps = []
    for i, child in enumerate(children):
        name, where = _name(child), f"{prefix}{i + 1}"
        if name in COMPOSES and not in_group:
            group = {"name": name, "p": child.get("p", COMPOSES[name].default_p),
                     "params": {spec.name: child.get(spec.name, spec.default) for spec in COMPOSES[name].params},
                     "steps": _steps_from_children(child.get("transforms") or [], f"{where}.", in_group=True)}
            steps.append(group)
        elif name in COMPOSES:
            raise PipelineError(f"step {where}: a {name} group inside a group cannot be edited or trained here; "
                                "groups nest one level deep")
        else:
            steps.append(_step_from_child(name, child, f"step {where}"))
    return steps


def steps_from_pipeline(source) -> list[dict]:
    """The lab's steps for a pipeline of catalogue transforms, with OneOf/SomeOf groups one level deep: an
    A.Compose, its A.to_dict dict, JSON/YAML text or bytes, or a pathlib.Path to read.

    The catalogue check runs before anything is built. Arguments the catalogue does not expose must keep
    albumentations' defaults (mask interpolation, mask fill and a crop's ignored values are SegLab's own), so
    nothing is dropped silently. Raises PipelineError for transforms not in the catalogue, deeper nesting and
    values outside the catalogue's bounds (non-finite numbers included).
    """
    if isinstance(source, A.BaseCompose):
        try:
            source = A.to_dict(source)
        except NotImplementedError as e:
            raise PipelineError(_one_line(f"this pipeline cannot be saved or edited: {e}")) from None
    data = _document(source, None)
    root = _check_document(data)
    children = root.get("transforms")
    if _name(root) != "Compose" or not isinstance(children, list):
        raise PipelineError("not a pipeline the lab can edit: expected a Compose with a list of transforms")
    members = [c for child in children for c in [child, *(child.get("transforms") or [])]]
    unknown = list(dict.fromkeys(n for n in map(_name, members) if n not in CATALOGUE and n not in COMPOSES))
    if unknown:
        named = ", ".join(f"{name}{did_you_mean(name)}" for name in unknown)
        raise PipelineError(f"transform(s) not in the catalogue: {named}; the Lab and training use only: "
                            f"{', '.join(CATALOGUE)}, in {' or '.join(COMPOSES)} groups")
    loaded = A.to_dict(load_pipeline(data))["transform"]                  # albumentations' checks, defaults
    if loaded.get("p", 1) != 1:         # the Lab and training run the outer Compose on every sample
        raise PipelineError(f"the pipeline's outer Compose has p={loaded['p']!r}; the Lab and training apply it to "
                            "every sample: set its p to 1 and give each step its own p")
    children = loaded["transforms"]
    steps = validate_steps(_steps_from_children(children, "", in_group=False))
    _check_unexposed(children, steps, "")
    return steps


def _check_unexposed(children: list[dict], steps: list[dict], prefix: str) -> None:
    """PipelineError when a file sets an argument the catalogue does not expose to a non-default value."""
    for i, (given, step) in enumerate(zip(children, steps)):
        where = f"step {prefix}{i + 1} ({step['name']})"
        if step["name"] in COMPOSES:
            _check_unexposed(given.get("transforms") or [], step["steps"], f"{prefix}{i + 1}.")
            default = A.to_dict(build_pipeline([step]))["transform"]["transforms"][0]
            exposed = {spec.name for spec in COMPOSES[step["name"]].params} | {"transforms"}
        else:
            default = A.to_dict(build_pipeline([step]))["transform"]["transforms"][0]
            exposed = {spec.name for spec in CATALOGUE[step["name"]].params} | set(managed_arguments(step["name"], 0))
        for key in sorted(set(given) - exposed - {"__class_fullname__", "p"}):
            if _comparable(given[key]) != _comparable(default.get(key)):
                raise PipelineError(f"{where}: {key}={given[key]!r} cannot be set here; the Lab and training use "
                                    f"its default ({default.get(key)!r}). Remove it")


def load_training_pipeline(path, *, mask_fill: int) -> dict:
    """The validated pipeline dict for `train --augment PATH`: exactly the Lab's checks, then rebuilt.

    Only catalogue transforms within the catalogue's bounds pass (so no Resize to 100000x100000, no NaN, no
    blur kernel of 10001); masks are moved nearest-neighbour and uncovered pixels get `mask_fill` (the
    schema's ignore index). Raises PipelineError naming the file, step and problem.
    """
    return portable(A.to_dict(build_pipeline(steps_from_pipeline_file(path), mask_fill=mask_fill)))


def steps_from_pipeline_file(path) -> list:
    """The catalogue steps of a pipeline file on disk; a PipelineError names the file."""
    try:
        return steps_from_pipeline(read_pipeline_file(path))
    except PipelineError as e:
        message = str(e)
        raise PipelineError(message if message.startswith(str(path)) else f"{path}: {message}") from None


# ------------------------------------------------------------------------------------------------- writing

def _as_pipeline(pipeline_or_steps, mask_fill: int = 0):
    if isinstance(pipeline_or_steps, (list, tuple)):
        return build_pipeline(pipeline_or_steps, mask_fill=mask_fill)
    if isinstance(pipeline_or_steps, dict):
        return load_pipeline(pipeline_or_steps)
    return pipeline_or_steps


def to_dict(pipeline, *, mask_fill: int = 0) -> dict:
    """A.to_dict of a pipeline; also accepts steps (built with `mask_fill`) or an already serialised dict."""
    try:
        if isinstance(pipeline, dict):   # round trip, so junk is rejected here and not in a worker
            return portable(A.to_dict(load_pipeline(pipeline)))
        return portable(A.to_dict(_as_pipeline(pipeline, mask_fill)))
    except NotImplementedError as e:
        raise PipelineError(_one_line(f"this pipeline cannot be saved: {e}")) from None


def dumps_pipeline(steps, fmt: str = "json", *, mask_fill: int = 0) -> str:
    """The pipeline as JSON or YAML text as A.save writes it (so A.load accepts it unchanged), less PadIfNeeded's
    unreadable `padding` (see `portable`)."""
    document = to_dict(steps, mask_fill=mask_fill)
    if _format(fmt) == "yaml":
        return yaml.safe_dump(document, default_flow_style=False)
    return json.dumps(document, indent=2)


def save_pipeline(pipeline_or_steps, path, *, mask_fill: int = 0) -> Path:
    """Write the pipeline to `path` as JSON or YAML (by suffix), atomically: a reader never sees half a file."""
    path = Path(path)
    text = dumps_pipeline(pipeline_or_steps, _format(None, path), mask_fill=mask_fill)
    return atomic_write_bytes(path, text.encode())
