#!/usr/bin/env python3
"""gen_corpus.py -- writes the seed corpus of the fuzz targets (tests/fuzz/corpus/NAME/).

Seeds are small, real inputs: the requests kubectl, client-go and GitLab Runner send
(shared/docs/reference/kube-wire.md, streaming.md, runner-k8s-executor.md), the protobuf and SPDY
test vectors of tests/vectors/, the scenario files, the runner's shell texts. Each target's input
format is in the head comment of tests/fuzz/fuzz_NAME.c. Run from anywhere; it rewrites the
generated files (a seed added by hand, or kept by `scripts/fuzz.sh --merge`, is left alone).
Commit the script and the files: the tests need no Python.
"""
import glob
import importlib.util
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PAUSE = b"\n--pause--\n"  # fuzzsrv.h FZ_PAUSE

spec = importlib.util.spec_from_file_location(
    "spdy_vectors", os.path.join(ROOT, "tests", "vectors", "spdy", "gen_vectors.py"))
spdy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(spdy)


def write(target, name, blob):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(blob, str):
        blob = blob.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


# ---- HTTP ----------------------------------------------------------------------------------------

def req(method, url, body=b"", ctype=None, headers=(), ua="kubectl/v1.32.0 (linux/amd64)"):
    if isinstance(body, str):
        body = body.encode()
    h = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:6443\r\nUser-Agent: %s\r\n" % (method, url, ua)
    h += "Accept: application/json, */*\r\n"
    for k, v in headers:
        h += "%s: %s\r\n" % (k, v)
    if ctype:
        h += "Content-Type: %s\r\n" % ctype
    if body or method in ("POST", "PUT", "PATCH"):
        h += "Content-Length: %d\r\n" % len(body)
    return h.encode() + b"\r\n" + body


POD = ('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","namespace":"default",'
       '"labels":{"run":"p1"}},"spec":{"containers":[{"name":"p1","image":"busybox",'
       '"command":["sh"],"stdin":true,"tty":false}],"restartPolicy":"Never"}}')
RUNNER_POD = ('{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"runner-abc-project-1-'
              'concurrent-0-","namespace":"default","labels":{"pod":"runner-abc"}},"spec":'
              '{"containers":[{"name":"build","image":"alpine:3.20","command":["sh","-c",'
              '"if [ -x /bin/bash ]; then\\n\\texec /bin/bash \\nfi\\n"],"stdin":true},'
              '{"name":"helper","image":"registry.gitlab.com/gitlab-org/gitlab-runner/'
              'gitlab-runner-helper:x86_64-v17.0.0","stdin":true}],"initContainers":[{"name":'
              '"init-permissions","image":"helper","command":["sh","-c","touch /logs-1-2/'
              'output.log"]}],"restartPolicy":"Never","volumes":[{"name":"scripts","emptyDir":{}}]}}')
DISCOVERY_V2 = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
                "application/json")
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"


def ws_frame(opcode, payload, fin=True, mask=b"\x12\x34\x56\x78", wide=False):
    """A masked client frame (wide: the 64-bit length form whatever the length)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if wide:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    elif n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_upgrade(url, protocols="v5.channel.k8s.io, v4.channel.k8s.io"):
    return req("GET", url, headers=[("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                    ("Sec-WebSocket-Version", "13"),
                                    ("Sec-WebSocket-Protocol", protocols)])


def spdy_upgrade(url):
    return req("POST", url, headers=[("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"),
                                     ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
                                     ("X-Stream-Protocol-Version", "v3.channel.k8s.io"),
                                     ("X-Stream-Protocol-Version", "v2.channel.k8s.io"),
                                     ("X-Stream-Protocol-Version", "channel.k8s.io")])


def spdy_session(stdin=b"", kinds=(b"error", b"stdin", b"stdout", b"stderr")):
    z = zlib.compressobj(level=9, zdict=spdy.DICT)
    s = b""
    ids = {}
    for i, kind in enumerate(kinds):
        ids[kind] = 2 * i + 1
        s += spdy.syn_stream(z, 2 * i + 1, [(b"streamtype", kind)])
    if stdin and b"stdin" in ids:
        s += spdy.data(ids[b"stdin"], 0, stdin)
    if b"stdin" in ids:
        s += spdy.data(ids[b"stdin"], 1, b"")
    s += spdy.control(6, 0, struct.pack("!I", 1))
    return s


def http_seeds():
    t = "http"
    write(t, "version.http", req("GET", "/version?timeout=5s", ua="kubectl-dispatcher/v1.0"))
    write(t, "discovery.http",
          req("GET", "/api?timeout=32s", headers=[("Accept", DISCOVERY_V2)]) +
          req("GET", "/apis?timeout=32s", headers=[("Accept", DISCOVERY_V2)]) +
          req("GET", "/api/v1?timeout=32s") + req("GET", "/apis/policy/v1") +
          req("GET", "/openapi/v3") + req("GET", "/openapi/v3/api/v1") +
          req("GET", "/openapi/v2", headers=[("Accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")]) +
          req("GET", "/healthz/etcd") + req("GET", "/readyz?verbose"))
    write(t, "pod-crud.http",
          req("POST", "/api/v1/namespaces/default/pods?fieldManager=kubectl-run", POD,
              "application/json") +
          req("GET", "/api/v1/namespaces/default/pods/p1") +
          req("GET", "/api/v1/namespaces/default/pods?labelSelector=run%3Dp1%2Capp+notin+%28a%2Cb%29"
              "&fieldSelector=status.phase%21%3DFailed&limit=500", headers=[("Accept", TABLE)]) +
          req("PATCH", "/api/v1/namespaces/default/pods/p1",
              '{"metadata":{"labels":{"x":"y","run":null}}}', "application/merge-patch+json") +
          req("PATCH", "/api/v1/namespaces/default/pods/p1",
              '{"spec":{"containers":[{"name":"p1","image":"alpine"}]},'
              '"metadata":{"$setElementOrder/finalizers":["a"],"finalizers":["a"]}}',
              "application/strategic-merge-patch+json") +
          req("PATCH", "/api/v1/namespaces/default/pods/p1/status",
              '[{"op":"add","path":"/metadata/annotations","value":{"a":"b"}},'
              '{"op":"test","path":"/metadata/name","value":"p1"}]', "application/json-patch+json") +
          req("DELETE", "/api/v1/namespaces/default/pods/p1",
              '{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,'
              '"propagationPolicy":"Background"}', "application/json") +
          req("GET", "/api/v1/namespaces/default/pods/p1"))
    write(t, "watch.http",
          req("GET", "/api/v1/namespaces/default/pods?allowWatchBookmarks=true&resourceVersion=0"
              "&timeoutSeconds=300&watch=true&fieldSelector=metadata.name%3Dp1"))
    write(t, "watch-list.http",
          req("GET", "/api/v1/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
              "&resourceVersionMatch=NotOlderThan&labelSelector=a"))
    write(t, "namespaces.http",
          req("POST", "/api/v1/namespaces", '{"metadata":{"name":"ci"}}', "application/json") +
          req("POST", "/api/v1/namespaces/ci/secrets",
              '{"metadata":{"name":"s","ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":'
              '"x","uid":"u"}]},"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":'
              '"e30="}}', "application/json") +
          req("PUT", "/api/v1/namespaces/ci/secrets/s",
              '{"metadata":{"name":"s","resourceVersion":"1"},"stringData":{"a":"b"}}',
              "application/json") +
          req("DELETE", "/api/v1/namespaces/ci/secrets?labelSelector=a%21%3Db") +
          req("DELETE", "/api/v1/namespaces/ci", "", None) +
          req("GET", "/api/v1/namespaces/ci"))
    write(t, "runner-setup.http",
          req("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
              '{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","spec":'
              '{"resourceAttributes":{"namespace":"default","verb":"create","resource":"pods"}}}',
              "application/json", ua="gitlab-runner 17.0.0 (main; go1.22; linux/amd64)") +
          req("POST", "/api/v1/namespaces/default/pods", RUNNER_POD, "application/json",
              ua="gitlab-runner 17.0.0") +
          req("GET", "/api/v1/namespaces/default/pods?limit=500&resourceVersion=0") +
          req("POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
              '{"metadata":{"name":"b"},"spec":{"maxUnavailable":"50%","selector":{"matchLabels":'
              '{"pod":"runner-abc"}}}}', "application/json"))
    proto = open(os.path.join(ROOT, "tests", "vectors", "proto", "pod_run.bin"), "rb").read()
    write(t, "protobuf-create.http",
          req("POST", "/api/v1/namespaces/default/pods", proto,
              "application/vnd.kubernetes.protobuf",
              headers=[("Accept", "application/vnd.kubernetes.protobuf, */*")]))
    write(t, "chunked.http",
          b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
          b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
          b"Expect: 100-continue\r\n\r\n"
          b"10\r\n{\"metadata\":{\"na\r\n16\r\nme\":\"c\"},\"data\":{}}\r\n0\r\n\r\n"
          b"GET /api/v1/namespaces/default/configmaps/c HTTP/1.0\r\n\r\n")
    write(t, "malformed.http",
          b"GET /api/v1/pods?" + b"a=b&" * 70 + b" HTTP/1.1\r\nHost: x\r\n\r\n" + PAUSE +
          b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
    write(t, "exec-ws.http",
          req("POST", "/api/v1/namespaces/default/pods", POD, "application/json") + PAUSE +
          ws_upgrade("/api/v1/namespaces/default/pods/p1/exec?command=sh&command=-c&command=cat"
                     "&container=p1&stdin=true&stdout=true&stderr=true") + PAUSE +
          ws_frame(2, b"\x00echo hi\n") + ws_frame(2, b"\x04{\"Width\":80,\"Height\":24}") +
          ws_frame(2, b"\xff\x00") + ws_frame(9, b"ping") + ws_frame(8, b"\x03\xe8bye"))
    write(t, "attach-ws-b64.http",
          req("POST", "/api/v1/namespaces/default/pods", POD, "application/json") + PAUSE +
          ws_upgrade("/api/v1/namespaces/default/pods/p1/attach?container=p1&stdin=true&stdout=true"
                     "&tty=true", "v4.base64.channel.k8s.io") + PAUSE +
          ws_frame(1, b"0ZWNobyBoaQo=") + ws_frame(2, b"\x00ex", fin=False) +
          ws_frame(0, b"it 3\n") + ws_frame(8, b""))
    write(t, "exec-spdy.http",
          req("POST", "/api/v1/namespaces/default/pods", POD, "application/json") + PAUSE +
          spdy_upgrade("/api/v1/namespaces/default/pods/p1/exec?command=sh&container=p1"
                       "&stdin=true&stdout=true&stderr=true") + PAUSE +
          spdy_session(b"echo hello\nexit 3\n"))
    write(t, "runner-save-script-spdy.http",
          req("POST", "/api/v1/namespaces/default/pods",
              RUNNER_POD.replace('"generateName":"runner-abc-project-1-concurrent-0-"',
                                 '"name":"runner-fz"'), "application/json") + PAUSE +
          spdy_upgrade("/api/v1/namespaces/default/pods/runner-fz/exec?"
                       "command=sh&command=-c&command=" + DETECT_QUOTED +
                       "&container=build&stdin=true&stdout=true&stderr=true") + PAUSE +
          spdy_session(save_script("/scripts-1-2/step_script", stage_script()).encode()))
    write(t, "logs.http",
          req("POST", "/api/v1/namespaces/default/pods", POD.replace('"command":["sh"]',
                                                                     '"command":["echo","hi"]'),
              "application/json") + PAUSE +
          req("GET", "/api/v1/namespaces/default/pods/p1/log?container=p1&follow=true"
              "&timestamps=true&tailLines=10"))


def conn_seeds():
    t = "conn"  # fuzz_conn.c: the path's second byte picks the handler
    write(t, "pipelined.http",
          b"GET /a?x=1&y=%41%2b+b&z HTTP/1.1\r\nHost: x\r\nX-Trim: v \t\r\n\r\n"
          b"POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
          b"GET /r HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.0\r\n\r\n")
    write(t, "chunked-expect.http",
          b"PUT /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue"
          b"\r\n\r\n3\r\nabc\r\n0\r\nTrailer: t\r\n\r\nGET /x HTTP/1.1\r\nConnection: close\r\n\r\n")
    write(t, "upgrade.http",
          b"GET /u HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
          b"\x81\x85abcd" + PAUSE + b"more bytes")
    write(t, "held.http", b"GET /h HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\n\r\n" + PAUSE +
          b"GET /b HTTP/1.1\r\n\r\n")
    write(t, "caps.http", b"GET /" + b"a" * 300 + b"?" + b"k=v&" * 66 + b" HTTP/1.1\r\n" +
          b"H: v\r\n" * 130 + b"\r\n")
    write(t, "bad.http", b"GET / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n")


# ---- the runner's shell texts ----------------------------------------------------------------------

DETECT = ("if [ -x /usr/local/bin/bash ]; then\n\texec /usr/local/bin/bash \n"
          "elif [ -x /usr/bin/bash ]; then\n\texec /usr/bin/bash \n"
          "elif [ -x /bin/bash ]; then\n\texec /bin/bash \n"
          "elif [ -x /usr/local/bin/sh ]; then\n\texec /usr/local/bin/sh \n"
          "elif [ -x /usr/bin/sh ]; then\n\texec /usr/bin/sh \n"
          "elif [ -x /bin/sh ]; then\n\texec /bin/sh \n"
          "elif [ -x /busybox/sh ]; then\n\texec /busybox/sh \n"
          "else\n\techo shell not found\n\texit 1\nfi\n\n")
DETECT_QUOTED = "".join(c if c.isalnum() or c in "-._~" else "%%%02X" % ord(c) for c in DETECT)
JSON_INIT = 'start_json="{\\"script\\": \\"$0\\"}"\necho "$start_json"\n'
JSON_TERM = ('runner_script_trap() {\n\texit_code=$?\n\tout_json="{\\"command_exit_code\\": '
             '$exit_code, \\"script\\": \\"$0\\"}"\n\n\techo ""\n\techo "$out_json"\n\texit 0\n}\n\n'
             'trap runner_script_trap EXIT\n')
CANCEL_STEP = ("kill -TERM $(for item in $(for prc in /proc/[0-9]*/cmdline; do (printf \"$prc \"; "
               "cat -A \"$prc\") | sed 's/\\^@/ /g;s|/proc/||;s|/cmdline||'; echo; done | grep -e "
               "'step_script $' | awk '{print $1}'); do test -f /proc/${item}/task/${item}/children "
               "&& cat /proc/${item}/task/${item}/children && echo; done) 2> /dev/null")
SIGTERM_ALL = ("PROCS=$(cd /proc && ls -rvd [0-9]*) &&\nfor P in $PROCS; do\n\tif "
               "[ $$ -ne $P ] && [ $P -ne 1 ]; then\n\t\tkill -TERM $P 2>/dev/null &&\n\t\t"
               "ATTEMPTS=6 &&\n\t\twhile [ -e /proc/$P ] && [ $ATTEMPTS -gt 0 ]; do\n\t\t\t"
               "sleep 1 && ATTEMPTS=$((ATTEMPTS-1));\n\t\tdone;\n\tfi;\ndone\n")


def shell_escape(s):
    """helpers/shell_escape.go ShellEscape: $'...' with C escapes."""
    out = "$'"
    for c in s:
        o = ord(c)
        if c == "\n":
            out += "\\n"
        elif c == "\t":
            out += "\\t"
        elif c == "\\":
            out += "\\\\"
        elif c == "'":
            out += "\\'"
        elif o < 0x20 or o == 0x7f:
            out += "\\x%02x" % o
        else:
            out += c
    return out + "'"


def notice(text):
    return "echo " + shell_escape("\x1b[32;1m" + text + "\x1b[0;m") + "\n"


def stage_script(body=None, json=True):
    if body is None:
        body = ("export CI_JOB_ID=42\ncd /builds/g/p\n" + notice("$ echo Fetching changes") +
                "echo Fetching changes\nprintf '%b\\n' section_start:$(date +%s):step_x"
                "\\r\\e[0K$'\\e[36;1mStep\\e[0;m'\n")
    out = "#!/usr/bin/env bash\n\ntrap exit 1 TERM\n\n"
    if json:
        out += JSON_INIT + JSON_TERM
    out += "if set -o | grep pipefail > /dev/null; then set -o pipefail; fi; set -o errexit\n"
    out += "set +o noclobber\n: | (eval " + shell_escape(body) + ")\nexit 0\n"
    return out


def save_script(path, content):
    return ("touch %s\nchmod 777 %s\necho %s > %s\n" %
            (path, path, shell_escape(content), path))


def runnerproto_seeds():
    t = "runnerproto"
    fns = {"split": 0, "unquote": 1, "save": 2, "legacy": 3, "echo": 4, "stage-line": 5,
           "marker": 6, "records": 7, "cancel": 8, "duration": 9, "read-logs": 10, "detect": 11}

    def seed(fn, name, text, param=0):
        write(t, "%s-%s.txt" % (fn, name), bytes([fns[fn], param]) + text.encode())

    seed("split", "redirections", "a | b || c & d && e ; f > g 2>&1 <<< h &>> i <<-EOF\n\tbody\nEOF\n")
    seed("split", "detect", DETECT)
    seed("unquote", "ansi-c", "$'a\\x41\\u00e9\\cA\\101'\"b$(echo \\\")\"c", 0)
    seed("save", "step-script", save_script("/scripts-1-2/step_script", stage_script()))
    seed("save", "detect", save_script("/scripts-1-2/detect_shell_script", DETECT))
    seed("save", "tmp-mv",
         "touch /s/x.tmp && chmod 777 /s/x.tmp && printf '%s\\n' " + shell_escape("echo hi") +
         " > /s/x.tmp && mv -f /s/x.tmp /s/x\ncat > /s/y <<'EOF'\nline\nEOF\ncp /s/y /s/z\n"
         "rm -f /s/y\nchmod u+x,go-w /s/z\necho -e 'a\\tb\\c' >> /s/z\n")
    seed("legacy", "step", stage_script(json=False))
    seed("legacy", "get-sources",
         stage_script("export CI_JOB_ID=42\n" + notice("Fetching changes with git depth set to 20...") +
                      "mkdir -p /builds/g/p.tmp\n", json=False))
    seed("echo", "step", stage_script())
    seed("echo", "printf",
         "printf '%-5s|%5.2f|%x|%c|%%|%b\\n' ab 3.14159 255 xyz 'a\\tb'\necho -n no\necho $'\\e[0K'\n"
         "echo \"$(hostname) `date +%s` $? ${X:-y}\"\n")
    seed("stage-line", "attach",
         "sh -c '(/scripts-1-2/detect_shell_script /scripts-1-2/step_script 2>&1 | tee -a "
         "/logs-1-2/output.log) &'\n")
    seed("stage-line", "new",
         "sh -c '((/scripts-1-2/detect_shell_script /scripts-1-2/step_script; ec=$?; exit $ec) 2>&1"
         " | tee -a /logs-1-2/output.log) &'\n")
    seed("stage-line", "helper",
         "gitlab-runner-build <<< /scripts-1-2/archive_cache 2>&1 | tee -a /logs-1-2/output.log\n")
    seed("marker", "exit", '{"command_exit_code": 1, "script": "/scripts-1-2/step_script"}\n')
    seed("marker", "start", ' {"SCRIPT": "/s/x\\u00e9", "command_exit_code": null} ')
    seed("records", "lines", '{"script": "/s/x"}\nhello\n\n{"command_exit_code": 0, '
         '"script": "/s/x"}\npartial', 0x40)
    seed("records", "offset", "a\nbb\nccc\n", 2)
    seed("cancel", "step", CANCEL_STEP, 15)
    seed("cancel", "all", SIGTERM_ALL, 3)
    seed("duration", "runner", "1m0s")
    seed("duration", "mixed", "-1h2m3.5s4ms5us6\u00b5s7ns")
    seed("read-logs", "runner",
         "gitlab-runner-helper\0read-logs\0--path\0/logs-1-2/output.log\0--offset\0123\0"
         "--wait-file-timeout\x001m0s")
    seed("read-logs", "flags", "/usr/bin/gitlab-runner-helper\0read-logs\0-path=/l\0-offset=0x10\0--\0x")
    seed("detect", "normal", "sh\0-c\0" + DETECT)
    seed("detect", "probe", "sh\0-c\0>'/builds/probe'; " + DETECT.replace("bash \n", "bash -l\n"))


# ---- the others ------------------------------------------------------------------------------------

def json_seeds():
    t = "json"
    kinds = ["pods", "secrets", "configmaps", "services", "serviceaccounts", "events",
             "namespaces", "nodes", "poddisruptionbudgets", "selfsubjectaccessreviews"]
    verbs = ["post", "put", "merge", "jsonpatch", "strategic", "apply", "delete", "yaml"]

    def seed(kind, verb, flags, body, name):
        write(t, "%s-%s-%s.bin" % (kind, verb, name),
              bytes([kinds.index(kind), verbs.index(verb), flags]) + body.encode())

    seed("pods", "post", 0, RUNNER_POD, "runner")
    seed("pods", "post", 3, POD.replace('"p1"', '"p2"', 1), "dry-strict")
    seed("pods", "put", 0, POD.replace('"p1"', '"fz"', 1).replace("busybox", "alpine"), "image")
    seed("pods", "merge", 0, '{"metadata":{"labels":{"a":null,"b":"c"},"annotations":{"x":"y"}}}',
         "labels")
    seed("pods", "strategic", 0,
         '{"spec":{"containers":[{"name":"c","env":[{"name":"X","$patch":"delete"},{"name":"Y",'
         '"value":"2"}],"$setElementOrder/env":[{"name":"Y"}]}],"$setElementOrder/containers":'
         '[{"name":"c"}],"volumes":[{"name":"v","$retainKeys":["name","emptyDir"],"emptyDir":{}}]},'
         '"metadata":{"$deleteFromPrimitiveList/finalizers":["x"]}}', "env")
    seed("pods", "strategic", 4,
         '{"status":{"conditions":[{"type":"Ready","status":"False"}],"phase":"Failed"}}', "status")
    seed("pods", "jsonpatch", 0,
         '[{"op":"replace","path":"/spec/containers/0/image","value":"x"},{"op":"move","from":'
         '"/metadata/labels","path":"/metadata/annotations"},{"op":"copy","from":"/spec",'
         '"path":"/metadata/x~1y"},{"op":"remove","path":"/spec/volumes/-1"}]', "ops")
    seed("pods", "delete", 0, '{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":30,'
         '"preconditions":{"uid":"x"}}', "preconditions")
    seed("pods", "delete", 8, '{"propagationPolicy":"Foreground","dryRun":["All"]}', "collection")
    seed("secrets", "post", 0, '{"metadata":{"name":"s","labels":{"a":"b"}},"type":'
         '"kubernetes.io/tls","data":{"tls.crt":"YQ==","tls.key":"Yg=="}}', "tls")
    seed("configmaps", "merge", 0, '{"data":{"k":null,"n":"v"},"binaryData":{"b":"AAE="}}', "data")
    seed("services", "strategic", 0, '{"spec":{"ports":[{"port":80,"targetPort":"http"},'
         '{"port":443,"protocol":"TCP"}],"type":"NodePort"}}', "ports")
    seed("services", "post", 0, '{"metadata":{"generateName":"svc-"},"spec":{"clusterIP":"None",'
         '"ports":[{"port":53,"protocol":"UDP","name":"dns"}]}}', "headless")
    seed("events", "post", 0, '{"metadata":{"name":"e.1"},"involvedObject":{"kind":"Pod","name":"p"},'
         '"reason":"Failed","message":"x","type":"Warning","firstTimestamp":"2024-01-01T00:00:00Z",'
         '"lastTimestamp":"2024-01-01T00:00:01Z","count":3,"source":{"component":"kubelet"}}',
         "warning")
    seed("namespaces", "put", 0, '{"metadata":{"name":"fz","labels":{"a":"b"}},"spec":'
         '{"finalizers":["kubernetes"]}}', "finalizers")
    seed("nodes", "merge", 4, '{"status":{"conditions":[{"type":"Ready","status":"Unknown"}]}}',
         "status")
    seed("poddisruptionbudgets", "merge", 0, '{"spec":{"minAvailable":null,"maxUnavailable":"25%"}}',
         "max")
    seed("selfsubjectaccessreviews", "post", 0,
         '{"spec":{"nonResourceAttributes":{"path":"/api","verb":"get"}}}', "nonresource")
    seed("serviceaccounts", "apply", 0, '{"apiVersion":"v1","kind":"ServiceAccount","metadata":'
         '{"name":"fz"},"automountServiceAccountToken":false}', "apply")
    seed("configmaps", "yaml", 0, '{"metadata":{"name":"y"},"data":{"a":"1"}}', "json-as-yaml")


def gitlab_seeds():
    t = "gitlab"

    def r(method, url, body=b"", ctype="application/json", headers=()):
        return req(method, url, body, ctype, headers, ua="gitlab-runner 17.0.0 (main; go1.22)")

    info = ('{"token":"glrt-fuzz","last_update":"","info":{"name":"gitlab-runner","version":'
            '"17.0.0","executor":"kubernetes","shell":"bash","features":{"variables":true,'
            '"trace_checksum":true,"trace_size":true}}}')
    trace = b"\x1b[0KRunning with gitlab-runner 17.0.0\nJob succeeded\n"
    crc = zlib.crc32(trace)
    write(t, "job-lifecycle.http",
          r("POST", "/api/v4/runners/verify", '{"token":"glrt-fuzz"}') +
          r("POST", "/api/v4/jobs/request", info) +
          r("PUT", "/api/v4/jobs/1", '{"token":"glcbt-fz1","state":"running","info":{}}') +
          r("PATCH", "/api/v4/jobs/1/trace", trace, "text/plain",
            [("JOB-TOKEN", "glcbt-fz1"), ("Content-Range", "0-%d" % (len(trace) - 1))]) +
          r("PATCH", "/api/v4/jobs/1/trace?debug_trace=false", b"more", "text/plain",
            [("JOB-TOKEN", "glcbt-fz1"), ("Content-Range", "0-3")]) +
          r("PUT", "/api/v4/jobs/1", '{"token":"glcbt-fz1","state":"success","exit_code":0,'
            '"output":{"checksum":"crc32:%08x","bytesize":%d}}' % (crc, len(trace))) +
          r("PUT", "/api/v4/jobs/1", '{"token":"glcbt-fz1","state":"failed"}'))
    write(t, "job-failed.http",
          r("POST", "/api/v4/jobs/request", "", None, [("RUNNER-TOKEN", "glrt-fuzz")]) +
          r("POST", "/api/v4/jobs/request", info) +
          r("PATCH", "/api/v4/jobs/2/trace?token=glcbt-fz2", b"x" * 64, "text/plain",
            [("Content-Range", "0-63")]) +
          r("PUT", "/api/v4/jobs/2", '{"token":"glcbt-fz2","state":"failed","failure_reason":'
            '"script_failure","exit_code":1,"checksum":"crc32:DEADBEEF"}'))
    write(t, "errors.http",
          r("POST", "/api/v4/jobs/request", '{"token":"wrong"}') +
          r("POST", "/api/v4/jobs/request", '[1]') +
          r("PATCH", "/api/v4/jobs/3/trace", b"late", "text/plain",
            [("JOB-TOKEN", "glcbt-fz3"), ("Content-Range", "0-3")]) +
          r("PATCH", "/api/v4/jobs/1/trace", b"x", "text/plain",
            [("JOB-TOKEN", "glcbt-fz1"), ("Content-Range", "5-2")]) +
          r("PUT", "/api/v4/jobs/99", '{"token":"x","state":"success"}') +
          r("GET", "/api/v4/jobs/1/") + r("PUT", "/api/v4/jobs/1", '{"state":7}'))
    write(t, "trace-cap.http",
          r("POST", "/api/v4/jobs/request", info) + PAUSE +
          r("PATCH", "/api/v4/jobs/1/trace", b"y" * 5000, "text/plain",
            [("JOB-TOKEN", "glcbt-fz1"), ("Content-Range", "0-4999")]))


def spdy_seeds():
    t = "spdy"
    for f in sorted(glob.glob(os.path.join(ROOT, "tests", "vectors", "spdy", "*.bin"))):
        write(t, "raw-" + os.path.basename(f), bytes([2, 128]) + open(f, "rb").read())
    write(t, "raw-exec-session-split.bin", bytes([0, 7]) + spdy_session(b"echo hi\n"))

    def rec(ftype, flags, body):
        return bytes([ftype, flags]) + struct.pack("!H", len(body)) + body

    exec_ = b""
    for i, kind in enumerate([b"error", b"stdin", b"stdout", b"stderr", b"resize"]):
        exec_ += rec(1, 0, struct.pack("!IIBB", 2 * i + 1, 0, 0, 0) +
                     spdy.block([(b"streamtype", kind)]))
    exec_ += rec(0, 0, struct.pack("!I", 3) + b"echo hi\n") + rec(0, 1, struct.pack("!I", 3))
    exec_ += rec(6, 0, struct.pack("!I", 1)) + rec(9, 0, struct.pack("!II", 1, 65536))
    exec_ += rec(4, 0, struct.pack("!I", 1) + struct.pack("!II", 0x01000007, 65536))
    exec_ += rec(3, 0, struct.pack("!II", 1, 5)) + rec(7, 0, struct.pack("!II", 9, 0))
    write(t, "built-exec-session.bin", bytes([3, 100]) + exec_)
    hdrs = rec(1, 1, struct.pack("!IIBB", 1, 0, 7 << 5, 0) +
               spdy.block([(b"streamtype", b"stdout"), (b"x-multi", b"a\0bc"), (b"empty", b"")]))
    hdrs += rec(2, 0, struct.pack("!I", 1) + spdy.block([(b"status", b"200 OK")]))
    hdrs += rec(8, 1, struct.pack("!I", 1) + spdy.block([(b"version", b"HTTP/1.1")]))
    write(t, "built-headers.bin", bytes([3, 33]) + hdrs)


def ws_seeds():
    t = "ws"
    write(t, "frames-exec.bin", bytes([0, 3]) +
          ws_frame(2, b"\x00echo hi\n") + ws_frame(2, b"\x04{\"Width\":80,\"Height\":24}") +
          ws_frame(9, b"") + ws_frame(10, b"pong") + ws_frame(2, b"\xff\x00") +
          ws_frame(8, b"\x03\xe8done"))
    write(t, "frames-fragmented.bin", bytes([6, 5]) +
          ws_frame(1, "h\u00e9".encode()[:2], fin=False) + ws_frame(9, b"p") +
          ws_frame(0, "h\u00e9".encode()[2:] + b"llo", fin=True) +
          ws_frame(2, b"x" * 300) + ws_frame(2, b"y" * 20, wide=True))
    write(t, "frames-stop.bin", bytes([8, 2]) + ws_frame(2, b"\x00a") + ws_frame(2, b"\x00b") +
          ws_frame(2, b"\x00c"))
    write(t, "frames-bad-utf8.bin", bytes([0, 1]) + ws_frame(1, b"\xc0\xaf") + ws_frame(8, b"\x03"))
    write(t, "handshake-kubectl.txt", bytes([1, 0]) +
          b"GET\nwebsocket\nUpgrade\ndGhlIHNhbXBsZSBub25jZQ==\n13\nv5.channel.k8s.io, v4.channel.k8s.io")
    write(t, "handshake-none.txt", bytes([1, 0]) + b"GET\nWebSocket\nkeep-alive, Upgrade\n"
          b"dGhlIHNhbXBsZSBub25jZQ==\n13")
    write(t, "handshake-version.txt", bytes([1, 0]) + b"GET\nwebsocket\nupgrade\nAAAAAAAAAAAAAAAAAAAAAA==\n8\n")


def proto_seeds():
    for f in sorted(glob.glob(os.path.join(ROOT, "tests", "vectors", "proto", "*.bin"))):
        shutil.copyfile(f, os.path.join(HERE, "corpus", "proto", os.path.basename(f)))


def patch_seeds():
    t = "patch"

    def seed(ptype, kind, name, patch, target=None):
        body = (target.encode() + b"\0" if target is not None else b"") + patch.encode()
        write(t, name, bytes([ptype, kind]) + body)

    seed(0, 0, "merge-labels.bin", '{"metadata":{"labels":{"a":null,"c":"d"}},"spec":{"x":[1]}}')
    seed(0, 0, "merge-not-object.bin", '[1,2]')
    seed(1, 0, "json-ops.bin",
         '[{"op":"add","path":"/spec/containers/-","value":{"name":"e"}},{"op":"remove","path":'
         '"/metadata/finalizers/-1"},{"op":"test","path":"/metadata/name","value":"p"},'
         '{"op":"move","from":"/spec/volumes","path":"/spec/v2"},{"op":"copy","from":"/nope",'
         '"path":"/a~0b"}]')
    seed(1, 0, "json-bad.bin", '{"op":"add"}')
    seed(2, 0, "strategic-containers.bin",
         '{"spec":{"containers":[{"name":"c","env":[{"name":"A","$patch":"delete"},{"name":"C",'
         '"value":"3"}],"ports":[{"containerPort":80,"name":"http"}]},{"name":"d","$patch":'
         '"delete"}],"$setElementOrder/containers":[{"name":"c"}],"volumes":[{"$retainKeys":'
         '["name"],"name":"v"}]},"metadata":{"$deleteFromPrimitiveList/finalizers":["x"],'
         '"finalizers":["z"],"labels":{"$patch":"replace","n":"m"}}}')
    seed(2, 1, "strategic-service.bin", '{"spec":{"ports":[{"port":80,"targetPort":8080}]}}',
         '{"kind":"Service","spec":{"ports":[{"port":80,"protocol":"TCP"},{"port":81}]}}')
    seed(2, 0, "strategic-list-replace.bin",
         '{"spec":{"tolerations":[{"$patch":"replace"}],"containers":[{"$patch":"merge"}]}}')
    seed(2, 2, "strategic-node.bin", '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}',
         '{"kind":"Node","status":{"conditions":[{"type":"Ready","status":"True"},{"type":"Disk"}]}}')


def selector_seeds():
    t = "selector"
    kinds = ["Pod", "Event", "Secret", "Namespace", "Node", "Service", "ReplicationController",
             "ConfigMap", None]

    def seed(fields, kind, name, text):
        write(t, name, bytes([(kinds.index(kind) << 1) | fields]) + text.encode())

    seed(0, "Pod", "labels-all.txt", "app=web,tier!=2,env in (a, b),x notin (c),has,!gone,n>4,n<9")
    seed(0, "Pod", "labels-prefixed.txt", "x.io/y==z,example.com/a-b.c_d in (v1,v2.3-x)")
    seed(0, "Pod", "labels-bad.txt", "a in (b,,c")
    seed(1, "Pod", "fields-pod.txt", "spec.nodeName=kubefault-node,status.phase!=Failed,"
         "metadata.name==p,spec.host=n,spec.restartPolicy=Always")
    seed(1, "Event", "fields-event.txt", "involvedObject.name=p,involvedObject.kind=Pod,"
         "reason=Started,type!=Warning,source=kubelet")
    seed(1, "Secret", "fields-escape.txt", "type=kubernetes.io/service-account-token,"
         "metadata.name=a\\,b\\=c\\\\d")
    seed(1, "Node", "fields-node.txt", "spec.unschedulable=false,metadata.namespace=x")
    seed(1, "ConfigMap", "fields-default.txt", "metadata.namespace=default,metadata.name!=x")


def scenario_seeds():
    t = "scenario"
    picks = sorted(glob.glob(os.path.join(ROOT, "tests", "scenarios", "*.json")))
    picks += sorted(glob.glob(os.path.join(ROOT, "scenarios", "examples", "*.json")))
    for f in picks:
        base = os.path.basename(f)
        prefix = "t-" if os.sep + "tests" + os.sep in f else "ex-"
        shutil.copyfile(f, os.path.join(HERE, "corpus", t, prefix + base))
    write(t, "comments.jsonc", '\ufeff// a comment\n{ /* block\n comment */ "name": "c", '
          '"rules": [] // trailing\n}\n')


def main():
    for d in ["conn", "http", "json", "gitlab", "spdy", "ws", "proto", "patch", "selector", "scenario",
              "runnerproto"]:
        os.makedirs(os.path.join(HERE, "corpus", d), exist_ok=True)
    conn_seeds()
    http_seeds()
    json_seeds()
    gitlab_seeds()
    spdy_seeds()
    ws_seeds()
    proto_seeds()
    patch_seeds()
    selector_seeds()
    scenario_seeds()
    runnerproto_seeds()


if __name__ == "__main__":
    main()
