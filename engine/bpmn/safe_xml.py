"""Parse an uploaded diagram without trusting it.

Uploads come from anyone with the designer role, so the XML parser must not
read local files (XXE), reach the network, or expand entities without bound
(billion laughs). We refuse every DOCTYPE outright — BPMN and DMN never need
one — before libxml2 sees the bytes, and check again after parsing.

The file is also kept from ever being a page: ``foreign_content`` lists every
element outside the BPMN, DMN and modeling-tool namespaces (an XHTML or SVG
``<script>`` would run if a browser rendered the file) and every processing
instruction, and the deploy step refuses them.
"""
from __future__ import annotations

import io

from lxml import etree

from ..errors import BpmnInvalid, Problem, phrase
from .dialects import BPMN, BPMNDI, DC, DI, DIALECTS, DMN_NAMESPACES

MAX_BYTES = 5 * 1024 * 1024
DOCTYPE_REASON = "DOCTYPE and entity declarations are not allowed (possible XXE or entity-expansion attack)"
_DOCTYPE = "{doctype} and entity declarations are not allowed (possible {xxe} or entity-expansion attack)"
_DOCTYPE_PARAMS = {"doctype": "DOCTYPE", "xxe": "XXE"}

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


def _megabytes(n: int) -> dict:
    if n >= 1024 * 1024:
        return phrase("{megabytes} MB", megabytes=f"{n / (1024 * 1024):g}")
    return phrase("{bytes} bytes", bytes=n)


def _has_declarations(content: bytes) -> bool:
    # Anywhere in the file: strict (a literal "<!DOCTYPE" inside a CDATA section is refused too) but simple.
    return any(marker in content for marker in _MARKERS)


def parse_untrusted(filename: str, content: bytes, max_bytes: int = MAX_BYTES) -> etree._ElementTree:
    """Parse ``content`` safely or raise ``BpmnInvalid`` with one problem saying why not."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    content = bytes(content)
    if len(content) > max_bytes:
        raise BpmnInvalid([Problem.of(filename, None, None,
                                      "file is {size} bytes; the limit is {limit} bytes ({limit_mb})",
                                      size=len(content), limit=max_bytes, limit_mb=_megabytes(max_bytes))])
    if _has_declarations(content):
        raise BpmnInvalid([Problem.of(filename, None, None, _DOCTYPE, **_DOCTYPE_PARAMS)])
    try:
        tree = etree.parse(io.BytesIO(content), _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or None
        message = (exc.msg or str(exc)).strip()
        raise BpmnInvalid([Problem.of(filename, None, line, "not well-formed {xml}: {message}", xml="XML",
                                      message=message)]) from None
    # Belt and braces: an encoding we did not scan for must still not smuggle a DTD in.
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise BpmnInvalid([Problem.of(filename, None, None, _DOCTYPE, **_DOCTYPE_PARAMS)])
    if any(isinstance(node, etree._Entity) for node in tree.iter()):
        raise BpmnInvalid([Problem.of(filename, None, None, _DOCTYPE, **_DOCTYPE_PARAMS)])
    return tree


def kind_of(tree, filename: str = "") -> str:
    """'bpmn' or 'dmn' by the root element's namespace; anything else raises ``BpmnInvalid``."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    qname = etree.QName(root)
    if qname.namespace == BPMN and qname.localname == "definitions":
        return "bpmn"
    if qname.namespace in DMN_NAMESPACES and qname.localname == "definitions":
        return "dmn"
    found = (phrase("{element} in namespace '{namespace}'", element=f"<{qname.localname}>", namespace=qname.namespace)
             if qname.namespace else phrase("{element} without a namespace", element=f"<{qname.localname}>"))
    raise BpmnInvalid([Problem.of(filename, root.get("id"), root.sourceline,
                                  "not a {bpmn} or {dmn} file: the root element is {found}; "
                                  "expected {definitions} in '{namespace}' or a {dmn_namespace} namespace",
                                  bpmn="BPMN 2.0", dmn="DMN 1.1-1.3", found=found, definitions="<definitions>",
                                  namespace=BPMN, dmn_namespace="DMN")])


# --- foreign content ------------------------------------------------------------------------------------

XHTML = "http://www.w3.org/1999/xhtml"
SVG = "http://www.w3.org/2000/svg"
# What BPMN and DMN files and the modeling tools Yimen reads put in them; anything else could be
# active content (XHTML, SVG, MathML...) that a browser would run if the file were ever rendered.
ALLOWED_NAMESPACES = frozenset({
    BPMN, BPMNDI, DC, DI, *DMN_NAMESPACES,
    "http://www.omg.org/spec/DMN/20180521/DMNDI/", "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    "http://www.omg.org/spec/DMN/20180521/DC/", "http://www.omg.org/spec/DMN/20180521/DI/",
    *DIALECTS, "http://camunda.org/schema/1.0/dmn", "http://camunda.org/schema/modeler/1.0",
    "http://flowable.org/modeler", "http://flowable.org/design",
    "http://flowable.org/dmn",  # Flowable's DMN extensions (flowable:forceDMN11 ...)
})
# Attributes are inert on BPMN elements, except where a browser gives them a meaning of their own.
ACTIVE_ATTRIBUTE_NAMESPACES = frozenset({
    XHTML, SVG, "http://www.w3.org/1999/xlink", "http://www.w3.org/1998/Math/MathML",
    "http://www.w3.org/1999/XSL/Transform", "http://www.w3.org/2001/XInclude", "http://www.w3.org/2001/xml-events",
})
_FOREIGN_HOWTO = phrase("only {allowed} and the {dialects} extension namespaces may appear in a diagram (content in "
                        "other namespaces could run as script in a browser); remove it",
                        allowed="BPMN, BPMN DI, DC, DI, DMN", dialects="camunda/flowable/activiti")


def _owner_id(el) -> str | None:
    """The id of the element itself or of its nearest ancestor that has one (the root's is not an element's)."""
    node = el
    while node is not None and node.getparent() is not None:
        if isinstance(node.tag, str) and node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def _shown(el) -> dict:
    qname = etree.QName(el)
    prefix = el.prefix
    name = f"<{prefix}:{qname.localname}>" if prefix else f"<{qname.localname}>"
    if qname.namespace:
        return phrase("{element} in namespace '{namespace}'", element=name, namespace=qname.namespace)
    return phrase("{element} without a namespace", element=name)


def foreign_content(filename: str, tree) -> list[Problem]:
    """Every element outside ``ALLOWED_NAMESPACES`` (once per foreign subtree), attribute in an active
    namespace and processing instruction, each with the id of its element (or nearest ancestor) and its line."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    problems: list[Problem] = []
    node = root.getprevious()
    while node is not None:  # before the root element: <?xml-stylesheet?> and the like
        if isinstance(node, etree._ProcessingInstruction):
            problems.append(Problem.of(filename, None, node.sourceline,
                                       "processing instruction {instruction} is not allowed in a diagram "
                                       "(a stylesheet could turn the file into a page that runs script); remove it",
                                       instruction=f"<?{node.target}?>"))
        node = node.getprevious()
    stack = [root]
    while stack:
        el = stack.pop()
        if isinstance(el, etree._ProcessingInstruction):
            problems.append(Problem.of(filename, _owner_id(el.getparent()), el.sourceline,
                                       "processing instruction {instruction} is not allowed in a diagram; remove it",
                                       instruction=f"<?{el.target}?>"))
            continue
        if not isinstance(el.tag, str):
            continue  # comments
        if etree.QName(el).namespace not in ALLOWED_NAMESPACES:
            problems.append(Problem.of(filename, _owner_id(el), el.sourceline,
                                       "element {element} is not allowed: {howto}",
                                       element=_shown(el), howto=_FOREIGN_HOWTO))
            continue  # its subtree goes with it
        for attr in el.attrib:
            space = etree.QName(attr).namespace
            if space in ACTIVE_ATTRIBUTE_NAMESPACES:
                problems.append(Problem.of(filename, _owner_id(el), el.sourceline,
                                           "attribute '{attribute}' in namespace '{namespace}' is not allowed on "
                                           "{element}: {howto}", attribute=etree.QName(attr).localname,
                                           namespace=space, element=f"<{etree.QName(el).localname}>",
                                           howto=_FOREIGN_HOWTO))
        stack.extend(reversed(el))
    return sorted(problems, key=lambda p: p.line or 0)
