"""Parse an uploaded diagram without trusting it.

Uploads come from anyone with the designer role, so the XML parser must not
read local files (XXE), reach the network, or expand entities without bound
(billion laughs). We refuse every DOCTYPE outright — BPMN and DMN never need
one — before libxml2 sees the bytes, and check again after parsing.
"""
from __future__ import annotations

import io

from lxml import etree

from ..errors import BpmnInvalid, Problem
from .dialects import BPMN, DMN_NAMESPACES

MAX_BYTES = 5 * 1024 * 1024
DOCTYPE_REASON = "DOCTYPE and entity declarations are not allowed (possible XXE or entity-expansion attack)"

# "<!DOCTYPE" / "<!ENTITY" as they look in every encoding libxml2 might pick.
# ASCII-compatible encodings (UTF-8, GBK, GB18030, Latin-1 ...) share one form.
_MARKERS = tuple(
    word.encode(codec)
    for word in ("<!DOCTYPE", "<!ENTITY")
    for codec in ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=False)


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _has_declarations(content: bytes) -> bool:
    # Anywhere in the file: strict (a literal "<!DOCTYPE" inside a CDATA section is refused too) but simple.
    return any(marker in content for marker in _MARKERS)


def parse_untrusted(filename: str, content: bytes, max_bytes: int = MAX_BYTES) -> etree._ElementTree:
    """Parse ``content`` safely or raise ``BpmnInvalid`` with one problem saying why not."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    content = bytes(content)
    if len(content) > max_bytes:
        raise BpmnInvalid([Problem(filename, None, None,
                                   f"file is {len(content)} bytes; the limit is {max_bytes} bytes "
                                   f"({_megabytes(max_bytes)})")])
    if _has_declarations(content):
        raise BpmnInvalid([Problem(filename, None, None, DOCTYPE_REASON)])
    try:
        tree = etree.parse(io.BytesIO(content), _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or None
        message = (exc.msg or str(exc)).strip()
        raise BpmnInvalid([Problem(filename, None, line, f"not well-formed XML: {message}")]) from None
    # Belt and braces: an encoding we did not scan for must still not smuggle a DTD in.
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise BpmnInvalid([Problem(filename, None, None, DOCTYPE_REASON)])
    if any(isinstance(node, etree._Entity) for node in tree.iter()):
        raise BpmnInvalid([Problem(filename, None, None, DOCTYPE_REASON)])
    return tree


def kind_of(tree, filename: str = "") -> str:
    """'bpmn' or 'dmn' by the root element's namespace; anything else raises ``BpmnInvalid``."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    qname = etree.QName(root)
    if qname.namespace == BPMN and qname.localname == "definitions":
        return "bpmn"
    if qname.namespace in DMN_NAMESPACES and qname.localname == "definitions":
        return "dmn"
    where = f" in namespace '{qname.namespace}'" if qname.namespace else " without a namespace"
    found = f"<{qname.localname}>{where}"
    raise BpmnInvalid([Problem(filename, root.get("id"), root.sourceline,
                               f"not a BPMN 2.0 or DMN 1.1-1.3 file: the root element is {found}; "
                               f"expected <definitions> in '{BPMN}' or a DMN namespace")])
