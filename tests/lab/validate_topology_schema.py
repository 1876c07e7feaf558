#!/usr/bin/env python3
"""Validates every lab topology in a directory against topology.schema.json there.

Usage: validate_topology_schema.py CONF_LAB_DIR. Exits 0 when all are valid, 1 otherwise, and 77
(a skip for CTest) when the jsonschema module is not installed.
"""
import json
import pathlib
import sys

try:
    import jsonschema
except ImportError:
    print("python3 jsonschema is not installed; skipping", file=sys.stderr)
    sys.exit(77)


def main() -> int:
    lab_dir = pathlib.Path(sys.argv[1])
    schema = json.loads((lab_dir / "topology.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    examples = sorted(p for p in lab_dir.glob("*.json") if p.name != "topology.schema.json")
    if not examples:
        print(f"no topologies in {lab_dir}", file=sys.stderr)
        return 1
    failed = False
    for path in examples:
        errors = list(validator.iter_errors(json.loads(path.read_text())))
        for error in errors:
            where = "".join(f"[{p!r}]" for p in error.absolute_path)
            print(f"{path.name}{where}: {error.message}", file=sys.stderr)
        print(f"{path.name}: {'invalid' if errors else 'valid'}")
        failed = failed or bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
