"""The schema: migrations run once, and a server on an up-to-date database never loads Alembic."""

from __future__ import annotations

import subprocess
import sys

from alembic.config import Config
from alembic.script import ScriptDirectory

from posterchat.store import open_store
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
