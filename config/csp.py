"""The Content-Security-Policy nonce for Jinja2 pages.

The NHS.UK page template (`nhsuk/template.jinja`) has one inline line of script that marks
the body `js-enabled`; it carries `nonce="{{ cspNonce }}"`. Only that script gets the nonce:
our own templates load every script from a file (tests/security/test_headers.py checks).
"""


def nonce(request) -> dict:
    # str(): django-csp's lazy nonce is falsy until read, and the template asks `if cspNonce`.
    # Reading it here also puts it in this response's header.
    value = getattr(request, "csp_nonce", None)
    return {"cspNonce": str(value) if value is not None else ""}
