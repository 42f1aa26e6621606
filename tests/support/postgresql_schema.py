"""The cyrilgdn/postgresql provider's schema, read from the jsii assembly that the
cdktf-cdktf-provider-postgresql package ships, and a check of synthesized JSON against it.

``terraform validate`` needs each provider's plugin binary to load its schema, and only
hashicorp/aws is in the offline mirror. The Python bindings are generated from the provider's own
schema (``cdktf get``) and their assembly keeps, per resource, each argument's Terraform name (the
registry link in its docs), whether it is optional, and its type; per resource class, the
attributes it exposes. That is enough to refuse what Terraform would refuse at validate time: an
unknown argument, a missing required one, a literal of the wrong type, a reference to a resource
or attribute that does not exist. It is not a plan: value rules the provider checks at apply time
(e.g. a privilege valid for an object type) stay unchecked.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

# Meta-arguments Terraform accepts on every resource, and CDKTF's metadata comment.
META_ARGUMENTS = frozenset({"//", "count", "depends_on", "for_each", "lifecycle", "provider", "provisioner", "connection"})
_REGISTRY_LINK = re.compile(r"registry\.terraform\.io/providers/([^/]+/[^/]+)/([^/]+)/docs[^#\s]*#([a-z0-9_]+)")
_RESOURCE_LINK = re.compile(r"\{@link https://registry\.terraform\.io/providers/[^ ]+/docs/resources/[a-z0-9_]+ (postgresql_[a-z0-9_]+)\}")
_POSTGRESQL_REFERENCE = re.compile(r"\b(postgresql_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)")


@dataclass(frozen=True)
class Argument:
    name: str
    required: bool
    kind: str  # string | number | boolean | list | map | block | blocks
    element: str = "string"  # for list and map: the element's kind
    block: Block | None = None  # for block and blocks


@dataclass(frozen=True)
class Block:
    arguments: dict[str, Argument]
    attributes: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Schema:
    source: str  # e.g. cyrilgdn/postgresql
    version: str  # e.g. 1.26.0
    provider: Block
    resources: dict[str, Block]


def assembly_path() -> Path:
    # Located, not imported: importing the bindings would start a jsii runtime for nothing.
    spec = importlib.util.find_spec("cdktf_cdktf_provider_postgresql")
    assert spec is not None and spec.submodule_search_locations, "cdktf-cdktf-provider-postgresql is not installed"
    (path,) = (Path(spec.submodule_search_locations[0]) / "_jsii").glob("*.jsii.tgz")
    return path


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def load() -> Schema:
    with tarfile.open(assembly_path()) as archive:
        member = archive.extractfile("package/.jsii")
        assert member is not None, "the assembly has no package/.jsii"
        types = json.load(member)["types"]
    links = {m.group(1, 2) for t in types.values() for p in t.get("properties", [])
             for m in [_REGISTRY_LINK.search(p.get("docs", {}).get("remarks", ""))] if m}
    assert len(links) == 1, f"the assembly documents more than one provider version: {links}"
    (source, version), = links

    def block(fqn: str, attributes: frozenset[str] = frozenset()) -> Block:
        arguments = {}
        for prop in types[fqn].get("properties", []):
            link = _REGISTRY_LINK.search(prop.get("docs", {}).get("remarks", ""))
            name = link.group(3) if link else _snake(prop["name"])
            arguments[name] = argument(name, not prop.get("optional", False), prop["type"])
        return Block(arguments, attributes)

    def argument(name: str, required: bool, jsii_type: dict) -> Argument:
        options = [t for t in jsii_type.get("union", {}).get("types", [jsii_type]) if t.get("fqn") != "cdktf.IResolvable"]
        (chosen,) = options
        if "primitive" in chosen:
            return Argument(name, required, chosen["primitive"])
        if "collection" in chosen:
            element = chosen["collection"]["elementtype"]
            kind = "list" if chosen["collection"]["kind"] == "array" else "map"
            if "fqn" in element and element["fqn"] in types:
                return Argument(name, required, "blocks", block=block(element["fqn"]))
            return Argument(name, required, kind, element=element.get("primitive", "any"))
        if chosen.get("fqn") in types and types[chosen["fqn"]]["kind"] == "interface":
            return Argument(name, required, "block", block=block(chosen["fqn"]))
        return Argument(name, required, "any")

    resources: dict[str, Block] = {}
    provider = None
    for t in types.values():
        if t["kind"] != "class" or not t.get("initializer", {}).get("parameters"):
            continue
        config = t["initializer"]["parameters"][-1]["type"].get("fqn", "")
        if t.get("base") == "cdktf.TerraformResource":
            match = _RESOURCE_LINK.search(t.get("docs", {}).get("summary", ""))
            assert match, f"{t['fqn']}: no resource type in its docs"
            attributes = frozenset(_snake(p["name"]) for p in t.get("properties", [])
                                   if not p.get("static") and not p["name"].endswith("Input"))
            resources[match.group(1)] = block(config, attributes)
        elif t.get("base") == "cdktf.TerraformProvider":
            provider = block(config)
    assert provider is not None and resources, "no provider or resource classes in the assembly"
    return Schema(source, version, provider, resources)


def _expression(value: object) -> bool:
    return isinstance(value, str) and "${" in value


def _type_errors(path: str, argument: Argument, value: object) -> list[str]:
    if _expression(value):
        return []  # its references are checked separately; its type is known only at plan time
    kind = argument.kind
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "number":
        ok = (isinstance(value, int | float) and not isinstance(value, bool)) or \
            (isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value) is not None)
    elif kind == "boolean":
        ok = isinstance(value, bool) or value in ("true", "false")
    elif kind in ("list", "map"):
        items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else None
        if items is None or (kind == "list") != isinstance(value, list):
            return [f"{path}: expected a {kind}, got {value!r}"]
        element = Argument(argument.name, True, argument.element)
        return [e for i, item in enumerate(items) for e in _type_errors(f"{path}[{i}]", element, item)]
    elif kind in ("block", "blocks"):
        blocks = value if isinstance(value, list) else [value]
        if not all(isinstance(b, dict) for b in blocks) or (kind == "block" and len(blocks) != 1):
            return [f"{path}: expected {'one block' if kind == 'block' else 'blocks'}, got {value!r}"]
        assert argument.block is not None
        return [e for i, b in enumerate(blocks) for e in check_block(f"{path}[{i}]", argument.block, b)]
    else:
        ok = True
    return [] if ok else [f"{path}: expected a {kind}, got {value!r}"]


def check_block(path: str, block: Block, body: dict, meta: frozenset[str] = frozenset()) -> list[str]:
    """What Terraform's validate would refuse in ``body`` for this block's schema."""
    errors = [f"{path}: unknown argument {name!r}" for name in body if name not in block.arguments and name not in meta]
    errors += [f"{path}: required argument {name!r} is missing"
               for name, argument in block.arguments.items() if argument.required and name not in body]
    for name, value in body.items():
        if name in block.arguments:
            errors += _type_errors(f"{path}.{name}", block.arguments[name], value)
    return errors


def strings(value: object) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def check_stack(stack: dict, schema: Schema) -> list[str]:
    """Every postgresql_* resource and the postgresql provider block of a synthesized stack."""
    errors = []
    pinned = stack["terraform"]["required_providers"]["postgresql"]
    if (pinned["source"], pinned.get("version")) != (schema.source, schema.version):
        errors.append(f"the stack pins {pinned}, the assembly describes {schema.source} {schema.version}")
    for index, body in enumerate(stack.get("provider", {}).get("postgresql", [])):
        errors += check_block(f"provider.postgresql[{index}]", schema.provider, body, frozenset({"//"}))
    declared = {(rtype, rid) for rtype, items in stack.get("resource", {}).items() for rid in items}
    for rtype, items in stack.get("resource", {}).items():
        if not rtype.startswith("postgresql_"):
            continue
        for rid, body in items.items():
            path = f"{rtype}.{rid}"
            if rtype not in schema.resources:
                errors.append(f"{path}: the provider has no resource type {rtype}")
                continue
            errors += check_block(path, schema.resources[rtype], body, META_ARGUMENTS)
            for text in strings({k: v for k, v in body.items() if k != "//"}):
                for ref_type, ref_id, attribute in _POSTGRESQL_REFERENCE.findall(text):
                    if (ref_type, ref_id) not in declared:
                        errors.append(f"{path}: {ref_type}.{ref_id} is not declared")
                    elif ref_type in schema.resources and attribute not in schema.resources[ref_type].attributes:
                        errors.append(f"{path}: {ref_type} has no attribute {attribute!r}")
    return errors


def references_postgresql(text: str) -> bool:
    return _POSTGRESQL_REFERENCE.search(text) is not None
