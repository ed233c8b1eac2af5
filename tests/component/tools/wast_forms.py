#!/usr/bin/env python3
"""Throwaway helper (manual use only): converts every top-level component form
of the reference .wast files into a .wasm so that the decoder can be run over
them. (component ...) / (component definition ...) / assert_invalid /
assert_malformed forms; text is turned into binary with `jco parse`, binary
forms are decoded from their string literals.

  wast_forms.py OUTDIR file.wast...
Writes OUTDIR/<file>/<NNN>-<kind>.wasm (kind: valid, invalid, malformed) and
OUTDIR/<file>/<NNN>-<kind>.jcofail when jco parse refused the text."""
import os, re, subprocess, sys

JCO = os.environ.get("JCO", "/work/jco/node_modules/.bin/jco")

def forms(text):
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith(";;", i):
            i = text.find("\n", i); i = n if i < 0 else i
        elif text.startswith("(;", i):
            d = 0
            while i < n:
                if text.startswith("(;", i): d += 1; i += 2
                elif text.startswith(";)", i):
                    d -= 1; i += 2
                    if d == 0: break
                else: i += 1
        elif c == "(":
            j, d = i, 0
            while j < n:
                if text.startswith(";;", j):
                    j = text.find("\n", j); continue
                if text.startswith("(;", j):
                    k = text.find(";)", j); j = k + 2; continue
                ch = text[j]
                if ch == '"':
                    j += 1
                    while text[j] != '"':
                        j += 2 if text[j] == "\\" else 1
                elif ch == "(": d += 1
                elif ch == ")":
                    d -= 1
                    if d == 0: break
                j += 1
            yield text[i:j + 1]
            i = j + 1
        else:
            i += 1

def inner_forms(form):
    # children of (assert_x <form> "msg")
    body = form[1:-1]
    return list(forms(body))

def wast_string_bytes(s):
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            nx = s[i + 1]
            if re.match(r"[0-9a-fA-F]", nx):
                out.append(int(s[i + 1:i + 3], 16)); i += 3; continue
            if nx == "u":
                j = s.index("}", i); out += chr(int(s[i + 3:j], 16)).encode(); i = j + 1; continue
            out += {"n": b"\n", "t": b"\t", "r": b"\r", '"': b'"', "'": b"'", "\\": b"\\"}[nx]; i += 2
        else:
            out += c.encode(); i += 1
    return bytes(out)

def strip_comments(text):
    out, i, n = [], 0, len(text)
    while i < n:
        if text[i] == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1]); i = j + 1
        elif text.startswith(";;", i):
            j = text.find("\n", i); i = n if j < 0 else j
        else:
            out.append(text[i]); i += 1
    return "".join(out)

def binary_of(form):
    form = strip_comments(form)
    strs = re.findall(r'"((?:[^"\\]|\\.)*)"', form[form.index("binary"):])
    return b"".join(wast_string_bytes(s) for s in strs)

def component_text(form):
    # drop `definition` (and `binary`/`quote` markers) for jco; keep `$id`
    m = re.match(r"\(component(\s+definition)?(\s+\$[^\s()]+)?(\s+(binary|quote))?", form)
    kind = m.group(4)
    rest = form[m.end():]
    ident = m.group(2) or ""
    if kind in ("binary", "quote"):
        ident = ""
    return kind, "(component" + ident + rest

def main():
    out, files = sys.argv[1], sys.argv[2:]
    for f in files:
        name = os.path.basename(f)[:-5]
        d = os.path.join(out, name); os.makedirs(d, exist_ok=True)
        n = 0
        for form in forms(open(f).read()):
            head = re.match(r"\((\S+)", form).group(1)
            if head == "component": kind, comp = "valid", form
            elif head in ("assert_invalid", "assert_malformed"):
                inner = inner_forms(form)
                if not inner or not inner[0].startswith("(component"): continue
                kind = "invalid" if head == "assert_invalid" else "malformed"; comp = inner[0]
                msg = re.findall(r'"((?:[^"\\]|\\.)*)"\s*\)\s*$', form)
                kind_msg = msg[0] if msg else ""
            else: continue
            n += 1
            base = os.path.join(d, "%03d-%s" % (n, kind))
            t, text = component_text(comp)
            if kind != "valid":
                open(base + ".msg", "w").write(kind_msg)
            if t == "binary":
                open(base + ".wasm", "wb").write(binary_of(comp)); continue
            if t == "quote":
                strs = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
                text = "(component " + " ".join(wast_string_bytes(s).decode() for s in strs) + ")"
            open(base + ".wat", "w").write(text)
            r = subprocess.run([JCO, "parse", base + ".wat", "-o", base + ".wasm"], capture_output=True, text=True)
            if r.returncode != 0 or not os.path.exists(base + ".wasm"):
                open(base + ".jcofail", "w").write(r.stdout + r.stderr)
        print(name, n, flush=True)

main()
