"""template/scripts/lib/redaction.py as a library: what the generated tools never print."""

from __future__ import annotations

import importlib
import json
import sys

from environment import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "template" / "scripts" / "lib"))
redaction = importlib.import_module("redaction")


def test_keys_are_never_printed():
    assert redaction.redact("key sk-abc123456789 and my-secret-key", "my-secret-key") == "key *** and ***"


def test_redaction_masks_keys_and_proxy_passwords_but_not_names():
    text = "my-task-router-v1 ask-question sk-abcdef1234 http://bob:pw@proxy:3128 'http:/alice:Passw0rd@10.0.0.1:3128'"
    assert redaction.redact(text) == ("my-task-router-v1 ask-question *** http://***@proxy:3128 "
                                      "'http:/***@10.0.0.1:3128'")


def test_aws_access_key_ids_are_masked_but_not_words_that_contain_akia():
    assert redaction.redact("id AKIAABCDEFGHIJKLMNOP, word xAKIAABCDEFGHIJKLMNOP") == "id ***, word xAKIAABCDEFGHIJKLMNOP"


def test_redacted_walks_every_text_of_a_json_value_names_too():
    key = 'sk-abc"def-123'
    value = {"detail": f"bad {key}", key: [f"x {key}", ("sk-other-key-1", 3)], "n": None}
    out = json.dumps(redaction.redacted(value, key))
    assert key not in out and json.dumps(key)[1:-1] not in out and "sk-other-key-1" not in out
    assert redaction.redacted(value, key) == {"detail": "bad ***", "***": ["x ***", ["***", 3]], "n": None}


def test_shorten_keys_keeps_the_prefix_so_a_message_still_says_a_key_was_there():
    assert redaction.shorten_keys("refused sk-live-abcdef12 (sk-1)") == "refused sk-… (sk-1)"


def test_gateway_api_redacts_with_the_shared_module():
    (path,) = (REPO_ROOT / "template" / "scripts" / "lib").glob("{% if *%}gateway_api.py{% endif %}")
    assert "redaction.shorten_keys(text)" in path.read_text() and "_SECRET" not in path.read_text()
