"""The platforms pack (`checks/platforms.toml`): one id per shop platform or ERP/WMS system, read by the accounts
area and the export trail, so a finding names a platform the same way whichever area made it. Earlier ids are
aliases; another pack naming a platform that is neither an id nor an alias is a pack error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import PackError
from .messages import Text
from .packs import load_toml, string_list
from .resources import pack_dir

PLATFORMS_FILE = "platforms.toml"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Platform:
    id: str
    name_zh: str
    name_en: str
    aliases: tuple[str, ...]
    words: tuple[str, ...]  # as written in the pack; users normalise them their own way

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


@dataclass(frozen=True)
class Platforms:
    by_id: dict[str, Platform]  # in pack order
    origin: str

    def resolve(self, pid: str) -> str | None:
        """The id of ``pid`` (an id or an alias, any case); None when the pack knows no such platform."""
        key = pid.strip().casefold()
        for plat in self.by_id.values():
            if key == plat.id or key in plat.aliases:
                return plat.id
        return None

    def require(self, pid: object, where: str) -> str:
        """The id of ``pid`` as another pack names it; PackError naming ``where`` when it is unknown."""
        found = self.resolve(pid) if isinstance(pid, str) else None
        if found is None:
            raise PackError("pack.platforms.unknown", where=where, pid=pid, origin=self.origin,
                            known=', '.join(self.by_id))
        return found


def load_platforms(path: Path) -> Platforms:
    data = load_toml(path)
    origin = path.name
    by_id: dict[str, Platform] = {}
    names: dict[str, str] = {}  # every id and alias -> the platform it names
    said: dict[str, str] = {}  # every word -> the platform it names
    for raw in data.get("platform", []):
        if not isinstance(raw, dict):
            raise PackError("pack.platforms.not_table", origin=origin)
        pid = raw.get("id")
        if not isinstance(pid, str) or not _ID.match(pid):
            raise PackError("pack.platforms.bad_id", origin=origin, pid=pid)
        where = Text("where.platform", origin=origin, id=pid)
        for key in ("name_zh", "name_en"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise PackError("pack.missing", where=where, key=key)
        aliases = tuple(a.casefold() for a in string_list(raw, "aliases", where))
        for name in (pid, *aliases):
            if name in names:
                raise PackError("pack.platforms.name_taken", where=where, name=name, names=names[name])
            names[name] = pid
        words = string_list(raw, "words", where)
        for word in words:
            if said.setdefault(word.casefold(), pid) != pid:
                raise PackError("pack.platforms.word_twice", where=where, word=word, said=said[word.casefold()])
        by_id[pid] = Platform(pid, raw["name_zh"].strip(), raw["name_en"].strip(), aliases, words)
    if not by_id:
        raise PackError("pack.platforms.none", origin=origin)
    return Platforms(by_id, origin)


@lru_cache(maxsize=None)
def platforms(folder: Path | None = None) -> Platforms:
    """The platforms pack of ``folder`` (default: the checks pack in use)."""
    return load_platforms((folder or pack_dir("checks")) / PLATFORMS_FILE)
