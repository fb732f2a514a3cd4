"""Every setting read from the environment has its line in .env.example."""

import re

from tests.conftest import REPO


def test_every_environment_setting_is_listed_in_env_example():
    settings_source = (REPO / "faaaaaces" / "settings.py").read_text()
    read = set(re.findall(r'env_[a-z_]+\(\s*"([A-Z0-9_]+)"', settings_source))
    read |= set(re.findall(r'\(\s*"([A-Z0-9_]+)",\s*"[A-Z0-9_]+",\s*\w+\),', settings_source))
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M))
    assert len(read) > 20
    assert read - listed == set()
