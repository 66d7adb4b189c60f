"""Removing secrets from command lines before they go into evidence (frpc tokens, nps vkeys, passwords)."""

from __future__ import annotations

import re

_SECRET_FLAG = re.compile(r"^-{1,2}(?:[\w-]*?)(pass(word)?|pwd|token|secret|vkey|auth(key|token)?|key|sk)$", re.I)
_SECRET_KV = re.compile(r"^(-{0,2}[\w.-]*?(?:pass(?:word)?|pwd|token|secret|vkey|authkey|key)[\w.-]*?[=:])(.+)$", re.I)
MASK = "***"
# Short flags that carry secrets in common tunnel/VNC tools (frpc -t TOKEN, chisel --auth, vnc -pw ...).
_SECRET_SHORT = {"-t", "-k", "-pw", "-passwd", "-rfbauth"}


def redact_cmdline(argv: list[str]) -> list[str]:
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if _SECRET_FLAG.match(arg) or arg in _SECRET_SHORT:
            out.append(arg)
            hide_next = True
            continue
        m = _SECRET_KV.match(arg)
        out.append(m.group(1) + MASK if m else arg)
    return out


def redact_command(command: str) -> str:
    return " ".join(redact_cmdline(command.split()))
