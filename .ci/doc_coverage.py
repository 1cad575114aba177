"""Every public symbol of the library modules has a doc comment (its own, or the protocol requirement's it
implements), read from the symbol graphs `swift package dump-symbol-graph` writes.

Usage: python3 .ci/doc_coverage.py .build/<triple>/symbolgraph
"""
import json, os, sys

directory = sys.argv[1]
undocumented = []
for module in ["BackpropCore", "BackpropNN", "BackpropData", "BackpropKit"]:
    graph = json.load(open(os.path.join(directory, f"{module}.symbols.json")))
    implementations = {r["source"] for r in graph["relationships"] if r["kind"] in ("defaultImplementationOf", "overrides")}
    for symbol in graph["symbols"]:
        precise = symbol["identifier"]["precise"]
        if symbol.get("docComment") or symbol["accessLevel"] not in ("public", "open") or "location" not in symbol:
            continue
        if "::SYNTHESIZED::" in precise or precise in implementations:
            continue
        location = symbol["location"]
        undocumented.append(f"{location['uri'].split('/Sources/')[-1]}:{location['position']['line'] + 1}: "
                            f"{'.'.join(symbol['pathComponents'])}")
for line in undocumented:
    print(f"undocumented: {line}")
if undocumented:
    sys.exit(f"{len(undocumented)} public symbols have no doc comment")
print("doc coverage: every public symbol of BackpropCore, BackpropNN, BackpropData and BackpropKit is documented")
