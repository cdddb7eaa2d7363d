#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# telegram_fixture.py: a loopback stand-in for the Telegram Bot API.
#
# It exists because the real Bot API cannot be reached from tests (no
# network in CI, a real bot and chat would be needed, and real presses
# cannot be scripted), yet rvw-notify and rvctl notify-test must be
# proven against a real socket: answers, errors, 429 with retry_after,
# silence, long polls and button presses.  It follows the Bot API as
# documented (docs/PROTOCOLS.md), not what our code happens to send.
#
# Usage: telegram_fixture.py --token TOKEN --log FILE [--chat CHAT_ID]
#                            [--updates FILE]
#
# It binds 127.0.0.1 on a port the kernel picks and prints the port as the
# first line of stdout.  Bot API: /bot<token>/<method>, GET (query string)
# or POST (JSON or form body), methods sendMessage, getUpdates (offset,
# timeout long poll, limit, allowed_updates; a second poller terminates
# the first with 409), answerCallbackQuery, editMessageText, getMe.  A
# wrong token is answered 401, an unknown method 404, bad parameters 400
# with Telegram's descriptions (a URL button to a host without a dot, such
# as localhost, is BUTTON_URL_INVALID, as Telegram answers).  Every
# request is appended to the log FILE as one JSON line {t, t0, method,
# token_ok, params, status, result} (t0 when the request came, t when it
# was answered, so a long poll is recorded late); the request path (which
# holds the token) is not recorded.
#
# Control (no token; test tool only, never expose it):
#   POST /control/press  {from_id, username?, chat_id, message_id?, data,
#                         text?}  queue a callback_query update
#   POST /control/update {...}    queue a raw update (update_id assigned)
#   POST /control/fault  {mode: "500"|"429"|"hang"|"off", count?: N,
#                         seconds?: T, retry_after?: S, methods?: [...]}
#                         answer the next N matching requests (or all for
#                         T seconds) with 500, 429 + parameters.retry_after,
#                         or no answer at all (hold the connection)
#   GET  /control/state  messages, callback queries and their answers
# --updates FILE loads a JSON list of updates to serve from the start.

import argparse
import json
import os
import random
import select
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BOT_ID = 7000000001
HANG_MAX = 300


class State:
    def __init__(self, token, log_path, chat):
        self.token = token
        self.log_path = log_path
        self.chat = chat
        self.cond = threading.Condition()
        self.messages = {}
        self.next_message_id = 100
        self.updates = []
        self.next_update_id = 5000
        self.queries = {}
        self.poll_gen = 0
        self.faults = []

    def record(self, entry):
        entry["t"] = round(time.time(), 3)
        with self.cond:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def add_update(self, upd):
        with self.cond:
            upd["update_id"] = self.next_update_id
            self.next_update_id += 1
            self.updates.append(upd)
            self.cond.notify_all()
            return upd["update_id"]

    def take_fault(self, method):
        now = time.time()
        with self.cond:
            for f in list(self.faults):
                if f.get("until") is not None and now > f["until"]:
                    self.faults.remove(f)
                    continue
                if f.get("methods") and method not in f["methods"]:
                    continue
                if f.get("count") is not None:
                    f["count"] -= 1
                    if f["count"] <= 0:
                        self.faults.remove(f)
                return dict(f)
        return None


class ApiError(Exception):
    def __init__(self, code, description, extra=None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.extra = extra


def bad(description):
    return ApiError(400, "Bad Request: " + description)


def utf16_len(s):
    return len(s.encode("utf-16-le")) // 2


def check_markup(markup):
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise bad("can't parse reply keyboard markup JSON object")
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list):
        raise bad("field \"inline_keyboard\" of the InlineKeyboardMarkup "
                  "should be an Array of Arrays")
    for row in rows:
        if not isinstance(row, list):
            raise bad("field \"inline_keyboard\" of the "
                      "InlineKeyboardMarkup should be an Array of Arrays")
        for b in row:
            if not isinstance(b, dict) or not isinstance(b.get("text"), str):
                raise bad("can't find field \"text\"")
            data = b.get("callback_data")
            if data is None and "url" not in b:
                raise bad("BUTTON_TYPE_INVALID")
            if data is not None and (not isinstance(data, str) or
                                     not 1 <= len(data.encode()) <= 64):
                raise bad("BUTTON_DATA_INVALID")
            if "url" in b and not url_ok(b["url"]):
                raise bad("BUTTON_URL_INVALID")
    return markup


def url_ok(url):
    """A URL button as the Bot API takes it: http, https or tg, and for
    http(s) a host with a dot (Telegram refuses "localhost" and other
    hosts without one with BUTTON_URL_INVALID)."""
    if not isinstance(url, str) or not url:
        return False
    u = urlsplit(url)
    if u.scheme.lower() == "tg":
        return True
    if u.scheme.lower() not in ("http", "https") or not u.hostname:
        return False
    return "." in u.hostname.strip(".")


def as_int(params, key, default=None):
    v = params.get(key, default)
    if v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        raise bad("field \"%s\" must be an integer" % key)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rv-telegram-fixture/1"
    state = None

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_params(self, url):
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        n = int(self.headers.get("Content-Length") or 0)
        if n <= 0:
            return params
        raw = self.rfile.read(n)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise bad("strings must be encoded in UTF-8")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0]
        if ctype == "application/json":
            try:
                body = json.loads(text)
            except ValueError:
                raise bad("can't parse JSON")
            if not isinstance(body, dict):
                raise bad("JSON object expected")
            params.update(body)
        else:
            params.update({k: v[-1] for k, v in parse_qs(text).items()})
        if isinstance(params.get("allowed_updates"), str):
            try:
                params["allowed_updates"] = json.loads(
                    params["allowed_updates"])
            except ValueError:
                raise bad("can't parse allowed updates")
        return params

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def handle_any(self):
        url = urlsplit(self.path)
        try:
            if url.path.startswith("/control/"):
                self.control(url)
            elif url.path.startswith("/bot"):
                self.api(url)
            else:
                self.reply(404, {"ok": False, "error_code": 404,
                                 "description": "Not Found"})
        except (BrokenPipeError, ConnectionResetError):
            pass

    # ---- Bot API ----
    def api(self, url):
        st = self.state
        rest = url.path[len("/bot"):]
        token, _, method = rest.partition("/")
        token_ok = token == st.token
        entry = {"method": method, "token_ok": token_ok,
                 "t0": round(time.time(), 3)}
        try:
            params = self.read_params(url)
        except ApiError as e:
            params = None
            entry["params"] = None
            self.api_error(entry, e)
            return
        entry["params"] = params
        if not token_ok:
            self.api_error(entry, ApiError(401, "Unauthorized"))
            return
        fault = st.take_fault(method)
        if fault is not None and self.apply_fault(entry, fault):
            return
        handler = getattr(self, "m_" + method, None)
        if handler is None:
            self.api_error(entry, ApiError(404, "Not Found"))
            return
        try:
            result = handler(params)
        except ApiError as e:
            self.api_error(entry, e)
            return
        if result is None:      # a poller that was terminated
            return
        entry["status"] = 200
        entry["result"] = result
        st.record(entry)
        self.reply(200, {"ok": True, "result": result})

    def api_error(self, entry, e):
        obj = {"ok": False, "error_code": e.code, "description": e.description}
        if e.extra:
            obj.update(e.extra)
        entry["status"] = e.code
        entry["result"] = obj
        self.state.record(entry)
        self.reply(e.code, obj)

    def apply_fault(self, entry, fault):
        mode = str(fault.get("mode"))
        if mode == "500":
            self.api_error(entry, ApiError(500, "Internal Server Error"))
        elif mode == "429":
            ra = int(fault.get("retry_after", 1))
            self.api_error(entry, ApiError(
                429, "Too Many Requests: retry after %d" % ra,
                {"parameters": {"retry_after": ra}}))
        elif mode == "hang":
            entry["status"] = "hang"
            self.state.record(entry)
            self.hang()
        else:
            return False
        return True

    def hang(self):
        end = time.time() + HANG_MAX
        sock = self.connection
        while time.time() < end:
            r, _, _ = select.select([sock], [], [], 0.2)
            if r:
                try:
                    if not sock.recv(1, 0x2):     # MSG_PEEK: closed?
                        break
                except OSError:
                    break
        self.close_connection = True

    def m_getMe(self, params):
        return {"id": BOT_ID, "is_bot": True, "first_name": "RayVault test",
                "username": "rayvault_test_bot"}

    def m_sendMessage(self, params):
        st = self.state
        chat = params.get("chat_id")
        if chat is None or chat == "":
            raise bad("chat_id is empty")
        if st.chat is not None and str(chat) != str(st.chat):
            raise bad("chat not found")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad("message text is empty")
        if utf16_len(text) > 4096:
            raise bad("message is too long")
        pm = params.get("parse_mode")
        if pm not in (None, "", "HTML", "MarkdownV2", "Markdown"):
            raise bad("unsupported parse_mode")
        markup = params.get("reply_markup")
        if markup is not None:
            markup = check_markup(markup)
        with st.cond:
            mid = st.next_message_id
            st.next_message_id += 1
            msg = {"message_id": mid, "date": int(time.time()),
                   "from": {"id": BOT_ID, "is_bot": True,
                            "first_name": "RayVault test"},
                   "chat": {"id": int(chat) if str(chat).lstrip("-").isdigit()
                            else chat, "type": "group"},
                   "text": text}
            if markup is not None:
                msg["reply_markup"] = markup
            st.messages[mid] = msg
        return msg

    def m_getUpdates(self, params):
        st = self.state
        offset = as_int(params, "offset", 0)
        timeout = max(0, min(50, as_int(params, "timeout", 0)))
        limit = max(1, min(100, as_int(params, "limit", 100)))
        allowed = params.get("allowed_updates")
        deadline = time.time() + timeout
        with st.cond:
            st.poll_gen += 1
            me = st.poll_gen
            st.cond.notify_all()
            if offset > 0:
                st.updates = [u for u in st.updates
                              if u["update_id"] >= offset]
            elif offset < 0:
                st.updates = st.updates[offset:]
            while True:
                if st.poll_gen != me:
                    raise ApiError(409, "Conflict: terminated by other "
                                   "getUpdates request; make sure that "
                                   "only one bot instance is running")
                avail = [u for u in st.updates if not allowed or
                         any(k in u for k in allowed)]
                if avail or time.time() >= deadline:
                    return avail[:limit]
                st.cond.wait(max(0.01, deadline - time.time()))

    def m_answerCallbackQuery(self, params):
        st = self.state
        qid = params.get("callback_query_id")
        text = params.get("text")
        if text is not None and (not isinstance(text, str) or
                                 utf16_len(text) > 200):
            raise bad("MESSAGE_TOO_LONG")
        with st.cond:
            q = st.queries.get(str(qid))
            if q is None or q["answered"]:
                raise bad("query is too old and response timeout expired "
                          "or query ID is invalid")
            q["answered"] = True
            q["answer"] = text
        return True

    def m_editMessageText(self, params):
        st = self.state
        mid = as_int(params, "message_id")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad("message text is empty")
        if utf16_len(text) > 4096:
            raise bad("MESSAGE_TOO_LONG")
        markup = params.get("reply_markup")
        if markup is not None:
            markup = check_markup(markup)
        with st.cond:
            msg = st.messages.get(mid)
            if msg is None or str(msg["chat"]["id"]) != str(
                    params.get("chat_id")):
                raise bad("message to edit not found")
            if msg["text"] == text and msg.get("reply_markup") == markup:
                raise bad("message is not modified: specified new message "
                          "content and reply markup are exactly the same "
                          "as a current content and reply markup of the "
                          "message")
            msg["text"] = text
            msg["edit_date"] = int(time.time())
            if markup is None:
                msg.pop("reply_markup", None)
            else:
                msg["reply_markup"] = markup
            return dict(msg)

    # ---- control ----
    def control(self, url):
        st = self.state
        what = url.path[len("/control/"):]
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}") if n > 0 else {}
        if what == "press":
            self.reply(200, self.press(body))
        elif what == "update":
            self.reply(200, {"update_id": st.add_update(dict(body))})
        elif what == "fault":
            with st.cond:
                if body.get("mode") == "off":
                    st.faults = []
                else:
                    f = dict(body)
                    if "seconds" in f:
                        f["until"] = time.time() + float(f["seconds"])
                    st.faults.append(f)
            self.reply(200, {"ok": True})
        elif what == "state":
            with st.cond:
                self.reply(200, {"messages": st.messages,
                                 "queries": st.queries,
                                 "pending_updates": len(st.updates)})
        else:
            self.reply(404, {"error": "unknown control"})

    def press(self, body):
        st = self.state
        qid = str(random.randrange(10**17, 10**18))
        mid = body.get("message_id")
        with st.cond:
            stored = st.messages.get(mid) if mid is not None else None
        msg = {"message_id": mid if mid is not None else 1,
               "date": int(time.time()),
               "chat": {"id": body.get("chat_id"), "type": "group"},
               "text": body.get("text", stored["text"] if stored else "")}
        user = {"id": body.get("from_id"), "is_bot": False,
                "first_name": body.get("username") or "someone"}
        if body.get("username"):
            user["username"] = body["username"]
        upd = {"callback_query": {"id": qid, "from": user, "message": msg,
                                  "chat_instance": "-42",
                                  "data": body.get("data")}}
        with st.cond:
            st.queries[qid] = {"answered": False, "answer": None,
                               "data": body.get("data")}
        return {"update_id": st.add_update(upd), "callback_query_id": qid}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--token", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--chat")
    ap.add_argument("--updates")
    args = ap.parse_args()
    state = State(args.token, args.log, args.chat)
    if args.updates:
        with open(args.updates, encoding="utf-8") as f:
            for u in json.load(f):
                state.add_update(u)
    Handler.state = state
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except (KeyboardInterrupt, SystemExit):
        pass
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
