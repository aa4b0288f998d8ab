#!/usr/bin/env python3
"""Writes negative.jsonl: ordinary business and developer text with nothing regulated in it.

Run from this folder: python3 make_negative.py > negative.jsonl
Deterministic (fixed seed); the values are drawn at random, not picked to pass the detectors, so
the false-positive rate the test prints is an honest one for text of these shapes.
"""
import json
import random
import string
import uuid

rng = random.Random(20261206)


def digits(n, first=None, r=None):
    r = r or rng
    s = first if first is not None else str(r.randint(1, 9))
    return s + "".join(r.choice(string.digits) for _ in range(n - len(s)))


def hexs(n, r=None):
    r = r or rng
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def ver(parts=3):
    return ".".join(str(rng.randint(0, 30 if i else 12)) for i in range(parts))


def iso():
    return "2024-%02d-%02dT%02d:%02d:%02d" % (rng.randint(1, 12), rng.randint(1, 28),
                                              rng.randint(0, 23), rng.randint(0, 59),
                                              rng.randint(0, 59))


def ups():
    return "1Z" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(6)) + \
        digits(10, "")


def fedex12():
    d = digits(12)
    return rng.choice([d, " ".join([d[:4], d[4:8], d[8:]])])


def usps():
    d = "9" + rng.choice(["400", "205", "407", "303"]) + digits(rng.choice([16, 17, 18]), "")
    return rng.choice([d, " ".join(d[i:i + 4] for i in range(0, len(d), 4))])


def price():
    return "%d.%02d" % (rng.randint(1, 999), rng.randint(0, 99))


WORDS = ("the report shows steady growth in the northern region while costs stayed flat and "
         "the team expects the new pricing to land well with enterprise customers next quarter "
         "please review the draft before the meeting and flag anything that reads unclear").split()


def prose(n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


TEMPLATES = [
    lambda: f"Upgraded the SDK to v{ver()} and pinned numpy=={ver()}.",
    lambda: f"x-anthropic-billing-header: cc_version={ver(2)}.{rng.randint(100, 250)}.{rng.randint(1, 250)}; cc_entrypoint=cli",
    lambda: f"cc_version={rng.randint(1, 3)}.{rng.randint(0, 9)}.{rng.randint(100, 255)}.{rng.randint(1, 255)}",
    lambda: f"app_build: {rng.randint(1, 20)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}.{rng.randint(0, 255)}",
    lambda: f"firmware version {rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}.{rng.randint(0, 255)} is rolling out",
    lambda: f"{{\"name\": \"gateway\", \"version\": \"{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 200)}\"}}",
    lambda: f"Windows 10.0.{rng.randint(19041, 22631)}.{rng.randint(1000, 4000)} (build {rng.randint(19041, 22631)})",
    lambda: f"User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/{rng.randint(100, 131)}.0.0.0 Safari/537.36",
    lambda: f"Released {ver()}-beta.{rng.randint(1, 9)}+build.{rng.randint(100, 9999)} to the canary ring.",
    lambda: f"\"dependencies\": {{\"lodash\": \"^4.17.21\", \"react\": \"~{ver()}\", \"zod\": \"{ver()}\"}}",
    lambda: f"Build #{rng.randint(1000, 99999)} passed in {rng.randint(2, 59)}m {rng.randint(0, 59)}s (run id {digits(10)}).",
    lambda: f"CI pipeline {digits(9)} on commit {hexs(7)} finished with {rng.randint(0, 5)} warnings.",
    lambda: f"Order #{rng.randint(111, 114)}-{digits(7)}-{digits(7)} has shipped.",
    lambda: f"Your order {digits(8)} of {rng.randint(1, 9)} items totals ${price()}.",
    lambda: f"UPS tracking: {ups()}",
    lambda: f"FedEx tracking number {fedex12()}, expected delivery Friday.",
    lambda: f"FedEx Ground {digits(15, '6')} was scanned in Memphis.",
    lambda: f"USPS tracking {usps()} - in transit.",
    lambda: f"{iso()}Z INFO request completed in {rng.randint(1, 900)} ms status={rng.choice([200, 201, 204, 404, 502])}",
    lambda: f"{iso()}.{rng.randint(0, 999):03d}+01:00 WARN retrying upstream after {rng.randint(1, 30)}s (attempt {rng.randint(1, 5)}/5)",
    lambda: f"created_at={digits(13, '17')} updated_at={digits(13, '17')}",
    lambda: f"ts={digits(10, '17')} level=info msg=\"cache warm\" keys={rng.randint(100, 99999)}",
    lambda: f"commit {hexs(40)}",
    lambda: f"Merge {hexs(7)} into {hexs(7)}; see {hexs(12)} for the revert.",
    lambda: f"sha256: {hexs(64)}",
    lambda: f"image: ghcr.io/acme/gateway@sha256:{hexs(64)}",
    lambda: f"request_id={uuid.UUID(int=rng.getrandbits(128), version=4)} trace_id={hexs(32)}",
    lambda: f"Created tenant {uuid.UUID(int=rng.getrandbits(128), version=4)} for the pilot.",
    lambda: f"Invoice INV-{rng.randint(2019, 2025)}-{rng.randint(1, 999999):06d} is due on {rng.randint(1, 28)} March.",
    lambda: f"Invoice {rng.randint(2019, 2025)}/{rng.randint(1, 9999):04d} paid, ref {digits(10)}.",
    lambda: f"PO {digits(10)} / line {rng.randint(1, 40)} / qty {rng.randint(1, 500)}",
    lambda: prose(rng.randint(8, 30)),
    lambda: f"{prose(10)} We grew {rng.randint(2, 40)}% year on year and hired {rng.randint(2, 60)} people.",
    lambda: ",".join([f"SKU-{rng.randint(1000, 9999)}", rng.choice(["Widget", "Gadget", "Cable", "Adapter"]),
                      price(), str(rng.randint(1, 20)), price()]),
    lambda: f"date,open,high,low,close\n2024-0{rng.randint(1, 9)}-{rng.randint(10, 28)},{price()},{price()},{price()},{price()}",
    lambda: f"  at com.acme.billing.InvoiceService.render(InvoiceService.java:{rng.randint(10, 2000)})\n  at com.acme.billing.Api.handle(Api.java:{rng.randint(10, 900)})",
    lambda: f"  File \"/srv/app/handlers/{rng.choice(['orders', 'users', 'search'])}.py\", line {rng.randint(1, 900)}, in handle\n    result = compute(payload)",
    lambda: f"    at Object.<anonymous> (/app/src/index.js:{rng.randint(1, 400)}:{rng.randint(1, 80)})",
    lambda: f"panic: runtime error: index out of range [{rng.randint(1, 99)}] with length {rng.randint(1, 99)}\n\ngoroutine {rng.randint(1, 9999)} [running]:\nmain.main()\n\t/app/main.go:{rng.randint(10, 500)} +0x{hexs(3)}",
    lambda: f"listening on localhost:{rng.randint(1024, 65535)} (pid {rng.randint(100, 99999)})",
    lambda: f"upstream api.internal:{rng.choice([443, 8443, 9090])} responded in {rng.randint(1, 999)}ms, pool {rng.randint(1, 64)}/{rng.randint(64, 256)}",
    lambda: f"postgres://db:{rng.choice([5432, 6432])}/orders?pool_max={rng.randint(5, 50)}",
    lambda: f"ISBN 978-{rng.randint(0, 9)}-{digits(3)}-{digits(5)}-{rng.randint(0, 9)}",
    lambda: f"EAN {digits(13, rng.choice(['40', '50', '87', '30', '76']))} restocked ({rng.randint(1, 500)} units).",
    lambda: f"Population {rng.randint(1000000, 9999999999):,} as of {rng.randint(2000, 2024)}.",
    lambda: f"Revenue was ${rng.randint(1, 999)},{rng.randint(100, 999)},{rng.randint(100, 999)}.{rng.randint(10, 99)} in FY{rng.randint(19, 25)}.",
    lambda: f"Coordinates {rng.uniform(-80, 80):.4f}, {rng.uniform(-170, 170):.4f}",
    lambda: f"pi is about {rng.choice(['3.14159265358979', '3.1415926535'])} and e about 2.718281828",
    lambda: f"pod api-{hexs(9)}-{hexs(5)} restarted {rng.randint(1, 9)} times, memory {rng.choice([256, 512, 1024])}Mi",
    lambda: f"Error 0x{hexs(8).upper()} in module {rng.choice(['ntdll', 'kernel32', 'libc'])} at offset 0x{hexs(6)}",
    lambda: f"HTTP/1.1 {rng.choice([200, 301, 404, 429, 503])} after {rng.randint(1, 9999)} bytes; Retry-After: {rng.randint(1, 120)}",
    lambda: f"Meeting moved to {rng.randint(1, 28)}/{rng.randint(1, 12)}/2025 at {rng.randint(8, 17)}:{rng.choice(['00', '30'])}, room {rng.randint(100, 999)}.",
    lambda: f"Ticket JIRA-{rng.randint(100, 99999)} blocks JIRA-{rng.randint(100, 99999)}; estimate {rng.randint(1, 13)} points.",
    lambda: f"Table 3: {' '.join(str(rng.randint(0, 99)) for _ in range(rng.randint(6, 14)))}",
    lambda: f"Scores: {' '.join(f'{rng.randint(0, 9)}.{rng.randint(0, 9)}' for _ in range(rng.randint(4, 10)))}",
    lambda: f"Lot {digits(6)}-{digits(4)} expires {rng.randint(2025, 2030)}-{rng.randint(1, 12):02d}.",
    lambda: f"Serial number SN{digits(10)} registered to the Berlin office.",
    # Card words near long numbers that are not cards: the context rule's own risk.
    lambda: f"Card reader CR-{rng.randint(100, 999)} (firmware {ver()}) reports serial {digits(14)}.",
    lambda: f"Debit note DN-{rng.randint(1000, 9999)} refers to shipment {digits(13)} of {rng.randint(1, 28)} May.",
    lambda: f"Credit memo for order {digits(15)} issued; {rng.randint(1, 9)} items returned.",
    lambda: f"Room booking ref {digits(4)} {digits(4)} {digits(4)} confirmed.",
    lambda: f"Shipment weight {rng.randint(1, 900)}.{rng.randint(0, 9)} kg, volume {rng.randint(1, 90)}.{rng.randint(0, 99)} m3, {rng.randint(1, 40)} pallets.",
    lambda: f"The release \u2014 planned for Q{rng.randint(1, 4)} \u2014 ships {rng.randint(2, 9)} features; see \u201cNotes\u201d.",
    lambda: f"Caf\u00e9 r\u00e9sum\u00e9 na\u00efve: {rng.randint(2, 90)} \u20ac per person, {rng.randint(1, 9)}\u00a0h session.",
    lambda: f"\uff08\u6ce8\uff09\u7b2c{rng.randint(1, 9)}\u56db\u534a\u671f\u306e\u58f2\u4e0a\u306f{rng.randint(10, 99)}\u5104\u5186\u3067\u3057\u305f\u3002",
]


# Shapes near the encoded-value, delimiter, glued-digit, spaced-'@' and prose-password rules:
# hashes, ids and tokens that are base64 or hex but not text, URLs with escapes, numbers joined
# by the card delimiters, '@' mentions. Drawn from their own generator, after the lines above,
# so those stay as they were.
rng2 = random.Random(20261207)


def b64(nbytes, alphabet="+/"):
    import base64
    raw = bytes(rng2.getrandbits(8) for _ in range(nbytes))
    out = base64.b64encode(raw).decode()
    return out if alphabet == "+/" else out.replace("+", "-").replace("/", "_").rstrip("=")


def b64text(text):
    import base64
    return base64.b64encode(text.encode()).decode()


def hex2(n):
    return "".join(rng2.choice("0123456789abcdef") for _ in range(n))


def d2(n, first=None):
    s = first if first is not None else str(rng2.randint(1, 9))
    return s + "".join(rng2.choice(string.digits) for _ in range(n - len(s)))


def words2(n):
    return " ".join(rng2.choice(WORDS) for _ in range(n))


ENCODED_TEMPLATES = [
    lambda: f"commit {hex2(40)} (HEAD -> main, origin/main)",
    lambda: f"md5 {hex2(32)}  sha1 {hex2(40)}",
    lambda: f"integrity: sha512-{b64(64)}",
    lambda: f"\"nonce\": \"{b64(16)}\", \"iv\": \"{b64(12)}\"",
    lambda: f"X-Request-Id: {str(uuid.UUID(int=rng2.getrandbits(128), version=4)).upper()}",
    lambda: f"etag W/\"{hex2(32)}\" cache-control max-age={rng2.randint(60, 86400)}",
    lambda: f"session cookie sid={b64(24, '-_')}; Path=/; HttpOnly",
    lambda: "header " + b64text('{"alg":"RS256","kid":"' + hex2(8) + '"}') + " (JWT header only, no claims)",
    lambda: "config: " + b64text("log_level=debug\nworkers=%d\nregion=eu-west-1" % rng2.randint(1, 16)),
    lambda: f"GET /search?q={'%20'.join(words2(3).split())}&page={rng2.randint(1, 9)} HTTP/1.1",
    lambda: f"redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback%3Fstate%3D{hex2(8)}",
    lambda: f"file name: report%20Q{rng2.randint(1, 4)}%20{rng2.randint(2019, 2025)}%20%28final%29.pdf",
    lambda: f"ports {','.join(str(rng2.randint(1024, 9999)) for _ in range(rng2.randint(5, 7)))} are open",
    lambda: f"row: {rng2.randint(2019, 2025)}-0{rng2.randint(1, 9)}-{rng2.randint(10, 28)},{d2(4)},{d2(4)},{d2(4)},{d2(4)},{rng2.randint(1, 99)}.{rng2.randint(10, 99)}",
    lambda: f"| {d2(4)} | {d2(4)} | {d2(3)} | {d2(5)} | {d2(2)} |",
    lambda: f"build_{d2(4)}_{d2(4)}_{d2(6)} uploaded",
    lambda: f"stopwatch {rng2.randint(0, 23):02d}:{rng2.randint(0, 59):02d}:{rng2.randint(0, 59):02d}:{rng2.randint(0, 999):03d}",
    lambda: f"tracking {d2(22, '92')} via USPS; order_id ord_{hex2(24)}",
    lambda: f"thanks @{rng2.choice(['jane', 'omar', 'li', 'sven'])}.{rng2.choice(['doe', 'smith', 'chen', 'berg'])} for the review, cc @{rng2.choice(['ops', 'infra', 'web'])}-team",
    lambda: f"The password is {rng2.choice(['required', 'stored hashed', 'rotated every 90 days', 'Incorrect', 'too short'])}.",
    lambda: f"$ pwd\n/home/{rng2.choice(['ann', 'bob', 'ci'])}/src/{rng2.choice(['api', 'web', 'infra'])}",
    lambda: f"ts={d2(13, '17')}+{rng2.randint(0, 999)} seq={d2(9)}*{rng2.randint(2, 9)}",
    lambda: f"asset {hex2(8)}{d2(15)}{hex2(6)}.bin",
    lambda: f"Fax cover: area 12 km\u00b2, volume {rng2.randint(2, 9)} m\u00b3, step 1\ufe0f\u20e3 of 3",
]


# Shapes near the rules for values glued to words and for lower-case passwords: ids and
# timestamps glued to letters, upper-case file names with years, hashes glued to numbers, words
# that describe a password field. Their own generator again, after the lines above.
rng3 = random.Random(20261208)


def d3(n, first=None):
    return digits(n, first, rng3)


def hex3(n):
    return hexs(n, rng3)


GLUED_TEMPLATES = [
    lambda: f"GET /api/users/user{d3(rng3.choice([12, 14, 16, 18]))}/settings 200",
    lambda: f"https://x.com/acme/status{d3(19, '1')} got {rng3.randint(2, 900)} replies",
    lambda: f"ts{d3(13, '17')}ms latency p99={rng3.randint(10, 900)}ms",
    lambda: f"MALAYSIA{rng3.randint(2019, 2025)}Q{rng3.randint(1, 4)}REPORTSUMMARY.PDF uploaded",
    lambda: f"ASIAPACIFIC{rng3.randint(2019, 2025)}BUDGETFINAL.XLSX shared with finance",
    lambda: f"blob {hex3(12)}{d3(16)}{hex3(4)} stored in the cache",
    lambda: f"wheel pkg-{rng3.randint(1, 9)}.{rng3.randint(0, 20)}-cp3{rng3.randint(8, 12)}-manylinux{rng3.randint(2010, 2014)}_x86_64.whl",
    lambda: f"password: {rng3.choice(['required', 'optional', 'hidden', 'masked', 'sensitive', 'unchanged'])}  # schema field",
    lambda: f"reset_password: {rng3.choice(['disabled', 'enabled', 'default'])}",
    lambda: f"tokenizer: {rng3.choice(['bertbasecased', 'sentencepiece', 'tiktoken'])}, secret_name: {rng3.choice(['proddbcreds', 'stagingkeys'])}",
    lambda: f"Invoice{d3(rng3.choice([8, 10, 12]))}EUR settled on {rng3.randint(1, 28)} May",
    lambda: f"room{rng3.randint(100, 999)}-{rng3.randint(10, 99)}-{rng3.randint(1000, 9999)}B is booked",
]


def main():
    lines = []
    for i in range(360):
        lines.append(TEMPLATES[i % len(TEMPLATES)]())
    for i in range(96):
        lines.append(ENCODED_TEMPLATES[i % len(ENCODED_TEMPLATES)]())
    for i in range(120):
        lines.append(GLUED_TEMPLATES[i % len(GLUED_TEMPLATES)]())
    for k, text in enumerate(lines, 1):
        print(json.dumps({"id": "n%03d" % k, "text": text}, ensure_ascii=False))


if __name__ == "__main__":
    main()
