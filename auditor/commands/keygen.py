"""`auditor keygen --out NAME`: an Ed25519 key pair for signing reports and inspector bundles.

Writes NAME.key (the private key, PKCS#8 PEM, unencrypted, owner-only: give it to --sign-key on the PCs or the
inspector's laptop that sign) and NAME.pub (the public key, SubjectPublicKeyInfo PEM: give it to whoever verifies,
`auditor verify FILE --pubkey NAME.pub`; it cannot sign). Existing files are never overwritten (exit 2). Exit 0
with the two paths and the public key's SHA-256 (the ``public_key_sha256`` that signed reports carry)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import UsageError
from ..messages import Text, os_error
from ..signing import generate, write_key_pair
from ..terminal import echo
from .options import ERRORS_LANG_HELP, add_lang


def run(args: argparse.Namespace) -> int:
    base = Path(args.out)
    if base.suffix.lower() in (".key", ".pub"):
        base = base.with_suffix("")
    targets = [base.with_name(base.name + ext) for ext in (".key", ".pub")]
    if not base.name:
        raise UsageError("usage.keygen.name_has_extension", out=args.out)
    for target in targets:
        if os.path.lexists(target):
            raise UsageError("usage.keygen.exists", out=args.out, target=target)
    parent = base.parent if str(base.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError("usage.keygen.no_folder", out=args.out, parent=parent)
    key = generate()
    try:
        private, public = write_key_pair(key, base)
    except OSError as exc:
        raise UsageError("usage.keygen.cannot_write", out=args.out, why=os_error(exc)) from None
    echo(Text("keygen.private_key", path=private).text(args.lang))
    echo(Text("keygen.public_key", path=public).text(args.lang))
    echo(Text("keygen.public_key_sha256", digest=key.public.key_id).text(args.lang))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    keygen = sub.add_parser("keygen", help="write an Ed25519 key pair: NAME.key (private, owner-only) and NAME.pub")
    keygen.add_argument("--out", "-o", required=True, metavar="NAME",
                        help="writes NAME.key and NAME.pub (never overwrites)")
    add_lang(keygen, ERRORS_LANG_HELP)
    keygen.set_defaults(run=run)
