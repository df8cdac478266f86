"""`harness tasks`: list the tasks with version, sources, prompt styles and metric."""

from __future__ import annotations

import argparse
from typing import Any


def run(args: argparse.Namespace) -> int:
    import textwrap

    from tasks import GENERAL_LISTS, SEQUENCES, TASKS

    width = 100
    for name, cls in TASKS.items():
        print(f"{name}  (version {cls.version}, metric: {cls.metric})")
        sources = ", ".join(f"hub {cls.hub_id}" if src == "hub" else src for src in cls.sources)
        params = " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in cls.defaults.items())
        for label, text in (
            ("", cls.description), ("styles", ", ".join(cls.prompt_styles)),
            ("protocols", ", ".join(cls.protocols) + _default_protocols(cls)),
            ("sources", sources), ("parameters", params or "none"),
        ):
            head = f"    {label + ': ' if label else ''}"
            print(textwrap.fill(text, width, initial_indent=head, subsequent_indent=" " * 8))
    print()
    for name, seq in SEQUENCES.items():
        print(textwrap.fill(f"sequence {name}: {', '.join(seq['sequence'])} (general: {', '.join(seq['general'])})", width, subsequent_indent=" " * 4))
    for name, members in GENERAL_LISTS.items():
        print(textwrap.fill(f"general list {name} (--general {name}, or in a manifest's general): {', '.join(members)}", width, subsequent_indent=" " * 4))
    print("\nParameters go after a colon, e.g. jigsaw:grid=3,mode=tiles or toy_count:style=direct,n_test=50.")
    return 0


def _default_protocols(cls: type) -> str:
    """Which protocol scores each style when none is named."""
    by_protocol: dict[str, list[str]] = {}
    for style in cls.prompt_styles if "style" in cls.defaults else ():
        by_protocol.setdefault(cls(style=style).default_protocol(), []).append(style)
    if len(by_protocol) <= 1:
        return " (the first is the default)"
    return " (default: " + "; ".join(f"{p} in {', '.join(styles)}" for p, styles in by_protocol.items()) + ")"


def register(sub: Any) -> None:
    t = sub.add_parser("tasks", help="list the tasks with version, sources, prompt styles and metric")
    t.set_defaults(func=run)
