#!/usr/bin/env python3
"""Makes a plain WASI preview1 command of @ruby/3.4-wasm-wasi's dist/ruby.wasm.

The npm build is a reactor for a JavaScript host: it exports `_initialize`,
`ruby-init`, `rb-eval-string-protect`, ... and imports 24 functions from
`rb-js-abi-host` / `canonical_abi` besides WASI preview1, so no plain WASI host
can link it. This script (wabt's wasm2wat / wat2wasm, text edits in between):
  * turns every non-WASI import into a defined function: the 21
    `rb-js-abi-host` ones trap (`unreachable`; they serve Ruby's `JS` module,
    which a script that does not `require "js"` never calls), the
    `canonical_abi` resource ones are the identity (new/get) or do nothing
    (drop), since `rb-eval-string-protect` wraps its result in a handle;
  * adds `_start`, which does what the JS host does (`_initialize`,
    `ruby-init ["ruby", "--disable-gems", "-EUTF-8", "-e_=0"]`,
    `ruby-init-loadpath`) and then evaluates the Ruby program read from stdin
    (exceptions are printed to stderr and exit with status 1);
  * drops the `_initialize` export, so the module is a command.
The CRuby code itself is unchanged: the same functions get compiled.
Usage: ruby_command.py RUBY.wasm OUT.wasm
"""

import os
import re
import subprocess
import sys
import tempfile

PRELUDE_ARGS = ["ruby", "--disable-gems", "-EUTF-8", "-e_=0"]
EVAL = ('begin; eval(STDIN.read, TOPLEVEL_BINDING, "-", 1); '
        'rescue Exception => e; STDERR.print e.full_message(highlight: false); STDOUT.flush; exit! 1; end; '
        'STDOUT.flush; STDERR.flush')

IMPORT = re.compile(r'^\s*\(import "([^"]*)" "((?:[^"\\]|\\.)*)" \(func \(;(\d+);\) (\(type \d+\))\)\)\s*$')
EXPORT_FUNC = re.compile(r'^\s*\(export "((?:[^"\\]|\\.)*)" \(func (\d+)\)\)\s*$')
FUNC_DEF = re.compile(r'^(\s*)\(func \(;(\d+);\)')
CALL = re.compile(r'\b(call|return_call|ref\.func) (\d+)\b')


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: ruby_command.py RUBY.wasm OUT.wasm")
    src, out = sys.argv[1:]
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out))) as tmp:
        wat = os.path.join(tmp, "in.wat")
        subprocess.run(["wasm2wat", "--no-debug-names", src, "-o", wat], check=True)
        new = os.path.join(tmp, "out.wat")
        stubs, exports = [], {}
        with open(wat) as fin, open(new, "w") as fout:
            last = None
            for line in fin:
                out_line = rewrite(line, stubs, exports)
                if out_line is None:
                    continue
                if last is not None:
                    fout.write(last)
                last = out_line
            # wasm2wat closes the module on its last line (after the last data
            # segment): take that parenthesis off, append, and close again.
            last = (last or "").rstrip()
            if not last.endswith(")"):
                sys.exit("ruby_command: unexpected end of wasm2wat output")
            fout.write(last[:-1] + "\n")
            for need in ("_initialize", "cabi_realloc", "ruby-init: func(args: list<string>) -> ()",
                         "ruby-init-loadpath: func() -> ()"):
                if need not in exports:
                    sys.exit(f"ruby_command: {src} does not export '{need}'")
            ev = [k for k in exports if k.startswith("rb-eval-string-protect:")]
            if not ev:
                sys.exit(f"ruby_command: {src} does not export rb-eval-string-protect")
            fout.writelines(stubs)
            fout.write(start_func(exports, ev[0]))
            fout.write('  (export "_start" (func $bench_start)))\n')
        subprocess.run(["wat2wasm", new, "-o", out], check=True)
    print(f"ruby_command: {out}: {len(stubs)} non-WASI imports made traps, _start added", file=sys.stderr)


def rewrite(line, stubs, exports):
    """One line of wasm2wat output -> the line to write (None: drop it).
    Function indices become names ($fN), so moving the former imports to
    the end of the function space keeps every reference right."""
    m = IMPORT.match(line)
    if m:
        module, field, idx, typ = m.groups()
        if module == "wasi_snapshot_preview1":
            return f'  (import "{module}" "{field}" (func $f{idx} {typ}))\n'
        if module == "canonical_abi" and field.startswith(("resource_new_", "resource_get_")):
            # rb-eval-string-protect wraps its result in a handle: handle = pointer.
            stubs.append(f"  (func $f{idx} {typ} local.get 0)\n")
        elif module == "canonical_abi" and field.startswith("resource_drop_"):
            stubs.append(f"  (func $f{idx} {typ})\n")
        else:
            stubs.append(f"  (func $f{idx} {typ} unreachable)\n")
        return None
    m = EXPORT_FUNC.match(line)
    if m:
        exports[m.group(1)] = m.group(2)
        if m.group(1) == "_initialize":
            return None
        return f'  (export "{m.group(1)}" (func $f{m.group(2)}))\n'
    if line.startswith("  (data"):  # bytes, not code: never rewritten
        return line
    if line.startswith("  (elem"):
        head, sep, tail = line.partition(" func ")
        return head + sep + re.sub(r"\b(\d+)\b", r"$f\1", tail) if sep else line
    m = FUNC_DEF.match(line)
    if m:
        line = f"{m.group(1)}(func $f{m.group(2)}" + line[m.end():]
    if "call" in line or "ref.func" in line:
        line = CALL.sub(lambda c: f"{c.group(1)} $f{c.group(2)}", line)
    return line


def start_func(exports, eval_name):
    # Layout in one cabi_realloc'd block: [arg strings][script][list of (ptr,len)].
    blob = bytearray()
    spans = []
    # ruby-init and rb-eval-string-protect use the strings as C strings: NUL-terminate.
    for a in PRELUDE_ARGS:
        spans.append((len(blob), len(a.encode())))
        blob += a.encode() + b"\0"
    script_off, script_len = len(blob), len(EVAL.encode())
    blob += EVAL.encode() + b"\0"
    while len(blob) % 8:
        blob += b"\0"
    list_off = len(blob)
    body = ["  (func $bench_start (local $b i32)\n",
            f"    call $f{exports['_initialize']}\n",
            f"    (local.set $b (call $f{exports['cabi_realloc']} (i32.const 0) (i32.const 0) (i32.const 8)"
            f" (i32.const {list_off + 8 * len(spans)})))\n"]
    for i, byte in enumerate(blob):
        if byte:
            body.append(f"    (i32.store8 offset={i} (local.get $b) (i32.const {byte}))\n")
    for k, (off, ln) in enumerate(spans):
        body.append(f"    (i32.store offset={list_off + 8 * k} (local.get $b)"
                    f" (i32.add (local.get $b) (i32.const {off})))\n")
        body.append(f"    (i32.store offset={list_off + 8 * k + 4} (local.get $b) (i32.const {ln}))\n")
    body.append(f"    (call $f{exports['ruby-init: func(args: list<string>) -> ()']}"
                f" (i32.add (local.get $b) (i32.const {list_off})) (i32.const {len(spans)}))\n")
    body.append(f"    (call $f{exports['ruby-init-loadpath: func() -> ()']})\n")
    body.append(f"    (drop (call $f{exports[eval_name]} (i32.add (local.get $b) (i32.const {script_off}))"
                f" (i32.const {script_len}))))\n")
    return "".join(body)


if __name__ == "__main__":
    main()
