"""Small Sphinx fixes for the gandemo book.

sphinx-thebe and sphinx-togglebutton register their inline scripts twice under Jupyter Book 1
(once with filename None, once with ""); the second copy of the thebe one throws "Identifier
'THEBE_JS_URL' has already been declared" in every page's console. This extension drops exact
duplicate script entries from each page's context.
"""

from __future__ import annotations


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        attributes = getattr(js, "attributes", {}) or {}
        filename = getattr(js, "filename", js) or ""  # inline scripts: None or ""
        key = (str(filename), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
