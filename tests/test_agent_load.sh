#!/bin/sh
# Load test (issue 15, items 3 and 4), loopback only, bounded to about a
# minute: a token-protected `vitskip agent` (default limits: 64 connections,
# 16 per client, 10 s for headers, a 2 GiB store) under 200 slow
# connections (half a request line, then a byte every 2 s; reopened when
# the agent closes them) and 4 clients uploading 64 MiB datasets over and
# over (half of them with a wrong digest), while a client with the token
# runs `vitskip eval` through it. The eval must finish with the same top-1
# as on the local sim board; the agent's peak resident memory (VmHWM) is
# reported and must stay under 1 GiB (each upload is reserved against the
# store and written once, never buffered twice).
. tests/vk_test.sh
tok="$T/token"; echo "load-test-token-$$" > "$tok"
"$VITSKIP" agent --board sim --port 0 --token-file "$tok" > "$T/url" 2> "$T/agent.log" &
agent=$!
vk_cleanup='kill $agent $load 2>/dev/null; wait $agent $load 2>/dev/null'
poll 100 test -s "$T/url" || die "the agent did not start: $(tail -3 "$T/agent.log")"
url=$(head -1 "$T/url"); port=${url##*:}
python3 - "$port" "$(cat "$tok")" "$T/load.out" <<'PY' &
import hashlib, os, socket, sys, threading, time
port, token, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
end = time.time() + 50
stats = {"slow_opened": 0, "slow_closed_by_agent": 0, "uploads": 0, "answers": {}}
lock = threading.Lock()
def slow():
    while time.time() < end:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            with lock: stats["slow_opened"] += 1
            s.sendall(b"GET /v1/sta")
            while time.time() < end:
                time.sleep(2)
                s.sendall(b"t")
        except OSError:
            with lock: stats["slow_closed_by_agent"] += 1
            time.sleep(0.2)
def upload(k):
    n, img = 64 * 4, 256 * 1024  # 64 MiB of images
    body = b"VKDS0001" + n.to_bytes(4, "little") + img.to_bytes(4, "little") + os.urandom(16) * (n * img // 16)
    i = 0
    while time.time() < end:
        i += 1
        ident = hashlib.sha256(body).hexdigest() if (k + i) % 2 else "ab" * 32
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(("PUT /v1/datasets/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       "Authorization: Bearer %s\r\nContent-Type: application/octet-stream\r\n"
                       "Content-Length: %d\r\n\r\n" % (ident, token, len(body))).encode())
            try:
                s.sendall(body)
            except OSError:  # answered before the body (held already, or refused)
                pass
            code = s.recv(64).split(b" ")[1].decode()
            s.close()
        except (OSError, IndexError) as e:
            code = "error " + type(e).__name__
        with lock:
            stats["uploads"] += 1
            stats["answers"][code] = stats["answers"].get(code, 0) + 1
threads = [threading.Thread(target=slow) for _ in range(200)]
threads += [threading.Thread(target=upload, args=(k,)) for k in range(4)]
for t in threads: t.start()
for t in threads: t.join()
open(out, "w").write(repr(stats) + "\n")
PY
load=$!
sleep 5
t0=$(date +%s)
VITSKIP_TOKEN=$(cat "$tok") timeout 120 "$VITSKIP" eval --model models/demo --data "$DATA" --limit 300 \
    --skip 1,3,5,7 --board "$url" > "$T/remote.out" 2> "$T/remote.err"; rc=$?
t1=$(date +%s)
[ $rc = 0 ] && ok || ko "eval through the loaded agent exited $rc: $(tail -3 "$T/remote.err")"
"$VITSKIP" eval --model models/demo --data "$DATA" --limit 300 --skip 1,3,5,7 > "$T/local.out" 2>/dev/null
a=$(awk '/^top-1/ {print $2}' "$T/remote.out"); b=$(awk '/^top-1/ {print $2}' "$T/local.out")
[ -n "$a" ] && [ "$a" = "$b" ] && ok || ko "top-1 through the agent $a, locally $b"
hwm=$(awk '/^VmHWM/ {print $2}' /proc/$agent/status)
wait $load
st=$(curl -s -H "Authorization: Bearer $(cat "$tok")" "$url/v1/status" | python3 -c "import json,sys; print(json.load(sys.stdin)['stats'])")
echo "agent load: eval took $((t1 - t0)) s under load; agent peak RSS $((hwm / 1024)) MiB"
echo "load: $(cat "$T/load.out")"
echo "agent: $st"
[ "$hwm" -lt $((1024 * 1024)) ] && ok || ko "agent peak RSS $((hwm / 1024)) MiB is over 1 GiB"
kill -0 $agent && ok || ko "the agent died"
summary "agent load"
