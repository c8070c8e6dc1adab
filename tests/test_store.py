"""The schema: migrations run once, and a server on an up-to-date database never loads Alembic."""

from __future__ import annotations

import subprocess
import sys

from alembic.config import Config
from alembic.script import ScriptDirectory

from posterchat.core.keys import create_key, hash_key
from posterchat.store import open_store
from posterchat.store.cache import ReadCache
from posterchat.store.db import MIGRATIONS, SCHEMA_HEAD, make_engine, schema_revision


def test_schema_head_is_the_newest_migration():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


def test_new_database_is_migrated_to_head(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert schema_revision(make_engine(url)) is None
    open_store(url).close()
    assert schema_revision(make_engine(url)) == SCHEMA_HEAD


def test_up_to_date_database_opens_without_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'ready.db'}"
    open_store(url).close()
    code = (f"import sys; from posterchat.store import open_store; open_store({url!r}).close(); "
            "print('alembic' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_read_cache_keeps_values_for_its_time_and_forgets_on_request():
    loads = []
    cache = ReadCache(seconds=60)
    assert [cache.get("k", lambda: loads.append(1) or len(loads)) for _ in range(3)] == [1, 1, 1]
    cache.forget("k")
    assert cache.get("k", lambda: loads.append(1) or len(loads)) == 2
    uncached = ReadCache(seconds=0)
    assert [uncached.get("k", lambda: loads.append(1) or len(loads)) for _ in range(2)] == [3, 4]


def test_a_read_cache_entry_expiring_mid_lookup_is_loaded_again_not_an_error():
    # each look at the clock moves it on 0.6 s: an entry alive when first checked is gone when next read
    ticks = iter(range(1000))
    cache = ReadCache(seconds=1.0, timer=lambda: next(ticks) * 0.6)
    loads = []
    values = [cache.get("k", lambda: loads.append(1) or len(loads)) for _ in range(20)]
    assert values == sorted(values) and len(loads) > 1  # reloaded as entries expire, never a KeyError


def test_this_process_sees_its_own_revocations_and_preferences_at_once(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'cache.db'}")
    try:
        record, key = create_key(store.keys, "plugin")
        assert not store.keys.find(hash_key(key)).revoked
        store.keys.revoke(record.id)
        assert store.keys.find(hash_key(key)).revoked
        assert store.preferences.get("me") is None
        store.preferences.put("me", {"tone": "playful"})
        assert store.preferences.get("me") == {"tone": "playful"}
        store.preferences.delete("me")
        assert store.preferences.get("me") is None
    finally:
        store.close()
