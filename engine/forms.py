"""Step forms (表单): the fields a user step asks for, and turning what a person typed into typed data.

Fields come from the diagram, in the forms people already draw:

* Camunda's generated task forms, ``<camunda:formData><camunda:formField id label type
  defaultValue>`` with ``<camunda:value>`` options and ``required`` constraints;
* Flowable/Activiti ``<flowable:formProperty id name type required default>`` with ``<flowable:value>``;
* a Yimen extension property ``yimen.formSchema`` holding a JSON schema (an object with
  ``properties`` and ``required``), for designers who keep forms as JSON schema.

They are read once at deploy time into the element metadata (``form_fields``);
the task page draws them and ``coerce`` checks what comes back, so a wrong value
gets a reason per field and nothing is completed.
"""
from __future__ import annotations

import json
from datetime import date
from typing import Any

from .errors import ValidationError

SCHEMA_PROPERTY = "yimen.formSchema"
TYPES = ("string", "long", "double", "boolean", "date", "enum")
_ALIASES = {"integer": "long", "int": "long", "number": "double", "text": "string", "textarea": "string",
            "bool": "boolean", "datetime": "date"}


def _field(fid: str, label: str | None, ftype: str | None, required: bool, default: Any,
           options: list[dict[str, str]]) -> dict[str, Any]:
    kind = _ALIASES.get((ftype or "string").lower(), (ftype or "string").lower())
    if options and kind == "string":
        kind = "enum"
    return {"id": fid, "label": label or fid, "type": kind if kind in TYPES else "string", "required": required,
            "default": default, "options": options}


def fields_of_element(el, extension_elements, local) -> list[dict[str, Any]]:
    """The form fields a BPMN element declares in any dialect (the helpers come from the BPMN reader)."""
    fields: list[dict[str, Any]] = []
    for form_data in extension_elements(el, "formData"):
        for item in form_data:
            if not isinstance(item.tag, str) or local(item) != "formField" or not item.get("id"):
                continue
            options = [{"value": v.get("id") or "", "label": v.get("name") or v.get("id") or ""}
                       for v in item.iter() if isinstance(v.tag, str) and local(v) == "value"]
            required = any(local(c) == "constraint" and c.get("name") == "required"
                           for c in item.iter() if isinstance(c.tag, str))
            fields.append(_field(item.get("id"), item.get("label"), item.get("type"), required,
                                 item.get("defaultValue"), options))
    for prop in extension_elements(el, "formProperty"):
        if not prop.get("id"):
            continue
        options = [{"value": v.get("id") or "", "label": v.get("name") or v.get("id") or ""}
                   for v in prop if isinstance(v.tag, str) and local(v) == "value"]
        fields.append(_field(prop.get("id"), prop.get("name"), prop.get("type"),
                             (prop.get("required") or "").lower() == "true", prop.get("default"), options))
    return fields


def fields_of_schema(text: str) -> list[dict[str, Any]]:
    """Fields from a JSON schema object; raises ``ValidationError`` saying what is wrong with it."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{SCHEMA_PROPERTY} is not valid JSON: {exc.msg}") from exc
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        raise ValidationError(f"{SCHEMA_PROPERTY} must be a JSON schema object with 'properties'")
    required = set(schema.get("required") or [])
    fields = []
    for fid, spec in schema["properties"].items():
        if not isinstance(spec, dict):
            raise ValidationError(f"{SCHEMA_PROPERTY}: property '{fid}' must be an object")
        ftype = "date" if spec.get("format") == "date" else spec.get("type")
        options = [{"value": str(v), "label": str(v)} for v in spec.get("enum") or []]
        fields.append(_field(fid, spec.get("title"), ftype, fid in required, spec.get("default"), options))
    return fields


def coerce(fields: list[dict[str, Any]], raw: dict[str, Any]) -> dict[str, Any]:
    """Typed data from submitted text; every problem is listed, by field."""
    data: dict[str, Any] = {}
    problems: list[str] = []
    wrong: list[dict[str, str]] = []  # the same problems, by field, for a translated sentence
    for f in fields:
        value = raw.get(f["id"])
        text = value.strip() if isinstance(value, str) else value
        if f["type"] == "boolean":
            data[f["id"]] = text in (True, "true", "on", "yes", "1")
            continue
        if text in (None, ""):
            if f["required"]:
                problems.append(f"'{f['label']}' is required")
                wrong.append({"label": str(f["label"]), "problem": "required"})
            continue
        try:
            data[f["id"]] = _typed(f, text)
        except (TypeError, ValueError):
            problems.append(f"'{f['label']}': '{text}' is not a valid {f['type']}")
            wrong.append({"label": str(f["label"]), "problem": str(f["type"])})
    if problems:
        raise ValidationError("; ".join(problems), problems=problems, refusal="form_fields", fields=wrong)
    return data


def _typed(f: dict[str, Any], text: Any) -> Any:
    if f["type"] == "long":
        if isinstance(text, float) or (isinstance(text, str) and not text.lstrip("-").isdigit()):
            raise ValueError(text)
        return int(text)
    if f["type"] == "double":
        return float(text)
    if f["type"] == "date":
        return date.fromisoformat(str(text)).isoformat()
    if f["type"] == "enum" and f["options"] and str(text) not in {o["value"] for o in f["options"]}:
        raise ValueError(text)
    return str(text)


def fields_of_task(session, row) -> list[dict[str, Any]]:
    """The form fields of an open task's step, from its definition's metadata (none for old deployments)."""
    from .models import ProcessDefinition, ProcessInstance

    instance = session.get(ProcessInstance, row.instance_id)
    definition = session.get(ProcessDefinition, instance.definition_id) if instance else None
    meta = ((definition.element_meta if definition else None) or {}).get(row.element_id) or {}
    return list(meta.get("form_fields") or [])
