#!/usr/bin/env bash
# Benchmark (not a test): how long `dspec lsp` takes to publish diagnostics after an edit of
# a 2,000-line spec (issue 15's goal: under 50 ms). A Python client speaks JSON-RPC to the
# release binary, opens the spec, then sends EDITS full-text changes (each a different
# expectation, every other one an error) and times each change to its publishDiagnostics.
#
#   bench/lsp-latency.sh               EDITS=50 by default
#   DSPEC=path/to/dspec bench/lsp-latency.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${DSPEC:-}" ]; then
	cargo build --release --locked --quiet
	DSPEC="$PWD/target/release/dspec"
fi
python3 - "$DSPEC" "${EDITS:-50}" <<'PY'
import json, subprocess, sys, time

dspec, edits = sys.argv[1], int(sys.argv[2])
lines = ['story "BENCH" "two thousand lines"', 'let budget = 200MB']
i = 0
while len(lines) < 2000 - 16:
    lines += [
        f'image img{i} = build "ctx{i % 7}" {{',
        '  target "prod"',
        f'  arg VERSION = "1.{i}"',
        '}',
        f'container c{i} = run img{i} {{ publish 8000; memory 256MB; read_only; tmpfs "/tmp" }}',
        f'criterion AC{i} "criterion {i}" {{',
        f'  expect img{i}.size < budget',
        f'  expect img{i}.user == "appuser"',
        f'  expect img{i}.files("/app/**/*.py") is empty',
        f'  expect img{i}.file("/app").mode == 0o755',
        f'  expect c{i}.health == "healthy" within 30s',
        f'  expect c{i}.get("/health").json.status == "ok"',
        f'  expect c{i}.memory < 256MiB for 5s',
        f'  expect c{i}.logs not matches /ERROR|CRITICAL/',
        f'  expect c{i}.stop(10s).exit_code == 0',
        '}',
    ]
    i += 1
while len(lines) < 2000:
    lines.append('# padding')
blocks = i

p = subprocess.Popen([dspec, 'lsp'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

def send(msg):
    body = json.dumps(msg).encode()
    p.stdin.write(b'Content-Length: %d\r\n\r\n' % len(body) + body)
    p.stdin.flush()

def read():
    length = 0
    while True:
        line = p.stdout.readline().strip()
        if not line:
            break
        if line.startswith(b'Content-Length:'):
            length = int(line.split(b':')[1])
    return json.loads(p.stdout.read(length))

def until(pred):
    while True:
        m = read()
        if pred(m):
            return m

uri = 'file:///tmp/dspec-bench/big.dspec'
send({'jsonrpc': '2.0', 'id': 1, 'method': 'initialize', 'params': {'processId': None, 'rootUri': None, 'capabilities': {}}})
until(lambda m: m.get('id') == 1)
send({'jsonrpc': '2.0', 'method': 'initialized', 'params': {}})
t0 = time.perf_counter()
send({'jsonrpc': '2.0', 'method': 'textDocument/didOpen', 'params': {'textDocument': {'uri': uri, 'languageId': 'dspec', 'version': 1, 'text': '\n'.join(lines) + '\n'}}})
until(lambda m: m.get('method') == 'textDocument/publishDiagnostics')
open_ms = (time.perf_counter() - t0) * 1000
times, counts = [], []
for n in range(edits):
    b = (n * 7) % blocks
    edited = list(lines)
    row = 2 + b * 16 + 6
    edited[row] = f'  expect img{b}.sise < budget' if n % 2 else f'  expect img{b}.size < {n + 1}MB'
    t0 = time.perf_counter()
    send({'jsonrpc': '2.0', 'method': 'textDocument/didChange', 'params': {'textDocument': {'uri': uri, 'version': n + 2}, 'contentChanges': [{'text': '\n'.join(edited) + '\n'}]}})
    m = until(lambda m: m.get('method') == 'textDocument/publishDiagnostics')
    times.append((time.perf_counter() - t0) * 1000)
    counts.append(len(m['params']['diagnostics']))
send({'jsonrpc': '2.0', 'id': 2, 'method': 'shutdown', 'params': None})
until(lambda m: m.get('id') == 2)
send({'jsonrpc': '2.0', 'method': 'exit', 'params': None})
p.wait(timeout=10)
times.sort()
print(f'\ndspec lsp: diagnostics after an edit of a {len(lines)}-line spec ({dspec})\n')
print('| case                           |  mean ms |   p50 ms |   p95 ms |   max ms |')
print('|--------------------------------|----------|----------|----------|----------|')
label = f'open ({len(lines)} lines)'
print(f'| {label:<30} | {open_ms:8.1f} | {open_ms:8.1f} | {open_ms:8.1f} | {open_ms:8.1f} |')
mean = sum(times) / len(times)
label = f'{edits} edits (full text each)'
print(f'| {label:<30} | {mean:8.1f} | {times[len(times) // 2]:8.1f} | {times[int(len(times) * 0.95) - 1]:8.1f} | {times[-1]:8.1f} |')
print(f'\ndiagnostics per edit: {min(counts)} to {max(counts)} (every other edit has a typo)')
PY
