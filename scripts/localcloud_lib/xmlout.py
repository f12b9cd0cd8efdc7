"""Building XML responses with xml.etree (EC2, STS and S3 shapes)."""
import xml.etree.ElementTree as ET


def el(parent, tag, text=None):
    e = ET.SubElement(parent, tag)
    if text is not None:
        e.text = text if isinstance(text, str) else (
            ("true" if text else "false") if isinstance(text, bool) else str(text))
    return e


def fill(parent, spec):
    """spec: list of (tag, value); value is text, a list of (tag, value)
    (a nested element) or None (skipped)."""
    for tag, value in spec:
        if value is None:
            continue
        if isinstance(value, list):
            fill(el(parent, tag), value)
        else:
            el(parent, tag, value)
    return parent


def item_set(parent, tag, items):
    """<tag><item>..</item>...</tag>, each item a spec list."""
    s = el(parent, tag)
    for spec in items:
        fill(el(s, "item"), spec)
    return s


def to_bytes(root):
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def root(tag, xmlns=None):
    e = ET.Element(tag)
    if xmlns:
        e.set("xmlns", xmlns)
    return e
