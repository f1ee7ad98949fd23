"""Cost tracking with two workers, live (issue 20): not a timing test.

uvicorn's workers each keep their own Prometheus counters; the pinned LiteLLM shares them through
PROMETHEUS_MULTIPROC_DIR (which the generated run-local.sh points at gateway/.prometheus-multiproc: LiteLLM's
default, /tmp/litellm_prometheus_multiproc, is emptied by any multi-worker LiteLLM starting on the host), and
/metrics/ of any worker reads them all. So the generated gateway with `gateway_workers: 2` (process runtime, the
pinned LiteLLM, the generated settings) must count every request in scripts/usage-report.sh --source metrics, as
the one-worker gateway of tests/test_live_streaming.py does. Two workers need Redis (the generated config names
it): a real redis-server on loopback, stopped by its PID.
"""

from __future__ import annotations

import shutil

import pytest
from environment import read_env_file, require_tool
from gateways import assert_every_request_counted, started_gateway
from mock_provider import RunningMock
from services import Redis

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, litellm_bin, tmp_path_factory):
    require_tool(shutil.which("redis-server"), "redis-server", "apt-get install redis-server")
    with RunningMock() as mock, Redis(tmp_path_factory.mktemp("redis"), "redis-tuning-test") as redis:
        def use_the_test_redis(gw) -> None:
            """What the platform team does: point gateway/.env's REDIS_* at their Redis."""
            env_file = gw.project / "gateway" / ".env"
            values = read_env_file(env_file)
            text = env_file.read_text()
            for name, value in (("REDIS_HOST", "127.0.0.1"), ("REDIS_PORT", str(redis.port)),
                                ("REDIS_PASSWORD", redis.password)):
                text = text.replace(f"{name}={values[name]}\n", f"{name}={value}\n")
            env_file.write_text(text)

        with started_gateway(copie_module, template_repo, litellm_bin, mock, anthropic_base_url=mock.url,
                             gateway_workers=2, prepare=use_the_test_redis) as gw:
            yield gw


def test_two_workers_count_every_request(gateway):
    config = (gateway.project / "gateway" / "litellm_config.yaml").read_text()
    assert "redis_host: os.environ/REDIS_HOST" in config  # the two-worker config is the one under test
    assert_every_request_counted(gateway, requests=16)
    log = (gateway.project / "gateway" / "litellm.log").read_text()
    # The workers shared their counters in the gateway's own directory (run-local.sh), not LiteLLM's default in /tmp.
    assert f"PROMETHEUS_MULTIPROC_DIR={gateway.project / 'gateway' / '.prometheus-multiproc'}" in log
