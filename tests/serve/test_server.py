"""Running the server: graceful shutdown, config files, command-line errors."""

import concurrent.futures
import signal
import time

import pytest

from tests.serve.helpers import ServerProcess
from twinkle.serve.config import ServeConfig, load_config_file
from twinkle.serve.server import main


def test_sigterm_finishes_requests_in_flight(tmp_path):
    httpx = pytest.importorskip('httpx')
    pytest.importorskip('uvicorn')
    pytest.importorskip('starlette')
    config = tmp_path / 'serve.toml'
    config.write_text(
        '[serve]\nrewards = ["math", "tests.serve.custom_rewards:probe=0"]\n'
        'batch_window_ms = 1\nrequest_timeout_s = 30\n'
    )
    srv = ServerProcess(['--config', str(config)]).wait_ready()
    assert [p['name'] for p in httpx.get(srv.url + '/health').json()['rewards']] == ['math', 'probe']

    def ask(i):
        return httpx.post(
            srv.url + '/get_reward',
            timeout=60,
            json={'query': [f'<<sleep:1.5>> The answer is {i}.'], 'labels': ['2']},
        )

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(ask, i) for i in range(4)]
        # SIGTERM once every request is in (queued or being scored).
        while (
            sum(httpx.get(srv.url + '/health').json()[k] for k in ('in_flight_samples', 'queued_samples')) < 4
        ):
            time.sleep(0.02)
        srv.proc.send_signal(signal.SIGTERM)
        answers = [f.result() for f in futures]
    assert [a.status_code for a in answers] == [200] * 4
    assert [a.json()['rewards'] for a in answers] == [[0.0], [0.0], [1.0], [0.0]]
    rc = srv.terminate()
    # uvicorn re-raises the signal after its graceful exit, so the status is -SIGTERM.
    assert rc in (0, -signal.SIGTERM)
    log = ''.join(srv.output)
    assert 'Application shutdown complete' in log and 'Traceback' not in log
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.url + '/health', timeout=5)


# (command line, words the error must contain)
BAD_COMMAND_LINES = [
    (['--reward', 'nope'], ["'nope'", 'built-in']),
    (['--batch-window-ms', '-1'], ['batch_window_ms', '>= 0']),
    (['--max-batch-size', '0'], ['max_batch_size']),
    (['--config', '/no/such/file.toml'], ['does not exist']),
]


@pytest.mark.parametrize('argv,words', BAD_COMMAND_LINES)
def test_bad_command_lines_exit_2_naming_the_problem(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err


def test_config_files(tmp_path):
    (tmp_path / 'a.toml').write_text('rewards = ["math", "format=0.5"]\nport = 9001\n')
    (tmp_path / 'b.json').write_text('{"rewards": ["gsm8k"], "request_timeout_s": 3}')
    (tmp_path / 'c.json').write_text('{"prot": 1}')
    (tmp_path / 'd.toml').write_text('rewards = [')
    assert ServeConfig.from_mapping(load_config_file(str(tmp_path / 'a.toml'))).rewards == (
        'math',
        'format=0.5',
    )
    assert ServeConfig.from_mapping(load_config_file(str(tmp_path / 'b.json'))).request_timeout_s == 3
    with pytest.raises(ValueError, match="unknown setting 'prot'"):
        ServeConfig.from_mapping(load_config_file(str(tmp_path / 'c.json')))
    with pytest.raises(ValueError, match='not valid TOML'):
        load_config_file(str(tmp_path / 'd.toml'))


def test_command_line_overrides_the_config_file(tmp_path):
    import argparse

    from twinkle.serve.server import add_serve_arguments, config_from_args

    (tmp_path / 's.toml').write_text('rewards = ["math"]\nport = 9001\nbatch_window_ms = 7\n')
    p = argparse.ArgumentParser()
    add_serve_arguments(p)
    config = config_from_args(
        p.parse_args(['--config', str(tmp_path / 's.toml'), '--port', '9002', '--keep-end-tokens'])
    )
    assert (config.port, config.batch_window_ms, config.strip_end_tokens) == (9002, 7.0, False)
    assert config.shutdown_timeout_s == config.request_timeout_s + 5


def test_config_values_are_checked():
    with pytest.raises(ValueError, match='ServeConfig.abstain_value must be finite'):
        ServeConfig(abstain_value=float('nan'))
    with pytest.raises(ValueError, match='rewards is empty'):
        ServeConfig(rewards=())
    assert ServeConfig(rewards='math').rewards == ('math',)
